// Starting a single member (Cairn or real etcd, with etcd's flags) whose client URL is https, and talking to
// it over TLS: HTTP/1.1 requests on fresh connections, raw TLS handshakes that report what was negotiated.
import https from 'node:https';
import { join } from 'node:path';
import tls from 'node:tls';
import {
  allocatePort,
  currentTarget,
  makeTempDir,
  sleep,
  spawnManaged,
  type ManagedProcess,
  type Target,
} from '../support';

/** Client-side TLS material and limits for one connection (file contents, not paths). */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Default true; false for --auto-tls's self-signed certificate. */
  rejectUnauthorized?: boolean;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  ciphers?: string;
  ALPNProtocols?: string[];
}

export interface TlsMemberOptions {
  /** Flags after the cluster flags (certificates, --client-cert-auth, ...). */
  flags: string[];
  /** Also listen on a plaintext client URL. */
  plainUrl?: boolean;
  /** Also listen on a plaintext --listen-metrics-urls URL. */
  metricsUrl?: boolean;
  /** What /health is asked with to know the member is ready. */
  readyTls: ClientTls;
  /** Extra flags for Cairn only (etcd 3.4 lacks them). */
  cairnFlags?: string[];
}

export interface TlsMember {
  target: Target;
  process: ManagedProcess;
  dataDir: string;
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  plainUrl?: string;
  metricsUrl?: string;
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(ETCD_|ETCDCTL_|CAIRN_TEST_|CAIRN_E2E_)/.test(key)) env[key] = value;
  }
  return env;
}

let counter = 0;

export async function startTlsMember(options: TlsMemberOptions): Promise<TlsMember> {
  const target = currentTarget();
  const name = `tls${++counter}`;
  const dataDir = join(makeTempDir('cairn-e2e-client-tls-'), `${name}.data`);
  const port = await allocatePort();
  const peerPort = await allocatePort();
  const url = `https://127.0.0.1:${port}`;
  const plainUrl = options.plainUrl ? `http://127.0.0.1:${await allocatePort()}` : undefined;
  const metricsUrl = options.metricsUrl ? `http://127.0.0.1:${await allocatePort()}` : undefined;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  // prettier-ignore
  const flags = [
    '--name', name, '--data-dir', dataDir,
    '--listen-client-urls', [url, ...(plainUrl ? [plainUrl] : [])].join(','),
    '--advertise-client-urls', url,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `${name}=${peerUrl}`, '--initial-cluster-state', 'new',
    '--initial-cluster-token', `client-tls-${process.pid}-${counter}`,
    ...(metricsUrl ? ['--listen-metrics-urls', metricsUrl] : []),
    ...options.flags,
    ...(target.kind === 'cairn' ? (options.cairnFlags ?? []) : []),
  ];
  const proc = spawnManaged(target.binary, flags, {
    label: `${target.kind} ${name}`,
    env: childEnv(),
    keepBytes: 4 * 1024 * 1024,
  });
  const member: TlsMember = { target, process: proc, dataDir, url, port, plainUrl, metricsUrl };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (!proc.running) {
      const status = await proc.exited;
      throw new Error(`${proc.label} exited during start-up (code ${status.code})\n${proc.describeOutput()}`);
    }
    const health = await httpsRequest(`${url}/health`, options.readyTls, { timeoutMs: 1000 }).catch(
      () => undefined,
    );
    if (health?.status === 200 && health.body.includes('"health":"true"')) return member;
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`${proc.label} not healthy at ${url}/health within 20 s\n${proc.describeOutput()}`);
    }
    await sleep(100);
  }
}

export interface HttpsAnswer {
  status: number;
  body: string;
}

/** One HTTP/1.1 request on a fresh TLS connection (no agent: every call is a new handshake). */
export function httpsRequest(
  url: string,
  clientTls: ClientTls,
  options: { method?: string; body?: string; timeoutMs?: number } = {},
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      url,
      {
        method: options.method ?? 'GET',
        agent: false,
        ...clientTls,
        headers: options.body !== undefined ? { 'content-type': 'application/json' } : {},
        timeout: options.timeoutMs ?? 5000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', reject);
    request.end(options.body);
  });
}

export interface Handshake {
  /** The handshake completed and (for `probeRequest`) an HTTP answer came back. */
  ok: boolean;
  error?: string;
  alpn?: string | false;
  version?: string | null;
  cipher?: string;
  /** Serial of the server certificate (hex, upper case). */
  serial?: string;
  /** Status line of the /health answer, when one was asked for and came. */
  statusLine?: string;
}

/**
 * A TLS handshake with the member, then (unless ALPN chose h2) `GET /health` over HTTP/1.1: with TLS 1.3 a
 * refused client certificate shows only after the client's handshake completed, so a refusal is "no answer".
 */
export function tlsHandshake(port: number, clientTls: ClientTls, timeoutMs = 5000): Promise<Handshake> {
  return new Promise((resolve) => {
    const result: Handshake = { ok: false };
    const socket = tls.connect({ host: '127.0.0.1', port, ...clientTls });
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), timeoutMs);
    let answer = '';
    socket.once('secureConnect', () => {
      result.alpn = socket.alpnProtocol ?? false;
      result.version = socket.getProtocol();
      result.cipher = socket.getCipher().name;
      result.serial = socket.getPeerCertificate().serialNumber?.toUpperCase();
      if (socket.alpnProtocol === 'h2') {
        result.ok = true;
        socket.end();
        return;
      }
      socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    });
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', (err) => (result.error = err.message));
    socket.on('close', () => {
      clearTimeout(timer);
      if (answer !== '') {
        result.statusLine = answer.split('\r\n')[0];
        result.ok = result.error === undefined || result.statusLine !== undefined;
      }
      resolve(result);
    });
  });
}
