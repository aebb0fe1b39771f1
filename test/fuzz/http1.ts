// HTTP/1.1 requests on a raw socket: valid ones to read-only or /fuzz/-only routes, then bad request lines,
// huge and odd headers, conflicting lengths, broken chunked encodings, truncated bodies and pipelining.
import { mutateBytes, type Rng } from './rng';
import { FUZZ_PREFIX } from './safety';

export interface Http1Input {
  readonly kind: 'http1';
  readonly how: string;
  readonly writes: readonly Buffer[];
  readonly ending: 'wait' | 'end' | 'destroy';
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** [method, path, body?]: nothing here can touch a sentinel key. */
function baseRequests(rng: Rng): [string, string, string?][] {
  const key = b64(FUZZ_PREFIX + rng.text(8));
  return [
    ['GET', '/health'],
    ['GET', '/version'],
    ['GET', '/metrics'],
    ['GET', '/livez'],
    ['GET', '/readyz'],
    ['GET', '/'],
    ['GET', '/index.html'],
    ['POST', '/v3/kv/range', `{"key":"${key}"}`],
    ['POST', '/v3/kv/put', `{"key":"${key}","value":"${b64(rng.text(10))}"}`],
    ['POST', '/v3/maintenance/status', '{}'],
    ['POST', '/v3/lease/grant', '{"TTL":"5"}'],
    ['POST', '/v3/watch', `{"create_request":{"key":"${key}"}}`],
    ['GET', '/api/registry/v1/namespaces'],
    ['GET', '/api/config/v1/namespaces'],
    ['GET', '/api/console/v1/keys/tree?prefix=/fuzz/'],
    ['GET', '/api/console/v1/cluster'],
    ['GET', '/api/registry/v1/namespaces/default/services/orders/watch'],
    [
      'PUT',
      '/api/console/v1/keys/value',
      `{"key":"${FUZZ_PREFIX}h1","value":"${rng.text(6).replace(/["\\]/g, '')}"}`,
    ],
    ['GET', `/${rng.text(rng.size(100))}`],
  ];
}

function request(rng: Rng, method: string, path: string, body: string | undefined, how: string[]): Buffer {
  let line = `${method} ${path} HTTP/1.1`;
  const lineAbuse = rng.chance(0.25) ? rng.int(9) : -1;
  switch (lineAbuse) {
    case 0:
      line = `${method} ${path}`;
      break;
    case 1:
      line = `${method} ${path} HTTP/${rng.pick(['9.9', '1.0', '0.9', '2.0', '1', 'x'])}`;
      break;
    case 2:
      line = `${rng.pick(['BREW', 'get', 'G\x00T', '', 'PRI', 'CONNECT', 'TRACE', 'M'.repeat(5000)])} ${path} HTTP/1.1`;
      break;
    case 3:
      line = `${method} /${'a'.repeat(rng.pick([8000, 70_000, 1_000_000]))} HTTP/1.1`;
      break;
    case 4:
      line = `${method}  ${path}\tHTTP/1.1 extra`;
      break;
    case 5:
      line = `${method} ${rng.pick(['*', 'http://evil.example/v3/kv/range', '//x', '/%zz', '/..%2f..%2f', '/\u00ff\u0100'])} HTTP/1.1`;
      break;
    case 6:
      line = rng.text(rng.size(200));
      break;
    case 7:
      line = `${method} ${path}?${'q=1&'.repeat(rng.pick([10, 5000]))} HTTP/1.1`;
      break;
    case 8:
      line = '';
      break;
  }
  if (lineAbuse >= 0) how.push(`line${lineAbuse}`);
  const headers: string[] = [];
  if (rng.chance(0.92))
    headers.push(
      `Host: ${rng.chance(0.85) ? '127.0.0.1' : rng.pick(['evil.example', '', 'localhost:1', rng.text(20)])}`,
    );
  const bodyBytes = body === undefined ? undefined : Buffer.from(body, 'utf8');
  let payload = bodyBytes ?? Buffer.alloc(0);
  const framing =
    bodyBytes === undefined
      ? rng.int(3) === 0
        ? 'cl0'
        : 'none'
      : rng.pick([
          'cl',
          'cl',
          'chunked',
          'cl-wrong',
          'both',
          'dup-cl',
          'chunked-bad',
          'cl-neg',
          'cl-huge',
          'truncated',
          'none',
        ]);
  if (bodyBytes !== undefined)
    headers.push(
      `Content-Type: ${rng.pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''])}`,
    );
  switch (framing) {
    case 'cl0':
      headers.push('Content-Length: 0');
      break;
    case 'cl':
      headers.push(`Content-Length: ${payload.length}`);
      break;
    case 'cl-wrong':
      headers.push(`Content-Length: ${Math.max(0, payload.length + rng.range(-5, 5))}`);
      break;
    case 'both':
      headers.push(`Content-Length: ${payload.length}`, 'Transfer-Encoding: chunked');
      break;
    case 'dup-cl':
      headers.push(`Content-Length: ${payload.length}`, `Content-Length: ${payload.length + 1}`);
      break;
    case 'cl-neg':
      headers.push(`Content-Length: ${rng.pick(['-1', '1e3', '0x10', ' 5', '99999999999999999999', ''])}`);
      break;
    case 'cl-huge':
      headers.push(`Content-Length: ${rng.pick([10_000_000, 2_000_000_000])}`);
      break;
    case 'truncated':
      headers.push(`Content-Length: ${payload.length}`);
      payload = payload.subarray(0, rng.int(payload.length + 1));
      break;
    case 'chunked':
    case 'chunked-bad': {
      headers.push(rng.chance(0.9) ? 'Transfer-Encoding: chunked' : 'Transfer-Encoding: gzip, chunked');
      const parts: string[] = [];
      let off = 0;
      const text = payload.toString('latin1');
      while (off < text.length) {
        const n = 1 + rng.int(20);
        const piece = text.slice(off, off + n);
        off += n;
        parts.push(`${piece.length.toString(16)}${rng.chance(0.1) ? ';ext=1' : ''}\r\n${piece}\r\n`);
      }
      let chunked = `${parts.join('')}0\r\n${rng.chance(0.1) ? 'X-Trailer: 1\r\n' : ''}\r\n`;
      if (framing === 'chunked-bad') {
        chunked = rng.pick([
          `zz\r\n${text}\r\n0\r\n\r\n`,
          `${'f'.repeat(20)}\r\n${text}`,
          `${(text.length + 10).toString(16)}\r\n${text}\r\n0\r\n\r\n`,
          `${text.length.toString(16)}\n${text}\n0\n\n`,
          `-1\r\n\r\n`,
          `${text.length.toString(16)}\r\n${text}`,
          `ffffffffffffffff\r\n${text}\r\n`,
        ]);
      }
      payload = Buffer.from(chunked, 'latin1');
      break;
    }
    default:
      break;
  }
  how.push(framing);
  if (rng.chance(0.25)) {
    const odd = rng.int(10);
    how.push(`hdr${odd}`);
    switch (odd) {
      case 0:
        headers.push(`X-Big: ${'b'.repeat(rng.pick([9000, 17_000, 100_000, 1_000_000]))}`);
        break;
      case 1:
        for (let i = rng.pick([100, 2000, 20_000]); i > 0; i--) headers.push(`X-H${i}: v`);
        break;
      case 2:
        headers.push('X-Fold: a', ' continued');
        break;
      case 3:
        headers.push('No-Colon-Here');
        break;
      case 4:
        headers.push(`X-Ctl: a\x00b\x7f`);
        break;
      case 5:
        headers.push('Expect: 100-continue');
        break;
      case 6:
        headers.push(
          'Connection: Upgrade, HTTP2-Settings',
          'Upgrade: h2c',
          'HTTP2-Settings: AAMAAABkAAQAAP__',
        );
        break;
      case 7:
        headers.push(
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Sec-WebSocket-Key: x',
          'Sec-WebSocket-Version: 13',
        );
        break;
      case 8:
        headers.push(
          `Origin: ${rng.pick(['http://evil.example', 'null', ''])}`,
          'Sec-Fetch-Site: cross-site',
        );
        break;
      default:
        headers.push(`${rng.text(rng.size(40))}: ${rng.text(rng.size(200))}`);
        break;
    }
  }
  if (rng.chance(0.2)) headers.push(`Connection: ${rng.pick(['close', 'keep-alive', 'x'])}`);
  const eol = rng.chance(0.95) ? '\r\n' : rng.pick(['\n', '\r', '\r\r\n']);
  return Buffer.concat([Buffer.from(`${line}${eol}${headers.join(eol)}${eol}${eol}`, 'latin1'), payload]);
}

export function genHttp1Input(rng: Rng): Http1Input {
  const how: string[] = [];
  const count = rng.chance(0.7) ? 1 : 2 + rng.int(rng.chance(0.9) ? 4 : 100);
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const [method, path, body] = rng.pick(baseRequests(rng));
    how.push(`${method} ${path.slice(0, 40)}`);
    parts.push(request(rng, method, path, body, how));
  }
  if (count > 1) how.push(`pipelined×${count}`);
  let bytes: Buffer = Buffer.concat(parts);
  if (rng.chance(0.1)) {
    bytes = bytes.subarray(0, rng.int(bytes.length + 1));
    how.push('truncated');
  }
  if (rng.chance(0.05)) {
    // Mutations never reach a sentinel: no route above writes outside /fuzz/ and a flip cannot write there.
    bytes = mutateBytes(rng, bytes);
    how.push('mutated');
  }
  const writes: Buffer[] = [];
  if (rng.chance(0.8) || bytes.length < 2) writes.push(bytes);
  else {
    const cut = 1 + rng.int(bytes.length - 1);
    writes.push(bytes.subarray(0, cut), bytes.subarray(cut));
    how.push(`split@${cut}`);
  }
  return {
    kind: 'http1',
    how: how.join(' '),
    writes,
    ending: rng.weighted([
      [6, 'wait'],
      [2, 'end'],
      [2, 'destroy'],
    ] as const),
  };
}
