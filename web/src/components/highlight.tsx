// A light syntax highlighter for JSON, YAML and .properties: one regex pass per line, spans with token
// classes. Good enough to read and edit config; no editor dependency.
import type { ReactNode } from 'react';

export type Syntax = 'json' | 'yaml' | 'properties' | 'text';

const JSON_TOKENS = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g;
const SCALAR =
  /("(?:[^"\\]|\\.)*"|'(?:[^']|'')*')|(?<![\w.-])(-?\d+(?:\.\d+)?)(?=\s*$|\s*#|,|\])|(?<![\w.-])(true|false|null|yes|no|on|off|~)(?![\w.-])/g;

function jsonLine(line: string, key: number): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of line.matchAll(JSON_TOKENS)) {
    const at = m.index;
    if (at > last) out.push(line.slice(last, at));
    if (m[1] !== undefined) {
      out.push(
        <span key={`${key}-${at}`} className={m[2] ? 'tok-key' : 'tok-str'}>
          {m[1]}
        </span>,
      );
      if (m[2]) out.push(m[2]);
    } else if (m[3] !== undefined) {
      out.push(
        <span key={`${key}-${at}`} className="tok-num">
          {m[3]}
        </span>,
      );
    } else {
      out.push(
        <span key={`${key}-${at}`} className="tok-kw">
          {m[4]}
        </span>,
      );
    }
    last = at + m[0].length;
  }
  if (last < line.length) out.push(line.slice(last));
  return out;
}

function scalars(text: string, key: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(SCALAR)) {
    const at = m.index;
    if (at > last) out.push(text.slice(last, at));
    const cls = m[1] !== undefined ? 'tok-str' : m[2] !== undefined ? 'tok-num' : 'tok-kw';
    out.push(
      <span key={`${key}-${at}`} className={cls}>
        {m[0]}
      </span>,
    );
    last = at + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function yamlLine(line: string, key: number): ReactNode[] {
  const comment = /^(\s*)(#.*)$/.exec(line);
  if (comment)
    return [
      comment[1],
      <span key={key} className="tok-com">
        {comment[2]}
      </span>,
    ];
  const m = /^(\s*(?:-\s+)?)([^\s#:][^:#]*?)(:)(\s|$)(.*)$/.exec(line);
  if (m) {
    return [
      m[1],
      <span key={`${key}-k`} className="tok-key">
        {m[2]}
      </span>,
      m[3] + m[4],
      ...scalars(m[5], `${key}`),
    ];
  }
  return scalars(line, `${key}`);
}

function propertiesLine(line: string, key: number): ReactNode[] {
  if (/^\s*[#!]/.test(line))
    return [
      <span key={key} className="tok-com">
        {line}
      </span>,
    ];
  const m = /^(\s*)([^=:\s]+)(\s*[=:]\s*)(.*)$/.exec(line);
  if (!m) return [line];
  return [
    m[1],
    <span key={`${key}-k`} className="tok-key">
      {m[2]}
    </span>,
    m[3],
    <span key={`${key}-v`} className="tok-str">
      {m[4]}
    </span>,
  ];
}

/** Highlighted lines; `errorLine` (1-based) gets a marker background. */
export function highlight(text: string, syntax: Syntax, errorLine?: number): ReactNode[] {
  const lines = text.split('\n');
  return lines.map((line, i) => {
    const parts =
      syntax === 'json'
        ? jsonLine(line, i)
        : syntax === 'yaml'
          ? yamlLine(line, i)
          : syntax === 'properties'
            ? propertiesLine(line, i)
            : [line];
    return (
      <span key={i} className={errorLine === i + 1 ? 'errline' : undefined}>
        {parts}
        {i < lines.length - 1 ? '\n' : ''}
      </span>
    );
  });
}

export function syntaxOf(format: string | undefined, name?: string): Syntax {
  const f = (format ?? '').toLowerCase();
  if (f === 'json' || name?.endsWith('.json')) return 'json';
  if (f === 'yaml' || f === 'yml' || name?.endsWith('.yaml') || name?.endsWith('.yml')) return 'yaml';
  if (f === 'properties' || name?.endsWith('.properties')) return 'properties';
  return 'text';
}
