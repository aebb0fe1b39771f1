// A text/event-stream parser (the WHATWG "event stream interpretation"), for the console's fetch-based stream
// reader: EventSource cannot send an Authorization header, so live views read the stream with fetch and
// parse it here. Pure and incremental: chunks may split lines (and CRLF pairs) anywhere.

export interface SseMessage {
  /** `event:` ('message' when absent, as EventSource does). */
  event: string;
  /** The `data:` lines joined with '\n'. */
  data: string;
  /** The last event id after this message (what Last-Event-ID sends back on reconnect). */
  lastEventId: string;
}

export class SseParser {
  private buffer = '';
  /** A chunk ended in '\r': a '\n' starting the next chunk belongs to the same line end. */
  private pendingCr = false;
  private event = '';
  private data: string[] = [];
  private hasData = false;
  /** The stream's last event id; persists across messages as the spec says. */
  lastEventId = '';
  /** The server's `retry:` (ms), if it sent one. */
  retryMs: number | undefined;

  constructor(lastEventId = '') {
    this.lastEventId = lastEventId;
  }

  /** Feeds decoded text; returns the messages it completed. */
  push(chunk: string): SseMessage[] {
    if (this.pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.pendingCr = false;
    this.buffer += chunk;
    const out: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      const line = this.buffer.slice(start, i);
      if (c === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[i + 1] === '\n') i++;
      }
      start = i + 1;
      const message = this.line(line);
      if (message) out.push(message);
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined; // a comment (the server's heartbeat)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const message: SseMessage | undefined = this.hasData
      ? { event: this.event || 'message', data: this.data.join('\n'), lastEventId: this.lastEventId }
      : undefined;
    this.event = '';
    this.data = [];
    this.hasData = false;
    return message;
  }
}
