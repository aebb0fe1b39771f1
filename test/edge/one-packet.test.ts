// Issue 14: "one packet kills the member". An HTTP/2 connection whose first request is reset (RST_STREAM) in
// the same TCP write as its HEADERS reaches the server's 'stream' handlers with the stream already destroyed;
// answering it then throws (ERR_HTTP2_INVALID_STREAM from grpc-js's _verifyContentType, reached through the
// stream router). A member must ignore such a stream. Each case is tried on a connection served on the raw
// socket and on one that goes through the `:authority` normaliser (a first request whose :authority carries a
// scheme, as etcdctl's do); after each, the member is alive, /health is 200 and a sentinel key is intact.
import http2 from 'node:http2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cleanupAll, startMember, type Member } from '../support';
import { grpcMessage } from '@cairn/edge';
import {
  FrameType,
  Http2ErrorCode,
  SENTINEL_KEY,
  SENTINEL_VALUE,
  connectionStart,
  dataFrame,
  framesOf,
  expectMemberIntact,
  headersFrame,
  putSentinel,
  reviveIfDead,
  requestFields,
  rstStreamFrame,
  sendRaw,
} from './raw-h2';

let member: Member;

beforeAll(async () => {
  member = await startMember();
  await putSentinel(member);
});

// A case that kills the member fails on its own; the next one starts from a member restarted on the same data.
beforeEach(async () => {
  await reviveIfDead(member);
});

afterAll(() => cleanupAll());

const CONNECTIONS = [
  { kind: 'raw socket', authority: () => `127.0.0.1:${member.plan.clientPort}` },
  { kind: ':authority normaliser', authority: () => `http://127.0.0.1:${member.plan.clientPort}` },
] as const;

const FIRST_REQUESTS = [
  { what: 'no content-type', path: '/etcdserverpb.KV/Range', contentType: undefined },
  { what: 'a text/plain content-type', path: '/etcdserverpb.KV/Put', contentType: 'text/plain' },
  { what: 'an unknown method', path: '/no.such.Service/Nope', contentType: 'application/grpc' },
  { what: 'a fast-path KV method', path: '/etcdserverpb.KV/Range', contentType: 'application/grpc' },
  { what: 'a grpc-js method', path: '/etcdserverpb.Lease/LeaseLeases', contentType: 'application/grpc' },
  { what: 'a grpc-js stream method', path: '/etcdserverpb.Watch/Watch', contentType: 'application/grpc' },
] as const;

const RESETS = [
  { endStream: false, code: Http2ErrorCode.CANCEL, shape: 'HEADERS and RST_STREAM(CANCEL)' },
  { endStream: true, code: Http2ErrorCode.CANCEL, shape: 'HEADERS with END_STREAM and RST_STREAM(CANCEL)' },
  // Any code but CANCEL makes Node emit 'error' on the stream: it must have a listener by then.
  { endStream: false, code: Http2ErrorCode.PROTOCOL_ERROR, shape: 'HEADERS and RST_STREAM(PROTOCOL_ERROR)' },
] as const;

describe.each(CONNECTIONS)('on a connection served through the $kind', ({ kind, authority }) => {
  for (const request of FIRST_REQUESTS) {
    for (const { endStream, code, shape } of RESETS) {
      it(`survives ${shape} in one TCP write, first request with ${request.what}`, async () => {
        const bytes = Buffer.concat([
          connectionStart(),
          headersFrame(1, requestFields(authority(), request.path, request.contentType), endStream),
          rstStreamFrame(1, code),
        ]);
        await sendRaw(member, bytes);
        await expectMemberIntact(member, `${kind}: ${shape}, ${request.what}`);
      });
    }
  }

  it('serves the next request on the same connection after a reset first one', async () => {
    const range = Buffer.from([0x0a, SENTINEL_KEY.length, ...Buffer.from(SENTINEL_KEY)]); // RangeRequest{key}
    const bytes = Buffer.concat([
      connectionStart(),
      headersFrame(1, requestFields(authority(), '/etcdserverpb.KV/Range', undefined), false),
      rstStreamFrame(1),
      headersFrame(3, requestFields(authority(), '/etcdserverpb.KV/Range', 'application/grpc'), false),
      dataFrame(3, grpcMessage(range), true),
    ]);
    const answer = await sendRaw(member, bytes);
    const frames = framesOf(answer);
    const data = frames.find((f) => f.type === FrameType.DATA && f.streamId === 3);
    expect(data, `a DATA frame on stream 3 among ${JSON.stringify(frames)}`).toBeDefined();
    expect(data!.payload.includes(Buffer.from(SENTINEL_VALUE)), 'the Range answer holds the sentinel').toBe(
      true,
    );
    await expectMemberIntact(member, `${kind}: reset stream then a Range on the same connection`);
  });

  it('survives many such connections at once (requests on several streams, each reset)', async () => {
    const streams = [1, 3, 5, 7, 9];
    const bytes = Buffer.concat([
      connectionStart(),
      ...streams.flatMap((id, i) => {
        const request = FIRST_REQUESTS[i % FIRST_REQUESTS.length];
        return [headersFrame(id, requestFields(authority(), request.path, request.contentType), false)];
      }),
      ...streams.map((id) => rstStreamFrame(id)),
    ]);
    await Promise.all(Array.from({ length: 20 }, () => sendRaw(member, bytes)));
    await expectMemberIntact(member, `${kind}: 20 connections × 5 reset streams`);
  });

  it("survives node:http2's own client doing a request and cancelling it at once", async () => {
    for (const contentType of [undefined, 'application/grpc']) {
      for (const path of ['/etcdserverpb.KV/Range', '/etcdserverpb.Lease/LeaseLeases', '/no.such/Method']) {
        const session = http2.connect(member.clientUrl);
        session.on('error', () => undefined);
        const stream = session.request({
          ':method': 'POST',
          ':path': path,
          ':authority': authority(),
          ...(contentType === undefined ? {} : { 'content-type': contentType }),
        });
        stream.on('error', () => undefined);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 300);
          session.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        session.destroy();
        await expectMemberIntact(
          member,
          `${kind}: node:http2 request + cancel, ${path} ${contentType ?? '-'}`,
        );
      }
    }
  });

  it('still answers a normal gRPC call on a connection of this kind', async () => {
    // A whole unary call by hand on a fresh connection: HEADERS + DATA (an empty RangeRequest) + END_STREAM.
    const session = http2.connect(member.clientUrl);
    session.on('error', () => undefined);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/etcdserverpb.Maintenance/Status',
        ':authority': authority(),
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const status = await new Promise<string | undefined>((resolve, reject) => {
        stream.on('trailers', (trailers) => resolve(String(trailers['grpc-status'])));
        stream.on('response', (headers) => {
          if (headers['grpc-status'] !== undefined) resolve(String(headers['grpc-status']));
        });
        stream.on('error', reject);
        stream.resume();
        stream.end(Buffer.from([0, 0, 0, 0, 0]));
      });
      expect(status, `grpc-status of Maintenance/Status on the ${kind}`).toBe('0');
    } finally {
      session.destroy();
    }
    await expectMemberIntact(member, `${kind}: a normal call`);
  });
});

// The peer URL serves the Raft message stream hand-framed through the same stream router (grpc-js bound
// there, so bytes come from libuv): a reset first request must not end the member either.
describe('on the peer URL', () => {
  const PEER_REQUESTS = [
    { what: 'the peer Stream method', path: '/cairn.peer.v1.Peer/Stream', contentType: 'application/grpc' },
    { what: 'an unknown method', path: '/no.such.Service/Nope', contentType: 'application/grpc' },
    { what: 'no content-type', path: '/cairn.peer.v1.Peer/Stream', contentType: undefined },
  ] as const;
  for (const request of PEER_REQUESTS) {
    for (const { endStream, code, shape } of RESETS) {
      it(`survives ${shape} in one TCP write, first request with ${request.what}`, async () => {
        const authority = `127.0.0.1:${member.plan.peerPort}`;
        const bytes = Buffer.concat([
          connectionStart(),
          headersFrame(1, requestFields(authority, request.path, request.contentType), endStream),
          rstStreamFrame(1, code),
        ]);
        await sendRaw(member, bytes, 400, member.plan.peerPort);
        await expectMemberIntact(member, `peer URL: ${shape}, ${request.what}`);
      });
    }
  }

  it('survives a peer Stream call whose body is garbage, then reset', async () => {
    const authority = `127.0.0.1:${member.plan.peerPort}`;
    const garbage = Buffer.from([0, 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    const bytes = Buffer.concat([
      connectionStart(),
      headersFrame(1, requestFields(authority, '/cairn.peer.v1.Peer/Stream', 'application/grpc'), false),
      dataFrame(1, garbage, false),
      rstStreamFrame(1, Http2ErrorCode.PROTOCOL_ERROR),
    ]);
    await sendRaw(member, bytes, 400, member.plan.peerPort);
    await expectMemberIntact(member, 'peer URL: garbage Stream body, then reset');
  });
});
