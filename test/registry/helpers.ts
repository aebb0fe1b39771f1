// Shared by the registry suites: the built example processes and small REST helpers.
import { resolve } from 'node:path';
import { repoRoot, spawnManaged, type ManagedProcess, type Member } from '../support';

export const ECHO_BIN = resolve(repoRoot, 'examples/echo-service/dist/index.js');
export const GATEWAY_BIN = resolve(repoRoot, 'examples/gateway/dist/index.js');

export interface RunningExample {
  proc: ManagedProcess;
  port: number;
}

async function listening(proc: ManagedProcess): Promise<number> {
  const out = await proc.waitForStdout((text) => /listening on http:\/\/[\d.]+:\d+/.test(text), 15_000);
  return Number(/listening on http:\/\/[\d.]+:(\d+)/.exec(out)![1]);
}

/** Starts examples/echo-service (built) registered as `id` with a `ttl` s lease. */
export async function startEcho(
  member: Member,
  id: string,
  ttl = 2,
  extra: string[] = [],
): Promise<RunningExample> {
  const proc = spawnManaged(
    process.execPath,
    [ECHO_BIN, '--cairn', member.clientUrl, '--id', id, '--ttl', String(ttl), ...extra],
    {
      label: `echo ${id}`,
    },
  );
  return { proc, port: await listening(proc) };
}

export async function startGatewayProcess(member: Member, service = 'echo'): Promise<RunningExample> {
  const proc = spawnManaged(
    process.execPath,
    [GATEWAY_BIN, '--cairn', member.clientUrl, '--service', service, '--port', '0'],
    {
      label: 'gateway',
    },
  );
  return { proc, port: await listening(proc) };
}

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export async function rest<T = Record<string, unknown>>(
  member: Member,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonResponse<T>> {
  const response = await fetch(`${member.clientUrl}/api/registry/v1${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

export interface SseEvent {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

/** Reads an SSE stream into `events` until aborted. */
export function readSse(
  url: string,
  headers: Record<string, string> = {},
): { events: SseEvent[]; abort: () => void; done: Promise<void> } {
  const controller = new AbortController();
  const events: SseEvent[] = [];
  const done = (async () => {
    try {
      const response = await fetch(url, { headers, signal: controller.signal });
      if (!response.ok || !response.body)
        throw new Error(`SSE ${url}: ${response.status} ${await response.text()}`);
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            const at = line.indexOf(': ');
            if (at > 0) fields.set(line.slice(0, at), line.slice(at + 2));
          }
          if (fields.has('event')) {
            events.push({
              id: fields.get('id') ?? '',
              event: fields.get('event')!,
              data: JSON.parse(fields.get('data') ?? '{}') as Record<string, unknown>,
            });
          }
        }
      }
    } catch (err) {
      if ((err as { name?: string }).name !== 'AbortError') throw err;
    }
  })();
  return { events, abort: () => controller.abort(), done };
}
