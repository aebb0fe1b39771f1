import { describe, expect, it } from 'vitest';
import { validate } from './CodeEditor';
import { hexDump } from './common';
import { diffLines } from './diff';
import { findJsonError } from './json-error';
import { syntaxOf } from './highlight';

describe('diffLines', () => {
  it('marks changed lines and keeps the common head and tail', () => {
    expect(diffLines('a\nb\nc\nd', 'a\nB\nc\nd\ne')).toEqual([
      { op: 'same', text: 'a' },
      { op: 'del', text: 'b' },
      { op: 'add', text: 'B' },
      { op: 'same', text: 'c' },
      { op: 'same', text: 'd' },
      { op: 'add', text: 'e' },
    ]);
  });

  it('finds the longest common subsequence in the middle (a moved block is one delete and one add)', () => {
    const ops = diffLines('x\n1\n2\n3\ny', 'x\n2\n3\n1\ny').map((l) => `${l.op[0]}${l.text}`);
    expect(ops).toEqual(['sx', 'd1', 's2', 's3', 'a1', 'sy']);
  });

  it('reports no change for equal texts and everything for disjoint ones', () => {
    expect(diffLines('same\ntext', 'same\ntext').every((l) => l.op === 'same')).toBe(true);
    expect(diffLines('a', 'b')).toEqual([
      { op: 'del', text: 'a' },
      { op: 'add', text: 'b' },
    ]);
  });
});

describe('validate', () => {
  it('gives the line of a JSON syntax error', () => {
    const issue = validate('{\n  "a": 1,\n  "b": \n}', 'json');
    expect(issue?.line).toBe(4);
  });

  it('gives the line of a YAML syntax error and accepts valid YAML', () => {
    expect(validate('a: 1\nb:\n  - x\n', 'yaml')).toBeUndefined();
    const issue = validate('a: 1\nb: [1, 2\nc: 3\n', 'yaml');
    expect(issue).toBeDefined();
    expect(issue?.line).toBeGreaterThanOrEqual(2);
  });

  it('checks that properties lines are key=value', () => {
    expect(validate('# c\na=1\nb: 2\nc 3\n', 'properties')).toBeUndefined();
    expect(validate('a=1\n=oops\n', 'properties')).toEqual({
      message: 'line 2: expected key=value',
      line: 2,
    });
  });
});

describe('helpers', () => {
  it('dumps bytes as hex with offsets and printable ASCII', () => {
    expect(hexDump(Uint8Array.from([0x41, 0x00, 0xff]))).toBe(`00000000  41 00 ff${' '.repeat(39)}  A..`);
  });

  it('picks the syntax from the format or the file name', () => {
    expect(syntaxOf('json')).toBe('json');
    expect(syntaxOf(undefined, 'app.yml')).toBe('yaml');
    expect(syntaxOf('properties')).toBe('properties');
    expect(syntaxOf('text', 'notes.txt')).toBe('text');
  });
});

describe('findJsonError', () => {
  it('accepts what JSON.parse accepts', () => {
    for (const text of [
      '{}',
      '[]',
      '"x"',
      '-1.5e3',
      ' {"a": [1, {"b": null}], "c": "\\u00e9\\n"} ',
      'true',
    ]) {
      expect(findJsonError(text), text).toBeUndefined();
    }
  });

  it('points at the first error', () => {
    expect(findJsonError('{\n  "a": 1,\n  "b": \n}')).toMatchObject({ line: 4, column: 1 });
    expect(findJsonError('{"a": 1,}')).toMatchObject({ line: 1, column: 9 });
    expect(findJsonError('[1 2]')).toMatchObject({ line: 1, column: 4 });
    expect(findJsonError('{"a": tru}')).toMatchObject({ line: 1, column: 7 });
    expect(findJsonError('{"a": 1} x')).toMatchObject({ line: 1, column: 10 });
    expect(findJsonError('')).toMatchObject({ message: 'unexpected end of input' });
  });
});
