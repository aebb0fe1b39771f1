// etcdctl 3.4's `-w json` prints 64-bit IDs and revisions as bare JSON numbers (e.g. a member ID of
// 13510015062231200447), which JSON.parse would round. This parser turns every number literal into its
// exact decimal text instead, so tests compare them as strings.

export type ExactJson = string | boolean | null | ExactJson[] | { [key: string]: ExactJson };

/** Parses JSON, giving every number as the exact string it was written as. */
export function parseExactJson(text: string): ExactJson {
  let quoted = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      // Copy the string literal verbatim, honouring escapes.
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      quoted += text.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
      const match = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
      if (!match) throw new SyntaxError(`bad number at offset ${i}`);
      quoted += `"${match[0]}"`;
      i += match[0].length;
    } else {
      quoted += ch;
      i++;
    }
  }
  return JSON.parse(quoted) as ExactJson;
}

/** Reads a path like ['header', 'revision'] or ['kvs', 0, 'key'], failing with the path if absent. */
export function at(value: ExactJson, ...path: Array<string | number>): ExactJson {
  let current: ExactJson = value;
  for (const step of path) {
    const next: ExactJson | undefined =
      typeof step === 'number'
        ? Array.isArray(current)
          ? current[step]
          : undefined
        : current !== null && typeof current === 'object' && !Array.isArray(current)
          ? current[step]
          : undefined;
    if (next === undefined) throw new Error(`no ${path.join('.')} in ${JSON.stringify(value)}`);
    current = next;
  }
  return current;
}

/** Like `at`, but the value must be a string (numbers are strings after parseExactJson). */
export function str(value: ExactJson, ...path: Array<string | number>): string {
  const found = at(value, ...path);
  if (typeof found !== 'string')
    throw new Error(`${path.join('.')} is not a string/number: ${JSON.stringify(found)}`);
  return found;
}

/** Base64 of a UTF-8 string, as etcd encodes keys and values in JSON. */
export function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export function fromB64(encoded: string): string {
  return Buffer.from(encoded, 'base64').toString('utf8');
}
