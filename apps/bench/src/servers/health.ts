// Readiness: poll GET /health on the client URL until it answers 200, like etcd's own checks.

import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { loadTls, type TlsFiles } from '../grpc/security';
import type { ServerProcess } from './server-process';

const POLL_INTERVAL_MS = 100;

export async function waitForHealthy(
  clientUrl: string,
  server: ServerProcess,
  timeoutMs: number,
  tls?: TlsFiles,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (!server.running) {
      throw new Error(
        `${server.spec.name} ${server.describeExit()} before it was healthy; log tail:\n${server.logTail()}`,
      );
    }
    const answer = await getHealth(`${clientUrl}/health`, tls);
    if (answer.status === 200) return;
    lastProblem = answer.status ? `HTTP ${answer.status} ${answer.body.trim()}` : answer.body;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(
    `${server.spec.name} not healthy after ${timeoutMs} ms (${lastProblem}); log tail:\n${server.logTail()}`,
  );
}

function getHealth(url: string, tls?: TlsFiles): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const material = tls ? loadTls(tls) : undefined;
    const send = material ? httpsRequest : request;
    const options = { method: 'GET', timeout: 1000, ...(material ? { ...material, servername: '' } : {}) };
    const req = send(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ status: 0, body: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) => resolve({ status: 0, body: error.message }));
    req.end();
  });
}
