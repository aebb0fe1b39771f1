// etcd's simple tokens (--auth-token simple): 16 random letters, a dot and the Raft index of the Authenticate
// entry. The member that serves Authenticate makes the letters and puts them in the entry, so every member
// learns the token when the entry applies; one that is handed the token before it applied that index waits
// for it (issuedAt). Each keeps its tokens in memory with a TTL (--auth-token-ttl) that every use extends.
// Tokens are not state-machine state: a restarted member has none, and clients authenticate again (as etcd).
import { randomInt } from 'node:crypto';
import type { TokenInfo, TokenProvider } from './token-provider';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const TOKEN_LENGTH = 16;
const TOKEN_FORMAT = /^[a-zA-Z]{16}\.(\d{1,15})$/;
const SWEEP_INTERVAL_MS = 10_000;

interface SimpleToken {
  user: string;
  expiresAt: number;
}

export class SimpleTokens implements TokenProvider {
  readonly kind = 'simple';
  private readonly tokens = new Map<string, SimpleToken>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  newSimpleToken(): string {
    let letters = '';
    for (let i = 0; i < TOKEN_LENGTH; i++) letters += LETTERS[randomInt(LETTERS.length)];
    return letters;
  }

  assign(user: string, _revision: number, simpleToken: string, index: number): string {
    if (simpleToken === '') throw new Error('simple token missing from the Authenticate entry');
    const token = `${simpleToken}.${index}`;
    this.tokens.set(token, { user, expiresAt: this.now() + this.ttlMs });
    return token;
  }

  issuedAt(token: string): number | undefined {
    const match = TOKEN_FORMAT.exec(token);
    return match ? Number(match[1]) : undefined;
  }

  info(token: string, currentRevision: number): TokenInfo | undefined {
    const entry = this.tokens.get(token);
    if (!entry) return undefined;
    const now = this.now();
    if (entry.expiresAt <= now) {
      this.tokens.delete(token);
      return undefined;
    }
    entry.expiresAt = now + this.ttlMs; // etcd extends a simple token on every use
    // A simple token stands for its user at the store's current revision (etcd's tokenSimple.info).
    return { user: entry.user, authRevision: currentRevision };
  }

  invalidateUser(user: string): void {
    for (const [token, entry] of this.tokens) if (entry.user === user) this.tokens.delete(token);
  }

  clear(): void {
    this.tokens.clear();
  }

  close(): void {
    clearInterval(this.sweeper);
    this.tokens.clear();
  }

  /** How many live tokens this member holds (metrics, tests). */
  get size(): number {
    return this.tokens.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [token, entry] of this.tokens) if (entry.expiresAt <= now) this.tokens.delete(token);
  }
}
