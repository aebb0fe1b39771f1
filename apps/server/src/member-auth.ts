// The member's auth wiring (docs/security.md): the token provider --auth-token chooses, the options of etcd's
// Auth API, and the "secure by default" rule — a member serving a plaintext client URL that other machines can
// reach warns loudly, and refuses AuthEnable unless --auth-allow-plaintext (never a refusal to start: auth
// state persists, and a member must always be able to restart).
import {
  type AuthApiOptions,
  Authenticator,
  JwtTokens,
  SimpleTokens,
  type AuthStore,
  type Logger,
  type TokenProvider,
} from '@cairn/server';
import type { ServerSettings } from './config/settings';

export function createTokenProvider(settings: ServerSettings): TokenProvider {
  const { auth } = settings.security;
  if (auth.token.kind === 'jwt') return new JwtTokens(auth.token);
  return new SimpleTokens(auth.tokenTtlSeconds * 1000);
}

export function createAuthenticator(
  node: { auth: AuthStore; waitApplied(index: number, timeoutMs: number): Promise<boolean> },
  tokens: TokenProvider,
  settings: ServerSettings,
): Authenticator {
  return new Authenticator(node.auth, tokens, {
    clientCertAuth: settings.security.tls.client.clientCertAuth,
    // A simple token another member issued a moment ago is judged once its entry applied here (etcd's way).
    waitApplied: (index, timeoutMs) => node.waitApplied(index, timeoutMs),
  });
}

export function authApiOptions(settings: ServerSettings, tokens: TokenProvider): AuthApiOptions {
  return {
    bcryptCost: settings.security.auth.bcryptCost,
    tokens,
    refuseEnable: exposedPlaintextUrls(settings).length > 0 && !settings.security.auth.allowPlaintextAuth,
  };
}

/** Client and peer URLs served in clear to other machines. */
export function exposedPlaintextUrls(settings: ServerSettings): string[] {
  return [...settings.listenClientUrls, ...settings.listenPeerUrls]
    .filter((url) => url.protocol === 'http:' && !isLoopbackHost(url.hostname))
    .map((url) => url.href);
}

/** What /health details and the start-up log say about a member exposed without TLS or auth. */
export function insecurityWarnings(settings: ServerSettings, authEnabled: boolean): string[] {
  const exposed = exposedPlaintextUrls(settings);
  if (exposed.length === 0) return [];
  const warnings = [`plaintext URLs reachable from other hosts: ${exposed.join(', ')}`];
  if (!authEnabled)
    warnings.push('authentication is off: anyone who reaches a client URL can read and write every key');
  return warnings;
}

export function logInsecurity(settings: ServerSettings, authEnabled: boolean, logger: Logger): void {
  for (const warning of insecurityWarnings(settings, authEnabled)) {
    logger.warn({ docs: 'docs/security.md' }, `INSECURE: ${warning}`);
  }
}

function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '');
  return bare === 'localhost' || bare === '::1' || /^127\./.test(bare);
}
