// Where a JSON text first goes wrong. V8's JSON.parse messages no longer carry a position, and the editor
// needs the line to mark: a small recursive-descent scan that finds the offset of the first error.
export interface JsonErrorAt {
  message: string;
  offset: number;
  line: number;
  column: number;
}

export function findJsonError(text: string): JsonErrorAt | undefined {
  let i = 0;
  const fail = (message: string): never => {
    throw Object.assign(new Error(message), { offset: i });
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected ${describe()}`);
  };
  const describe = (): string => (i >= text.length ? 'end of input' : `"${text[i]}"`);
  const string = (): void => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail('bad \\u escape');
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail('bad escape');
      } else if (text.charCodeAt(i) < 0x20) fail('control character in string');
      i++;
    }
    if (i >= text.length) fail('unterminated string');
    i++;
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail(`unexpected ${describe()}`);
    i += m![0].length;
  };
  // An object's members or an array's elements: after the opening bracket, items separated by commas up to
  // `close`.
  const list = (close: '}' | ']', item: () => void): void => {
    i++;
    ws();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      item();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === close) {
        i++;
        return;
      }
      fail(`expected "," or "${close}", found ${describe()}`);
    }
  };
  const member = (): void => {
    ws();
    if (text[i] !== '"') fail(`expected a property name, found ${describe()}`);
    string();
    ws();
    if (text[i] !== ':') fail(`expected ":", found ${describe()}`);
    i++;
    value();
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') list('}', member);
    else if (c === '[') list(']', value);
    else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else number();
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${describe()} after the value`);
    return undefined;
  } catch (err) {
    const offset = (err as { offset?: number }).offset ?? i;
    const before = text.slice(0, offset).split('\n');
    return {
      message: (err as Error).message,
      offset,
      line: before.length,
      column: before[before.length - 1]!.length + 1,
    };
  }
}
