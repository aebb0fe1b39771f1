// Who a request is, from what it presents (etcd's AuthInfoFromCtx): a token (gRPC metadata `token`, the
// gateway's `Authorization`, REST's `Authorization: Bearer`), else — with --client-cert-auth — the CN of
// its verified client certificate. Used by the request pipeline's authentication policy; never throws for
// a request that presents nothing (the permission check answers "user name is empty" where one is needed).
import { etcdError } from '@cairn/api';
import { ANONYMOUS, type Identity } from '@cairn/edge';
import type { AuthStore } from './auth-store';
import type { TokenProvider } from './token-provider';

export interface AuthenticatorOptions {
  /** --client-cert-auth: a verified client certificate's CN names the user when no token is given. */
  clientCertAuth: boolean;
  /**
   * Resolves once this member applied Raft index `index` (false after `timeoutMs`): a simple token issued by
   * another member a moment ago is judged after its Authenticate entry applied here, as etcd does.
   */
  waitApplied?: (index: number, timeoutMs: number) => Promise<boolean>;
}

/** Longest wait for another member's fresh token (a real one applies within milliseconds). */
const ISSUED_TOKEN_WAIT_MS = 3000;

export class Authenticator {
  constructor(
    /** The state machine's auth store (the same object for the member's life). */
    private readonly auth: AuthStore,
    readonly tokens: TokenProvider,
    private readonly options: AuthenticatorOptions,
  ) {
    // Tokens die with what they stood for: a deleted user or changed password, auth disabled, a new store.
    auth.onChange((change) => {
      if (change.kind === 'user-removed') tokens.invalidateUser(change.user);
      else if (change.kind === 'disabled' || change.kind === 'reloaded') tokens.clear();
    });
  }

  get enabled(): boolean {
    return this.auth.isEnabled();
  }

  identityOf(
    token: string | undefined,
    certificateCommonName: string | undefined,
  ): Identity | Promise<Identity> {
    // With auth off every request is anonymous; a stale token from before `auth disable` does no harm.
    if (!this.auth.isEnabled()) return ANONYMOUS;
    if (token !== undefined && token !== '') {
      const known = this.identityOfToken(token);
      if (known) return known;
      // Issued by another member at a Raft index this one has not applied yet: wait for it, then judge.
      const issuedAt = this.tokens.issuedAt(token);
      const { waitApplied } = this.options;
      if (issuedAt === undefined || !waitApplied) throw etcdError('invalid-auth-token');
      return waitApplied(issuedAt, ISSUED_TOKEN_WAIT_MS).then(() => {
        const identity = this.identityOfToken(token);
        if (!identity) throw etcdError('invalid-auth-token');
        return identity;
      });
    }
    if (this.options.clientCertAuth && certificateCommonName) {
      return { user: certificateCommonName, authRevision: this.auth.getRevision() };
    }
    return ANONYMOUS;
  }

  private identityOfToken(token: string): Identity | undefined {
    const info = this.tokens.info(token, this.auth.getRevision());
    return info ? { user: info.user, authRevision: info.authRevision } : undefined;
  }
}
