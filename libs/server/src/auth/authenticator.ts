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
}

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

  identityOf(token: string | undefined, certificateCommonName: string | undefined): Identity {
    // With auth off every request is anonymous; a stale token from before `auth disable` does no harm.
    if (!this.auth.isEnabled()) return ANONYMOUS;
    if (token !== undefined && token !== '') {
      const info = this.tokens.info(token, this.auth.getRevision());
      if (!info) throw etcdError('invalid-auth-token');
      return { user: info.user, authRevision: info.authRevision };
    }
    if (this.options.clientCertAuth && certificateCommonName) {
      return { user: certificateCommonName, authRevision: this.auth.getRevision() };
    }
    return ANONYMOUS;
  }
}
