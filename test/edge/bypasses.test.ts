// Every bypass of a library internal in the edge has a start-up probe and a fallback (libs/edge/src/
// bypass-probes.ts); a fallback taken silently would quietly turn a fast path off. On the versions this project
// pins (grpc-js 1.14.7, Node 20: libs/edge/test/bypass-probes.test.ts checks them) a real member must engage
// every one, and each must actually carry traffic: this test fails if one stops engaging.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, etcdctlAt, startMember, waitFor, type Member } from '../support';
import { SENTINEL_KEY, SENTINEL_VALUE, expectMemberIntact, putSentinel } from './raw-h2';

let member: Member;

beforeAll(async () => {
  member = await startMember();
  await putSentinel(member);
});

afterAll(() => cleanupAll());

/** The start-up log line (pino JSON) that carries `field`, parsed. */
async function startupLine(field: string): Promise<Record<string, unknown>> {
  return waitFor(
    () => {
      const output = `${member.process?.stdout() ?? ''}\n${member.process?.stderr() ?? ''}`;
      for (const line of output.split('\n')) {
        if (!line.includes(`"${field}"`)) continue;
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          // not a JSON line
        }
      }
      return undefined;
    },
    { timeoutMs: 5_000, what: `a start-up log line with "${field}"` },
  );
}

describe('bypasses of library internals engage on the pinned versions', () => {
  it.each([
    ['kvFastPath', 'the stream router carries the KV fast path (grpc-js private http2Servers)'],
    ['streamRouter', "the stream router's probe passed"],
    ['oneFlushAnswers', 'KV answers leave in one HTTP/2 flush (Node stream internals)'],
    ['authorityNormalizer', ':authority http://... is rewritten under Node HTTP/2'],
    ['handFramedPeerStreams', 'Raft messages are routed off the peer HTTP/2 stream'],
  ])('%s: %s', async (field) => {
    const line = await startupLine(field);
    expect(line[field], `${field} in ${JSON.stringify(line)}`).toBe(true);
  });

  it('the fast path serves KV calls and the normaliser serves etcdctl', async () => {
    // A unary message followed by a stray byte: the fast path refuses it with its own text; grpc-js (which
    // serves Compact on the same service) reads past it. So this text proves the call took the fast path.
    const session = http2.connect(member.clientUrl);
    session.on('error', () => undefined);
    try {
      const call = (path: string, body: Buffer): Promise<http2.IncomingHttpHeaders & { body?: Buffer }> =>
        new Promise((resolve, reject) => {
          const stream = session.request({
            ':method': 'POST',
            ':path': path,
            'content-type': 'application/grpc',
            te: 'trailers',
          });
          let status: http2.IncomingHttpHeaders = {};
          const chunks: Buffer[] = [];
          stream.on('response', (headers) => (status = { ...status, ...headers }));
          stream.on('trailers', (trailers) => (status = { ...status, ...trailers }));
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('close', () => resolve(Object.assign({}, status, { body: Buffer.concat(chunks) })));
          stream.on('error', reject);
          stream.end(body);
        });
      const malformed = await call('/etcdserverpb.KV/Range', Buffer.from([0, 0, 0, 0, 0, 0]));
      expect(
        [malformed['grpc-status'], malformed['grpc-message']],
        'Range with a stray byte (the fast path refuses it)',
      ).toEqual(['13', 'Received a malformed unary request']);
      const range = Buffer.from([0x0a, SENTINEL_KEY.length, ...Buffer.from(SENTINEL_KEY)]);
      const ok = await call(
        '/etcdserverpb.KV/Range',
        Buffer.concat([Buffer.from([0, 0, 0, 0, range.length]), range]),
      );
      expect(ok['grpc-status'], 'grpc-status of a Range').toBe('0');
      expect(ok.body?.includes(Buffer.from(SENTINEL_VALUE)), 'the Range answer holds the sentinel').toBe(
        true,
      );
    } finally {
      session.destroy();
    }
    // etcdctl 3.4 dials http:// endpoints with ':authority: http://127.0.0.1:PORT': only the normaliser lets
    // Node's HTTP/2 serve it.
    const get = await etcdctlAt(member.clientUrl)(['get', SENTINEL_KEY, '--print-value-only']);
    expect(get.stdout.trim(), `etcdctl get: ${get.stderr}`).toBe(SENTINEL_VALUE);
    await expectMemberIntact(member, 'the bypass checks');
  });
});
