// The console's session: who is signed in and with which token, and whether this member asks for a login.
// The token lives in memory and in sessionStorage (so a reload or a new page in the same tab keeps it; it
// dies with the tab), never in a URL or localStorage. Every API call reads it from here, and every 401 ends
// it here, which brings the login page back with a message.
import { useSyncExternalStore } from 'react';

export interface Session {
  user: string;
  token: string;
}

/** Whether this member has auth enabled: unknown until /v3/auth/status answered (or a 401 said so). */
export type AuthMode = 'unknown' | 'off' | 'on';

export interface SessionState {
  session: Session | undefined;
  mode: AuthMode;
  /** Shown on the login page: why it is there (expired, signed out). */
  notice: string | undefined;
  /**
   * The session ended by itself (a 401), not by signing out: the login is shown over the page, which stays
   * mounted so an edit in progress survives the re-login.
   */
  expired: boolean;
}

const STORAGE_KEY = 'cairn.session';

function restore(): Session | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return undefined;
    const parsed = JSON.parse(raw) as Partial<Session>;
    return typeof parsed.user === 'string' && typeof parsed.token === 'string'
      ? { user: parsed.user, token: parsed.token }
      : undefined;
  } catch {
    return undefined;
  }
}

let state: SessionState = {
  session: typeof sessionStorage === 'undefined' ? undefined : restore(),
  mode: 'unknown',
  notice: undefined,
  expired: false,
};
const listeners = new Set<() => void>();

function set(next: Partial<SessionState>): void {
  state = { ...state, ...next };
  try {
    if (state.session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(state.session));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage may be unavailable (privacy mode): the session still lives in memory.
  }
  listeners.forEach((fn) => fn());
}

export const sessionStore = {
  get: (): SessionState => state,
  token: (): string | undefined => state.session?.token,
  subscribe(fn: () => void): () => void {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
  setMode(mode: AuthMode): void {
    if (state.mode !== mode) set({ mode });
  },
  signIn(session: Session): void {
    set({ session, mode: 'on', notice: undefined, expired: false });
  },
  /** Ends the session on the user's request. etcd has no logout RPC: a simple token lapses after its TTL. */
  signOut(): void {
    set({ session: undefined, notice: 'Signed out.', expired: false });
  },
  /** Auth was disabled (from the Access page): no login any more, and the session has no use. */
  authDisabled(): void {
    set({ session: undefined, mode: 'off', notice: undefined, expired: false });
  },
  /**
   * A call answered 401. `tokenUsed` is the token that call sent: an answer to a call made with an older
   * token (before a re-login) must not end the new session.
   */
  unauthenticated(tokenUsed: string | undefined): void {
    if (state.session) {
      if (tokenUsed !== state.session.token) return;
      set({
        session: undefined,
        mode: 'on',
        notice: `Your session as ${state.session.user} has expired. Sign in again.`,
        expired: true,
      });
    } else if (state.mode !== 'on') {
      set({ mode: 'on', notice: 'This member requires you to sign in.' });
    }
  },
};

export function useSession(): SessionState {
  return useSyncExternalStore(sessionStore.subscribe, sessionStore.get);
}
