// etcd's JWT tokens (--auth-token jwt,pub-key=...,priv-key=...,sign-method=...,ttl=...): signed with the
// private key, checked with the public key, claims {username, revision, exp} as etcd writes them. Any member
// holding the public key recognises any member's token; nothing is kept per token. Not extended on use: when
// one expires the client authenticates again (clientv3 does so on "invalid auth token").
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TokenInfo, TokenProvider } from './token-provider';

export interface JwtOptions {
  pubKeyFile: string;
  privKeyFile: string;
  signMethod: string;
  ttlSeconds: number;
}

interface Algorithm {
  digest: string | null;
  /** RSA-PSS padding, or ECDSA's raw r||s encoding that JWS uses. */
  options: { padding?: number; saltLength?: number; dsaEncoding?: 'ieee-p1363' };
}

const RSA_PKCS1_PSS_PADDING = 6;

function algorithmOf(method: string): Algorithm {
  const bits = method.slice(2);
  if (method.startsWith('RS')) return { digest: `sha${bits}`, options: {} };
  if (method.startsWith('PS'))
    return {
      digest: `sha${bits}`,
      options: { padding: RSA_PKCS1_PSS_PADDING, saltLength: Number(bits) / 8 },
    };
  if (method.startsWith('ES')) return { digest: `sha${bits}`, options: { dsaEncoding: 'ieee-p1363' } };
  if (method === 'EdDSA') return { digest: null, options: {} };
  throw new Error(`unsupported JWT sign method ${method}`);
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export class JwtTokens implements TokenProvider {
  readonly kind = 'jwt';
  private readonly algorithm: Algorithm;
  private readonly privateKey: KeyObject | undefined;
  private readonly publicKey: KeyObject;

  constructor(
    private readonly options: JwtOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.algorithm = algorithmOf(options.signMethod);
    this.privateKey = options.privKeyFile ? createPrivateKey(readFileSync(options.privKeyFile)) : undefined;
    // etcd verifies with the public key; given only the private key, its public half serves.
    this.publicKey = options.pubKeyFile
      ? createPublicKey(readFileSync(options.pubKeyFile))
      : createPublicKey(this.privateKey!);
  }

  newSimpleToken(): string {
    return '';
  }

  assign(user: string, revision: number): string {
    if (!this.privateKey)
      throw new Error('this member has no JWT private key (priv-key=) to sign tokens with');
    const header = base64url(JSON.stringify({ alg: this.options.signMethod, typ: 'JWT' }));
    const claims = base64url(
      JSON.stringify({
        username: user,
        revision,
        exp: Math.floor(this.now() / 1000) + this.options.ttlSeconds,
      }),
    );
    const signature = sign(this.algorithm.digest, Buffer.from(`${header}.${claims}`), {
      key: this.privateKey,
      ...this.algorithm.options,
    });
    return `${header}.${claims}.${base64url(signature)}`;
  }

  info(token: string): TokenInfo | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, claims, signature] = parts;
    try {
      const alg = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { alg?: unknown }).alg;
      if (alg !== this.options.signMethod) return undefined; // never let the token pick the algorithm
      const valid = verify(
        this.algorithm.digest,
        Buffer.from(`${header}.${claims}`),
        { key: this.publicKey, ...this.algorithm.options },
        Buffer.from(signature, 'base64url'),
      );
      if (!valid) return undefined;
      const body = JSON.parse(Buffer.from(claims, 'base64url').toString()) as {
        username?: unknown;
        revision?: unknown;
        exp?: unknown;
      };
      if (typeof body.username !== 'string' || typeof body.revision !== 'number') return undefined;
      if (typeof body.exp !== 'number' || body.exp * 1000 <= this.now()) return undefined;
      return { user: body.username, authRevision: body.revision };
    } catch {
      return undefined;
    }
  }

  issuedAt(): undefined {
    return undefined; // a JWT stands on its own: any member with the public key checks it at once
  }

  invalidateUser(): void {
    // Stateless: a deleted user's token fails the user lookup; a new password bumps the auth revision.
  }

  clear(): void {}

  close(): void {}
}
