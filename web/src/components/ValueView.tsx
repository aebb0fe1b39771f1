import { useState } from 'react';
import { parse as parseYaml } from 'yaml';
import type { ConsoleKeyValue } from '../api';
import { Code, fromBase64, hexDump } from './common';
import type { Syntax } from './highlight';

/** The text shown for a value in "pretty" mode: JSON re-indented, YAML as written, binary as a hex dump. */
export function prettyText(kv: Pick<ConsoleKeyValue, 'text' | 'encoding' | 'valueBase64'>): {
  text: string;
  syntax: Syntax;
} {
  if (kv.text === null || kv.encoding === 'binary')
    return { text: hexDump(fromBase64(kv.valueBase64)), syntax: 'text' };
  if (kv.encoding === 'json') {
    try {
      return { text: JSON.stringify(JSON.parse(kv.text), null, 2), syntax: 'json' };
    } catch {
      return { text: kv.text, syntax: 'text' };
    }
  }
  if (kv.encoding === 'yaml') {
    try {
      parseYaml(kv.text);
      return { text: kv.text, syntax: 'yaml' };
    } catch {
      return { text: kv.text, syntax: 'text' };
    }
  }
  return { text: kv.text, syntax: 'text' };
}

export function ValueView({ kv }: { kv: ConsoleKeyValue }) {
  const [mode, setMode] = useState<'pretty' | 'raw' | 'hex'>('pretty');
  const pretty = prettyText(kv);
  const text =
    mode === 'hex'
      ? hexDump(fromBase64(kv.valueBase64))
      : mode === 'raw'
        ? (kv.text ?? pretty.text)
        : pretty.text;
  return (
    <div>
      <div className="tabs" role="tablist" aria-label="value format">
        {(['pretty', 'raw', 'hex'] as const).map((m) => (
          <button key={m} role="tab" aria-selected={mode === m} onClick={() => setMode(m)}>
            {m === 'pretty' ? `pretty (${kv.encoding})` : m}
          </button>
        ))}
      </div>
      <Code text={text} syntax={mode === 'pretty' ? pretty.syntax : 'text'} label="value" />
    </div>
  );
}
