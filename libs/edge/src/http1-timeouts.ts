// HTTP/1.1 timeouts of the client URL: Node's own headersTimeout (request line and headers), requestTimeout
// (the whole request, body included; not the response, so SSE and streamed answers live) and keepAliveTimeout
// (idle between requests).
//
// The catch: Node checks the first two only on connections it tracks, and it starts tracking when the server
// emits 'listening' (setupConnectionsTracking in node:_http_server). The client listener never lets the HTTP
// server listen — it hands sockets over with emit('connection') — so without this, a half request line or a
// body that never ends is held forever (issue 14). startConnectionTracking calls the very 'listening' handler
// Node installed (found by its name, the one internal this relies on) before any connection arrives; the
// start-up probe is that Node's connection list exists afterwards. When it is not found, the keep-alive timeout
// still applies (it is a socket timeout) and the caller logs that the other two do not.
import type http from 'node:http';

export interface Http1Timeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/** Sets the timeouts on `server`; true when Node enforces the header and request timeouts on it. */
export function applyHttp1Timeouts(server: http.Server, timeouts: Http1Timeouts): boolean {
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
  // Node checks expired requests on this interval (default 30 s): a quarter of the shortest timeout keeps the
  // overshoot small without a busy timer.
  const smallest = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs);
  (server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    50,
    Math.min(1_000, Math.floor(smallest / 4)),
  );
  return startConnectionTracking(server);
}

/** Whether Node tracks the connections of `server` (the list its timeout checker walks exists). */
export function tracksConnections(server: http.Server): boolean {
  const list = Object.getOwnPropertySymbols(server).find(
    (symbol) => symbol.description === 'http.server.connections',
  );
  return list !== undefined && (server as unknown as Record<symbol, unknown>)[list] != null;
}

function startConnectionTracking(server: http.Server): boolean {
  if (server.listening) return tracksConnections(server);
  const setup = server
    .listeners('listening')
    .find((listener) => listener.name === 'setupConnectionsTracking');
  if (setup === undefined) return false;
  (setup as (this: http.Server) => void).call(server);
  return tracksConnections(server);
}
