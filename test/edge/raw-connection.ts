// A raw TCP client for the edge's timeout and limit tests: writes exactly the bytes a test gives, parses the
// HTTP/2 frames (or keeps the HTTP/1.1 text) that come back, and notes when the member closed the connection.
// It never answers anything by itself (no SETTINGS ACK, no PING ACK) unless the test writes it.
import net from 'node:net';
import { FrameFlag, FrameType, HTTP2_PREFACE, frameHeader } from '@cairn/edge';
import type { Member } from '../support';

export { FrameFlag, FrameType, HTTP2_PREFACE };

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
  at: number;
}

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  return Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
}

/** Literal header fields without indexing (RFC 7541 §6.2.2), names and values shorter than 127 bytes. */
function headerBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const literal = (text: string): Buffer => {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length >= 127) throw new Error(`header text too long for this encoder: ${text}`);
    return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  };
  return Buffer.concat(fields.flatMap(([name, value]) => [Buffer.from([0]), literal(name), literal(value)]));
}

/** HEADERS of a gRPC call to `path` on `streamId`, the request left open (no END_STREAM). */
export function grpcCallHeaders(streamId: number, path: string): Buffer {
  const block = headerBlock([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', '127.0.0.1'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ]);
  return frame(FrameType.HEADERS, FrameFlag.END_HEADERS, streamId, block);
}

/** The client preface, an empty SETTINGS and the ACK of the member's SETTINGS, sent ahead as clients may. */
export function http2Start(): Buffer {
  return Buffer.concat([
    HTTP2_PREFACE,
    frame(FrameType.SETTINGS, 0, 0),
    frame(FrameType.SETTINGS, FrameFlag.ACK, 0),
  ]);
}

export function ping(data = 0): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(data, 4);
  return frame(FrameType.PING, 0, 0, payload);
}

export class RawConnection {
  readonly frames: Frame[] = [];
  text = '';
  closedAt: number | undefined;
  readonly openedAt = Date.now();
  private pending = Buffer.alloc(0);

  private constructor(
    private readonly socket: net.Socket,
    private readonly http2: boolean,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => (this.closedAt = Date.now()));
  }

  /** Connects to the member's client URL; `http2`: parse what comes back as frames. */
  static async open(member: Member, http2: boolean): Promise<RawConnection> {
    const socket = net.connect({ host: '127.0.0.1', port: member.plan.clientPort, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawConnection(socket, http2);
  }

  write(bytes: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  get closed(): boolean {
    return this.closedAt !== undefined;
  }

  /** Milliseconds from connect to the member's close (undefined while open). */
  get lifetimeMs(): number | undefined {
    return this.closedAt === undefined ? undefined : this.closedAt - this.openedAt;
  }

  /** Waits until `done()` holds; false if `timeoutMs` pass first. */
  async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  framesOf(type: number): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (!this.http2) {
      this.text += chunk.toString('latin1');
      return;
    }
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) return;
      this.frames.push({
        type: this.pending[3]!,
        flags: this.pending[4]!,
        streamId: this.pending.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.pending.subarray(9, 9 + length)),
        at: Date.now(),
      });
      this.pending = this.pending.subarray(9 + length);
    }
  }
}

/** One sample of a metric from the member's /metrics ('' labels: the unlabelled series). */
export async function metric(member: Member, name: string, labels = ''): Promise<number | undefined> {
  const text = await (
    await fetch(`${member.clientUrl}/metrics`, { signal: AbortSignal.timeout(5000) })
  ).text();
  const series = labels === '' ? name : `${name}{${labels}}`;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
