// The REST controller over an archive, in process (Nest + Swagger): paging and parameters, the OpenAPI
// description, and a database that cannot be reached (the archiver retries; REST answers 503).
import { EtcdError } from '@cairn/api';
import { createServer } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalEtcdPort, silentLogger } from '@cairn/server';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  AuditArchiver,
  AuditModule,
  type AuditArchive,
  type AuditEventPageView,
  type AuditRecord,
} from '../src';

const apps: INestApplication[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

function record(revision: number, sub: number, key: string, value: string): AuditRecord {
  return {
    revision,
    subRevision: sub,
    key: Buffer.from(key),
    operation: 'PUT',
    value: Buffer.from(value),
    valueStored: true,
    valueSha256: 'x',
    valueSize: value.length,
    createRevision: revision,
    version: 1,
    lease: '0',
    actor: null,
    observedAtMs: 0,
    replayed: false,
    member: 'm1',
  };
}

async function serve(archive: AuditArchive): Promise<{ url: string; app: INestApplication }> {
  const app = await NestFactory.create(AuditModule.forArchive(archive), { logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/api/audit/v1`, app };
}

async function get<T>(url: string): Promise<{ status: number; body: T }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as T };
}

describe('REST /api/audit/v1', () => {
  it('passes query parameters through, pages with the cursor, and rejects malformed ones with 400', async () => {
    const calls: unknown[] = [];
    const archive: Partial<AuditArchive> = {
      listEvents: async (options) => {
        calls.push(options);
        return options?.cursor
          ? { records: [record(9, 0, '/cairn/config/a', 'v9')] }
          : { records: [record(7, 1, '/cairn/config/a', 'v7')], next: '7.1' };
      },
      lastArchivedRevision: async () => 9,
      checkRead: async () => undefined,
    };
    const { url } = await serve(archive as AuditArchive);
    const first = await get<AuditEventPageView>(`${url}/events?prefix=/cairn/config/&limit=1&fromRevision=3`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ next: '7.1', lastArchivedRevision: 9 });
    expect(first.body.events[0]).toMatchObject({
      revision: 7,
      subRevision: 1,
      value: 'v7',
      keyEncoding: 'utf8',
    });
    const second = await get<AuditEventPageView>(`${url}/events?prefix=/cairn/config/&limit=1&cursor=7.1`);
    expect(second.body.next).toBeUndefined();
    expect(calls).toEqual([
      {
        prefix: Buffer.from('/cairn/config/'),
        fromRevision: 3,
        toRevision: undefined,
        limit: 1,
        order: 'asc',
        cursor: undefined,
      },
      {
        prefix: Buffer.from('/cairn/config/'),
        fromRevision: undefined,
        toRevision: undefined,
        limit: 1,
        order: 'asc',
        cursor: '7.1',
      },
    ]);
    const history = await get<AuditEventPageView>(`${url}/history?key=/cairn/config/a`);
    expect(history.status).toBe(200);
    expect(calls[2]).toMatchObject({ key: Buffer.from('/cairn/config/a'), order: 'desc' });
    const binary = Buffer.from([0xff, 0x00, 0x2f]);
    await get(`${url}/history?key=${encodeURIComponent(binary.toString('base64'))}&encoding=base64`);
    expect(calls[3]).toMatchObject({ key: binary });
    expect((await get(`${url}/history?key=%%%&encoding=base64`)).status).toBe(400);
    expect((await get(`${url}/history?key=a&encoding=latin1`)).status).toBe(400);
    expect((await get(`${url}/history`)).status).toBe(400);
    expect((await get(`${url}/events?limit=-1`)).status).toBe(400);
    expect((await get(`${url}/events?order=sideways`)).status).toBe(400);
    expect((await get(`${url}/value?key=/x`)).status).toBe(400);
  });

  it("asks the core for the caller's READ first: refused is 403 with etcd's message, and nothing is read", async () => {
    const asked: [string | undefined, string | undefined][] = [];
    let read = false;
    const archive: Partial<AuditArchive> = {
      checkRead: async (_ctx, key, rangeEnd) => {
        asked.push([key && Buffer.from(key).toString(), rangeEnd && Buffer.from(rangeEnd).toString()]);
        throw new EtcdError('permission-denied');
      },
      listEvents: async () => {
        read = true;
        return { records: [] };
      },
    };
    const { url } = await serve(archive as AuditArchive);
    const denied = await get<Record<string, unknown>>(`${url}/events?prefix=/cairn/config/a/`);
    expect(denied.status).toBe(403);
    expect(denied.body).toEqual({
      statusCode: 403,
      error: 'etcdserver: permission denied',
      code: 7,
      message: 'etcdserver: permission denied',
    });
    expect((await get(`${url}/history?key=/cairn/config/a/x`)).status).toBe(403);
    expect((await get(`${url}/value?key=/cairn/config/a/x&revision=3`)).status).toBe(403);
    expect((await get(`${url}/events`)).status).toBe(403);
    expect(asked).toEqual([
      ['/cairn/config/a/', '/cairn/config/a0'],
      ['/cairn/config/a/x', undefined],
      ['/cairn/config/a/x', undefined],
      [undefined, undefined],
    ]);
    expect(read).toBe(false);
  });

  it('shows sealed values (secret config items) masked, alone or inside a record', async () => {
    const envelope = 'cairn-secret:v1:k1:AAAABBBBCCCC+/==';
    const archive: Partial<AuditArchive> = {
      checkRead: async () => undefined,
      lastArchivedRevision: async () => 2,
      listEvents: async () => ({
        records: [
          record(1, 0, '/cairn/config/n/a/db.yaml', envelope),
          record(2, 0, '/cairn/config/n/a/~gray/db.yaml', JSON.stringify({ version: 2, content: envelope })),
        ],
      }),
    };
    const { url } = await serve(archive as AuditArchive);
    const page = await get<AuditEventPageView>(`${url}/events?prefix=/cairn/config/n/`);
    expect(page.body.events.map((e) => e.value)).toEqual(['******', '{"version":2,"content":"******"}']);
  });

  it('is described in the OpenAPI document', async () => {
    const { app } = await serve({} as AuditArchive);
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().setTitle('t').build());
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/audit/v1/status',
        '/api/audit/v1/history',
        '/api/audit/v1/events',
        '/api/audit/v1/value',
      ]),
    );
    expect(Object.keys(document.components?.schemas ?? {})).toEqual(
      expect.arrayContaining(['AuditEventDto', 'AuditEventPageDto', 'AuditStatusDto']),
    );
  });

  it('answers 503 while the archive database cannot be reached, and the archiver keeps retrying', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    const dir = await mkdtemp(join(tmpdir(), 'cairn-audit-http-'));
    const local = await LocalEtcdPort.open({ dataDir: dir });
    const archiver = AuditArchiver.start({
      port: local.port,
      logger: silentLogger,
      dbUrl: `postgres://postgres@127.0.0.1:${port}/nowhere`,
      sqlitePath: '/nonexistent',
      retryMs: 50,
    });
    try {
      const { url } = await serve(archiver);
      // The first connection attempt fails within milliseconds on an idle machine; retried (up to 5 s) for a busy one.
      await vi.waitFor(() => expect(archiver.status().lastError).toMatch(/ECONNREFUSED|connect/), {
        timeout: 5_000,
        interval: 20,
      });
      expect(archiver.status()).toMatchObject({ backend: 'postgres', ready: false });
      const history = await get<{ message: string }>(`${url}/history?key=/cairn/config/a`);
      expect(history.status).toBe(503);
      expect(history.body.message).toMatch(/not available/);
      expect((await get(`${url}/status`)).status).toBe(200);
    } finally {
      await archiver.close();
      await local.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
