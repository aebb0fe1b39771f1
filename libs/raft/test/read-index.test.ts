import { describe, expect, it } from 'vitest';
import { ReadOnlyOption } from '../src/contracts';
import { RaftErrorCode, isRaftError } from '../src/errors';
import { MessageType } from '../src/types';
import { dec, electLeader, enc, makeNode, msg, ofType } from './support/harness';
import { Network, type TestNode } from './support/network';

const voters = [1n, 2n, 3n];

/** A leader whose no-op is committed (acked by every follower). */
function committedLeader(options: Parameters<typeof makeNode>[1] = { voters }): TestNode {
  const tn = makeNode(1n, options);
  for (const m of ofType(electLeader(tn, options.voters), MessageType.App)) {
    tn.node.step(
      msg({ type: MessageType.AppResp, from: m.to, to: 1n, term: m.term, index: m.index + m.entries.length }),
    );
  }
  tn.process();
  return tn;
}

describe('read index (safe)', () => {
  it('a read is confirmed by a heartbeat round that a quorum acknowledges, at the commit index', () => {
    const leader = committedLeader();
    leader.node.readIndex(enc('r1'));
    const hbs = ofType(leader.process(), MessageType.Heartbeat);
    expect(hbs.map((m) => [m.to, dec(m.context!)])).toEqual([
      [2n, 'r1'],
      [3n, 'r1'],
    ]);
    expect(leader.readStates).toEqual([]);
    leader.node.step(msg({ type: MessageType.HeartbeatResp, from: 2n, to: 1n, term: 1, context: enc('r1') }));
    leader.process();
    expect(leader.readStates.map((rs) => [rs.index, dec(rs.requestCtx)])).toEqual([[1, 'r1']]);
  });

  it('one acknowledged round confirms every read queued before it (batching)', () => {
    const leader = committedLeader();
    leader.node.readIndex(enc('a'));
    leader.node.readIndex(enc('b'));
    leader.node.readIndex(enc('c'));
    leader.process();
    // Only the round for "c" is acknowledged (the others were lost): all three reads are confirmed.
    leader.node.step(msg({ type: MessageType.HeartbeatResp, from: 3n, to: 1n, term: 1, context: enc('c') }));
    leader.process();
    expect(leader.readStates.map((rs) => dec(rs.requestCtx))).toEqual(['a', 'b', 'c']);
  });

  it('the periodic heartbeat carries the newest pending read context', () => {
    const leader = committedLeader();
    leader.node.readIndex(enc('x'));
    leader.process();
    leader.node.tick();
    const hbs = ofType(leader.process(), MessageType.Heartbeat);
    expect(hbs.length).toBe(2);
    for (const m of hbs) expect(dec(m.context!)).toBe('x');
  });

  it('an acknowledgement from a minority does not confirm a read', () => {
    const leader = committedLeader({ voters: [1n, 2n, 3n, 4n, 5n] });
    leader.node.readIndex(enc('r'));
    leader.process();
    leader.node.step(msg({ type: MessageType.HeartbeatResp, from: 2n, to: 1n, term: 1, context: enc('r') }));
    leader.process();
    expect(leader.readStates).toEqual([]);
    leader.node.step(msg({ type: MessageType.HeartbeatResp, from: 3n, to: 1n, term: 1, context: enc('r') }));
    leader.process();
    expect(leader.readStates.map((rs) => dec(rs.requestCtx))).toEqual(['r']);
  });

  it('a new leader defers reads until it has committed an entry of its term', () => {
    const leader = makeNode(1n, { voters });
    const probes = ofType(electLeader(leader, voters), MessageType.App);
    leader.node.readIndex(enc('early'));
    expect(ofType(leader.process(), MessageType.Heartbeat)).toEqual([]);
    // The no-op commits: the deferred read starts its heartbeat round.
    const probe = probes.find((m) => m.to === 2n)!;
    leader.node.step(msg({ type: MessageType.AppResp, from: 2n, to: 1n, term: 1, index: probe.index + 1 }));
    const hbs = ofType(leader.process(), MessageType.Heartbeat);
    expect(hbs.map((m) => dec(m.context!))).toEqual(['early', 'early']);
    leader.node.step(
      msg({ type: MessageType.HeartbeatResp, from: 2n, to: 1n, term: 1, context: enc('early') }),
    );
    leader.process();
    expect(leader.readStates.map((rs) => [rs.index, dec(rs.requestCtx)])).toEqual([[1, 'early']]);
  });

  it('a follower forwards its read to the leader and gets the read state back', () => {
    const net = Network.bootstrap(voters);
    net.campaign(1n);
    net.propose(1n, 'v');
    net.get(2n).node.readIndex(enc('from-2'));
    net.deliverAll();
    const commit = net.get(1n).node.status().hardState.commit;
    expect(net.get(2n).readStates.map((rs) => [rs.index, dec(rs.requestCtx)])).toEqual([[commit, 'from-2']]);
    expect(net.countType(MessageType.ReadIndex)).toBe(1);
    expect(net.countType(MessageType.ReadIndexResp)).toBe(1);
    expect(net.get(1n).readStates).toEqual([]);
  });

  it('a single-voter leader answers at once', () => {
    const tn = makeNode(1n, { voters: [1n] });
    tn.node.campaign();
    tn.process();
    tn.node.readIndex(enc('solo'));
    tn.process();
    expect(tn.readStates.map((rs) => [rs.index, dec(rs.requestCtx)])).toEqual([[1, 'solo']]);
  });

  it('without a known leader, readIndex throws ProposalDropped', () => {
    const tn = makeNode(1n, { voters });
    expect(() => tn.node.readIndex(enc('x'))).toThrow(
      expect.objectContaining({ code: RaftErrorCode.ProposalDropped }) as Error,
    );
    tn.node.campaign();
    tn.process();
    let err: unknown;
    try {
      tn.node.readIndex(enc('x'));
    } catch (e) {
      err = e;
    }
    expect(isRaftError(err, RaftErrorCode.ProposalDropped)).toBe(true);
  });
});

describe('read index (lease-based)', () => {
  it('answers at once from the leader lease, with no heartbeat round', () => {
    const leader = committedLeader({ voters, checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased });
    leader.node.readIndex(enc('fast'));
    const out = leader.process();
    expect(ofType(out, MessageType.Heartbeat)).toEqual([]);
    expect(leader.readStates.map((rs) => [rs.index, dec(rs.requestCtx)])).toEqual([[1, 'fast']]);
  });

  it('is only allowed together with check-quorum', () => {
    expect(() => makeNode(1n, { voters, readOnlyOption: ReadOnlyOption.LeaseBased })).toThrow(
      expect.objectContaining({ code: RaftErrorCode.InvalidConfig }) as Error,
    );
  });

  it('serves forwarded reads from followers too', () => {
    const net = Network.bootstrap(voters, { checkQuorum: true, readOnlyOption: ReadOnlyOption.LeaseBased });
    net.campaign(1n);
    net.get(3n).node.readIndex(enc('lease'));
    net.deliverAll();
    expect(net.get(3n).readStates.map((rs) => dec(rs.requestCtx))).toEqual(['lease']);
    expect(net.countType(MessageType.HeartbeatResp)).toBe(0);
  });
});
