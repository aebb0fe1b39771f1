// The examples as a user runs them: a member, two echo services and the gateway (all built processes).
// Requests through the gateway reach both echo instances; after one is SIGKILLed they reach only the
// survivor (within the TTL plus a second).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, startMember, waitFor, type Member } from '../support';
import { startEcho, startGatewayProcess, type RunningExample } from './helpers';

const TTL = 2;
let member: Member;

beforeAll(async () => {
  member = await startMember();
});

afterAll(async () => {
  await cleanupAll();
});

async function hit(gateway: RunningExample, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const response = await fetch(`http://127.0.0.1:${gateway.port}/hello?i=${i}`);
    const body = (await response.json()) as { id?: string; greeting?: string };
    ids.push(response.status === 200 ? `${body.id}` : `HTTP ${response.status}`);
  }
  return ids;
}

describe('examples/gateway over examples/echo-service', () => {
  it('round-robins over both echo instances, then only the survivor after one is killed', async () => {
    const one = await startEcho(member, 'echo-1', TTL, ['--greeting', 'hi from one']);
    await startEcho(member, 'echo-2', TTL);
    const gateway = await startGatewayProcess(member);
    await waitFor(async () => (new Set(await hit(gateway, 4)).size === 2 ? true : undefined), {
      timeoutMs: 5000,
      what: 'traffic to both instances',
    });
    const before = await hit(gateway, 6);
    expect(before.filter((id) => id === 'echo-1')).toHaveLength(3);
    expect(before.filter((id) => id === 'echo-2')).toHaveLength(3);
    const greeting = (await (await fetch(`http://127.0.0.1:${one.port}/`)).json()) as { greeting: string };
    expect(greeting.greeting).toBe('hi from one');

    const killedAt = Date.now();
    await one.proc.kill();
    // The gateway retries another instance when a connection fails, so no request fails meanwhile.
    const during = await hit(gateway, 6);
    expect(during.every((id) => id === 'echo-2')).toBe(true);
    await gateway.proc.waitForStdout(
      (out) => out.includes('gateway: echo -> [echo-2@'),
      (TTL + 1) * 1000 + 1000,
    );
    console.log(`gateway dropped echo-1 ${Date.now() - killedAt} ms after SIGKILL (TTL ${TTL} s)`);
    expect(await hit(gateway, 6)).toEqual(Array(6).fill('echo-2'));
  });
});
