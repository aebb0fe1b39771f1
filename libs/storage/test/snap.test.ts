import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Snapshot } from '@cairn/raft';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CHECKSUM_TRAILER_BYTES,
  readChecksummedFile,
  SnapError,
  Snapshotter,
  verifyChecksummedFile,
  writeChecksummedFile,
} from '../src/snap';
import { tempDir } from './wal-helpers';

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir('snap'));
  dir = join(dir, 'member', 'snap');
});
afterEach(() => cleanup());

function snap(index: number, term: number, dataSize = 64): Snapshot {
  return {
    metadata: { index, term, confState: { voters: [1n, 2n, 3n], learners: [0xffff_ffff_ffff_fff0n] } },
    data: Uint8Array.from({ length: dataSize }, (_, i) => (i * 13 + index) & 0xff),
  };
}

function same(a: Snapshot | undefined, b: Snapshot): void {
  expect(a).toBeDefined();
  expect(a?.metadata).toEqual(b.metadata);
  expect(Buffer.from(a?.data ?? []).equals(Buffer.from(b.data))).toBe(true);
}

const files = (): string[] => readdirSync(dir).sort();

describe('Snapshotter', () => {
  it('loadNewest of a missing or empty directory is undefined', async () => {
    expect(await new Snapshotter(dir).loadNewest()).toBeUndefined();
  });

  it('saves <term>-<index>.snap atomically (no temp file left) and loads the newest back', async () => {
    const s = new Snapshotter(dir);
    await s.save(snap(100, 2));
    await s.save(snap(250, 3, 1 << 20));
    await s.save(snap(200, 3));
    expect(files()).toEqual([
      '0000000000000002-0000000000000064.snap',
      '0000000000000003-00000000000000c8.snap',
      '0000000000000003-00000000000000fa.snap',
    ]);
    same(await new Snapshotter(dir).loadNewest(), snap(250, 3, 1 << 20));
  });

  it('does not write an empty snapshot (index 0), as etcd', async () => {
    const s = new Snapshotter(dir);
    await s.save(snap(0, 0));
    expect(existsSync(dir)).toBe(false);
  });

  it('skips a newest file that fails its check, renames it to .broken and returns the next one', async () => {
    const s = new Snapshotter(dir);
    await s.save(snap(100, 2));
    await s.save(snap(200, 2));
    const newest = join(dir, '0000000000000002-00000000000000c8.snap');
    const buf = readFileSync(newest);
    buf[buf.length - 3] ^= 0x40; // flip a bit in the data
    writeFileSync(newest, buf);

    same(await s.loadNewest(), snap(100, 2));
    expect(files()).toEqual([
      '0000000000000002-0000000000000064.snap',
      '0000000000000002-00000000000000c8.snap.broken',
    ]);
    expect(s.broken).toEqual([
      {
        name: '0000000000000002-00000000000000c8.snap',
        reason: expect.stringContaining('CRC mismatch') as unknown,
      },
    ]);
  });

  it('treats truncated files and files whose content disagrees with their name as broken', async () => {
    const s = new Snapshotter(dir);
    await s.save(snap(100, 2));
    await s.save(snap(300, 2));
    writeFileSync(
      join(dir, '0000000000000002-00000000000000c8.snap'),
      readFileSync(join(dir, '0000000000000002-0000000000000064.snap')),
    ); // says 200, holds 100
    const truncated = join(dir, '0000000000000002-000000000000012c.snap');
    writeFileSync(truncated, readFileSync(truncated).subarray(0, 30));
    same(await s.loadNewest(), snap(100, 2));
    expect(s.broken.map((b) => b.name)).toEqual([
      '0000000000000002-000000000000012c.snap',
      '0000000000000002-00000000000000c8.snap',
    ]);
    expect(s.broken[1].reason).toContain('not what its name says');
  });

  it('loadNewestAvailable picks the newest snapshot the WAL has a mark for', async () => {
    const s = new Snapshotter(dir);
    await s.save(snap(100, 2));
    await s.save(snap(200, 2));
    await s.save(snap(300, 3)); // saved, but the crash came before its WAL mark
    same(
      await s.loadNewestAvailable([
        { index: 0, term: 0 },
        { index: 100, term: 2 },
        { index: 200, term: 2 },
      ]),
      snap(200, 2),
    );
    expect(await s.loadNewestAvailable([{ index: 200, term: 3 }])).toBeUndefined();
  });

  it('dbPath names <index>.snap.db in the snapshot directory', () => {
    expect(new Snapshotter(dir).dbPath(255)).toBe(join(dir, '00000000000000ff.snap.db'));
  });

  it('releaseOlderThan keeps the newest few .snap files and drops .snap.db files older than the index', async () => {
    const s = new Snapshotter(dir, { keep: 2 });
    for (const i of [10, 20, 30, 40, 50]) {
      await s.save(snap(i, 1));
      writeFileSync(s.dbPath(i), 'db');
    }
    await s.releaseOlderThan(40);
    expect(files()).toEqual([
      '0000000000000001-0000000000000028.snap',
      '0000000000000001-0000000000000032.snap',
      '0000000000000028.snap.db',
      '0000000000000032.snap.db',
    ]);

    // the newest `keep` are kept even when older than the index
    await s.releaseOlderThan(1000);
    expect(files()).toEqual([
      '0000000000000001-0000000000000028.snap',
      '0000000000000001-0000000000000032.snap',
    ]);
  });
});

describe('checksummed files', () => {
  async function* chunks(total: number, size: number): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < total; at += size) {
      yield Uint8Array.from({ length: Math.min(size, total - at) }, (_, i) => (at + i) % 251);
      await Promise.resolve();
    }
  }

  it('writes content plus a sha256 trailer, verifies it and streams the content back', async () => {
    const path = join(dir, 'state.snap.db');
    mkdirSync(dir, { recursive: true });
    const info = await writeChecksummedFile(path, chunks(300_000, 64 * 1024));
    expect(info.contentLength).toBe(300_000);
    expect(readFileSync(path).length).toBe(300_000 + CHECKSUM_TRAILER_BYTES);
    expect(files()).toEqual(['state.snap.db']);
    expect(await verifyChecksummedFile(path)).toEqual(info);

    const parts: Buffer[] = [];
    for await (const c of readChecksummedFile(path)) parts.push(c);
    const content = Buffer.concat(parts);
    expect(content.length).toBe(300_000);
    expect(content.every((b, i) => b === i % 251)).toBe(true);
  });

  it('an empty content is valid too', async () => {
    const path = join(dir, 'empty');
    mkdirSync(dir, { recursive: true });
    const info = await writeChecksummedFile(path, []);
    expect(await verifyChecksummedFile(path)).toEqual(info);
    expect(info.sha256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('a flipped byte or a short file fails verification with SnapError, and streaming throws at the end', async () => {
    const path = join(dir, 'x.snap.db');
    mkdirSync(dir, { recursive: true });
    await writeChecksummedFile(path, chunks(10_000, 1000));
    const buf = readFileSync(path);
    buf[5000] ^= 1;
    writeFileSync(path, buf);
    await expect(verifyChecksummedFile(path)).rejects.toThrow(SnapError);
    await expect(verifyChecksummedFile(path)).rejects.toThrow(/sha256 mismatch/);
    let streamed = 0;
    await expect(
      (async () => {
        for await (const c of readChecksummedFile(path)) streamed += c.length;
      })(),
    ).rejects.toThrow(/sha256 mismatch/);
    expect(streamed).toBe(10_000);

    writeFileSync(path, Buffer.alloc(10));
    await expect(verifyChecksummedFile(path)).rejects.toThrow(/too short/);
  });

  it('a failing source leaves neither the file nor its temp file behind', async () => {
    const path = join(dir, 'y.snap.db');
    mkdirSync(dir, { recursive: true });
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(100);
      throw new Error('source broke');
    }
    await expect(writeChecksummedFile(path, failing())).rejects.toThrow('source broke');
    expect(files()).toEqual([]);
  });
});
