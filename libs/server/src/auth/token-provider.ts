// How a member issues and recognises auth tokens (etcd's TokenProvider): simple tokens (simple-tokens.ts)
// or JWTs (jwt-tokens.ts), chosen by --auth-token.

export interface TokenInfo {
  user: string;
  /** The auth revision the token stands at: a request checked at an older one is refused at apply. */
  authRevision: number;
}

export interface TokenProvider {
  readonly kind: 'simple' | 'jwt';
  /** Made by the member serving Authenticate and carried in the Raft entry ('' when not needed: JWT). */
  newSimpleToken(): string;
  /**
   * Applied on every member when the Authenticate entry (Raft index `index`) commits: the token the proposer
   * answers with.
   */
  assign(user: string, revision: number, simpleToken: string, index: number): string;
  /** The user a token stands for, or undefined when it is unknown, expired or forged. */
  info(token: string, currentRevision: number): TokenInfo | undefined;
  /**
   * The Raft index of the Authenticate entry that makes `token`, when the token itself says so (simple
   * tokens, as etcd's): a member that has not applied it yet waits instead of calling the token unknown.
   */
  issuedAt(token: string): number | undefined;
  /** The user was deleted or its password changed. */
  invalidateUser(user: string): void;
  /** Auth was disabled (or the store replaced): every token goes. */
  clear(): void;
  close(): void;
}
