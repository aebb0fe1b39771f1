// The state of a live view's event stream, as a badge (Services and Watch).
import type { StreamState } from '../hooks';
import { Badge } from './common';

export function StreamBadge({ state, paused }: { state: StreamState; paused?: boolean }) {
  return (
    <span aria-live="polite">
      {paused ? (
        <Badge>paused</Badge>
      ) : state === 'open' ? (
        <Badge tone="ok">live</Badge>
      ) : state === 'connecting' ? (
        <Badge tone="warn">connecting…</Badge>
      ) : state === 'denied' ? (
        <Badge tone="bad">no permission to watch this</Badge>
      ) : (
        <Badge tone="bad">disconnected</Badge>
      )}
    </span>
  );
}
