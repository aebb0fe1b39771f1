// Import a JSON bundle (from Export) into the config center, as drafts or published.
import { useRef, useState } from 'react';
import { configApi, type ConfigBundle } from '../../config-api';
import { ErrorBanner } from '../../components/common';
import { useAction } from '../../use-action';

export function ImportButton({ author, onDone }: { author: string; onDone: () => void }) {
  const input = useRef<HTMLInputElement>(null);
  const [publish, setPublish] = useState(false);
  const [result, setResult] = useState<string>();
  const { error, run } = useAction();
  return (
    <>
      <label>
        <input type="checkbox" checked={publish} onChange={(e) => setPublish(e.target.checked)} /> publish on
        import
      </label>
      <button onClick={() => input.current?.click()}>Import bundle…</button>
      <input
        ref={input}
        type="file"
        accept="application/json,.json"
        aria-label="import bundle file"
        style={{ display: 'none' }}
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (!file) return;
          run(
            file
              .text()
              .then((text) => configApi.importBundle(JSON.parse(text) as ConfigBundle, { author, publish })),
            (r) => {
              setResult(
                `imported ${r.items} items: ${r.published} published, ${r.drafts} drafts, ${r.unchanged} unchanged`,
              );
              onDone();
            },
          );
        }}
      />
      {result && <span className="small muted">{result}</span>}
      <ErrorBanner error={error} context="Import failed" />
    </>
  );
}
