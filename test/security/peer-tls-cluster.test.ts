// Issue 15: a 3-member cluster with TLS on both URLs: peer URLs https with mTLS (--peer-client-cert-auth, a
// CRL, the allowed CN), client URLs https with client certificates (--client-cert-auth, another CA). Writes replicate; a member killed with -9 and restarted catches up; a member's peer
// certificate files replaced under a put load rotate without a failed put, and new connections in both
// directions use the new certificate (proved by revoking the old one in every member's CRL, then making
// the rotated member's links new: the cluster only has a quorum if they are up). The console's cluster view
// reaches every member over https.
import { copyFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanupAll,
  createCertAuthority,
  issueClientCert,
  issueServerCert,
  killMember,
  launchMember,
  makeTempDir,
  planCluster,
  planJoiningMember,
  readPem,
  restartMember,
  revokeCerts,
  sleep,
  waitReady,
  type CertAuthority,
  type IssuedCert,
  type Member,
} from '../support';
import { gateway, localValue, status, type GatewayTls } from './peer-raw-client';

const PEER_CN = 'cairn-peer';

interface MemberFiles {
  certFile: string;
  keyFile: string;
}

const isPeerFileFlag = (flag: string): boolean => flag === '--peer-cert-file' || flag === '--peer-key-file';

/** The client URLs' CA and the test's client certificate (set before any member starts). */
let clientTls: GatewayTls;

/** Puts `key=value` through `member`; true when acknowledged. */
async function put(member: Member, key: string, value: string): Promise<boolean> {
  try {
    await gateway(
      member.clientUrl,
      '/v3/kv/put',
      { key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64') },
      clientTls,
    );
    return true;
  } catch {
    return false;
  }
}

/** The console's cluster view (GET /api/console/v1/cluster) of the member at `clientUrl`. */
function consoleCluster(
  clientUrl: string,
): Promise<{ members: Array<{ reachable: boolean; healthy: boolean | null }> }> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      new URL('/api/console/v1/cluster', clientUrl),
      { ...clientTls, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString()) as { members: [] });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('no answer within 5 s')));
    request.on('error', reject);
  });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** The serial number of the certificate a member's peer URL serves to a peer that presents `client`. */
function servedSerial(member: Member, ca: CertAuthority, client: IssuedCert): Promise<string> {
  const url = new URL(member.peerUrl);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: url.hostname,
      port: Number(url.port),
      ca: readPem(ca.certFile),
      cert: readPem(client.certFile),
      key: readPem(client.keyFile),
      ALPNProtocols: ['h2'],
    });
    socket.once('secureConnect', () => {
      resolve(socket.getPeerCertificate().serialNumber.toUpperCase());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('3 members with TLS on both URLs (peer mTLS, client certificates)', () => {
  let ca: CertAuthority;
  let members: Member[];
  const files: MemberFiles[] = [];
  let crlFile: string;
  const certs: IssuedCert[] = [];

  beforeAll(async () => {
    ca = createCertAuthority({ name: 'peer-ca' });
    crlFile = revokeCerts(ca, []);
    const dir = makeTempDir('cairn-e2e-peer-certs-');
    for (let i = 0; i < 3; i++) {
      // Each member reads its own copy, so replacing one member's files rotates that member only.
      const cert = issueServerCert(ca, PEER_CN, { name: `m${i + 1}-a` });
      certs.push(cert);
      const own = { certFile: join(dir, `m${i + 1}.crt`), keyFile: join(dir, `m${i + 1}.key`) };
      copyFileSync(cert.certFile, own.certFile);
      copyFileSync(cert.keyFile, own.keyFile);
      files.push(own);
    }
    const clientCa = createCertAuthority({ name: 'client-ca' });
    const clientServing = issueServerCert(clientCa, 'localhost');
    const tester = issueClientCert(clientCa, 'tester');
    clientTls = {
      ca: readPem(clientCa.certFile),
      cert: readPem(tester.certFile),
      key: readPem(tester.keyFile),
    };
    members = await planCluster(3, [], {
      peerTls: true,
      clientTls: { caFile: clientCa.certFile, certFile: tester.certFile, keyFile: tester.keyFile },
    });
    members.forEach((m, i) => {
      // prettier-ignore
      m.extraFlags = [
        '--cert-file', clientServing.certFile, '--key-file', clientServing.keyFile,
        '--trusted-ca-file', clientCa.certFile, '--client-cert-auth',
        '--peer-cert-file', files[i]!.certFile, '--peer-key-file', files[i]!.keyFile,
        '--peer-trusted-ca-file', ca.certFile, '--peer-client-cert-auth',
        '--peer-crl-file', crlFile, '--peer-cert-allowed-cn', PEER_CN,
      ];
      launchMember(m);
    });
    await Promise.all(members.map((m) => waitReady(m)));
    await eventually('a leader', async () => put(members[0]!, 'ready', '1'), 20_000);
  }, 45_000);
  afterAll(() => cleanupAll());

  it('replicates writes; a member killed with -9 catches up after a restart', async () => {
    // The victim is a follower: the writes while it is down must not wait for an election.
    const statuses = await Promise.all(members.map((m) => status(m.clientUrl, clientTls)));
    const leaderAt = statuses.findIndex((s) => s.memberId === s.leader);
    const [m1, m2, m3] = [leaderAt, leaderAt + 1, leaderAt + 2].map((i) => members[i % 3]!) as [
      Member,
      Member,
      Member,
    ];
    expect(await put(m1, 'k1', 'v1')).toBe(true);
    for (const m of members)
      await eventually(
        `k1 on ${m.name}`,
        async () => (await localValue(m.clientUrl, 'k1', clientTls)) === 'v1',
      );

    await killMember(m3);
    for (let i = 0; i < 50; i++) expect(await put(m1, `while-down-${i}`, String(i))).toBe(true);
    await restartMember(m3);
    await eventually(
      'm3 caught up',
      async () => (await localValue(m3.clientUrl, 'while-down-49', clientTls)) === '49',
    );
    expect(await localValue(m2.clientUrl, 'while-down-49', clientTls)).toBe('49');

    // The console's cluster view asks the other members over their https client URLs with the member's own
    // CA and certificate: every member is reachable and healthy there.
    await eventually('every member reachable and healthy in the console view', async () => {
      const view = await consoleCluster(m1.clientUrl);
      return view.members.length === 3 && view.members.every((m) => m.reachable && m.healthy === true);
    });
  }, 30_000);

  it('rotates a member certificate under a put load: no failed put, new connections use the new one', async () => {
    const [m1, m2, m3] = members as [Member, Member, Member];
    const old = certs[1]!;
    expect(await servedSerial(m2, ca, certs[0]!)).toBe(old.serial);

    let stop = false;
    let acknowledged = 0;
    const failures: string[] = [];
    const load = async (writer: Member, worker: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        if (await put(writer, `load-${worker}-${i}`, 'x')) acknowledged++;
        else failures.push(`load-${worker}-${i} via ${writer.name}`);
      }
    };
    const running = [load(m1, 1), load(m2, 2), load(m3, 3)];
    await sleep(500);
    // Replace m2's files the way an operator (or cert-manager) does: write aside, rename over.
    const fresh = issueServerCert(ca, PEER_CN, { name: 'm2-b' });
    copyFileSync(fresh.keyFile, `${files[1]!.keyFile}.new`);
    copyFileSync(fresh.certFile, `${files[1]!.certFile}.new`);
    renameSync(`${files[1]!.keyFile}.new`, files[1]!.keyFile);
    renameSync(`${files[1]!.certFile}.new`, files[1]!.certFile);
    await sleep(1500);
    stop = true;
    await Promise.all(running);
    expect(failures).toEqual([]);
    expect(acknowledged).toBeGreaterThan(20);

    // The next handshake with m2 gets the new certificate...
    expect(await servedSerial(m2, ca, certs[0]!)).toBe(fresh.serial);
    // ...and once the old one is revoked everywhere, m2's new links (m3 restarted, m1 down: quorum is m2+m3)
    // only come up if m2 presents the new certificate when it dials and serves it when dialled.
    revokeCerts(ca, [old]);
    await killMember(m1);
    await killMember(m3);
    await restartMember(m3, { waitReady: false });
    await eventually('a put through m3 with m1 down', () => put(m3, 'after-rotation', 'ok'), 20_000);
    await eventually(
      'm2 has it',
      async () => (await localValue(m2.clientUrl, 'after-rotation', clientTls)) === 'ok',
    );
    await restartMember(m1);
    await eventually(
      'm1 caught up',
      async () => (await localValue(m1.clientUrl, 'after-rotation', clientTls)) === 'ok',
    );
  }, 50_000);
  it('a member added with member add joins over peer mTLS and catches up', async () => {
    const [m1] = members as [Member];
    expect(await put(m1, 'before-join', 'yes')).toBe(true);
    const joiner = await planJoiningMember(members, 'm4');
    const cert = issueServerCert(ca, PEER_CN, { name: 'm4' });
    // prettier-ignore
    joiner.extraFlags = [
      ...joiner.extraFlags.filter((flag, i, all) => !isPeerFileFlag(flag) && !isPeerFileFlag(all[i - 1] ?? '')),
      '--peer-cert-file', cert.certFile, '--peer-key-file', cert.keyFile,
    ];
    await gateway(
      m1.clientUrl,
      '/v3/cluster/member/add',
      { peerURLs: [joiner.peerUrl], isLearner: true },
      clientTls,
    );
    launchMember(joiner);
    await waitReady(joiner);
    await eventually(
      'm4 caught up',
      async () => (await localValue(joiner.clientUrl, 'before-join', clientTls)) === 'yes',
    );
  }, 30_000);
});
