// The diff `config edit` shows: diff(1)'s unified format, checked against known outputs.
import { describe, expect, it } from 'vitest';
import { colorDiff, unifiedDiff } from '../src/commands/config/diff';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\nb\n', 'a\nb\n', 'x', 'y')).toBe('');
  });

  it('writes one hunk with three lines of context', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9'].join('\n') + '\n';
    const after = before.replace('5\n', 'five\n');
    expect(unifiedDiff(before, after, 'live', 'edited')).toBe(
      [
        '--- live',
        '+++ edited',
        '@@ -2,7 +2,7 @@',
        ' 2',
        ' 3',
        ' 4',
        '-5',
        '+five',
        ' 6',
        ' 7',
        ' 8',
        '',
      ].join('\n'),
    );
  });

  it('splits distant changes into hunks and joins near ones', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `l${i + 1}`);
    const before = lines.join('\n') + '\n';
    const far = [...lines];
    far[0] = 'A';
    far[19] = 'B';
    const farDiff = unifiedDiff(before, far.join('\n') + '\n', 'a', 'b');
    expect(farDiff.match(/^@@/gm)).toHaveLength(2);
    expect(farDiff).toContain('@@ -1,4 +1,4 @@');
    expect(farDiff).toContain('@@ -17,4 +17,4 @@');
    const near = [...lines];
    near[4] = 'A';
    near[10] = 'B';
    expect(unifiedDiff(before, near.join('\n') + '\n', 'a', 'b').match(/^@@/gm)).toHaveLength(1);
  });

  it('counts ranges as diff(1) for additions to an empty text and removals of everything', () => {
    expect(unifiedDiff('', 'a\nb\n', 'a', 'b')).toBe('--- a\n+++ b\n@@ -0,0 +1,2 @@\n+a\n+b\n');
    expect(unifiedDiff('a\n', '', 'a', 'b')).toBe('--- a\n+++ b\n@@ -1 +0,0 @@\n-a\n');
  });

  it('marks a missing final newline, and sees it as a change', () => {
    expect(unifiedDiff('a\nb', 'a\nb\n', 'x', 'y')).toBe(
      '--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n',
    );
  });

  it('handles insertions in the middle of JSON', () => {
    const before = '{\n  "a": 1,\n  "b": 2\n}\n';
    const after = '{\n  "a": 1,\n  "c": 3,\n  "b": 2\n}\n';
    expect(unifiedDiff(before, after, 'a', 'b')).toBe(
      '--- a\n+++ b\n@@ -1,4 +1,5 @@\n {\n   "a": 1,\n+  "c": 3,\n   "b": 2\n }\n',
    );
  });

  it('colours additions, removals and hunk headers', () => {
    const colored = colorDiff('--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n');
    expect(colored).toContain('\x1b[31m-x\x1b[0m');
    expect(colored).toContain('\x1b[32m+y\x1b[0m');
    expect(colored).toContain('\x1b[36m@@ -1 +1 @@\x1b[0m');
  });
});
