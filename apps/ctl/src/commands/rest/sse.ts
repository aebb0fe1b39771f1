// A Server-Sent Events parser (the registry's and the config center's watch streams): bytes in, whole events
// out. Pure, so the framing rules (CRLF/LF, multi-line data, comments, a trailing partial line) are unit-tested.

export interface SseEvent {
  /** `event:` ('message' when absent, as EventSource). */
  event: string;
  /** The `data:` lines joined with '\n'. */
  data: string;
  /** `id:` ('' when absent). */
  id: string;
}

export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id = '';

  /** Feeds a chunk; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const nl = this.buffer.search(/\r\n|\n|\r/);
      if (nl < 0) break;
      const line = this.buffer.slice(0, nl);
      const width = this.buffer.startsWith('\r\n', nl) ? 2 : 1;
      // A lone '\r' at the end may be the first half of '\r\n': wait for more.
      if (width === 1 && this.buffer[nl] === '\r' && nl === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(nl + width);
      const done = this.line(line);
      if (done) out.push(done);
    }
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0 && this.event === '') return undefined;
      const event = { event: this.event || 'message', data: this.data.join('\n'), id: this.id };
      this.event = '';
      this.data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined; // comment (heartbeats)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
    return undefined;
  }
}
