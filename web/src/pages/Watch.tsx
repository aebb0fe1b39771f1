import { useRef, useState } from 'react';
import { consoleApi, type WatchFeedEvent, type WatchFeedStatus } from '../api';
import { Badge } from '../components/common';
import { StreamBadge } from '../components/StreamBadge';
import { setParams, useEventStream, useLocation } from '../hooks';

const MAX_EVENTS = 500;

export function WatchPage() {
  const { params } = useLocation();
  const prefix = params.get('prefix') ?? '';
  const [draft, setDraft] = useState(prefix);
  const [events, setEvents] = useState<WatchFeedEvent[]>([]);
  const [status, setStatus] = useState<WatchFeedStatus>();
  const [paused, setPaused] = useState(false);
  const from = Number(params.get('from') ?? '') || undefined;
  const [fromDraft, setFromDraft] = useState(from ? String(from) : '');
  // Resuming after a pause continues after the last event seen, so nothing in between is missed.
  const last = useRef<number | undefined>(undefined);
  const [resumeAt, setResumeAt] = useState<number | undefined>(from);
  const state = useEventStream(paused ? null : consoleApi.watchUrl(prefix, resumeAt), {
    status: (data) => setStatus(data as WatchFeedStatus),
    change: (data) => {
      const event = data as WatchFeedEvent;
      last.current = event.revision;
      setEvents((prev) => [event, ...prev].slice(0, MAX_EVENTS));
    },
  });
  return (
    <section aria-labelledby="watch-title">
      <h2 id="watch-title">Watch</h2>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setEvents([]);
          last.current = undefined;
          setResumeAt(Number(fromDraft) || undefined);
          setParams({ prefix: draft, from: fromDraft.trim() });
        }}
      >
        <label>
          Prefix
          <input
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            placeholder="(all keys)"
            size={40}
          />
        </label>
        <label>
          From revision
          <input
            value={fromDraft}
            onChange={(e) => setFromDraft(e.target.value)}
            placeholder="now"
            inputMode="numeric"
            size={8}
          />
        </label>
        <button type="submit" className="primary">
          Watch
        </button>
        <button
          type="button"
          onClick={() => {
            if (paused && last.current !== undefined) setResumeAt(last.current + 1);
            setPaused((p) => !p);
          }}
        >
          {paused ? 'Resume' : 'Pause'}
        </button>
        <button type="button" onClick={() => setEvents([])}>
          Clear
        </button>
        <StreamBadge state={state} paused={paused} />
        {status && (
          <span className="muted small">
            from revision {status.revision}
            {status.compacted ? ' (the requested revision was compacted; restarted from now)' : ''}
          </span>
        )}
      </form>
      <div className="panel">
        <ul className="feed" aria-label="watch events" data-testid="watch-feed">
          <li className="muted small">
            <span>revision</span>
            <span>type</span>
            <span>key</span>
            <span>value</span>
          </li>
          {events.length === 0 && (
            <li className="muted">Waiting for changes under “{prefix || '(all keys)'}”…</li>
          )}
          {events.map((e) => (
            <li key={`${e.revision}-${e.key}`} className="flash">
              <span className="mono">{e.revision}</span>
              <span>
                <Badge tone={e.type === 'put' ? 'ok' : 'bad'}>{e.type.toUpperCase()}</Badge>
              </span>
              <span className="mono">{e.key}</span>
              <span className="mono v" title={e.value ?? ''}>
                {e.type === 'delete' ? '' : (e.value ?? `(binary, ${atob(e.valueBase64).length} bytes)`)}
              </span>
            </li>
          ))}
        </ul>
      </div>
    </section>
  );
}
