// The end-of-scenario check shared by every cluster test: once writes stop, every member applies the same
// index, HashKV agrees at that revision, no acknowledged put is missing from any member, and the
// acknowledged revisions form one linear history.
import { expect } from 'vitest';
import type { Member } from '../../support';
import { duplicateRevisions, findLostAcks, perWriterOrderViolations, realTimeOrderViolations } from './acks';
import { hashTable, type ClusterView } from './cluster-view';
import type { WriteLoad } from './write-load';

export interface Verified {
  revision: bigint;
  hash: string;
  acks: number;
}

export async function expectConvergedAndIntact(
  view: ClusterView,
  load: WriteLoad,
  options: { members?: readonly Member[]; context?: string; convergeTimeoutMs?: number } = {},
): Promise<Verified> {
  const members = options.members ?? view.members;
  const context = options.context === undefined ? '' : ` (${options.context})`;
  await load.stop();
  const revision = await view.waitConverged(members, options.convergeTimeoutMs);
  const hashes = await view.hashes(revision, members);
  expect(
    new Set(hashes.map((h) => `${h.hash}/${h.compactRevision}`)).size,
    `HashKV at revision ${revision} on every member${context}: ${JSON.stringify(hashTable(hashes))}`,
  ).toBe(1);

  const acks = load.acks;
  expect(acks.length, `acknowledged puts${context}`).toBeGreaterThan(0);
  expect(
    load.maxRevision(),
    `highest acknowledged revision vs the converged one${context}`,
  ).toBeLessThanOrEqual(revision);
  for (const member of members) {
    const lost = await findLostAcks(view.client(member), load.prefix, acks);
    expect(lost, `acknowledged puts missing on ${member.name}${context}`).toEqual([]);
  }
  expect(duplicateRevisions(acks), `revisions given to two puts${context}`).toEqual([]);
  expect(perWriterOrderViolations(acks), `per-writer revision order${context}`).toEqual([]);
  expect(realTimeOrderViolations(acks), `real-time revision order${context}`).toEqual([]);
  return { revision, hash: hashes[0]!.hash, acks: acks.length };
}
