// The config SDK without a server: the cache file (atomic writes, one file per app and label set) and a
// subscribe that starts from it when no endpoint answers, or fails clearly when there is no cache.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CacheWriter, cacheFilePath, readCache, toCache } from '../src/config/cache';
import { ConfigClient } from '../src/config/config-client';

const tempDirs: string[] = [];
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A cache dir removed after the test. */
function cacheDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cfg-cache-'));
  tempDirs.push(dir);
  return dir;
}

async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

const item = {
  name: 'app.json',
  format: 'json' as const,
  version: 3,
  content: '{"a":1}',
  value: { a: 1 },
  gray: false,
  revision: 42,
};

describe('config cache file', () => {
  it('is one file per namespace, app and label set (label order does not matter)', () => {
    const a = cacheFilePath('/c', 'ns', 'app', { zone: 'eu-1', canary: 'true' });
    const b = cacheFilePath('/c', 'ns', 'app', { canary: 'true', zone: 'eu-1' });
    const c = cacheFilePath('/c', 'ns', 'app', { zone: 'us-1' });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a.startsWith('/c/ns.app.')).toBe(true);
  });

  it('writes atomically and reads back the last state; coalesces writes asked for meanwhile', async () => {
    const dir = cacheDir();
    const file = cacheFilePath(dir, 'ns', 'app', {});
    const writer = new CacheWriter(file);
    for (let v = 1; v <= 5; v++) writer.save(toCache('ns', 'app', {}, v, [{ ...item, version: v }]));
    await writer.flush();
    const read = readCache(file);
    expect(read?.revision).toBe(5);
    expect(read?.items[0].version).toBe(5);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readCache(join(dir, 'missing.json'))).toBeUndefined();
  });
});

describe('subscribe with no reachable server', () => {
  it('starts from the cache file', async () => {
    const dir = cacheDir();
    const writer = new CacheWriter(cacheFilePath(dir, 'ns', 'app', { zone: 'eu-1' }));
    writer.save(toCache('ns', 'app', { zone: 'eu-1' }, 42, [item]));
    await writer.flush();
    const client = new ConfigClient({ endpoints: await deadEndpoint(), connectTimeoutMs: 200 });
    try {
      const sub = await client.subscribe('ns', 'app', {
        cacheDir: dir,
        labels: { zone: 'eu-1' },
        startTimeoutMs: 500,
      });
      expect(sub.source).toBe('cache');
      expect(sub.revision).toBe(42);
      expect(sub.config).toEqual({ 'app.json': { a: 1 } });
      expect(sub.versions()).toEqual({ 'app.json': 3 });
      sub.close();
    } finally {
      client.close();
    }
  });

  it('fails with a clear error when there is no cache either', async () => {
    const dir = cacheDir();
    const client = new ConfigClient({ endpoints: await deadEndpoint(), connectTimeoutMs: 200 });
    try {
      await expect(client.subscribe('ns', 'app', { cacheDir: dir, startTimeoutMs: 400 })).rejects.toThrow(
        /no server reachable .* and no cache file/,
      );
    } finally {
      client.close();
    }
  });
});
