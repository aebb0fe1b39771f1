import { describe, expect, it } from 'vitest';
import { MessageType } from '../src/types';
import { electLeader, entriesWithTerms, logOf, makeNode, msg, ofType, termsOf } from './support/harness';
import { Network } from './support/network';

const voters = [1n, 2n, 3n];

describe('fast back-off after a rejected append', () => {
  it('the follower hints the last index (<= the probed one) whose term is <= the probed term', () => {
    const cases = [
      // follower terms,                 probe index/term, hint index/term
      { log: [1, 2, 2, 3, 3, 3, 3, 3, 3], probe: [9, 4], hint: [9, 3] },
      { log: [1, 2, 2, 5, 5, 5, 5, 5, 5], probe: [9, 4], hint: [3, 2] },
      { log: [1, 2, 2], probe: [9, 4], hint: [3, 2] }, // shorter log: hint from its end
      { log: [2, 2, 2, 2], probe: [3, 1], hint: [0, 0] }, // nothing <= term 1
    ];
    for (const c of cases) {
      const tn = makeNode(2n, { voters, entries: entriesWithTerms(c.log), term: 6 });
      tn.node.step(
        msg({ type: MessageType.App, from: 1n, to: 2n, term: 6, index: c.probe[0], logTerm: c.probe[1] }),
      );
      const resp = ofType(tn.process(), MessageType.AppResp)[0];
      expect(resp.reject).toBe(true);
      expect([resp.rejectHint, resp.logTerm], `log ${c.log}`).toEqual(c.hint);
      expect(resp.index).toBe(c.probe[0]);
    }
  });

  it('the leader skips to the last index whose term is <= the hinted term', () => {
    // Leader log terms 1,1,1,4,4,5,5,6,6,6 (+ its no-op at 8); follower (f) of Figure 7 hints 10/t3.
    const leader = makeNode(1n, {
      voters,
      entries: entriesWithTerms([1, 1, 1, 4, 4, 5, 5, 6, 6, 6]),
      term: 7,
    });
    const probes = ofType(electLeader(leader, voters), MessageType.App).filter((m) => m.to === 2n);
    expect(probes[0]).toMatchObject({ index: 10, logTerm: 6 });
    leader.node.step(
      msg({
        type: MessageType.AppResp,
        from: 2n,
        to: 1n,
        term: 8,
        index: 10,
        reject: true,
        rejectHint: 10,
        logTerm: 3,
      }),
    );
    const next = ofType(leader.process(), MessageType.App).filter((m) => m.to === 2n);
    // Leader entries with term <= 3 end at index 3: probe there directly instead of one by one.
    expect(next).toHaveLength(1);
    expect(next[0]).toMatchObject({ index: 3, logTerm: 1 });
  });

  it('a long divergent follower log is repaired with a couple of rejections instead of one per entry', () => {
    const leaderLog = [1, 1, 1, ...Array<number>(30).fill(4)];
    const followerLog = [1, 1, 1, ...Array<number>(40).fill(2), ...Array<number>(20).fill(3)];
    const net = new Network();
    net.add(makeNode(1n, { voters, entries: entriesWithTerms(leaderLog), term: 4, commit: 3 }));
    net.add(makeNode(2n, { voters, entries: entriesWithTerms(followerLog), term: 4, commit: 3 }));
    net.add(makeNode(3n, { voters, entries: entriesWithTerms(leaderLog), term: 4, commit: 3 }));
    net.campaign(1n);
    expect(termsOf(logOf(net.get(2n).storage))).toEqual([...leaderLog, 5]);
    const rejections = net.trace.filter((m) => m.type === MessageType.AppResp && m.reject && m.from === 2n);
    expect(rejections.length).toBeLessThanOrEqual(2);
  });

  it('a stale rejection (for an older probe) does not move the follower progress back', () => {
    const leader = makeNode(1n, { voters, entries: entriesWithTerms([1, 1, 1]), term: 1 });
    electLeader(leader, voters);
    // Follower 2 acks everything: Replicate, match 4.
    leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 2, index: 4 }));
    leader.process();
    const before = leader.node.status().progress!.get(2n)!;
    leader.node.step(
      msg({
        type: MessageType.AppResp,
        from: 2n,
        to: 1n,
        term: 2,
        index: 3,
        reject: true,
        rejectHint: 1,
        logTerm: 1,
      }),
    );
    expect(ofType(leader.process(), MessageType.App)).toEqual([]);
    expect(leader.node.status().progress!.get(2n)).toEqual(before);
  });
});
