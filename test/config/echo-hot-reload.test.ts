// examples/echo-service reloads its greeting from the config center without restarting: the same process
// answers with the new greeting after a publish, and with the old one again after a rollback.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupAll, repoRoot, spawnManaged, startMember, waitFor, type Member } from '../support';

let member: Member;

beforeAll(async () => {
  member = await startMember();
});

afterAll(async () => {
  await cleanupAll();
});

async function rest(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${member.clientUrl}/api/config/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

it('echo-service picks up a published greeting and a rollback without a restart', async () => {
  const echo = spawnManaged(
    process.execPath,
    [join(repoRoot, 'examples/echo-service/dist/index.js'), '--cairn', member.clientUrl, '--id', 'echo-hot'],
    { label: 'echo-service', cwd: repoRoot },
  );
  const started = await echo.waitForStdout((out) => /listening on http:\/\/[\d.]+:\d+/.test(out), 20_000);
  const url = /listening on (http:\/\/[\d.]+:\d+)/.exec(started)![1];
  const greeting = async (): Promise<string> =>
    ((await (await fetch(url)).json()) as { greeting: string }).greeting;
  expect(await greeting()).toBe('hello');

  expect(
    (await rest('PUT', '/namespaces/default/apps/echo/items/echo.yaml', { format: 'yaml' })).status,
  ).toBe(200);
  const first = await rest('POST', '/namespaces/default/apps/echo/items/echo.yaml/publish', {
    content: 'greeting: bonjour\n',
    author: 'ops',
  });
  expect(first.status).toBe(201);
  await waitFor(async () => ((await greeting()) === 'bonjour' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'the published greeting',
  });

  await rest('POST', '/namespaces/default/apps/echo/items/echo.yaml/publish', {
    content: 'greeting: hola\n',
  });
  await waitFor(async () => ((await greeting()) === 'hola' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'the second greeting',
  });
  const rollback = await rest('POST', '/namespaces/default/apps/echo/items/echo.yaml/rollback', {
    version: 1,
  });
  expect(rollback.status).toBe(201);
  await waitFor(async () => ((await greeting()) === 'bonjour' ? true : undefined), {
    timeoutMs: 10_000,
    what: 'the rolled-back greeting',
  });
  expect(echo.running).toBe(true);
  expect(echo.stdout()).toContain('greeting is now "hola" (v2)');

  // The listeners API names the instance and the version it applied.
  await waitFor(
    async () => {
      const res = await rest('GET', '/namespaces/default/apps/echo/items/echo.yaml/listeners');
      const listeners = (await res.json()) as { subscriberId: string; appliedVersion: number }[];
      return listeners.some((l) => l.subscriberId === 'echo-hot' && l.appliedVersion === 3)
        ? true
        : undefined;
    },
    { timeoutMs: 10_000, what: 'echo-hot listed with version 3' },
  );
  await echo.terminate(5000);
});
