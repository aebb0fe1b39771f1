// What Wal.open does with damaged files: a torn tail of the last segment is cut away and the WAL goes on;
// anything else is a WalCorruptError that names the file and the offset of the bad record.
import {
  cpSync,
  openSync,
  closeSync,
  ftruncateSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { HardState } from '@cairn/raft';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Wal, WalCorruptError } from '../src/wal';
import { formatSegmentName, listSegments } from '../src/wal/segment-name';
import { scanSegment } from '../src/wal/segment-scan';
import { describeEntries, entries, entry, seededRandom, tempDir } from './wal-helpers';

const META = Uint8Array.from([1, 2, 3]);
const OPTS = { segmentSizeBytes: 2048 };
const FROM_START = { index: 0, term: 0 };
const hs = (term: number, commit: number): HardState => ({ term, vote: 2n, commit });

let root: string;
let cleanup: () => void;
let work = 0;
beforeAll(() => ({ dir: root, cleanup } = tempDir('wal-recovery')));
afterAll(() => cleanup());

/** A fresh copy of `pristine` to damage. */
function copyOf(pristine: string): string {
  const dir = join(root, `work-${work++}`);
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

interface SegmentLayout {
  file: string;
  recordOffsets: number[];
  dataEnd: number;
}

function layout(dir: string): SegmentLayout[] {
  const segs = listSegments(dir);
  return segs.map((s, k) => {
    const file = join(dir, s.name);
    const scan = scanSegment(readFileSync(file), file, s.seq, k === segs.length - 1);
    return { file, recordOffsets: scan.records.map((r) => r.offset), dataEnd: scan.dataEnd };
  });
}

function recordContaining(seg: SegmentLayout, byte: number): number {
  let start = 0;
  for (const off of seg.recordOffsets) if (off <= byte) start = off;
  return start;
}

function patchFile(file: string, at: number, bytes: Uint8Array): void {
  const buf = readFileSync(file);
  buf.set(bytes, at);
  writeFileSync(file, buf);
}

async function openAll(dir: string): Promise<Awaited<ReturnType<typeof Wal.open>>> {
  return Wal.open(dir, FROM_START, OPTS);
}

describe('torn tail of the last segment', () => {
  let pristine: string;
  beforeAll(async () => {
    pristine = join(root, 'pristine-tail');
    const wal = await Wal.create(pristine, META, OPTS);
    await wal.save(hs(1, 1), entries(1, 1, 5), true);
    await wal.save(hs(1, 3), entries(1, 6, 8), true);
    await wal.save(undefined, [entry(1, 9, 60)], true); // the last record: one entry
    await wal.close();
  });

  for (const how of ['the file ends', 'zeros follow'] as const) {
    it(`cutting the last record at every byte offset (${how}) recovers exactly the records before it, and appending works`, async () => {
      const [seg] = layout(pristine).slice(-1);
      const lastStart = seg.recordOffsets[seg.recordOffsets.length - 1];
      for (let cut = lastStart; cut < seg.dataEnd; cut++) {
        const dir = copyOf(pristine);
        const file = join(dir, listSegments(dir).slice(-1)[0].name);
        if (how === 'the file ends') {
          const fd = openSync(file, 'r+');
          ftruncateSync(fd, cut);
          closeSync(fd);
        } else {
          patchFile(file, cut, new Uint8Array(seg.dataEnd - cut));
        }

        const opened = await openAll(dir);
        expect(describeEntries(opened.entries), `cut at ${cut}`).toEqual(describeEntries(entries(1, 1, 8)));
        // A repair is reported (segment file and offset) exactly when torn non-zero bytes were left.
        const torn = readFileSync(seg.file)
          .subarray(lastStart, cut)
          .some((b) => b !== 0);
        if (torn) {
          expect(opened.repairedTail?.offset, `repair reported for cut at ${cut}`).toBe(lastStart);
          expect(opened.repairedTail?.segment).toBe(file);
        } else {
          expect(opened.repairedTail, `nothing torn at cut ${cut}`).toBeUndefined();
        }
        expect(opened.hardState).toEqual(hs(1, 3));
        await opened.wal.save(hs(2, 8), [entry(2, 9)], true);
        await opened.wal.close();

        const again = await openAll(dir);
        await again.wal.close();
        expect(again.repairedTail, 'a clean WAL reports no repair').toBeUndefined();
        expect(describeEntries(again.entries), `reopen after cut at ${cut}`).toEqual(
          describeEntries([...entries(1, 1, 8), entry(2, 9)]),
        );
        expect(again.hardState).toEqual(hs(2, 8));
        rmSync(dir, { recursive: true });
      }
    });
  }

  it('cutting a final hard-state record at every byte offset falls back to the previous hard state', async () => {
    const src = join(root, 'pristine-hs');
    const wal = await Wal.create(src, META, OPTS);
    await wal.save(hs(1, 1), entries(1, 1, 4), true);
    await wal.save(hs(3, 4), [], true);
    await wal.close();
    const [seg] = layout(src).slice(-1);
    const lastStart = seg.recordOffsets[seg.recordOffsets.length - 1];
    for (let cut = lastStart; cut < seg.dataEnd; cut++) {
      const dir = copyOf(src);
      patchFile(join(dir, listSegments(dir)[0].name), cut, new Uint8Array(seg.dataEnd - cut));
      const opened = await openAll(dir);
      await opened.wal.close();
      expect(opened.hardState, `cut at ${cut}`).toEqual(hs(1, 1));
      expect(opened.entries.length).toBe(4);
      rmSync(dir, { recursive: true });
    }
  });

  it('recovers from a torn multi-megabyte entry of random bytes (the search for later records stays linear)', async () => {
    const dir = join(root, 'big-torn');
    const rand = seededRandom(99);
    const big = entry(1, 6, 4 * 1024 * 1024);
    for (let i = 0; i < big.data.length; i++) big.data[i] = rand(256);
    const opts = { segmentSizeBytes: 64 * 1024 * 1024, preallocate: false }; // one segment, no cut
    const wal = await Wal.create(dir, META, opts);
    await wal.save(hs(1, 2), entries(1, 1, 5), true);
    await wal.save(hs(1, 5), [big], true);
    await wal.close();
    const [seg] = layout(dir).slice(-1);
    const fd = openSync(seg.file, 'r+');
    ftruncateSync(fd, seg.recordOffsets[seg.recordOffsets.length - 2] + 3 * 1024 * 1024); // inside the big entry
    closeSync(fd);

    expect(listSegments(dir).length).toBe(1);
    const opened = await Wal.open(dir, FROM_START, opts);
    await opened.wal.close();
    expect(opened.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    expect(opened.hardState).toEqual(hs(1, 2));
  });

  it('zeroes torn garbage after the last record (a partial write with no complete record) and goes on', async () => {
    const dir = copyOf(pristine);
    const [seg] = layout(dir).slice(-1);
    const garbage = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 0xff);
    patchFile(seg.file, seg.dataEnd, garbage);
    const opened = await openAll(dir);
    await opened.wal.close();
    expect(opened.entries.length).toBe(9);
    // The repair is reported (file, offset, bytes) so the member logs it.
    expect(opened.repairedTail).toEqual({ segment: seg.file, offset: seg.dataEnd, bytes: garbage.length });
    const after = readFileSync(seg.file);
    expect(after.subarray(seg.dataEnd, seg.dataEnd + garbage.length).every((b) => b === 0)).toBe(true);
  });
});

describe('damage that is not a torn tail', () => {
  let pristine: string;
  beforeAll(async () => {
    pristine = join(root, 'pristine-mid');
    const wal = await Wal.create(pristine, META, OPTS);
    for (let i = 1; i <= 120; i += 4) await wal.save(hs(1, i), entries(1, i, i + 3), true);
    await wal.close();
  });

  it('pristine log has several segments and reads back whole', async () => {
    expect(listSegments(pristine).length).toBeGreaterThanOrEqual(4);
    const opened = await openAll(copyOf(pristine));
    await opened.wal.close();
    expect(describeEntries(opened.entries)).toEqual(describeEntries(entries(1, 1, 120)));
  });

  it('random single-byte corruption anywhere but the final record throws WalCorruptError naming the file and record offset (seeded)', async () => {
    const rand = seededRandom(20261121);
    const segs = layout(pristine);
    for (let trial = 0; trial < 60; trial++) {
      const k = rand(segs.length);
      const seg = segs[k];
      const isLast = k === segs.length - 1;
      const limit = isLast ? seg.recordOffsets[seg.recordOffsets.length - 1] : seg.dataEnd;
      const byte = rand(limit);
      const dir = copyOf(pristine);
      const file = join(dir, listSegments(dir)[k].name);
      const original = readFileSync(file)[byte];
      patchFile(file, byte, Uint8Array.of(original ^ (1 + rand(255))));

      const expectedOffset = recordContaining(seg, byte);
      const err = await openAll(dir).then(
        async (r) => {
          await r.wal.close();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(
        err,
        `trial ${trial}: byte ${byte} of segment ${k} (record at ${expectedOffset}) was not detected`,
      ).toBeInstanceOf(WalCorruptError);
      const c = err as WalCorruptError;
      expect({ file: c.file, offset: c.offset }, `trial ${trial}: ${c.message}`).toEqual({
        file,
        offset: expectedOffset,
      });
      expect(c.message).toContain(file);
      expect(c.message).toContain(`offset ${expectedOffset}`);
      rmSync(dir, { recursive: true });
    }
  });

  it('a bad record in the last segment followed by a valid one is corruption, not a torn tail', async () => {
    const dir = copyOf(pristine);
    const [seg] = layout(dir).slice(-1);
    const victim = seg.recordOffsets[seg.recordOffsets.length - 2];
    patchFile(seg.file, victim + 4, Uint8Array.of(0, 0, 0, 0)); // wipe its CRC
    const err = (await openAll(dir).catch((e: unknown) => e)) as WalCorruptError;
    expect(err).toBeInstanceOf(WalCorruptError);
    expect(err.offset).toBe(victim);
    expect(err.message).toMatch(/CRC mismatch.*a valid record follows at offset \d+/);
  });

  it('zeros over a block in the middle of a full segment is corruption', async () => {
    const dir = copyOf(pristine);
    const seg = layout(dir)[1];
    patchFile(seg.file, 600, new Uint8Array(512));
    const err = (await openAll(dir).catch((e: unknown) => e)) as WalCorruptError;
    expect(err).toBeInstanceOf(WalCorruptError);
    expect(err.file).toBe(seg.file);
    expect(err.offset).toBe(recordContaining(seg, 600));
  });

  it('a full segment that lost its end is corruption', async () => {
    const dir = copyOf(pristine);
    const seg = layout(dir)[1];
    const fd = openSync(seg.file, 'r+');
    ftruncateSync(fd, seg.dataEnd - 5);
    closeSync(fd);
    const err = (await openAll(dir).catch((e: unknown) => e)) as WalCorruptError;
    expect(err).toBeInstanceOf(WalCorruptError);
    expect(err.offset).toBe(seg.recordOffsets[seg.recordOffsets.length - 1]);
    expect(err.message).toContain('not the last');
  });

  it('a missing segment in the sequence is corruption', async () => {
    const dir = copyOf(pristine);
    const segs = listSegments(dir);
    unlinkSync(join(dir, segs[2].name));
    const err = (await openAll(dir).catch((e: unknown) => e)) as WalCorruptError;
    expect(err).toBeInstanceOf(WalCorruptError);
    expect(err.file).toBe(join(dir, segs[3].name));
    expect(err.message).toContain(`segment seq 2 is missing`);
  });

  it('a segment whose name does not match its header is corruption', async () => {
    const dir = copyOf(pristine);
    const segs = listSegments(dir);
    const renamed = join(dir, formatSegmentName(segs[1].seq, segs[1].index - 1));
    renameSync(join(dir, segs[1].name), renamed);
    const err = (await openAll(dir).catch((e: unknown) => e)) as WalCorruptError;
    expect(err).toBeInstanceOf(WalCorruptError);
    expect(err.file).toBe(renamed);
    expect(err.offset).toBe(0);
    expect(err.message).toContain('the file name says');
  });
});
