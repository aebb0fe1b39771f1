// The snapshot files' one error type.
export enum SnapErrorCode {
  /** A file failed its checksum or is malformed. */
  Corrupt = 'corrupt',
}

export class SnapError extends Error {
  constructor(
    readonly code: SnapErrorCode,
    readonly path: string,
    detail: string,
  ) {
    super(`snap: ${path}: ${detail}`);
    this.name = 'SnapError';
  }
}
