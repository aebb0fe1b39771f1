// Folds the records of consecutive segments into what `Wal.open` returns: metadata, the last hard state,
// and the entries after the snapshot mark `from` (a later entry at an index replaces the tail from there
// on: a new leader overwrote uncommitted entries).
import type { Entry, HardState } from '@cairn/raft';
import { decodeEntry } from '../codec/entry-codec';
import { decodeHardState } from '../codec/state-codec';
import { WalCorruptError, WalError, WalErrorCode } from './errors';
import { RecordType } from './record';
import {
  decodeSegmentHeader,
  decodeSnapshotMark,
  WAL_FORMAT_VERSION,
  type SnapshotMark,
} from './record-payloads';
import type { ScannedRecord } from './segment-scan';
import type { SegmentName } from './segment-name';

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: 0n, commit: 0 });

export class Replay {
  metadata: Uint8Array | undefined;
  hardState: HardState = EMPTY_HARD_STATE;
  readonly entries: Entry[] = [];
  /** Index of the last entry written (or snapshot mark, if later): names the next segment. */
  lastIndex = 0;
  /** Every snapshot mark seen, in log order. */
  readonly marks: SnapshotMark[] = [];
  matchedFrom = false;

  /** With `collectEntries` false only metadata, hard state and marks are gathered (any start segment). */
  constructor(
    private readonly from: SnapshotMark,
    private readonly collectEntries: boolean,
  ) {}

  /** Applies the records of one segment; `file` and offsets go into errors. */
  applySegment(segment: SegmentName, file: string, records: readonly ScannedRecord[]): void {
    for (let i = 0; i < records.length; i++) {
      const rec = records[i];
      try {
        this.apply(segment, rec, i === 0);
      } catch (err) {
        if (err instanceof WalError) throw err;
        // A record that verified but does not decode: a writer bug or an unknown format, never data to guess at.
        throw new WalCorruptError(
          file,
          rec.offset,
          `undecodable ${RecordType[rec.type]} record: ${(err as Error).message}`,
        );
      }
    }
  }

  private apply(segment: SegmentName, rec: ScannedRecord, first: boolean): void {
    switch (rec.type) {
      case RecordType.SegmentHeader: {
        if (!first) throw new Error('segment header in the middle of a segment');
        const h = decodeSegmentHeader(rec.payload);
        if (h.version !== WAL_FORMAT_VERSION) throw new Error(`unsupported WAL format version ${h.version}`);
        if (h.seq !== segment.seq || h.index !== segment.index) {
          throw new Error(
            `header says seq ${h.seq} index ${h.index}, the file name says seq ${segment.seq} index ${segment.index}`,
          );
        }
        return;
      }
      case RecordType.Metadata:
        if (this.metadata !== undefined && Buffer.compare(this.metadata, rec.payload) !== 0) {
          throw new WalError(
            WalErrorCode.MetadataConflict,
            `segment ${segment.name} carries different metadata`,
          );
        }
        this.metadata ??= new Uint8Array(rec.payload); // a copy: the payload views a whole segment buffer
        return;
      case RecordType.Entry: {
        if (!this.collectEntries) {
          this.lastIndex = decodeEntry(rec.payload).index;
          return;
        }
        const e = decodeEntry(rec.payload, { copy: true });
        if (e.index > this.from.index) {
          const at = e.index - this.from.index - 1;
          if (at > this.entries.length) {
            throw new WalError(
              WalErrorCode.MissingEntries,
              `entry ${e.index} in ${segment.name} follows entry ${this.from.index + this.entries.length}: entries are missing (open from the newest snapshot mark)`,
            );
          }
          this.entries.length = at;
          this.entries.push(e);
        }
        this.lastIndex = e.index;
        return;
      }
      case RecordType.HardState:
        this.hardState = decodeHardState(rec.payload);
        return;
      case RecordType.SnapshotMark: {
        const mark = decodeSnapshotMark(rec.payload);
        this.marks.push(mark);
        if (mark.index === this.from.index) {
          if (mark.term !== this.from.term) {
            throw new WalError(
              WalErrorCode.SnapshotMismatch,
              `snapshot mark at index ${mark.index} has term ${mark.term}, expected ${this.from.term}`,
            );
          }
          this.matchedFrom = true;
        }
        if (mark.index > this.lastIndex) this.lastIndex = mark.index;
        return;
      }
    }
  }
}
