// Guards on every HTTP/2 session of the member (installed where the stream router wraps grpc-js's servers).
//
// 1. Client GOAWAY. Node 20's bundled nghttp2 aborts the whole process (SIGABRT, `nghttp2_session_mem_recv2: Assertion
// iframe->state == NGHTTP2_IB_IGN_ALL failed`) on 226 bytes: a client GOAWAY while no stream is open, then, in
// the same read, a new HEADERS and a malformed frame (test/fuzz/FINDINGS.md F3; nghttp2's fix for it, PR #2509,
// is not in this Node). No JavaScript frame is involved, so no handler can catch it; what prevents it is ending
// such a session from inside its 'goaway' event, before nghttp2 reads the rest of that buffer.
//
// A client that says goodbye with nothing in flight has nothing left to receive, so ending its session at once
// loses nothing; a client that sends GOAWAY with requests still open keeps Node's graceful close (those bytes
// do not trigger the abort: checked by libs/edge/test/session-guards.test.ts and the fuzz reproducer F3).
//
// 2. The client's SETTINGS in time (see CLIENT_SETTINGS_TIMEOUT_MS).
import type http2 from 'node:http2';

const guarded = new WeakSet<http2.ServerHttp2Session>();

/**
 * A client must have sent its whole SETTINGS frame (the second half of its connection preface) by then: the
 * listener's protocol decision only waits for the preface and the SETTINGS frame header, and a client that
 * stops in between would otherwise hold its connection until the keep-alive ping gives up (hours).
 */
export const CLIENT_SETTINGS_TIMEOUT_MS = 10_000;

/** Installs the guards on a server session (idempotent): client GOAWAY, and the client's SETTINGS in time. */
export function guardSession(
  session: http2.ServerHttp2Session,
  settingsTimeoutMs = CLIENT_SETTINGS_TIMEOUT_MS,
): void {
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
  const handshake = setTimeout(() => {
    if (!session.destroyed) session.destroy();
  }, settingsTimeoutMs);
  handshake.unref();
  session.once('remoteSettings', () => clearTimeout(handshake));
  session.once('close', () => clearTimeout(handshake));
}

/** Guards every session `server` opens from now on. */
export function guardSessionsOf(
  server: http2.Http2Server,
  settingsTimeoutMs = CLIENT_SETTINGS_TIMEOUT_MS,
): void {
  server.on('session', (session) => guardSession(session, settingsTimeoutMs));
}
