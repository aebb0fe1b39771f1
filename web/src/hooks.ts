// Small hooks shared by the pages: client-side routing, polling with the last good data kept on error, and
// Server-Sent Events with reconnects that resume from the last event id (Last-Event-ID).
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { authHeaders } from './api';
import { sessionStore, useSession } from './auth/session';
import { openEventStream } from './sse/event-stream';
import type { SseMessage } from './sse/sse-parser';

const listeners = new Set<() => void>();
const notify = (): void => listeners.forEach((fn) => fn());
if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  notify();
}

export function useLocation(): { path: string; params: URLSearchParams } {
  const href = useSyncExternalStore(
    (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    () => location.pathname + location.search,
  );
  const url = new URL(href, location.origin);
  return { path: url.pathname, params: url.searchParams };
}

/** Replace some query parameters of the current location without a new history entry. */
export function setParams(updates: Record<string, string | undefined>, push = false): void {
  const url = new URL(location.href);
  for (const [k, v] of Object.entries(updates)) {
    if (v === undefined || v === '') url.searchParams.delete(k);
    else url.searchParams.set(k, v);
  }
  navigate(url.pathname + url.search, !push);
}

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Loads `fn` now and every `intervalMs` (0 = once); a failure keeps the last data and reports the error. */
export function usePoll<T>(fn: () => Promise<T>, deps: unknown[], intervalMs = 0): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = (): void => {
      setLoading(true);
      fnRef
        .current()
        .then((value) => {
          if (cancelled) return;
          setData(value);
          setError(undefined);
        })
        .catch((err: unknown) => {
          if (!cancelled) setError(err instanceof Error ? err : new Error(String(err)));
        })
        .finally(() => {
          if (cancelled) return;
          setLoading(false);
          if (intervalMs > 0) timer = setTimeout(run, intervalMs);
        });
    };
    run();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [...deps, tick, intervalMs]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

/** 'denied': the server answered 403 (no READ on the watched range); final, like 'down'. */
export type StreamState = 'connecting' | 'open' | 'down' | 'denied';

/**
 * Subscribes to an SSE URL (null = none); handlers by event name; reconnects by itself and resumes with
 * Last-Event-ID. Read with fetch (sse/event-stream.ts), so the session's token goes in a header, never in the
 * URL; a 401 ends the session like any other call's.
 */
export function useEventStream(
  url: string | null,
  handlers: Record<string, (data: unknown, message: SseMessage) => void>,
): StreamState {
  const [state, setState] = useState<StreamState>('connecting');
  const ref = useRef(handlers);
  ref.current = handlers;
  const { session } = useSession();
  useEffect(() => {
    if (!url) return;
    setState('connecting');
    const token = sessionStore.token();
    return openEventStream(url, () => authHeaders(url, token), {
      onOpen: () => setState('open'),
      onError: (status, retrying) => {
        if (status === 401) sessionStore.unauthenticated(token);
        setState(retrying ? 'connecting' : status === 403 ? 'denied' : 'down');
      },
      onMessage: (message) => {
        let data: unknown;
        try {
          data = JSON.parse(message.data);
        } catch {
          data = message.data;
        }
        ref.current[message.event]?.(data, message);
      },
    });
    // A new session (re-login) reconnects with its token.
  }, [url, session?.token]);
  return state;
}

/** Keys flashed for a moment after a live change (cleared after `ms`). */
export function useFlash(ms = 2000): [Set<string>, (key: string) => void] {
  const [keys, setKeys] = useState<Set<string>>(new Set());
  const flash = useCallback(
    (key: string) => {
      setKeys((prev) => new Set(prev).add(key));
      setTimeout(
        () =>
          setKeys((prev) => {
            const next = new Set(prev);
            next.delete(key);
            return next;
          }),
        ms,
      );
    },
    [ms],
  );
  return [keys, flash];
}

/** Arrow-key navigation between the focusable rows of a table body (Enter/Space activate via onKeyDown). */
export function rowKeyNav(event: React.KeyboardEvent<HTMLElement>, onActivate?: () => void): void {
  const row = event.currentTarget;
  if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    const sibling = (
      event.key === 'ArrowDown' ? row.nextElementSibling : row.previousElementSibling
    ) as HTMLElement | null;
    sibling?.focus();
  } else if ((event.key === 'Enter' || event.key === ' ') && onActivate) {
    event.preventDefault();
    onActivate();
  }
}
