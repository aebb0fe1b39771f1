import { describe, expect, it } from 'vitest';
import { render, renderJson, renderTable, renderYaml } from '../src/output';
import { goDuration, hexId, parseHexId } from '../src/etcd-json';
import { createProgress, humanBytes } from '../src/context';

describe('renderers', () => {
  const rows = [{ id: 'bdae9bbc11dd390d', name: 'default', learner: false, n: 7n }];
  const columns = [
    { header: 'ID', get: (r: (typeof rows)[0]) => r.id },
    { header: 'NAME', get: (r: (typeof rows)[0]) => r.name },
    { header: 'IS LEARNER', get: (r: (typeof rows)[0]) => r.learner },
  ];

  it("draws etcdctl's table (centred headers, right-aligned cells)", () => {
    expect(renderTable(rows, columns)).toBe(
      [
        '+------------------+---------+------------+',
        '|        ID        |  NAME   | IS LEARNER |',
        '+------------------+---------+------------+',
        '| bdae9bbc11dd390d | default |      false |',
        '+------------------+---------+------------+',
        '',
      ].join('\n'),
    );
  });

  it('prints an empty table as headers only', () => {
    expect(renderTable([], columns).split('\n')).toHaveLength(4);
  });

  it("simple joins cells with ', '", () => {
    expect(render('simple', rows, { columns })).toBe('bdae9bbc11dd390d, default, false\n');
    expect(render('simple', rows, { columns, simple: () => 'custom\n' })).toBe('custom\n');
  });

  it('json is one line with uint64 kept exact and raw preferred', () => {
    expect(renderJson({ ID: 13668033151171901709n, a: [1, 'x'], b: undefined, c: null })).toBe(
      '{"ID":13668033151171901709,"a":[1,"x"],"c":null}\n',
    );
    expect(render('json', rows, { raw: { header: { revision: 9n } } })).toBe('{"header":{"revision":9}}\n');
  });

  it('yaml renders nested values and big ids', () => {
    expect(renderYaml({ members: [{ ID: 13668033151171901709n, name: 'a' }], n: 3n })).toBe(
      'members:\n  - ID: 13668033151171901709\n    name: a\nn: 3\n',
    );
  });
});

describe('etcd formatting', () => {
  it("prints durations as Go's time.Duration", () => {
    expect(goDuration(0.914783)).toBe('914.783µs');
    expect(goDuration(1.178451)).toBe('1.178451ms');
    expect(goDuration(2001.190505)).toBe('2.001190505s');
    expect(goDuration(90_000)).toBe('1m30s');
    expect(goDuration(0.0005)).toBe('500ns');
  });
  it('prints sizes as go-humanize', () => {
    expect(humanBytes(5)).toBe('5 B');
    expect(humanBytes(45056)).toBe('45 kB');
    expect(humanBytes(6660)).toBe('6.7 kB');
    expect(humanBytes(20_000_000)).toBe('20 MB');
  });
  it('member ids in hex both ways', () => {
    expect(hexId('13668033151171901709')).toBe('bdae9bbc11dd390d');
    expect(parseHexId('bdae9bbc11dd390d')).toBe(13668033151171901709n);
    expect(() => parseHexId('zz')).toThrow(/expecting ID in Hex/);
  });
});

describe('progress', () => {
  it('redraws in place on a TTY', () => {
    let out = '';
    const p = createProgress({ write: (t: string) => (out += t), isTTY: true }, 'save', 2000);
    p.update(1000);
    p.done('ok');
    expect(out).toBe('\r\x1b[Ksave: 50% 1.0 kB / 2.0 kB\r\x1b[Ksave: ok\n');
  });
  it('prints a line at most every 2 s otherwise', () => {
    let out = '';
    let now = 10_000;
    const p = createProgress({ write: (t: string) => (out += t) }, 'x', 10, 'items', () => now);
    p.update(1);
    p.update(2);
    now += 2500;
    p.update(3);
    p.done();
    expect(out).toBe('x: 10% 1 / 10\nx: 30% 3 / 10\nx: 30% 3 / 10\n');
  });
});
