// A Server-Sent Events client over fetch, for the live views. EventSource cannot send headers, and the token
// must never be put in a URL (logs, history, Referer), so the stream is read with fetch, which can send
// `Authorization`. It behaves like EventSource where the pages rely on it: it reconnects by itself after the
// server's `retry:` delay (3 s by default) and sends Last-Event-ID so the feed resumes where it stopped.
import { SseParser, type SseMessage } from './sse-parser';

export interface EventStreamHandlers {
  onOpen: () => void;
  onMessage: (message: SseMessage) => void;
  /**
   * The connection failed or ended. `status` is the HTTP status when the server answered (undefined: network
   * error or the stream ended); `retrying` says whether it reconnects by itself.
   */
  onError: (status: number | undefined, retrying: boolean) => void;
}

/** EventSource's default reconnect delay when the server sends no `retry:`. */
const DEFAULT_RETRY_MS = 3000;

/**
 * Opens `url` and keeps it open until the returned function is called. `headers` is asked on each (re)connect,
 * so a new token is used after a re-login. A 4xx answer (401: the session ended; 403: not allowed) is final,
 * as EventSource treats any non-200; a 5xx or a network error is retried, as a restarting member gives them.
 */
export function openEventStream(
  url: string,
  headers: () => Record<string, string>,
  handlers: EventStreamHandlers,
): () => void {
  let closed = false;
  let lastEventId = '';
  let retryMs = DEFAULT_RETRY_MS;
  let controller: AbortController | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const retryLater = (status: number | undefined): void => {
    if (closed) return;
    handlers.onError(status, true);
    timer = setTimeout(() => void connect(), retryMs);
  };

  const connect = async (): Promise<void> => {
    controller = new AbortController();
    const h: Record<string, string> = { accept: 'text/event-stream', ...headers() };
    if (lastEventId) h['last-event-id'] = lastEventId;
    let res: Response;
    try {
      res = await fetch(url, { headers: h, signal: controller.signal, cache: 'no-store' });
    } catch {
      retryLater(undefined);
      return;
    }
    if (!res.ok || !res.body) {
      if (res.status >= 400 && res.status < 500) {
        if (!closed) handlers.onError(res.status, false);
        return;
      }
      retryLater(res.status);
      return;
    }
    handlers.onOpen();
    const parser = new SseParser(lastEventId);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done || closed) break;
        for (const message of parser.push(value)) {
          lastEventId = message.lastEventId;
          if (!closed) handlers.onMessage(message);
        }
        lastEventId = parser.lastEventId;
        if (parser.retryMs !== undefined) retryMs = parser.retryMs;
      }
    } catch {
      // The connection dropped (or close() aborted it): reconnect below unless closed.
    }
    retryLater(undefined);
  };

  void connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    controller?.abort();
  };
}
