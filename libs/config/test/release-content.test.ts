// Issue 14: a release carries its content once, so an item up to about --max-request-bytes publishes (a
// 1.0 MiB item under the 1.5 MiB default used to be refused: the publish wrote it twice in one txn); a larger
// one is a 413 naming the limit. The content is kept under ~release-content for history, rollback and gray
// releases; a release whose copy never landed is read back from the live key at its revision.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { etcdError } from '@cairn/api';
import { ANONYMOUS, type EtcdPort, LocalEtcdPort, silentLogger } from '@cairn/server';
import { ConfigCenter, ConfigError, HTTP_STATUS, type ItemRef } from '../src';
import { releaseContentKey, releaseKey } from '../src/keys';
import { maxItemBytes } from '../src/store';

const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
const ctx = { identity: ANONYMOUS };
const MiB = 1024 * 1024;
const ref: ItemRef = { namespace: 'shop', app: 'payments', name: 'big.txt' };

let dir: string;
let local: LocalEtcdPort;
let center: ConfigCenter;
/** The largest write (put or txn, keys and values) the port was asked for. */
let largestWrite = 0;

type Op = { put?: { key: Uint8Array; value: Uint8Array }; deleteRange?: { key: Uint8Array } };

function writeBytes(ops: Op[]): number {
  return ops.reduce((sum, op) => {
    if (op.put) return sum + op.put.key.length + op.put.value.length + 16;
    if (op.deleteRange) return sum + op.deleteRange.key.length + 16;
    return sum + 16;
  }, 64);
}

/** The port with the member's request limit, as CairnNode.propose enforces it. */
function limitedPort(port: EtcdPort): EtcdPort {
  return new Proxy(port, {
    get(target, prop, receiver) {
      if (prop === 'txn') {
        return (ctx: unknown, req: { success: Op[]; failure?: Op[] }) => {
          const size = writeBytes([...req.success, ...(req.failure ?? [])]);
          largestWrite = Math.max(largestWrite, size);
          if (size > MAX_REQUEST_BYTES) throw etcdError('request-too-large');
          return target.txn(ctx as never, req as never);
        };
      }
      if (prop === 'put') {
        return (ctx: unknown, req: { key: Uint8Array; value: Uint8Array }) => {
          const size = writeBytes([{ put: req }]);
          largestWrite = Math.max(largestWrite, size);
          if (size > MAX_REQUEST_BYTES) throw etcdError('request-too-large');
          return target.put(ctx as never, req as never);
        };
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cairn-config-content-'));
  local = await LocalEtcdPort.open({ dataDir: dir, name: 'member-a' });
  center = new ConfigCenter({
    port: limitedPort(local.port),
    logger: silentLogger,
    maxRequestBytes: MAX_REQUEST_BYTES,
  });
  await center.putNamespace(ctx, ref.namespace);
  await center.putApp(ctx, ref.namespace, ref.app);
  await center.putItem(ctx, ref, { format: 'text', schema: '' });
  largestWrite = 0;
});

afterEach(async () => {
  await center.close();
  await local.close();
  await rm(dir, { recursive: true, force: true });
});

const text = (bytes: number, fill: string): string => fill.repeat(bytes);

async function failure(work: Promise<unknown>): Promise<ConfigError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('one publish carries an item up to --max-request-bytes minus a small overhead', () => {
  it('publishes a 1.0 MiB item and the largest one the limit allows, each write within the limit', async () => {
    const oneMiB = text(MiB, 'a');
    const first = await center.publish(ctx, ref, { content: oneMiB, author: 'alice' });
    expect(first.version).toBe(1);
    expect((await center.getItem(ctx, ref)).content).toBe(oneMiB);

    const largest = text(maxItemBytes(MAX_REQUEST_BYTES) - 512, 'b');
    const second = await center.publish(ctx, ref, { content: largest });
    expect(second.version).toBe(2);
    expect((await center.getItem(ctx, ref)).content).toBe(largest);
    expect(largestWrite).toBeLessThanOrEqual(MAX_REQUEST_BYTES);

    // The release record does not repeat the content; the content key holds exactly the bytes.
    const record = await local.port.range(ctx, {
      key: Buffer.from(releaseKey(ref.namespace, ref.app, ref.name, 2)),
      revision: 0,
    });
    expect(record.kvs[0].value.length).toBeLessThan(1024);
    const kept = await local.port.range(ctx, {
      key: Buffer.from(releaseContentKey(ref.namespace, ref.app, ref.name, 2)),
      revision: 0,
    });
    expect(kept.kvs[0].value.toString('utf8')).toBe(largest);

    // History and rollback see both versions whole.
    const releases = await center.listReleases(ctx, ref);
    expect(releases.map((r) => [r.version, r.content.length])).toEqual([
      [2, largest.length],
      [1, MiB],
    ]);
    expect((await center.getRelease(ctx, ref, 1)).content).toBe(oneMiB);
    const rolledBack = await center.rollback(ctx, ref, { version: 1 });
    expect(rolledBack).toMatchObject({ version: 3, kind: 'rollback', sourceVersion: 1 });
    expect((await center.getItem(ctx, ref)).content).toBe(oneMiB);
    expect(await center.diff(ctx, ref, 1, 3)).not.toContain('+a');
  });

  it('refuses a larger item with a 413 that names the limit, and changes nothing', async () => {
    const err = await failure(center.publish(ctx, ref, { content: text(MAX_REQUEST_BYTES - 1024, 'c') }));
    expect(err.kind).toBe('too-large');
    expect(HTTP_STATUS[err.kind]).toBe(413);
    expect(err.message).toContain('--max-request-bytes=1572864');
    expect((await center.getItem(ctx, ref)).version).toBe(0);
    // A draft too large for one write is a 413 as well.
    const draft = await failure(center.saveDraft(ctx, ref, { content: text(2 * MiB, 'd') }));
    expect(draft.kind).toBe('too-large');
  });

  it('gray releases carry a 1.0 MiB item too, and promote it', async () => {
    await center.publish(ctx, ref, { content: 'v1' });
    const gray = await center.startGray(ctx, ref, {
      content: text(MiB, 'g'),
      rule: { labels: { zone: 'a' }, percentage: 0 },
    });
    expect(gray.version).toBe(2);
    expect((await center.getRelease(ctx, ref, 2)).content.length).toBe(MiB);
    const promoted = await center.promoteGray(ctx, ref, {});
    expect(promoted).toMatchObject({ version: 3, kind: 'promote', sourceVersion: 2 });
    expect((await center.getItem(ctx, ref)).content.length).toBe(MiB);
    expect(largestWrite).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
  });
});

describe('a release whose content copy never landed', () => {
  it('is read from the live key at the release revision, and copied then', async () => {
    await center.publish(ctx, ref, { content: 'first' });
    const contentKey = Buffer.from(releaseContentKey(ref.namespace, ref.app, ref.name, 1));
    // As if the member stopped between the release's txn and the copy.
    await local.port.deleteRange(ctx, { key: contentKey });
    await center.publish(ctx, ref, { content: 'second' });
    // The next release copied it before overwriting the live key.
    const copied = await local.port.range(ctx, { key: contentKey, revision: 0 });
    expect(copied.kvs[0]?.value.toString('utf8')).toBe('first');

    await local.port.deleteRange(ctx, { key: contentKey });
    expect((await center.getRelease(ctx, ref, 1)).content).toBe('first');
    expect((await center.listReleases(ctx, ref)).map((r) => r.content)).toEqual(['second', 'first']);
  });

  it('reads records written before issue 14 (content inside the record)', async () => {
    const legacy = {
      version: 1,
      format: 'text',
      content: 'legacy bytes',
      author: 'old',
      comment: '',
      time: '2024-01-01T00:00:00.000Z',
      kind: 'publish',
      sourceVersion: 0,
    };
    await local.port.put(ctx, {
      key: Buffer.from(releaseKey(ref.namespace, ref.app, ref.name, 1)),
      value: Buffer.from(JSON.stringify(legacy)),
    });
    expect((await center.getRelease(ctx, ref, 1)).content).toBe('legacy bytes');
  });
});
