// The "Gray release" tab: the active gray release (promote or abandon it), or start one for the subscribers
// whose labels match, with its own content.
import { useState } from 'react';
import { configApi, type ConfigItemView } from '../../config-api';
import { DiffView, ErrorBanner } from '../../components/common';
import { CodeEditor, validate } from '../../components/CodeEditor';
import { syntaxOf } from '../../components/highlight';
import { useMayWritePrefix } from '../../auth/grants';
import { configAppPrefix } from '../../auth/key-spaces';
import { useAction } from '../../use-action';
import { Who } from './Who';

/** `zone=eu-1, canary=true` → {zone: 'eu-1', canary: 'true'}. */
function parseLabels(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => [p.slice(0, p.indexOf('=')).trim(), p.slice(p.indexOf('=') + 1).trim()]),
  );
}

export function Gray({
  item,
  author,
  masked,
  onChanged,
}: {
  item: ConfigItemView;
  author: string;
  /** A secret item's masked content: no gray release can be started from it. */
  masked?: boolean;
  onChanged: () => void;
}) {
  const { namespace: ns, app, name } = item;
  // Without write on the app only the active gray release (if any) is shown.
  const mayWrite = useMayWritePrefix(configAppPrefix(ns, app));
  const mayStart = mayWrite && !masked;
  const [content, setContent] = useState(item.gray?.content ?? item.draft?.content ?? item.content);
  const [labels, setLabels] = useState(
    item.gray
      ? Object.entries(item.gray.rule.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',')
      : 'canary=true',
  );
  const [percentage, setPercentage] = useState(String(item.gray?.rule.percentage ?? 100));
  const [comment, setComment] = useState('');
  const { error, run } = useAction();
  const syntax = syntaxOf(item.format, name);
  const local = validate(content, syntax);
  const act = (p: Promise<unknown>): void => run(p, onChanged);
  return (
    <div className="panel">
      <ErrorBanner error={error} context="Gray release action failed" />
      {item.gray ? (
        <div className="notice">
          Gray release <b>v{item.gray.version}</b> by <Who record={item.gray} /> to labels{' '}
          <code>{JSON.stringify(item.gray.rule.labels)}</code>, {item.gray.rule.percentage}% of them (based on
          v{item.gray.baseVersion}).
          {mayWrite && (
            <div className="toolbar" style={{ marginTop: 6 }}>
              <button
                className="primary"
                onClick={() => act(configApi.promoteGray(ns, app, name, { author, comment }))}
              >
                Promote to everyone
              </button>
              <button
                className="danger"
                onClick={() => act(configApi.abandonGray(ns, app, name, { author, comment }))}
              >
                Abandon
              </button>
            </div>
          )}
          <DiffView before={item.content} after={item.gray.content} label="live to gray" />
        </div>
      ) : (
        <div className="muted small">No gray release. Start one for subscribers whose labels match.</div>
      )}
      {mayStart && (
        <>
          <div className="toolbar" style={{ marginTop: 10 }}>
            <label>
              Labels
              <input
                value={labels}
                onChange={(e) => setLabels(e.target.value)}
                placeholder="zone=eu-1,canary=true"
                size={26}
              />
            </label>
            <label>
              Percentage
              <input
                value={percentage}
                onChange={(e) => setPercentage(e.target.value)}
                size={4}
                inputMode="numeric"
              />
            </label>
            <label>
              Comment
              <input value={comment} onChange={(e) => setComment(e.target.value)} size={20} />
            </label>
          </div>
          <CodeEditor
            value={content}
            onChange={setContent}
            syntax={syntax}
            errorLine={local?.line}
            label="gray content"
          />
          {local && <div className="error small">{local.message}</div>}
          <div className="toolbar" style={{ marginTop: 8 }}>
            <button
              className="primary"
              disabled={!!local}
              onClick={() =>
                act(
                  configApi.startGray(ns, app, name, {
                    content,
                    rule: { labels: parseLabels(labels), percentage: Number(percentage) || 0 },
                    author,
                    comment,
                  }),
                )
              }
            >
              {item.gray ? 'Replace gray release' : 'Start gray release'}
            </button>
          </div>
        </>
      )}
    </div>
  );
}
