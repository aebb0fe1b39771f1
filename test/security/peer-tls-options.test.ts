// Issue 15: --peer-auto-tls, --tls-min-version/--tls-max-version and --cipher-suites on the peer URL (etcd 3.5
// flags: tested on their own, as Debian's etcd 3.4 cannot be the reference). Auto TLS encrypts but
// authenticates nobody — the member check still refuses a stranger that completes the handshake.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupAll, startCluster, startMember, type Member } from '../support';
import { RawPeerClient, gateway, localValue, status } from './peer-raw-client';

afterAll(() => cleanupAll());

interface Handshake {
  protocol?: string;
  cipher?: string;
  error?: string;
}

/** A TLS handshake with a member's peer URL (no certificate of ours; the server's is not checked). */
function handshake(member: Member, options: tls.ConnectionOptions = {}): Promise<Handshake> {
  const url = new URL(member.peerUrl);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: url.hostname,
      port: Number(url.port),
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      ...options,
    });
    socket.once('secureConnect', () => {
      resolve({ protocol: socket.getProtocol() ?? undefined, cipher: socket.getCipher().name });
      socket.destroy();
    });
    socket.once('error', (err) => resolve({ error: err.message }));
  });
}

describe('--peer-auto-tls with --tls-min-version TLS1.3', () => {
  it('forms a cluster over self-signed peer certificates, refuses TLS 1.2 and still refuses strangers', async () => {
    const members = await startCluster({
      size: 3,
      peerTls: true,
      extraFlags: ['--peer-auto-tls', '--tls-min-version', 'TLS1.3'],
    });
    const [m1, , m3] = members as [Member, Member, Member];
    expect(existsSync(join(m1.plan.dataDir, 'fixtures', 'peer', 'cert.pem'))).toBe(true);
    await gateway(m1.clientUrl, '/v3/kv/put', {
      key: Buffer.from('auto').toString('base64'),
      value: Buffer.from('tls').toString('base64'),
    });
    await expect.poll(() => localValue(m3.clientUrl, 'auto'), { timeout: 5000 }).toBe('tls');

    expect(await handshake(m1)).toMatchObject({ protocol: 'TLSv1.3' });
    expect((await handshake(m1, { maxVersion: 'TLSv1.2' })).error).toBeDefined();

    // Anyone completes an auto-TLS handshake; the member check is what refuses a stranger then.
    const { clusterId, memberId } = await status(m1.clientUrl);
    const client = new RawPeerClient(
      new URL(m1.peerUrl).host,
      grpc.credentials.createSsl(null, null, null, { rejectUnauthorized: false }),
    );
    try {
      const outcome = await client.stream({ clusterId, from: 0xbadn, to: memberId }, []);
      expect(outcome).toMatchObject({ accepted: false, code: grpc.status.PERMISSION_DENIED });
    } finally {
      client.close();
    }
  }, 40_000);
});

describe('--tls-max-version TLS1.2 with --cipher-suites', () => {
  it('negotiates TLS 1.2 with the one allowed suite and refuses a client without it', async () => {
    const member = await startMember({
      peerTls: true,
      // prettier-ignore
      extraFlags: [
        '--peer-auto-tls', '--tls-max-version', 'TLS1.2',
        '--cipher-suites', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      ],
    });
    expect(await handshake(member)).toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    expect(
      (await handshake(member, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' })).error,
    ).toBeDefined();
  }, 30_000);
});
