// A publish answered 409: your base and the live release side by side, the diff from live to your edit, and
// the two ways out (keep the edit on top of live, or load live). The edit itself stays in the editor.
import type { ConfigConflictBody } from '../../config-api';
import { DiffView } from '../../components/common';
import { Who } from './Who';

export function ConflictPanel({
  conflict,
  text,
  onKeepEdit,
  onLoadLive,
}: {
  conflict: ConfigConflictBody;
  /** The editor's content. */
  text: string;
  onKeepEdit: () => void;
  onLoadLive: () => void;
}) {
  return (
    <div className="error" role="alert" data-testid="conflict">
      <b>Publish conflict:</b> {conflict.message}
      <div className="row" style={{ marginTop: 8 }}>
        <div className="grow">
          <div className="small">
            Your base: v{conflict.base?.version ?? 0} (revision {conflict.expectedRevision})
          </div>
          <pre className="value" data-testid="conflict-base">
            {conflict.base?.content ?? ''}
          </pre>
        </div>
        <div className="grow">
          <div className="small">
            Live now: v{conflict.current?.version ?? '?'} by{' '}
            {conflict.current ? <Who record={conflict.current} /> : '?'} (revision {conflict.currentRevision})
          </div>
          <pre className="value" data-testid="conflict-current">
            {conflict.current?.content ?? ''}
          </pre>
        </div>
      </div>
      <div className="small" style={{ marginTop: 6 }}>
        Live now → your edit:
      </div>
      <DiffView before={conflict.current?.content ?? ''} after={text} label="live to your edit" />
      <div className="toolbar" style={{ marginTop: 8 }}>
        <button onClick={onKeepEdit}>Keep my edit, base it on the live version</button>
        <button onClick={onLoadLive}>Discard my edit, load the live version</button>
      </div>
    </div>
  );
}
