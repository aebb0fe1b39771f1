export type BackendErrorCode = 'snapshot-corrupt' | 'snapshot-target-exists' | 'closed';

/** Errors raised by the LevelDB backend; `code` is stable for callers to branch on. */
export class BackendError extends Error {
  override readonly name = 'BackendError';

  constructor(
    readonly code: BackendErrorCode,
    message: string,
  ) {
    super(message);
  }
}
