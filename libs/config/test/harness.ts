// A ConfigCenter over a LocalEtcdPort (a bare state machine on a real LevelDB dir, no Raft), with a manual
// lease clock the test moves and a fixed wall clock.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type CallContext, LocalEtcdPort, silentLogger } from '@cairn/server';
import { ConfigCenter, type ConfigWatchEvent, type ItemRef, type KeyRing } from '../src';

/** The caller every test call is made as (an authenticated user: the actor recorded in releases). */
export const ctx: CallContext = { identity: { user: 'tester' } };

export interface Harness {
  local: LocalEtcdPort;
  center: ConfigCenter;
  /** Moves the lease clock forward by `seconds`. */
  advanceLeaseClock(seconds: number): void;
  close(): Promise<void>;
}

export async function openHarness(
  options: { listenerLeaseTtlSeconds?: number; keyRing?: KeyRing } = {},
): Promise<Harness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cairn-config-'));
  let leaseNow = 1_000_000;
  const local = await LocalEtcdPort.open({
    dataDir: dir,
    name: 'member-a',
    leaseClock: { now: () => leaseNow },
  });
  const center = new ConfigCenter({
    port: local.port,
    logger: silentLogger,
    now: () => new Date('2025-01-02T03:04:05.000Z'),
    listenerLeaseTtlSeconds: options.listenerLeaseTtlSeconds,
    keyRing: options.keyRing,
  });
  return {
    local,
    center,
    advanceLeaseClock(seconds) {
      leaseNow += seconds * 1000;
    },
    async close() {
      await center.close();
      await local.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Creates namespace, app and item (never published). */
export async function createItem(
  center: ConfigCenter,
  ref: ItemRef,
  format = 'json',
  schema = '',
): Promise<void> {
  await center.putNamespace(ctx, ref.namespace);
  await center.putApp(ctx, ref.namespace, ref.app);
  await center.putItem(ctx, ref, { format, schema });
}

/** Collects a subscription's events; `next(n)` waits (bounded) until n events arrived. */
export function eventSink(): {
  events: ConfigWatchEvent[];
  send: (event: ConfigWatchEvent) => void;
  next(count: number): Promise<ConfigWatchEvent[]>;
} {
  const events: ConfigWatchEvent[] = [];
  const waiters: (() => void)[] = [];
  return {
    events,
    send(event) {
      events.push(event);
      for (const w of waiters.splice(0)) w();
    },
    async next(count) {
      const deadline = Date.now() + 5000;
      while (events.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`expected ${count} events, saw ${events.length}: ${JSON.stringify(events)}`);
        }
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
      return events.slice(0, count);
    },
  };
}
