// saveSnapshot against an in-process Maintenance.Snapshot stream: the sha256 trailer is checked, FILE appears
// only when it matches, and a bad stream, a failing server or Ctrl-C leave neither FILE nor FILE.part.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEtcdPackage } from '@cairn/api';
import { EtcdClient } from '@cairn/client';
import { CommandError, ExitCode } from '../src/command';
import { saveSnapshot } from '../src/commands/snapshot';

type Mode = 'good' | 'bad-hash' | 'fail' | 'stall';
let mode: Mode = 'good';
const content = randomBytes(100_000);
let server: grpc.Server;
let endpoint: string;
let dir: string;

function chunks(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size));
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairnctl-save-'));
  const pkg = loadEtcdPackage() as unknown as {
    etcdserverpb: { Maintenance: { service: grpc.ServiceDefinition } };
  };
  server = new grpc.Server();
  server.addService(pkg.etcdserverpb.Maintenance.service, {
    Snapshot: (call: grpc.ServerWritableStream<object, object>) => {
      const digest = createHash('sha256').update(content).digest();
      if (mode === 'bad-hash') digest[0]! ^= 0xff;
      const stream = Buffer.concat([content, digest]);
      const parts = chunks(stream, 32 * 1024);
      let remaining = stream.length;
      parts.forEach((blob, i) => {
        if ((mode === 'fail' || mode === 'stall') && i >= 2) return; // the stream breaks off
        remaining -= blob.length;
        call.write({ blob, remaining_bytes: String(remaining) });
      });
      if (mode === 'fail') call.emit('error', { code: grpc.status.INTERNAL, details: 'disk on fire' });
      else if (mode !== 'stall') call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  endpoint = `127.0.0.1:${port}`;
});

afterAll(() => {
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

async function save(name: string, signal?: AbortSignal) {
  const client = new EtcdClient({ endpoints: [endpoint] });
  const file = join(dir, name);
  const progress: number[] = [];
  try {
    const result = await saveSnapshot(client, file, {
      ...(signal ? { signal } : {}),
      onProgress: (done) => progress.push(done),
    });
    return { file, result, progress };
  } finally {
    client.close();
  }
}

describe('saveSnapshot', () => {
  it('writes the whole stream once its sha256 matches', async () => {
    mode = 'good';
    const { file, result, progress } = await save('good.db');
    expect(result.size).toBe(content.length + 32);
    expect(readFileSync(file).subarray(0, content.length).equals(content)).toBe(true);
    expect(existsSync(`${file}.part`)).toBe(false);
    expect(progress.at(-1)).toBe(content.length + 32);
  });

  it('refuses a stream whose trailer does not match, leaving no file', async () => {
    mode = 'bad-hash';
    await expect(save('bad.db')).rejects.toThrow(/sha256 mismatch/);
    expect(existsSync(join(dir, 'bad.db'))).toBe(false);
    expect(existsSync(join(dir, 'bad.db.part'))).toBe(false);
  });

  it('a server failing mid-stream leaves no file', async () => {
    mode = 'fail';
    await expect(save('fail.db')).rejects.toMatchObject({ code: grpc.status.INTERNAL });
    expect(existsSync(join(dir, 'fail.db.part'))).toBe(false);
  });

  it('Ctrl-C cancels the stream: exit Interrupted, no file', async () => {
    mode = 'stall';
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 300);
    const error = await save('stall.db', abort.signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).exitCode).toBe(ExitCode.Interrupted);
    expect(existsSync(join(dir, 'stall.db'))).toBe(false);
    expect(existsSync(join(dir, 'stall.db.part'))).toBe(false);
  });
});
