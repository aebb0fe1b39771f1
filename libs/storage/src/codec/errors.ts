/** A value cannot be encoded (out of range) or bytes cannot be decoded (truncated, malformed, unknown tag). */
export class CodecError extends Error {
  constructor(message: string) {
    super(`codec: ${message}`);
    this.name = 'CodecError';
  }
}
