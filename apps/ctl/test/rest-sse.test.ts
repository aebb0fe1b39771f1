// The SSE framing and the error messages of the REST client behind `cairnctl registry` and `config`.
import { describe, expect, it } from 'vitest';
import { baseUrl, describeFailure, withQuery } from '../src/commands/rest/client';
import { SseParser } from '../src/commands/rest/sse';

describe('SseParser', () => {
  it('parses events split anywhere, with comments, CRLF and multi-line data', () => {
    const text =
      ': connected\r\nretry: 1000\r\n\r\nid: 5\r\nevent: added\r\ndata: {"a":\r\ndata: 1}\r\n\r\n:ping\n\nevent: removed\ndata:x\n\n';
    for (const size of [1, 2, 3, 7, text.length]) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.push(text.slice(i, i + size)));
      expect(events).toEqual([
        { event: 'added', data: '{"a":\n1}', id: '5' },
        { event: 'removed', data: 'x', id: '5' },
      ]);
    }
  });
});

describe('REST client helpers', () => {
  it('chooses the scheme as etcdctl does', () => {
    expect(baseUrl('127.0.0.1:2379', undefined)).toBe('http://127.0.0.1:2379');
    expect(baseUrl('127.0.0.1:2379', { ca: 'ca.pem' })).toBe('https://127.0.0.1:2379');
    expect(baseUrl('https://h:1/', undefined)).toBe('https://h:1');
  });

  it('builds queries without empty values', () => {
    expect(withQuery('/p', { a: 'x y', b: undefined, c: '', d: 3 })).toBe('/p?a=x+y&d=3');
    expect(withQuery('/p', {})).toBe('/p');
  });

  it('says what a 401 and a 403 mean, with the endpoint and the grant', () => {
    const where = 'GET http://127.0.0.1:2379/api/config/v1/namespaces';
    expect(describeFailure(401, { message: 'etcdserver: user name is empty' }, where, undefined)).toBe(
      `authentication required: ${where} answered 401 (etcdserver: user name is empty); pass --user (or a client certificate the member accepts)`,
    );
    expect(
      describeFailure(403, { message: 'etcdserver: permission denied' }, where, {
        perm: 'READWRITE',
        prefix: '/cairn/config/shop/orders/',
      }),
    ).toBe(
      `permission denied: ${where} answered 403 (etcdserver: permission denied); the user needs READWRITE on /cairn/config/shop/orders/ (prefix)`,
    );
    expect(
      describeFailure(
        400,
        { message: 'invalid content', issues: [{ message: 'Unexpected token', line: 2, column: 5 }] },
        where,
        undefined,
      ),
    ).toBe(`${where} answered 400: invalid content\n  line 2:5: Unexpected token`);
  });
});
