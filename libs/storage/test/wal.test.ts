import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EntryType, type HardState } from '@cairn/raft';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CodecError, decodeEntry, decodeHardState } from '../src/codec';
import { Wal, WalError, WalErrorCode } from '../src/wal';
import { RecordType } from '../src/wal/record';
import { listSegments, parseSegmentName, segmentHolding } from '../src/wal/segment-name';
import { scanSegment } from '../src/wal/segment-scan';
import { describeEntries, entries, entry, tempDir, walFiles } from './wal-helpers';

const META = Uint8Array.from([0xca, 0x1f, 0x00, 0x01, 0xff]);
const SMALL = { segmentSizeBytes: 2048 };
const hs = (term: number, commit: number, vote = 1n): HardState => ({ term, vote, commit });

let dir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir, cleanup } = tempDir('wal'));
  dir = join(dir, 'member', 'wal');
});
afterEach(() => cleanup());

describe('Wal.create / Wal.exists', () => {
  it('creates the first segment 0000000000000000-0000000000000000.wal; opening it gives the metadata, no entries, a zero hard state', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.close();
    expect(walFiles(dir)).toEqual(['0000000000000000-0000000000000000.wal']);
    const opened = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    await opened.wal.close();
    expect(Array.from(opened.metadata)).toEqual(Array.from(META));
    expect(opened.entries).toEqual([]);
    expect(opened.hardState).toEqual({ term: 0, vote: 0n, commit: 0 });
  });

  it('exists is false for a missing directory and true after create; create refuses a directory that holds a WAL', async () => {
    expect(Wal.exists(dir)).toBe(false);
    const wal = await Wal.create(dir, META, SMALL);
    await wal.close();
    expect(Wal.exists(dir)).toBe(true);
    await expect(Wal.create(dir, META, SMALL)).rejects.toMatchObject({ code: WalErrorCode.Exists });
  });

  it('preallocates the segment being written to the segment size', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.close();
    expect(statSync(join(dir, walFiles(dir)[0])).size).toBe(2048);
  });

  it('open of a directory without segments is NotFound', async () => {
    await expect(Wal.open(dir, { index: 0, term: 0 })).rejects.toMatchObject({ code: WalErrorCode.NotFound });
  });
});

describe('Wal.save and Wal.open', () => {
  it('round-trips entries and hard states across many segment cuts', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    let next = 1;
    for (let batch = 0; next <= 300; batch++) {
      const last = Math.min(300, next + (batch % 10));
      await wal.save(hs(1, Math.max(0, last - 2)), entries(1, next, last), true);
      next = last + 1;
    }
    await wal.close();

    const segs = listSegments(dir);
    expect(segs.length).toBeGreaterThan(5);
    segs.forEach((s, k) => expect(s.seq).toBe(k));
    for (let k = 1; k < segs.length; k++) expect(segs[k].index).toBeGreaterThan(segs[k - 1].index);
    // full segments were cut back to their data; only the last one keeps its preallocated size
    for (const s of segs.slice(0, -1)) expect(statSync(join(dir, s.name)).size).toBeLessThan(2048 + 1500);
    expect(statSync(join(dir, segs[segs.length - 1].name)).size).toBeGreaterThanOrEqual(2048);

    const opened = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    await opened.wal.close();
    expect(describeEntries(opened.entries)).toEqual(describeEntries(entries(1, 1, 300)));
    expect(opened.hardState).toEqual(hs(1, 298));
    expect(Array.from(opened.metadata)).toEqual(Array.from(META));
  });

  it('names each new segment after the index that follows the last entry written', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    for (let i = 1; i <= 60; i++) await wal.save(undefined, [entry(1, i, 200)], false);
    await wal.close();
    const segs = listSegments(dir);
    expect(segs.length).toBeGreaterThan(3);
    for (const s of segs.slice(1)) {
      const file = join(dir, s.name);
      const { records } = scanSegment(readFileSync(file), file, s.seq, false);
      const firstEntry = records.find((r) => r.type === RecordType.Entry);
      // one entry per save: a segment's first entry is exactly its name index
      if (firstEntry) expect(decodeEntry(firstEntry.payload).index).toBe(s.index);
    }
  });

  it('continues appending after reopen, across reopen after reopen', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.save(hs(1, 0), entries(1, 1, 30), true);
    await wal.close();
    for (let round = 1; round <= 3; round++) {
      const { wal: w, entries: got } = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
      expect(got.length).toBe(30 * round);
      await w.save(hs(round, 30 * round), entries(1, 30 * round + 1, 30 * round + 30), true);
      await w.close();
    }
    const last = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    await last.wal.close();
    expect(describeEntries(last.entries)).toEqual(describeEntries(entries(1, 1, 120)));
    expect(last.hardState).toEqual(hs(3, 90));
  });

  it("replaces the tail from a new term's first entry on, also across segments", async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.save(hs(1, 30), entries(1, 1, 100), true); // one batch: a single big segment, then a cut
    await wal.save(undefined, entries(1, 101, 140), true);
    await wal.save(hs(2, 30), entries(2, 40, 45), true); // a new leader overwrote 40.. (in an older segment)
    await wal.close();

    const first = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    expect(describeEntries(first.entries)).toEqual(
      describeEntries([...entries(1, 1, 39), ...entries(2, 40, 45)]),
    );
    await first.wal.save(hs(2, 44), entries(2, 46, 50), true);
    await first.wal.save(hs(3, 44), entries(3, 48, 49), true); // and once more at the very tail
    await first.wal.close();

    const second = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    await second.wal.close();
    expect(describeEntries(second.entries)).toEqual(
      describeEntries([...entries(1, 1, 39), ...entries(2, 40, 47), ...entries(3, 48, 49)]),
    );
    expect(second.hardState).toEqual(hs(3, 44));
  });

  it('applies concurrent saves in call order', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => wal.save(hs(1, i), [entry(1, i + 1, 100)], i % 3 === 0)),
    );
    await wal.close();
    const opened = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    await opened.wal.close();
    expect(describeEntries(opened.entries)).toEqual(
      describeEntries(Array.from({ length: 40 }, (_, i) => entry(1, i + 1, 100))),
    );
    expect(opened.hardState).toEqual(hs(1, 39));
  });

  it('saves the same records whether its fdatasync runs inline or off-thread, in call order when mixed', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        wal.save(hs(2, i), [entry(2, i + 1, 120)], true, i % 2 === 0 ? 'off-thread' : 'inline'),
      ),
    );
    await wal.close();
    const opened = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    await opened.wal.close();
    expect(describeEntries(opened.entries)).toEqual(
      describeEntries(Array.from({ length: 30 }, (_, i) => entry(2, i + 1, 120))),
    );
    expect(opened.hardState).toEqual(hs(2, 29));
  });

  it('writes unsynced saves durably on close', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.save(hs(4, 2), entries(4, 1, 5), false);
    await wal.close();
    const opened = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    await opened.wal.close();
    expect(opened.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5]);
    expect(opened.hardState).toEqual(hs(4, 2));
  });

  it('keeps a commit-only save (no entries, no sync) in memory until the next write, as etcd buffers it', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.save(hs(4, 2), entries(4, 1, 5), true);
    const written = readFileSync(join(dir, walFiles(dir)[0]));
    await wal.save(hs(4, 5), [], false);
    // Nothing reached the file: a reader (a crash now) sees the last written commit.
    expect(readFileSync(join(dir, walFiles(dir)[0]))).toEqual(written);
    expect((await Wal.readSnapshotMarks(dir)).length).toBe(1);
    // The next write carries it, before the entries that follow.
    await wal.save(undefined, entries(4, 6, 6), true);
    const afterWrite = scanSegment(readFileSync(join(dir, walFiles(dir)[0])), 'seg', 0, true).records;
    const states = afterWrite.filter((r) => r.type === RecordType.HardState);
    expect(states.length).toBe(2);
    await wal.save(hs(4, 6), [], false);
    await wal.close(); // close writes what is still held
    const opened = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    await opened.wal.close();
    expect(opened.entries.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(opened.hardState).toEqual(hs(4, 6));
  });

  it('writes a held commit with a sync-only save and before a snapshot mark, so the mark is trusted', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.save(hs(1, 1), entries(1, 1, 10), true);
    await wal.save(hs(1, 8), [], false);
    await wal.saveSnapshot({ index: 8, term: 1 });
    expect(await Wal.readSnapshotMarks(dir)).toEqual([
      { index: 0, term: 0 },
      { index: 8, term: 1 },
    ]);
    await wal.save(hs(1, 10), [], false);
    await wal.save(undefined, [], true);
    const records = walFiles(dir).flatMap(
      (f, k, all) => scanSegment(readFileSync(join(dir, f)), f, k, k === all.length - 1).records,
    );
    const states = records.filter((r) => r.type === RecordType.HardState);
    expect(decodeHardState(states[states.length - 1].payload)).toEqual(hs(1, 10));
    await wal.close();
  });

  it('refuses an invalid entry before writing anything, and stays usable', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.save(undefined, entries(1, 1, 3), true);
    await expect(
      wal.save(
        hs(1, 1),
        [entry(1, 4), { term: 1, index: -5, type: EntryType.Normal, data: new Uint8Array(0) }],
        true,
      ),
    ).rejects.toThrow(CodecError);
    await wal.save(hs(1, 2), entries(1, 4, 4), true);
    await wal.close();
    const opened = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    await opened.wal.close();
    expect(opened.entries.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    expect(opened.hardState).toEqual(hs(1, 2));
  });

  it('a closed WAL refuses every operation; close is idempotent', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.close();
    await wal.close();
    await expect(wal.save(hs(1, 0), [], true)).rejects.toMatchObject({ code: WalErrorCode.Closed });
    await expect(wal.saveSnapshot({ index: 1, term: 1 })).rejects.toBeInstanceOf(WalError);
    await expect(wal.releaseTo(1)).rejects.toMatchObject({ code: WalErrorCode.Closed });
  });

  it('ignores and removes leftover .tmp files from an interrupted cut', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.save(hs(1, 1), entries(1, 1, 5), true);
    await wal.close();
    writeFileSync(join(dir, 'segment-0.tmp'), Buffer.alloc(100, 7));
    const opened = await Wal.open(dir, { index: 0, term: 0 }, SMALL);
    await opened.wal.close();
    expect(opened.entries.length).toBe(5);
    expect(existsSync(join(dir, 'segment-0.tmp'))).toBe(false);
  });
});

describe('snapshot marks and releaseTo', () => {
  async function logWithMarkAt(markIndex: number, last: number): Promise<void> {
    const wal = await Wal.create(dir, META, SMALL);
    for (let i = 1; i <= last; i += 5) {
      await wal.save(hs(2, Math.min(last, i + 4)), entries(2, i, Math.min(last, i + 4)), true);
      if (i <= markIndex && markIndex < i + 5) await wal.saveSnapshot({ index: markIndex, term: 2 });
    }
    await wal.close();
  }

  it('open from a mark returns only the entries after it', async () => {
    await logWithMarkAt(73, 150);
    const opened = await Wal.open(dir, { index: 73, term: 2 }, SMALL);
    await opened.wal.close();
    expect(describeEntries(opened.entries)).toEqual(describeEntries(entries(2, 74, 150)));
    expect(opened.hardState).toEqual(hs(2, 150));
  });

  it('open from a mark that is not in the log is SnapshotNotFound; from a mark with another term is SnapshotMismatch', async () => {
    await logWithMarkAt(73, 150);
    await expect(Wal.open(dir, { index: 74, term: 2 }, SMALL)).rejects.toMatchObject({
      code: WalErrorCode.SnapshotNotFound,
    });
    await expect(Wal.open(dir, { index: 73, term: 1 }, SMALL)).rejects.toMatchObject({
      code: WalErrorCode.SnapshotMismatch,
    });
  });

  it('releaseTo deletes exactly the segments before the one holding the index, and the log still opens from the mark', async () => {
    await logWithMarkAt(120, 200);
    const before = listSegments(dir);
    const keepFrom = segmentHolding(before, 120);
    expect(keepFrom).toBeGreaterThan(1);

    const { wal } = await Wal.open(dir, { index: 120, term: 2 }, SMALL);
    await wal.releaseTo(120);
    expect(walFiles(dir)).toEqual(before.slice(keepFrom).map((s) => s.name));
    await wal.releaseTo(5); // older than what is left: nothing more to delete
    expect(walFiles(dir).length).toBe(before.length - keepFrom);
    await wal.close();

    const opened = await Wal.open(dir, { index: 120, term: 2 }, SMALL);
    await opened.wal.close();
    expect(describeEntries(opened.entries)).toEqual(describeEntries(entries(2, 121, 200)));
    // the released part is gone for good
    await expect(Wal.open(dir, { index: 0, term: 0 }, SMALL)).rejects.toMatchObject({
      code: WalErrorCode.SnapshotNotFound,
    });
  });

  it('releaseTo never deletes the segment being written to', async () => {
    await logWithMarkAt(150, 150);
    const { wal } = await Wal.open(dir, { index: 150, term: 2 }, SMALL);
    await wal.releaseTo(1_000_000);
    const left = walFiles(dir);
    expect(left.length).toBe(1);
    await wal.save(hs(2, 151), entries(2, 151, 151), true);
    await wal.close();
    const opened = await Wal.open(dir, { index: 150, term: 2 }, SMALL);
    await opened.wal.close();
    expect(opened.entries.map((e) => e.index)).toEqual([151]);
    expect(parseSegmentName(left[0])).toBeDefined();
  });

  it('readSnapshotMarks lists the marks at or below the committed index', async () => {
    const wal = await Wal.create(dir, META, SMALL);
    await wal.save(hs(1, 10), entries(1, 1, 10), true);
    await wal.saveSnapshot({ index: 5, term: 1 });
    await wal.saveSnapshot({ index: 10, term: 1 });
    await wal.saveSnapshot({ index: 12, term: 1 }); // beyond the commit index: not trusted
    expect(await Wal.readSnapshotMarks(dir)).toEqual([
      { index: 0, term: 0 },
      { index: 5, term: 1 },
      { index: 10, term: 1 },
    ]);
    await wal.close();
  });
});
