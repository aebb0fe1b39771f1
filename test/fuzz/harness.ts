// The fuzz loop: one member (bin/cairn or etcd, loopback, own data dir), sentinel keys, N generated
// inputs thrown at the client URL over raw sockets in small parallel batches, and after every batch the
// invariants: the process is alive, GET /health is 200, every sentinel key has the same value and
// mod_revision, a normal put/get works (JSON gateway) and gRPC KV/Range and Health/Check answer OK. A failed batch is replayed input by input on a fresh member to
// name the one input that breaks it; the finding carries the seed, the index, the bytes and the stderr.
import { connect as h2connect, constants as h2c } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { prefixEnd } from '@cairn/api';
import { isHealthy, sleep, startMember, stopMember, type Member } from '../support';
import { encodeObject, genGrpcInput, grpcFrame, type GrpcInput } from './grpc-messages';
import { genH2FrontInput, genH2Input, type H2Input } from './h2-frames';
import { genHttp1Input, type Http1Input } from './http1';
import { genJsonInput, jsonRequestBytes, type JsonInput } from './json-bodies';
import { Rng } from './rng';
import { SENTINEL_PREFIX, type SafetyContext } from './safety';

/**
 * h2peer: the h2 generator aimed at the peer URL (the members' own HTTP/2 listener). h2front: connections that
 * open with a KV call, so the gRPC front (libs/edge/src/grpc-front) takes them, then bent (h2-frames.ts).
 */
export type FuzzKind = 'h2' | 'h2peer' | 'h2front' | 'http1' | 'grpc' | 'json';
export type FuzzInput = H2Input | Http1Input | GrpcInput | JsonInput;

export interface Finding {
  kind: FuzzKind;
  seed: number;
  /** Index of the input that breaks the member alone, or undefined if no single input of the batch did. */
  index: number | undefined;
  batch: readonly number[];
  failure: string;
  how: string;
  hex: string;
  stderr: string;
}

export interface CampaignOptions {
  kind: FuzzKind;
  seed: number;
  inputs: number;
  batchSize?: number;
  /** Inputs in flight at once within a batch. */
  lanes?: number;
  /** Stop after this many new (not KNOWN_CRASHES) findings; each one costs a fresh member or two. */
  maxFindings?: number;
  /** Only these input indices (replay). */
  only?: readonly number[];
  /** h2 only: no RST_STREAM, only gRPC requests (quarantine of a known crash; see fuzz.test.ts). */
  quarantine?: boolean;
}

export interface CampaignResult {
  kind: FuzzKind;
  seed: number;
  sent: number;
  findings: Finding[];
  /** HTTP statuses and gRPC statuses seen, for the log (proof the inputs reach handlers; a 500 is worth a look). */
  statuses: Map<string, number>;
  /** Batches broken by each known crash (KNOWN_CRASHES label → count). */
  knownRepeats: Map<string, number>;
}

const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64');

interface SentinelState {
  key: string;
  value: string;
  mod_revision: string;
}

async function gateway(
  member: Member,
  path: string,
  body: unknown,
  timeoutMs = 5000,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${member.clientUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** A well-formed unary gRPC call; its grpc-status and grpc-message (status 'timeout' after 5 s). */
function grpcUnary(
  port: number,
  path: string,
  typeName: string,
  obj: Record<string, unknown>,
): Promise<{ status: string; message: string }> {
  return new Promise((resolve) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    let status = 'no status';
    let message = '';
    const finish = (): void => {
      clearTimeout(timer);
      session.destroy();
      resolve({ status, message });
    };
    const timer = setTimeout(() => {
      status = 'timeout';
      finish();
    }, 5000);
    session.on('error', (error) => {
      message = error.message;
      finish();
    });
    const req = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    const take = (headers: Record<string, unknown>): void => {
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
      if (headers['grpc-message'] !== undefined)
        message = decodeURIComponent(String(headers['grpc-message']));
    };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => undefined);
    req.on('error', (error) => {
      message = error.message;
    });
    req.on('close', finish);
    req.end(grpcFrame(encodeObject(typeName, obj)));
  });
}

/** One member under fuzz, with its sentinels; replaced by a fresh one after a finding. */
export class FuzzTarget {
  member: Member | undefined;
  ctx: SafetyContext = { sentinelKeys: [], memberId: '0' };
  private sentinels: SentinelState[] = [];
  private checks = 0;

  async start(): Promise<void> {
    this.member = await startMember();
    const status = await gateway(this.member, '/v3/maintenance/status', {});
    const header = status.header as { member_id?: string } | undefined;
    const keys: Buffer[] = [];
    const rng = new Rng(4242);
    for (let i = 0; i < 8; i++) {
      const key = Buffer.from(`${SENTINEL_PREFIX}${String(i).padStart(2, '0')}`);
      const value = i % 2 === 0 ? Buffer.from(`sentinel-${i}`) : rng.bytes(1 + rng.int(64));
      await gateway(this.member, '/v3/kv/put', { key: b64(key), value: b64(value) });
      keys.push(key);
    }
    this.ctx = { sentinelKeys: keys, memberId: header?.member_id ?? '0' };
    this.sentinels = await this.readSentinels();
    if (this.sentinels.length !== 8) throw new Error(`expected 8 sentinels, read ${this.sentinels.length}`);
  }

  get port(): number {
    return this.member!.plan.clientPort;
  }

  get peerPort(): number {
    return this.member!.plan.peerPort;
  }

  /** Where a campaign of `kind` sends its inputs. */
  portFor(kind: FuzzKind): number {
    return kind === 'h2peer' ? this.peerPort : this.port;
  }

  private async readSentinels(): Promise<SentinelState[]> {
    const prefix = Buffer.from(SENTINEL_PREFIX);
    const res = await gateway(this.member!, '/v3/kv/range', {
      key: b64(prefix),
      range_end: b64(prefixEnd(prefix)),
    });
    const kvs = (res.kvs as Record<string, string>[] | undefined) ?? [];
    return kvs.map((kv) => ({ key: kv.key!, value: kv.value ?? '', mod_revision: kv.mod_revision! }));
  }

  /** The invariants; a string describing the first one broken, or undefined. */
  async check(): Promise<string | undefined> {
    const member = this.member!;
    if (!member.running) {
      const status = await member.process!.exited;
      return `the member exited (code ${status.code}, signal ${status.signal})`;
    }
    if (!(await isHealthy(member, 5000))) {
      // A dying process may still hold its port for a moment: give the exit a chance to be seen.
      const exited = await Promise.race([member.process!.exited, sleep(1000).then(() => undefined)]);
      if (exited !== undefined) return `the member exited (code ${exited.code}, signal ${exited.signal})`;
      return 'GET /health did not answer 200 {"health":"true"} within 5 s';
    }
    try {
      const now = await this.readSentinels();
      const want = JSON.stringify(this.sentinels);
      const got = JSON.stringify(now);
      if (want !== got) return `sentinel keys changed:\n  expected ${want}\n  saw      ${got}`;
      const key = b64(`/fuzz-check/${++this.checks}`);
      const value = b64(`v${this.checks}`);
      await gateway(member, '/v3/kv/put', { key, value });
      const read = await gateway(member, '/v3/kv/range', { key });
      const kv = (read.kvs as Record<string, string>[] | undefined)?.[0];
      if (kv?.value !== value) return `put/get of a fresh key failed: read ${JSON.stringify(read)}`;
      // The same over gRPC: KV/Range of a sentinel (the fast path) and grpc.health.v1 Check (grpc-js).
      const range = await grpcUnary(this.port, '/etcdserverpb.KV/Range', 'etcdserverpb.RangeRequest', {
        key: this.ctx.sentinelKeys[0],
      });
      if (range.status !== '0') return `gRPC KV/Range answered status ${range.status} "${range.message}"`;
      const health = await grpcUnary(
        this.port,
        '/grpc.health.v1.Health/Check',
        'grpc.health.v1.HealthCheckRequest',
        {},
      );
      if (health.status !== '0')
        return `gRPC Health/Check answered status ${health.status} "${health.message}"`;
    } catch (error) {
      const exited = await Promise.race([member.process!.exited, sleep(1000).then(() => undefined)]);
      if (exited !== undefined) return `the member exited (code ${exited.code}, signal ${exited.signal})`;
      return `a normal request failed: ${(error as Error).message}`;
    }
    return undefined;
  }

  stderr(): string {
    const text = this.member?.process?.stderr() ?? '';
    return text.length > 6000 ? `…${text.slice(-6000)}` : text;
  }

  async stop(): Promise<void> {
    if (this.member !== undefined) await stopMember(this.member, 3000);
    this.member = undefined;
  }

  async restart(): Promise<void> {
    if (this.member?.running) await this.member.process!.kill();
    this.member = undefined;
    await this.start();
  }
}

export function generate(
  kind: FuzzKind,
  seed: number,
  index: number,
  target: FuzzTarget,
  quarantine = false,
): FuzzInput {
  const rng = new Rng(seed).fork(index);
  switch (kind) {
    case 'h2':
      return genH2Input(rng, `127.0.0.1:${target.port}`, { quarantine });
    case 'h2peer':
      return genH2Input(rng, `127.0.0.1:${target.peerPort}`, { quarantine });
    case 'h2front':
      return genH2FrontInput(rng, `127.0.0.1:${target.port}`);
    case 'http1':
      return genHttp1Input(rng);
    case 'grpc':
      return genGrpcInput(rng, target.ctx, index);
    case 'json':
      return genJsonInput(rng, target.ctx);
  }
}

/** The bytes of an input, for the report. */
export function inputBytes(input: FuzzInput): Buffer {
  switch (input.kind) {
    case 'h2':
    case 'http1':
      return Buffer.concat(input.writes);
    case 'grpc':
      return input.body;
    case 'json':
      return jsonRequestBytes(input);
  }
}

export function describeInput(input: FuzzInput): string {
  switch (input.kind) {
    case 'grpc':
      return `${input.method.path} ${input.how}${Object.keys(input.extraHeaders).length > 0 ? ` ${JSON.stringify(input.extraHeaders)}` : ''}`;
    case 'json':
      return `${input.method} ${input.path.slice(0, 120)} ${input.how}`;
    default:
      return `${input.how} ending=${input.ending}`;
  }
}

function hexPreview(bytes: Buffer, max = 512): string {
  const hex = bytes.subarray(0, max).toString('hex');
  return bytes.length > max ? `${hex}… (${bytes.length} bytes)` : `${hex} (${bytes.length} bytes)`;
}

function tally(notes: Map<string, number>, key: string): void {
  notes.set(key, (notes.get(key) ?? 0) + 1);
}

/** CAIRN_FUZZ_VERBOSE=1: tally statuses per gRPC method and per REST/gateway route too. */
const VERBOSE = process.env.CAIRN_FUZZ_VERBOSE === '1';
const RAW_WAIT_MS = 400;
const IDLE_MS = 60;

/** Answer bytes an h2front input scans for the front's statuses. */
const FRONT_SCAN_BYTES = 1 << 20;
/** How the front writes a status (a literal without indexing, new name: header-blocks.ts). */
const FRONT_STATUS = Buffer.from('\x0bgrpc-status', 'latin1');

/**
 * Tallies the gRPC statuses the front wrote (`front grpc-status N`): nghttp2 (grpc-js) encodes its own
 * differently, so these prove the inputs reached the front's calls. A status split across chunks is found
 * through `carry` (the previous chunk's tail).
 */
function tallyFrontStatuses(notes: Map<string, number>, carry: Buffer, chunk: Buffer): void {
  const text = Buffer.concat([carry, chunk]);
  let at = text.indexOf(FRONT_STATUS, 0);
  while (at >= 0) {
    const end = at + FRONT_STATUS.length;
    // Complete here, and not already counted with the previous chunk (ends past the carried tail).
    if (end < text.length && end + 1 + text[end]! <= text.length && end + 1 + text[end]! > carry.length) {
      tally(notes, `front grpc-status ${text.toString('latin1', end + 1, end + 1 + text[end]!)}`);
    }
    at = text.indexOf(FRONT_STATUS, end);
  }
}

/** Writes the bytes on a fresh TCP connection, reads whatever comes back, and closes as the input says. */
function sendRaw(
  port: number,
  writes: readonly Buffer[],
  ending: 'wait' | 'end' | 'destroy',
  notes: Map<string, number>,
  label = '',
  scanFront = false,
): Promise<void> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let scanned = 0;
    let carry: Buffer = Buffer.alloc(0);
    socket.setNoDelay(true);
    let finished = false;
    let idle: NodeJS.Timeout | undefined;
    let first = true;
    const done = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(overall);
      clearTimeout(idle);
      socket.destroy();
      resolve();
    };
    const overall = setTimeout(done, RAW_WAIT_MS + 200);
    socket.on('error', done);
    socket.on('close', done);
    socket.on('data', (chunk: Buffer) => {
      if (scanFront && scanned < FRONT_SCAN_BYTES) {
        scanned += chunk.length;
        tallyFrontStatuses(notes, carry, chunk);
        carry = chunk.subarray(Math.max(0, chunk.length - 16));
      }
      if (first) {
        first = false;
        const m = /^HTTP\/1\.1 (\d{3})/.exec(chunk.subarray(0, 16).toString('latin1'));
        if (m) tally(notes, `http ${m[1]}`);
        if (m && VERBOSE && label) tally(notes, `http ${m[1]} ${label}`);
      }
      clearTimeout(idle);
      idle = setTimeout(done, IDLE_MS);
    });
    socket.on('connect', () => {
      void (async () => {
        for (const [i, chunk] of writes.entries()) {
          if (socket.destroyed) return;
          await new Promise<void>((r) => socket.write(chunk, () => r()));
          if (i < writes.length - 1) await new Promise((r) => setTimeout(r, 2));
        }
        if (ending === 'destroy') done();
        else {
          if (ending === 'end') socket.end();
          idle = setTimeout(done, RAW_WAIT_MS);
        }
      })();
    });
  });
}

const GRPC_WAIT_MS = 300;

function grpcStatus(notes: Map<string, number>, input: GrpcInput, code: string, message: unknown): void {
  tally(notes, `grpc-status ${code}`);
  if (VERBOSE) tally(notes, `grpc-status ${code} ${input.method.name}`);
  if (VERBOSE && code === '2')
    tally(notes, `grpc-status 2 says "${decodeURIComponent(String(message ?? '')).slice(0, 80)}"`);
}

/** A gRPC call through node's HTTP/2 client: the body as DATA, then END_STREAM; cancelled if it lingers. */
function sendGrpc(port: number, input: GrpcInput, notes: Map<string, number>): Promise<void> {
  return new Promise((resolve) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (!req.closed) req.close(h2c.NGHTTP2_CANCEL);
      session.destroy();
      resolve();
    };
    const timer = setTimeout(done, GRPC_WAIT_MS);
    session.on('error', done);
    const req = session.request({
      ':method': 'POST',
      ':path': input.method.path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...input.extraHeaders,
    });
    req.on('error', done);
    req.on('trailers', (trailers) => {
      grpcStatus(notes, input, String(trailers['grpc-status'] ?? '?'), trailers['grpc-message']);
    });
    req.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) {
        grpcStatus(notes, input, String(headers['grpc-status']), headers['grpc-message']);
      } else if (headers[':status'] !== 200) tally(notes, `h2 ${String(headers[':status'])}`);
    });
    req.on('data', () => undefined);
    req.on('close', done);
    if (input.endStream) req.end(input.body);
    else req.write(input.body);
    if (input.cancelAfterMs !== undefined) setTimeout(done, input.cancelAfterMs);
  });
}

/** Raw bytes on one fresh connection, in one write (a recorded reproducer). */
export function sendBytes(port: number, bytes: Buffer): Promise<void> {
  return sendRaw(port, [bytes], 'wait', new Map());
}

export function sendInput(
  port: number,
  input: FuzzInput,
  notes: Map<string, number>,
  scanFront = false,
): Promise<void> {
  switch (input.kind) {
    case 'h2':
    case 'http1':
      return sendRaw(port, input.writes, input.ending, notes, '', scanFront);
    case 'grpc':
      return sendGrpc(port, input, notes);
    case 'json':
      return sendRaw(
        port,
        [jsonRequestBytes(input)],
        'wait',
        notes,
        `${input.method} ${input.path
          .replace(/namespaces\/[^/]*/g, 'namespaces/:ns')
          .replace(/(apps|items|services|instances)\/[^/]*/g, '$1/:x')
          .slice(0, 80)} ${input.how.split(' ')[0]}`,
      );
  }
}

async function runBatch(
  port: number,
  inputs: readonly FuzzInput[],
  lanes: number,
  notes: Map<string, number>,
  scanFront: boolean,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < inputs.length) {
      const input = inputs[next++]!;
      await sendInput(port, input, notes, scanFront);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, inputs.length) }, lane));
}

/** Replays a failed batch on fresh members, one input at a time, to name the input that breaks the member. */
async function isolate(
  target: FuzzTarget,
  opts: CampaignOptions,
  batch: readonly number[],
  notes: Map<string, number>,
): Promise<Omit<Finding, 'batch'>> {
  await target.restart();
  for (const index of batch) {
    const input = generate(opts.kind, opts.seed, index, target, opts.quarantine);
    await sendInput(target.portFor(opts.kind), input, notes);
    const failure = await target.check();
    if (failure !== undefined) {
      const finding = {
        kind: opts.kind,
        seed: opts.seed,
        index,
        failure,
        how: describeInput(input),
        hex: hexPreview(inputBytes(input)),
        stderr: target.stderr(),
      };
      await target.restart();
      return finding;
    }
  }
  return {
    kind: opts.kind,
    seed: opts.seed,
    index: undefined,
    failure: 'no single input of the batch reproduces it alone',
    how: '',
    hex: '',
    stderr: '',
  };
}

export async function runCampaign(target: FuzzTarget, opts: CampaignOptions): Promise<CampaignResult> {
  const batchSize = opts.batchSize ?? 20;
  const lanes = opts.lanes ?? 4;
  const maxFindings = opts.maxFindings ?? 3;
  const indices = opts.only ?? Array.from({ length: opts.inputs }, (_, i) => i);
  const result: CampaignResult = {
    kind: opts.kind,
    seed: opts.seed,
    sent: 0,
    findings: [],
    statuses: new Map(),
    knownRepeats: new Map(),
  };
  for (let start = 0; start < indices.length; start += batchSize) {
    const batch = indices.slice(start, start + batchSize);
    const inputs = batch.map((i) => generate(opts.kind, opts.seed, i, target, opts.quarantine));
    await runBatch(target.portFor(opts.kind), inputs, lanes, result.statuses, opts.kind === 'h2front');
    result.sent += inputs.length;
    const failure = await target.check();
    if (failure === undefined) continue;
    const stderr = target.stderr();
    // A crash already filed (KNOWN_CRASHES) is isolated twice per campaign; after that its repeats are only
    // counted (fresh member, go on), so a long run keeps exploring past it.
    const known = knownIn(stderr);
    if (known !== undefined) {
      const seen = result.knownRepeats.get(known) ?? 0;
      result.knownRepeats.set(known, seen + 1);
      if (seen >= 2) {
        await target.restart();
        continue;
      }
    }
    const isolated = await isolate(target, opts, batch, result.statuses);
    const finding: Finding = {
      ...isolated,
      batch,
      failure: isolated.index === undefined ? `${failure} (${isolated.failure})` : isolated.failure,
      stderr: isolated.stderr || stderr,
    };
    result.findings.push(finding);
    if (result.findings.filter((f) => knownCrash(f) === undefined).length >= maxFindings) break;
  }
  return result;
}

/**
 * Crashes already recorded in FINDINGS.md, recognised by the member's stderr. A finding that matches is still
 * a finding (the run fails); the label only says where it is tracked, and a campaign isolates each at most
 * twice (later batches it breaks are counted, see runCampaign).
 */
export const KNOWN_CRASHES: readonly { label: string; pattern: RegExp }[] = [
  {
    label: 'F1 again (FINDINGS.md): a torn-down stream reached grpc-js _verifyContentType/_respondWithError',
    pattern: /ERR_HTTP2_INVALID_STREAM[\s\S]*?(_verifyContentType|_respondWithError)/,
  },
  {
    label: 'F3 again (FINDINGS.md): nghttp2 assertion iframe->state == NGHTTP2_IB_IGN_ALL, SIGABRT',
    pattern: /nghttp2_session_mem_recv2: Assertion `iframe->state == NGHTTP2_IB_IGN_ALL' failed/,
  },
];

function knownIn(stderr: string): string | undefined {
  return KNOWN_CRASHES.find((k) => k.pattern.test(stderr))?.label;
}

export function knownCrash(f: Finding): string | undefined {
  return knownIn(f.stderr);
}

export function formatFinding(f: Finding): string {
  const replay =
    f.index === undefined
      ? `CAIRN_FUZZ_KIND=${f.kind} CAIRN_FUZZ_SEEDS=${f.seed} CAIRN_FUZZ_ONLY=${f.batch.join(',')}`
      : `CAIRN_FUZZ_KIND=${f.kind} CAIRN_FUZZ_SEEDS=${f.seed} CAIRN_FUZZ_ONLY=${f.index}`;
  return [
    `FUZZ FINDING [${f.kind}] seed ${f.seed} input ${f.index ?? `one of ${f.batch[0]}..${f.batch[f.batch.length - 1]}`}${knownCrash(f) ? ` — ${knownCrash(f)}` : ' — NEW'}`,
    `  broke: ${f.failure}`,
    `  input: ${f.how}`,
    `  bytes: ${f.hex}`,
    `  replay: (cd test && ${replay} npx vitest run fuzz)`,
    `  member stderr (tail):`,
    f.stderr
      .split('\n')
      .slice(-40)
      .map((l) => `    ${l}`)
      .join('\n'),
  ].join('\n');
}
