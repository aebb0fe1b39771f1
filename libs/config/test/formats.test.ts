import { describe, expect, it } from 'vitest';
import { lineColumn, parseContent, parseProperties, validateContent } from '../src/formats';

describe('validateContent', () => {
  it('accepts valid json, yaml, properties and any text', () => {
    expect(validateContent('json', '{"a": [1, 2]}')).toEqual([]);
    expect(validateContent('yaml', 'a: 1\nb:\n  - x\n')).toEqual([]);
    expect(validateContent('properties', '# c\na=1\nb : 2\nc 3\nlong=one \\\n  two\n')).toEqual([]);
    expect(validateContent('text', '{{ not json')).toEqual([]);
  });

  it('reports a JSON syntax error with its line and column', () => {
    const issues = validateContent('json', '{\n  "a": 1,\n  "b" 2\n}');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 3, column: 7 });
  });

  it('reports invalid YAML with the line and column from the yaml parser', () => {
    const issues = validateContent('yaml', 'a: 1\nb: [1,\n c: x: y\n');
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]).toMatchObject({ line: 3, column: 5 });
    expect(issues[0].message).not.toMatch(/\n/);
  });

  it('reports malformed properties: empty key, bad unicode escape, duplicate key, dangling continuation', () => {
    const issues = validateContent('properties', 'a=1\n=2\nb=\\u12G4\na=3\nc=x\\');
    expect(issues.map((i) => [i.line, i.message.split(' ')[0]])).toEqual([
      [2, 'empty'],
      [3, 'malformed'],
      [4, 'duplicate'],
      [5, 'line'],
    ]);
  });

  it('enforces an optional JSON Schema on json, yaml and properties', () => {
    const schema = JSON.stringify({
      type: 'object',
      required: ['port'],
      properties: { port: { type: 'integer', minimum: 1 } },
    });
    expect(validateContent('json', '{"port": 8080}', schema)).toEqual([]);
    expect(validateContent('yaml', 'port: 0\n', schema)[0].message).toMatch(/\/port must be >= 1/);
    expect(validateContent('properties', 'host=x\n', schema)[0].message).toMatch(/port/);
  });
});

describe('parseContent', () => {
  it('parses each format to the value subscribers get', () => {
    expect(parseContent('json', '{"a":1}')).toEqual({ a: 1 });
    expect(parseContent('yaml', 'a:\n  b: [1, 2]\n')).toEqual({ a: { b: [1, 2] } });
    expect(parseContent('properties', 'a.b=1\nc=x\\ty\nu=\\u0041')).toEqual({
      'a.b': '1',
      c: 'x\ty',
      u: 'A',
    });
    expect(parseContent('text', 'hello')).toBe('hello');
  });

  it('joins continuation lines of properties', () => {
    expect(parseProperties('k=one \\\n    two\n').entries).toEqual([{ key: 'k', value: 'one two', line: 1 }]);
  });
});

describe('lineColumn', () => {
  it('maps offsets to 1-based line and column', () => {
    expect(lineColumn('ab\ncd', 0)).toEqual({ line: 1, column: 1 });
    expect(lineColumn('ab\ncd', 4)).toEqual({ line: 2, column: 2 });
  });
});
