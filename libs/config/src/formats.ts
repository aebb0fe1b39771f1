// Formats of config items: validation before publish (with line and column where the format has them),
// parsing to a JSON value for subscribers, and the optional JSON Schema per item (ajv).
import { Ajv, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import type { ConfigFormat, ValidationIssue } from './types';

export const CONFIG_FORMATS: readonly ConfigFormat[] = ['json', 'yaml', 'properties', 'text'];

export function isConfigFormat(value: unknown): value is ConfigFormat {
  return typeof value === 'string' && (CONFIG_FORMATS as readonly string[]).includes(value);
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function jsonIssues(content: string): ValidationIssue[] {
  try {
    JSON.parse(content);
    return [];
  } catch (err) {
    const message = (err as Error).message;
    const lc = /line (\d+) column (\d+)/.exec(message);
    if (lc) return [{ message, line: Number(lc[1]), column: Number(lc[2]) }];
    const at = /position (\d+)/.exec(message);
    if (at) return [{ message, ...lineColumn(content, Number(at[1])) }];
    // "Unexpected end of JSON input": the position is the end.
    return [{ message, ...lineColumn(content, content.length) }];
  }
}

function yamlIssues(content: string): ValidationIssue[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(content, { lineCounter, prettyErrors: true });
  return doc.errors.map((error) => {
    const pos = error.linePos?.[0] ?? lineCounter.linePos(error.pos[0]);
    return {
      message: error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''),
      line: pos.line,
      column: pos.col,
    };
  });
}

interface PropertyLine {
  key: string;
  value: string;
  line: number;
}

/**
 * Java .properties, as java.util.Properties reads it: `#`/`!` comments, `key=value`, `key: value` or
 * `key value`, backslash continuation lines, `\uXXXX` escapes. Well formed here also means: no empty key
 * and no key defined twice (Java silently keeps the last; a config center should say so).
 */
export function parseProperties(content: string): { entries: PropertyLine[]; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  const entries: PropertyLine[] = [];
  const seen = new Map<string, number>();
  const lines = content.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const startLine = i + 1;
    let logical = lines[i].replace(/^[ \t\f]+/, '');
    if (logical === '' || logical.startsWith('#') || logical.startsWith('!')) continue;
    // Continuation: an odd number of trailing backslashes joins the next line (its leading blanks dropped).
    while (/(^|[^\\])(\\\\)*\\$/.test(logical)) {
      if (i + 1 >= lines.length) {
        issues.push({
          message: 'line continuation at the end of the input',
          line: startLine,
          column: lines[i].length,
        });
        logical = logical.slice(0, -1);
        break;
      }
      i++;
      logical = logical.slice(0, -1) + lines[i].replace(/^[ \t\f]+/, '');
    }
    // The key ends at the first unescaped '=', ':' or blank.
    let k = 0;
    let key = '';
    while (k < logical.length) {
      const ch = logical[k];
      if (ch === '\\' && k + 1 < logical.length) {
        key += logical.slice(k, k + 2);
        k += 2;
        continue;
      }
      if (ch === '=' || ch === ':' || ch === ' ' || ch === '\t' || ch === '\f') break;
      key += ch;
      k++;
    }
    let rest = logical.slice(k).replace(/^[ \t\f]+/, '');
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]+/, '');
    const column = lines[startLine - 1].length - lines[startLine - 1].replace(/^[ \t\f]+/, '').length + 1;
    if (key === '') {
      issues.push({ message: 'empty key', line: startLine, column });
      continue;
    }
    const decodedKey = unescapeProperties(key, startLine, column, issues);
    const value = unescapeProperties(rest, startLine, column + k, issues);
    const previous = seen.get(decodedKey);
    if (previous !== undefined) {
      issues.push({
        message: `duplicate key "${decodedKey}" (first defined on line ${previous})`,
        line: startLine,
        column,
      });
    }
    seen.set(decodedKey, startLine);
    entries.push({ key: decodedKey, value, line: startLine });
  }
  return { entries, issues };
}

function unescapeProperties(text: string, line: number, column: number, issues: ValidationIssue[]): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch !== '\\' || i + 1 >= text.length) {
      out += ch;
      continue;
    }
    const next = text[++i];
    if (next === 'u') {
      const hex = text.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        issues.push({ message: `malformed \\uxxxx escape "\\u${hex}"`, line, column: column + i - 1 });
        continue;
      }
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else if (next === 't') out += '\t';
    else if (next === 'n') out += '\n';
    else if (next === 'r') out += '\r';
    else if (next === 'f') out += '\f';
    else out += next;
  }
  return out;
}

/** Problems that block a publish of `content` in `format` (empty = valid). */
export function validateContent(format: ConfigFormat, content: string, schema?: string): ValidationIssue[] {
  let issues: ValidationIssue[];
  if (format === 'json') issues = jsonIssues(content);
  else if (format === 'yaml') issues = yamlIssues(content);
  else if (format === 'properties') issues = parseProperties(content).issues;
  else issues = [];
  if (issues.length > 0 || !schema) return issues;
  return schemaIssues(schema, parseContent(format, content));
}

/** The content as a JSON value (json/yaml: the document; properties: an object of strings; text: the string). */
export function parseContent(format: ConfigFormat, content: string): unknown {
  if (format === 'json') return JSON.parse(content) as unknown;
  if (format === 'yaml') return parseDocument(content).toJS() as unknown;
  if (format === 'properties') {
    const out: Record<string, string> = {};
    for (const entry of parseProperties(content).entries) out[entry.key] = entry.value;
    return out;
  }
  return content;
}

/** parseContent, never throwing: content that no longer parses (e.g. a format change) becomes null. */
export function parseContentSafe(format: ConfigFormat, content: string): unknown {
  try {
    return parseContent(format, content);
  } catch {
    return null;
  }
}

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new Map<string, ValidateFunction>();

/** A JSON Schema itself must compile; returns its problems. */
export function schemaProblems(schema: string): ValidationIssue[] {
  try {
    compileSchema(schema);
    return [];
  } catch (err) {
    return [{ message: `invalid JSON Schema: ${(err as Error).message}`, line: 0, column: 0 }];
  }
}

function compileSchema(schema: string): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(JSON.parse(schema) as object);
    if (compiled.size > 200) compiled.clear();
    compiled.set(schema, fn);
  }
  return fn;
}

function schemaIssues(schema: string, value: unknown): ValidationIssue[] {
  let fn: ValidateFunction;
  try {
    fn = compileSchema(schema);
  } catch (err) {
    return [{ message: `invalid JSON Schema: ${(err as Error).message}`, line: 0, column: 0 }];
  }
  if (fn(value)) return [];
  return (fn.errors ?? []).map((e) => ({
    message: `schema: ${e.instancePath || '/'} ${e.message ?? 'is invalid'}`,
    line: 0,
    column: 0,
  }));
}
