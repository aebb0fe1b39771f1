// Raised for any malformed HPACK input; callers treat it as "stop interpreting this connection".
export class HpackError extends Error {
  override readonly name = 'HpackError';
}
