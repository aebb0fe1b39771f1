// What a connection needs to reach a secured member: TLS (the CA that signed the server's certificate,
// and a client certificate for --client-cert-auth) and an etcd auth token, sent as gRPC metadata `token`
// on every call, as etcd's clients do.

import { readFileSync } from 'node:fs';

export interface TlsMaterial {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface ConnectionSecurity {
  tls?: TlsMaterial;
  token?: string;
}

export interface TlsFiles {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

export function loadTls(files: TlsFiles): TlsMaterial {
  return {
    ca: readFileSync(files.caFile),
    ...(files.certFile ? { cert: readFileSync(files.certFile) } : {}),
    ...(files.keyFile ? { key: readFileSync(files.keyFile) } : {}),
  };
}
