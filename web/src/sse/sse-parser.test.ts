import { describe, expect, it } from 'vitest';
import { SseParser } from './sse-parser';

describe('SseParser', () => {
  it('parses named events with ids, multi-line data, comments and retry', () => {
    const p = new SseParser();
    const out = p.push(
      ': cairn watch feed\nretry: 2000\n\nid: 7\nevent: change\ndata: {"a":1}\n\ndata: x\ndata: y\n\n',
    );
    expect(out).toEqual([
      { event: 'change', data: '{"a":1}', lastEventId: '7' },
      { event: 'message', data: 'x\ny', lastEventId: '7' },
    ]);
    expect(p.retryMs).toBe(2000);
    expect(p.lastEventId).toBe('7');
  });

  it('completes events split across chunks anywhere, including inside a CRLF', () => {
    const text = 'id: 1\r\nevent: added\r\ndata: {"k":"v"}\r\n\r\nid: 2\r\ndata: two\r\n\r\n';
    for (let cut = 1; cut < text.length; cut++) {
      const p = new SseParser();
      const out = [...p.push(text.slice(0, cut)), ...p.push(text.slice(cut))];
      expect(out, `cut at ${cut}`).toEqual([
        { event: 'added', data: '{"k":"v"}', lastEventId: '1' },
        { event: 'message', data: 'two', lastEventId: '2' },
      ]);
    }
  });

  it('dispatches nothing for an event without data, keeps a field without a colon, ignores unknown fields', () => {
    const p = new SseParser('5');
    expect(p.push('event: status\n\nfoo: bar\ndata\n\n')).toEqual([
      { event: 'message', data: '', lastEventId: '5' },
    ]);
  });

  it('keeps an incomplete event until its blank line arrives', () => {
    const p = new SseParser();
    expect(p.push('data: half')).toEqual([]);
    expect(p.push('\n')).toEqual([]);
    expect(p.push('\n')).toEqual([{ event: 'message', data: 'half', lastEventId: '' }]);
  });
});
