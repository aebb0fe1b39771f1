// The TypeScript SDK against a secured member: TLS with a client certificate (--client-cert-auth), and etcd
// auth with a short token TTL. A service registers with user/password credentials and stays registered and
// visible while its simple token expires again and again (the SDK authenticates again on "invalid auth
// token", as clientv3 does); a client with only its certificate acts as the certificate's CN; a client
// without the permission is refused. Cairn only (the registry is Cairn's), but the KV part is plain etcd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient, RegistryClient } from '@cairn/client';
import {
  cleanupAll,
  createCertAuthority,
  currentTarget,
  describeResult,
  etcdctl,
  issueClientCert,
  issueServerCert,
  sleep,
  startMember,
  waitFor,
  type CertAuthority,
  type IssuedCert,
  type Member,
} from '../support';

const skip = currentTarget().kind === 'etcd';
let ca: CertAuthority;
let member: Member;
let serviceCert: IssuedCert;
let readerCert: IssuedCert;
const closers: Array<() => Promise<void> | void> = [];

async function asRoot(...args: string[]): Promise<void> {
  const rootCert = issueClientCert(ca, 'root', { name: `root-${args.length}-${Date.now()}` });
  const result = await etcdctl(
    ['--cacert', ca.certFile, '--cert', rootCert.certFile, '--key', rootCert.keyFile, ...args],
    {
      endpoints: member,
    },
  );
  expect(result.code, describeResult(result)).toBe(0);
}

const tlsOf = (cert: IssuedCert) => ({ ca: ca.certFile, cert: cert.certFile, key: cert.keyFile });

beforeAll(async () => {
  if (skip) return;
  ca = createCertAuthority({ name: 'sdk-ca' });
  const server = issueServerCert(ca);
  const rootCert = issueClientCert(ca, 'root');
  serviceCert = issueClientCert(ca, 'echo-host');
  readerCert = issueClientCert(ca, 'reader');
  // prettier-ignore
  member = await startMember({
    extraFlags: [
      '--cert-file', server.certFile, '--key-file', server.keyFile,
      '--trusted-ca-file', ca.certFile, '--client-cert-auth',
      '--auth-token-ttl', '2',
    ],
    clientTls: { caFile: ca.certFile, certFile: rootCert.certFile, keyFile: rootCert.keyFile },
  });
  await asRoot('user', 'add', 'root', '--new-user-password=rootpw');
  await asRoot('role', 'add', 'registrar');
  await asRoot(
    'role',
    'grant-permission',
    'registrar',
    'readwrite',
    '/cairn/registry/default/',
    '--prefix=true',
  );
  await asRoot('user', 'add', 'echo', '--new-user-password=echopw');
  await asRoot('user', 'grant-role', 'echo', 'registrar');
  await asRoot('role', 'add', 'viewer');
  await asRoot('role', 'grant-permission', 'viewer', 'read', '/cairn/registry/default/', '--prefix=true');
  await asRoot('user', 'add', 'reader', '--no-password');
  await asRoot('user', 'grant-role', 'reader', 'viewer');
  await asRoot('auth', 'enable');
}, 90_000);

afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  await cleanupAll();
});

describe.skipIf(skip)('the SDK on a member with TLS and auth', () => {
  it('registers with credentials and stays registered across token expiries; a CN client reads; others are refused', async () => {
    const registry = new RegistryClient({
      endpoints: member.clientUrl,
      tls: tlsOf(serviceCert),
      credentials: { user: 'echo', password: 'echopw' },
    });
    closers.push(() => registry.close());
    await registry.register(
      { service: 'echo', id: 'echo-1', address: { host: '127.0.0.1', port: 9001 } },
      { ttl: 3 },
    );

    // A watcher as the certificate's CN ('reader', a no-password user with READ on the namespace).
    const viewer = new RegistryClient({ endpoints: member.clientUrl, tls: tlsOf(readerCert) });
    closers.push(() => viewer.close());
    const subscription = viewer.subscribe('echo');
    await waitFor(() => (subscription.instances().some((i) => i.id === 'echo-1') ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the reader to see echo-1',
    });

    // Tokens expire after 2 s without use: 7 s covers several expiries; the lease (TTL 3 s) must survive.
    await sleep(7000);
    const sdk = registry.client;
    const record = await sdk.get('/cairn/registry/default/echo/echo-1');
    expect(record?.value.toString(), 'echo-1 is still registered').toContain('"echo-1"');
    await registry.register(
      { service: 'echo', id: 'echo-2', address: { host: '127.0.0.1', port: 9002 } },
      { ttl: 3 },
    );
    await waitFor(() => (subscription.instances().length === 2 ? true : undefined), {
      timeoutMs: 10_000,
      what: 'the reader to see echo-2 as well',
    });

    // The reader may not write; a wrong password is refused as etcd refuses it.
    const readerKv = new EtcdClient({ endpoints: member.clientUrl, tls: tlsOf(readerCert) });
    closers.push(() => readerKv.close());
    await expect(readerKv.put('/cairn/registry/default/echo/forged', '{}')).rejects.toMatchObject({
      details: 'etcdserver: permission denied',
    });
    const wrong = new EtcdClient({
      endpoints: member.clientUrl,
      tls: tlsOf(serviceCert),
      credentials: { user: 'echo', password: 'nope' },
    });
    closers.push(() => wrong.close());
    await expect(wrong.get('/cairn/registry/default/echo/echo-1')).rejects.toMatchObject({
      details: 'etcdserver: authentication failed, invalid user ID or password',
    });
  }, 60_000);
});
