// Node 20's bundled nghttp2 aborts the whole process (SIGABRT, `nghttp2_session_mem_recv2: Assertion
// iframe->state == NGHTTP2_IB_IGN_ALL failed`) on 226 bytes: a client GOAWAY while no stream is open, then, in
// the same read, a new HEADERS and a malformed frame (test/fuzz/FINDINGS.md F3; nghttp2's fix for it, PR #2509,
// is not in this Node). No JavaScript frame is involved, so no handler can catch it; what prevents it is ending
// such a session from inside its 'goaway' event, before nghttp2 reads the rest of that buffer.
//
// A client that says goodbye with nothing in flight has nothing left to receive, so ending its session at once
// loses nothing; a client that sends GOAWAY with requests still open keeps Node's graceful close (those bytes
// do not trigger the abort: checked by test/edge/goaway-guard.test.ts and the F3 reproducer).
import type http2 from 'node:http2';

const guarded = new WeakSet<http2.ServerHttp2Session>();

/** Installs the guard on a server session (idempotent). */
export function guardClientGoaway(session: http2.ServerHttp2Session): void {
  if (guarded.has(session)) return;
  guarded.add(session);
  let openStreams = 0;
  session.on('stream', (stream: http2.ServerHttp2Stream) => {
    openStreams++;
    stream.once('close', () => openStreams--);
  });
  session.on('goaway', () => {
    if (openStreams === 0 && !session.destroyed) session.destroy();
  });
}

/** Guards every session `server` opens from now on. */
export function guardClientGoawayOn(server: http2.Http2Server): void {
  server.on('session', guardClientGoaway);
}
