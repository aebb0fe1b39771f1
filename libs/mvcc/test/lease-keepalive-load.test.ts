// Keeps 10,000 leases alive through the expiry heap and prints the renew rate. The rate is reported,
// never asserted (benchmarks belong in apps/bench); the test asserts that nothing expired early and
// that the heap holds exactly one entry per lease however many renews went in.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Backend } from '@cairn/storage';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LeaseStore } from '../src';

const LEASES = 10_000;
const TTL_SECONDS = 10;
const ROUNDS = 30; // each round renews every lease once, 1 s of fake time apart

let dir: string;
let backend: Backend;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cairn-lease-load-'));
  backend = await Backend.open(join(dir, 'db'));
});

afterAll(async () => {
  await backend.close();
  await rm(dir, { recursive: true, force: true });
});

it('keeps 10,000 leases alive with renews, expiring none, and expires them all once renews stop', async () => {
  let now = 0;
  const store = await LeaseStore.open(backend, { clock: { now: () => now }, minTtlSeconds: 1 });
  store.promote(0);
  const batch = backend.batch();
  for (let i = 1; i <= LEASES; i++) store.grant(BigInt(i), TTL_SECONDS, batch);
  await batch.write();

  const ids = store.leases();
  let renews = 0;
  let expiredEarly = 0;
  const started = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    now += 1_000;
    // Renew in a shuffled-looking order (stride) so heap moves are not all at the tail.
    for (let i = 0; i < LEASES; i++) {
      store.renew(ids[(i * 7_919) % LEASES]);
      renews++;
    }
    expiredEarly += store.expired(1_000).length;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `[lease load] ${LEASES} leases, ${renews} renews in ${seconds.toFixed(3)} s = ` +
      `${Math.round(renews / seconds).toLocaleString('en-US')} renews/s (incl. expired() polls)`,
  );
  expect(expiredEarly).toBe(0);
  // One heap slot per lease: renews moved entries rather than adding stale ones.
  expect((store as unknown as { expiryQueue: { size: number } }).expiryQueue.size).toBe(LEASES);

  now += TTL_SECONDS * 1000;
  const expired: bigint[] = [];
  for (let batchOf = store.expired(1_000); batchOf.length > 0; batchOf = store.expired(1_000)) {
    expired.push(...batchOf);
  }
  expect(expired.length).toBe(LEASES);
  expect(new Set(expired).size).toBe(LEASES);
});
