// Who is calling (etcd's AuthInfoFromCtx), for every surface: the token in gRPC metadata `token`, the raw
// token in `Authorization` on the JSON gateway (as etcd's grpc-gateway forwards it), `Authorization: Bearer
// <token>` on REST/SSE/console calls; else, with --client-cert-auth, the CN of the verified client
// certificate. A bad or expired token is refused here ("invalid auth token", Unauthenticated / 401); a
// request with no credentials goes on anonymous, and the permission checks where keys are known answer
// "user name is empty" if it needed a user.
import type { Identity } from '../../call-context';
import type { Policy } from '../policy';
import type { RequestInfo } from '../request';

/**
 * Turns credentials into an identity; throws etcd's "invalid auth token" for a token it does not know. A
 * promise only when it must wait (a token issued by another member whose entry this member has not applied
 * yet).
 */
export interface IdentitySource {
  identityOf(
    token: string | undefined,
    certificateCommonName: string | undefined,
  ): Identity | Promise<Identity>;
}

export function authenticationPolicy(source: IdentitySource): Policy {
  return {
    name: 'authentication',
    admit(request, draft) {
      const identity = source.identityOf(tokenOf(request), request.certificateCommonName);
      if (identity instanceof Promise) {
        return identity.then((known) => {
          draft.identity = known;
        });
      }
      draft.identity = identity;
    },
  };
}

/** The token a request carries, wherever its surface puts it. */
export function tokenOf(request: RequestInfo): string | undefined {
  const metadata = request.surface === 'grpc' ? request.header('token') : undefined;
  if (metadata !== undefined) return metadata;
  const authorization = request.header('authorization')?.trim();
  if (!authorization) return undefined;
  return /^bearer\s+/i.test(authorization) ? authorization.replace(/^bearer\s+/i, '') : authorization;
}
