// A textarea over a highlighted <pre>: the user types into the (transparent) textarea, the layer below shows
// the same text with syntax colours and the line of a validation error marked.
import { useRef } from 'react';
import { parseDocument } from 'yaml';
import { findJsonError } from './json-error';
import { highlight, type Syntax } from './highlight';

export function CodeEditor({
  value,
  onChange,
  syntax,
  errorLine,
  label,
  readOnly,
}: {
  value: string;
  onChange: (text: string) => void;
  syntax: Syntax;
  errorLine?: number;
  label: string;
  readOnly?: boolean;
}) {
  const pre = useRef<HTMLPreElement>(null);
  return (
    <div className="editor">
      <pre ref={pre} aria-hidden="true">
        {highlight(value, syntax, errorLine)}
        {'\n'}
      </pre>
      <textarea
        className="code"
        aria-label={label}
        spellCheck={false}
        value={value}
        readOnly={readOnly}
        rows={Math.max(12, value.split('\n').length + 1)}
        onChange={(e) => onChange(e.target.value)}
        onScroll={(e) => {
          if (pre.current) pre.current.scrollTop = e.currentTarget.scrollTop;
        }}
        onKeyDown={(e) => {
          // Tab indents (two spaces) instead of leaving the editor; Escape then Tab still moves focus on.
          if (e.key === 'Tab' && !e.shiftKey && !readOnly) {
            e.preventDefault();
            const t = e.currentTarget;
            const { selectionStart: s, selectionEnd: end } = t;
            onChange(value.slice(0, s) + '  ' + value.slice(end));
            requestAnimationFrame(() => t.setSelectionRange(s + 2, s + 2));
          }
        }}
      />
    </div>
  );
}

/** Client-side validation for instant feedback (the server validates again on publish). */
export function validate(text: string, syntax: Syntax): { message: string; line?: number } | undefined {
  if (syntax === 'json') {
    try {
      JSON.parse(text);
      return undefined;
    } catch (err) {
      // JSON.parse decides; the scan only says where (V8's messages carry no position).
      const at = findJsonError(text);
      if (at) return { message: `line ${at.line}, column ${at.column}: ${at.message}`, line: at.line };
      return { message: err instanceof Error ? err.message : String(err) };
    }
  }
  if (syntax === 'yaml') {
    const doc = parseDocument(text);
    const first = doc.errors[0];
    if (!first) return undefined;
    const line = first.linePos?.[0].line;
    return { message: first.message.split('\n')[0], line };
  }
  if (syntax === 'properties') {
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i].trim();
      if (l === '' || l.startsWith('#') || l.startsWith('!')) continue;
      if (!/^[^=:\s]+\s*([=:]|\s)/.test(l) && !/^[^=:\s]+$/.test(l)) {
        return { message: `line ${i + 1}: expected key=value`, line: i + 1 };
      }
    }
  }
  return undefined;
}
