// Issue 14: a committed entry that cannot be decoded is an error result for that entry, alike on every
// member, never a fatal stop. Undecodable bytes go through the real Raft loop (WAL, commit, apply); the
// member keeps serving writes, counts the entry, and a restart replays it to the same revision.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeInternalRequest } from '@cairn/api';
import { afterEach, describe, expect, it } from 'vitest';
import { singleMemberConfig } from '../src/config';
import { CairnNode } from '../src/node';
import { ANONYMOUS } from '../src/port/etcd-port';

const dirs: string[] = [];
const running = new Set<CairnNode>();
afterEach(async () => {
  for (const node of running) await node.close();
  running.clear();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** Field 1 with wire type 7: no protobuf decoder accepts it. */
const GARBAGE = Buffer.from([0x0f, 0xff, 0xff, 0xff]);

interface RawLoop {
  loop: { propose(data: Uint8Array, onDropped: (err: unknown) => void): void };
}

async function start(dataDir: string): Promise<CairnNode> {
  const node = await CairnNode.start(singleMemberConfig(dataDir, { name: 'apply-errors' }));
  running.add(node);
  return node;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for: ${what}`);
}

async function put(node: CairnNode, key: string): Promise<void> {
  const result = await node.propose(
    {
      put: {
        key: Buffer.from(key),
        value: Buffer.from('v'),
        lease: '0',
        prev_kv: false,
        ignore_value: false,
        ignore_lease: false,
      },
    },
    ANONYMOUS,
  );
  if (result.error) throw result.error;
}

describe('deterministic apply', () => {
  it('skips an undecodable committed entry as an error, keeps serving, and replays it alike on restart', async () => {
    expect(() => decodeInternalRequest(GARBAGE)).toThrow();
    const dir = await mkdtemp(join(tmpdir(), 'cairn-apply-errors-'));
    dirs.push(dir);
    let node = await start(dir);
    await until(() => node.isLeader(), 'leadership');
    await put(node, 'before');
    const revisionBefore = node.kv.currentRevision;

    const applied = node.status().appliedIndex;
    (node as unknown as RawLoop).loop.propose(GARBAGE, (err) => {
      throw new Error(`garbage proposal dropped: ${String(err)}`);
    });
    await until(() => node.stats.applyErrors === 1, 'the garbage entry to be applied');
    expect(node.status().appliedIndex).toBeGreaterThan(applied);
    expect(node.kv.currentRevision).toBe(revisionBefore);

    // Still serving: a write after the garbage entry is applied.
    await put(node, 'after');
    const revisionAfter = node.kv.currentRevision;
    expect(revisionAfter).toBe(revisionBefore + 1);

    // A restart replays the garbage entry (no snapshot covers it) and comes back at the same revision.
    await node.close();
    running.delete(node);
    node = await start(dir);
    await until(() => node.isLeader(), 'leadership after restart');
    expect(node.kv.currentRevision).toBe(revisionAfter);
    await put(node, 'after-restart');
    expect(node.kv.currentRevision).toBe(revisionAfter + 1);
  });
});
