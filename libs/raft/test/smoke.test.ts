// A bounded randomized smoke run (the full simulation lives in test/sim): random ticks, drops,
// reordering and proposals over a few seeds, checking election safety and state machine safety.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../src/random';
import { StateType, type Entry, type Message } from '../src/types';
import { Network } from './support/network';

function sameEntry(a: Entry, b: Entry): boolean {
  return a.index === b.index && a.term === b.term;
}

function runSeed(seed: number, opts: { preVote: boolean; checkQuorum: boolean }): void {
  const ids = [1n, 2n, 3n, 4n, 5n];
  const net = Network.bootstrap(ids, { seed, ...opts });
  const rnd = seededRandom(seed);
  const leadersByTerm = new Map<number, bigint>();
  let pending: Message[] = [];
  let proposals = 0;
  let isolated: bigint | undefined;
  for (let step = 0; step < 1500; step++) {
    if (rnd.int(100) === 0) isolated = rnd.int(2) === 0 ? undefined : ids[rnd.int(ids.length)];
    const action = rnd.int(10);
    if (action < 3) {
      for (const n of net.nodes.values()) n.node.tick();
    } else if (action < 4) {
      const id = ids[rnd.int(ids.length)];
      try {
        net.get(id).node.propose(new TextEncoder().encode(`p${proposals++}`));
      } catch {
        // no leader: dropped
      }
    }
    for (const n of net.nodes.values()) pending.push(...n.process());
    // deliver a random subset, drop ~10%, keep the rest for later (reordering)
    const keep: Message[] = [];
    for (const m of pending) {
      const r = rnd.int(10);
      if (r === 0 || m.to === isolated || m.from === isolated) continue;
      if (r < 4) keep.push(m);
      else net.get(m.to).node.step(m);
    }
    pending = keep;
    for (const n of net.nodes.values()) {
      if (n.state() === StateType.Leader) {
        const term = n.node.status().hardState.term;
        const prev = leadersByTerm.get(term);
        if (prev !== undefined && prev !== n.id)
          throw new Error(`two leaders in term ${term}: ${prev} and ${n.id}`);
        leadersByTerm.set(term, n.id);
      }
    }
    // state machine safety: applied sequences are prefixes of each other
    const nodes = [...net.nodes.values()];
    for (let i = 1; i < nodes.length; i++) {
      const a = nodes[0].applied;
      const b = nodes[i].applied;
      const len = Math.min(a.length, b.length);
      for (let k = 0; k < len; k++) {
        if (!sameEntry(a[k], b[k])) throw new Error(`seed ${seed}: applied logs diverge at ${k}`);
      }
    }
  }
  // heal: deliver everything, let it settle, and every node must converge on the same applied log
  for (let i = 0; i < 60; i++) net.tickAll(1);
  const lens = [...net.nodes.values()].map((n) => n.applied.length);
  expect(new Set(lens).size, `seed ${seed} applied lengths ${lens}`).toBe(1);
  expect(net.leaders()).toHaveLength(1);
}

describe('randomized smoke', () => {
  for (const opts of [
    { preVote: false, checkQuorum: false },
    { preVote: true, checkQuorum: true },
  ]) {
    it(`keeps election and state machine safety (preVote=${opts.preVote}, checkQuorum=${opts.checkQuorum})`, () => {
      for (let seed = 1; seed <= 15; seed++) runSeed(seed, opts);
    });
  }
});
