// The REST client against a loopback HTTP server standing in for members: failover to the next endpoint,
// a token from /v3/auth/authenticate renewed once on 401, an SSE stream reopened after the last event id
// when the member ends it, and Ctrl-C (abort) ending a stream cleanly.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, RestClient } from '../src/commands/rest/client';

const servers: Server[] = [];

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** A port nothing listens on (a server opened and closed). */
async function deadEndpoint(): Promise<string> {
  const endpoint = await serve(() => undefined);
  const s = servers.pop()!;
  await new Promise((resolve) => s.close(resolve));
  return endpoint;
}

describe('RestClient', () => {
  it('fails over to the next endpoint and names the last one when none answers', async () => {
    const dead = await deadEndpoint();
    const live = await serve((_req, res) => res.end('{"ok":true}'));
    expect(await new RestClient({ endpoints: [dead, live] }).request('GET', '/x')).toEqual({ ok: true });
    const err = await new RestClient({ endpoints: [dead] }).request('GET', '/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(0);
    expect((err as ApiError).message).toMatch(new RegExp(`^cannot reach http://${dead}: ECONNREFUSED`));
  });

  it('authenticates, sends the Bearer token and renews it once on 401', async () => {
    let issued = 0;
    const seen: string[] = [];
    const endpoint = await serve((req, res) => {
      if (req.url === '/v3/auth/authenticate') {
        res.end(JSON.stringify({ token: `t${++issued}` }));
        return;
      }
      seen.push(req.headers.authorization ?? '');
      // The first token "expired": only t2 counts.
      if (req.headers.authorization !== 'Bearer t2') {
        res.statusCode = 401;
        res.end('{"statusCode":401,"message":"etcdserver: invalid auth token"}');
        return;
      }
      res.end('{"ok":1}');
    });
    const client = new RestClient({ endpoints: [endpoint], credentials: { user: 'u', password: 'p' } });
    expect(await client.request('GET', '/x')).toEqual({ ok: 1 });
    expect(seen).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('reopens an ended stream after the last event id, and ends cleanly on abort', async () => {
    const lastIds: (string | undefined)[] = [];
    const endpoint = await serve((req, res) => {
      lastIds.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const n = lastIds.length;
      res.write(`: hello\n\nid: ${n * 10}\nevent: added\ndata: {"n":${n}}\n\n`);
      if (n === 1) res.end(); // the member went away after one event
    });
    const abort = new AbortController();
    const events: string[] = [];
    const retries: string[] = [];
    await new RestClient({ endpoints: [endpoint] }).stream('/w', {
      signal: abort.signal,
      onEvent: (e) => {
        events.push(`${e.event}:${e.id}:${e.data}`);
        if (events.length === 2) abort.abort();
      },
      onRetry: (m) => retries.push(m),
    });
    expect(events).toEqual(['added:10:{"n":1}', 'added:20:{"n":2}']);
    expect(lastIds).toEqual([undefined, '10']);
    expect(retries).toEqual([`the stream from http://${endpoint} ended; reopening`]);
  });

  it('reports a refused stream with the grant it needs, without retrying', async () => {
    let calls = 0;
    const endpoint = await serve((_req, res) => {
      calls++;
      res.statusCode = 403;
      res.end(
        '{"statusCode":403,"error":"etcdserver: permission denied","message":"etcdserver: permission denied"}',
      );
    });
    const err = await new RestClient({ endpoints: [endpoint] })
      .stream('/w', {
        signal: new AbortController().signal,
        needs: { perm: 'READ', prefix: '/cairn/registry/shop/' },
        onEvent: () => undefined,
      })
      .catch((e: unknown) => e);
    expect((err as ApiError).status).toBe(403);
    expect((err as Error).message).toBe(
      `permission denied: GET http://${endpoint}/w answered 403 (etcdserver: permission denied); the user needs READ on /cairn/registry/shop/ (prefix)`,
    );
    expect(calls).toBe(1);
  });

  it('reopens a stream that stays silent past the idle bound', async () => {
    let connects = 0;
    const endpoint = await serve((_req, res) => {
      connects++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (connects === 2) res.write('id: 1\nevent: added\ndata: {}\n\n');
      else res.flushHeaders(); // open, then silence: a dead peer that never closes
    });
    const abort = new AbortController();
    const retries: string[] = [];
    await new RestClient({ endpoints: [endpoint], streamIdleMs: 200 }).stream('/w', {
      signal: abort.signal,
      onEvent: () => abort.abort(),
      onRetry: (m) => retries.push(m),
    });
    expect(connects).toBe(2);
    expect(retries[0]).toMatch(/no data \(not even a heartbeat\) for 200 ms; retrying/);
  });
});
