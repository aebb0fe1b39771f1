// Hand-built HTTP/2 bytes for the edge's raw-socket tests: frames, an HPACK header block (literal fields,
// no Huffman, no indexing: every decoder takes them and they change no table), a socket that writes them
// in one TCP write, and the member checks every such test ends with.
import net from 'node:net';
import { FrameFlag, FrameType, HTTP2_PREFACE, Http2ErrorCode, frameHeader } from '@cairn/edge';
import { expect } from 'vitest';
import { b64, isHealthy, killMember, restartMember, sleep, type Member } from '../support';

export { FrameFlag, FrameType, HTTP2_PREFACE, Http2ErrorCode };

export function frame(
  type: number,
  flags: number,
  streamId: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  return Buffer.concat([frameHeader(payload.length, type, flags, streamId), payload]);
}

/** An HPACK integer with an `prefixBits`-bit prefix (RFC 7541 §5.1). */
function hpackInteger(value: number, prefixBits: number, firstByte = 0): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}

function hpackString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/** A header block of literal fields without indexing (RFC 7541 §6.2.2), in the order given. */
export function headerBlock(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.concat(
    fields.flatMap(([name, value]) => [Buffer.from([0x00]), hpackString(name), hpackString(value)]),
  );
}

export const SETTINGS_EMPTY = frame(FrameType.SETTINGS, 0, 0);
export const SETTINGS_ACK = frame(FrameType.SETTINGS, FrameFlag.ACK, 0);

export function headersFrame(
  streamId: number,
  fields: ReadonlyArray<readonly [string, string]>,
  endStream: boolean,
): Buffer {
  const flags = FrameFlag.END_HEADERS | (endStream ? FrameFlag.END_STREAM : 0);
  return frame(FrameType.HEADERS, flags, streamId, headerBlock(fields));
}

export function dataFrame(streamId: number, payload: Buffer, endStream: boolean): Buffer {
  return frame(FrameType.DATA, endStream ? FrameFlag.END_STREAM : 0, streamId, payload);
}

/** The frames in what a server sent (it sends no preface); a cut-off last frame is left out. */
export function framesOf(
  bytes: Buffer,
): Array<{ type: number; flags: number; streamId: number; payload: Buffer }> {
  const frames = [];
  let pos = 0;
  while (bytes.length - pos >= 9) {
    const length = bytes.readUIntBE(pos, 3);
    if (bytes.length - pos < 9 + length) break;
    frames.push({
      type: bytes[pos + 3],
      flags: bytes[pos + 4],
      streamId: bytes.readUInt32BE(pos + 5) & 0x7fffffff,
      payload: bytes.subarray(pos + 9, pos + 9 + length),
    });
    pos += 9 + length;
  }
  return frames;
}

export function rstStreamFrame(streamId: number, code: number = Http2ErrorCode.CANCEL): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code, 0);
  return frame(FrameType.RST_STREAM, 0, streamId, payload);
}

/** A gRPC request's headers: `authority` as given (a scheme in it sends the connection through the normaliser). */
export function requestFields(
  authority: string,
  path: string,
  contentType: string | undefined,
): Array<readonly [string, string]> {
  return [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', authority],
    ...(contentType === undefined ? [] : [['content-type', contentType] as const]),
    ['te', 'trailers'],
  ];
}

/**
 * Connects to the member's client URL (or `port`), writes `bytes` in ONE write, keeps reading until the server closes or
 * `lingerMs` pass, then closes. Resolves to what the server sent.
 */
export async function sendRaw(
  member: Member,
  bytes: Buffer,
  lingerMs = 400,
  port = member.plan.clientPort,
): Promise<Buffer> {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.write(bytes);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, lingerMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  socket.destroy();
  return Buffer.concat(received);
}

/** The preface, our SETTINGS and their ACK (the server's SETTINGS are acknowledged in advance, as clients may). */
export function connectionStart(): Buffer {
  return Buffer.concat([HTTP2_PREFACE, SETTINGS_EMPTY, SETTINGS_ACK]);
}

export const SENTINEL_KEY = '/edge-sentinel/alive';
export const SENTINEL_VALUE = 'still-here';

async function gateway(member: Member, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  expect(response.status, `${path} answered ${response.status}`).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

export async function putSentinel(member: Member): Promise<void> {
  await gateway(member, '/v3/kv/put', { key: b64(SENTINEL_KEY), value: b64(SENTINEL_VALUE) });
}

/**
 * What every edge test ends with: the member process is still running (its exit status and output otherwise),
 * /health answers 200 and the sentinel key still holds its value.
 */
export async function expectMemberIntact(member: Member, after: string): Promise<void> {
  const proc = member.process;
  const healthy = proc !== undefined && proc.running && (await isHealthy(member, 5_000));
  if (!healthy && proc !== undefined) {
    // A member that crashed may still be exiting: give it a moment, to report its exit and last output.
    const status = await Promise.race([proc.exited, sleep(3_000).then(() => undefined)]);
    if (status !== undefined)
      throw new Error(`member died after ${after}: exit ${JSON.stringify(status)}\n${proc.describeOutput()}`);
  }
  expect(healthy, `/health after ${after}`).toBe(true);
  const range = await gateway(member, '/v3/kv/range', { key: b64(SENTINEL_KEY) });
  const kvs = (range['kvs'] ?? []) as Array<{ value?: string }>;
  expect(
    kvs.map((kv) => Buffer.from(kv.value ?? '', 'base64').toString('utf8')),
    `sentinel after ${after}`,
  ).toEqual([SENTINEL_VALUE]);
}

/** Before each case: a member a previous case killed (or left dying) is restarted on the same data. */
export async function reviveIfDead(member: Member): Promise<void> {
  if (member.running && (await isHealthy(member, 2_000))) return;
  if (member.running) await killMember(member);
  await restartMember(member);
}
