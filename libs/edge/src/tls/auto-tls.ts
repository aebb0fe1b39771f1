// --auto-tls: a self-signed certificate and key for the client URL, made at start in
// <data-dir>/fixtures/client (cert.pem, key.pem) as etcd's transport.SelfCert does: ECDSA P-256, the listen
// URLs' hosts as subject alternative names, valid --self-signed-cert-validity years, and kept across restarts
// (an existing pair is reused, as etcd does).
//
// Made with the `openssl` command: Node's crypto makes keys but cannot issue an X.509 certificate
// (X509Certificate only reads), and hand-encoding and signing ASN.1 here would be more security-sensitive
// code than this feature is worth. openssl is on every machine Cairn runs on; its absence is a clear start-up
// error naming the flag.
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export interface SelfSignedCertificate {
  certFile: string;
  keyFile: string;
}

export class AutoTlsError extends Error {}

/** subjectAltName entries for the listen hosts (IP or DNS), e.g. `IP:127.0.0.1,DNS:localhost`. */
export function subjectAltNames(hosts: readonly string[]): string {
  const names = new Set<string>();
  for (const raw of hosts) {
    const host = raw.replace(/^\[|\]$/g, '');
    if (host === '') continue;
    names.add(net.isIP(host) !== 0 ? `IP:${host}` : `DNS:${host}`);
  }
  return [...names].join(',');
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new AutoTlsError(`${command} failed: ${err.message}${stderr ? `\n${stderr}` : ''}`));
      else resolve();
    });
  });
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** The pair in `dir`, made there first if it is not there yet. */
export async function selfSignedCertificate(
  dir: string,
  hosts: readonly string[],
  validityYears: number,
): Promise<SelfSignedCertificate> {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  if ((await exists(certFile)) && (await exists(keyFile))) return { certFile, keyFile };
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  // Written beside the final names, then renamed: a crash never leaves half a pair that would be reused.
  const tmpCert = `${certFile}.tmp`;
  const tmpKey = `${keyFile}.tmp`;
  const sans = subjectAltNames(hosts);
  // prettier-ignore
  const args = [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', tmpKey, '-out', tmpCert, '-days', String(validityYears * 365),
    '-subj', '/O=cairn',
    '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
    '-addext', 'extendedKeyUsage=serverAuth,clientAuth',
    ...(sans !== '' ? ['-addext', `subjectAltName=${sans}`] : []),
  ];
  try {
    await run('openssl', args);
  } catch (err) {
    throw new AutoTlsError(
      `--auto-tls: could not generate a self-signed certificate in ${dir} (needs the openssl command): ${String(err)}`,
    );
  }
  await fs.chmod(tmpKey, 0o600);
  await fs.rename(tmpKey, keyFile);
  await fs.rename(tmpCert, certFile);
  return { certFile, keyFile };
}
