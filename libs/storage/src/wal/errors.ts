// The WAL's one error type. `WalCorruptError` is the one a caller must never paper over: the log on disk
// lost records that were acknowledged, and only an operator (or a snapshot from a peer) can repair that.

export enum WalErrorCode {
  /** `create` found segments already in the directory. */
  Exists = 'exists',
  /** `open` found no segment in the directory. */
  NotFound = 'not-found',
  /** The snapshot mark `open` was asked to start from is not in the log (or its segment was released). */
  SnapshotNotFound = 'snapshot-not-found',
  /** A snapshot mark at the requested index has a different term. */
  SnapshotMismatch = 'snapshot-mismatch',
  /** Segments carry different metadata (they belong to different members or clusters). */
  MetadataConflict = 'metadata-conflict',
  /** The entries after the snapshot mark are not contiguous (opened from an older mark than the log supports). */
  MissingEntries = 'missing-entries',
  /** A record failed its checksum or could not be decoded where a torn write cannot explain it. */
  Corrupt = 'corrupt',
  /** The WAL was closed. */
  Closed = 'closed',
  /** An earlier write or sync failed; what reached the disk is unknown, so the WAL refuses further use. */
  Failed = 'failed',
}

export class WalError extends Error {
  constructor(
    readonly code: WalErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`wal: ${message}`, options);
    this.name = 'WalError';
  }
}

/** A bad record that is not a torn tail. Names the segment file and the byte offset of the bad record. */
export class WalCorruptError extends WalError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(WalErrorCode.Corrupt, `corrupt record in ${file} at offset ${offset}: ${reason}`);
    this.name = 'WalCorruptError';
  }
}
