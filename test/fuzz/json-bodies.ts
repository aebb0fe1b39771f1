// JSON bodies for every POST route of the etcd JSON gateway (/v3/*, libs/api/src/gateway-routes.ts) and
// every body-taking route of the REST APIs (registry, config, console): random JSON, valid bodies, and
// valid bodies bent (wrong types, huge numbers, invalid base64, deep nesting, unknown fields, torn text).
import { etcdRoot, GATEWAY_ROUTES } from '@cairn/api';
import { randomObject } from './grpc-messages';
import type { Rng } from './rng';
import { FUZZ_PREFIX, unsafeGatewayBody, unsafeRestBody, type SafetyContext } from './safety';

export interface JsonInput {
  readonly kind: 'json';
  readonly how: string;
  readonly method: 'POST' | 'PUT' | 'PATCH';
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const GATEWAY_PATHS: readonly string[] = Object.keys(GATEWAY_ROUTES).filter((p) =>
  p.startsWith('/v3/'),
);

function randomJson(rng: Rng, depth = 0): Json {
  const kind = depth > 5 ? rng.int(4) : rng.int(6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, rng.int(1e9)]);
    case 3:
      return rng.pick(['', 'AAAA', '!!!', '/fuzz/x', rng.text(rng.size(50))]);
    case 4:
      return Array.from({ length: rng.int(5) }, () => randomJson(rng, depth + 1));
    default: {
      const out: { [key: string]: Json } = {};
      for (let i = rng.int(6); i > 0; i--)
        out[rng.pick(['key', 'value', 'range_end', 'ID', 'TTL', 'create_request', 'name', rng.text(8)])] =
          randomJson(rng, depth + 1);
      return out;
    }
  }
}

function toGatewayJson(typeName: string, obj: Record<string, unknown>): Json {
  const type = etcdRoot().lookupType(typeName);
  return type.toObject(type.fromObject(obj), { longs: String, bytes: String, enums: String }) as Json;
}

const WRONG_TYPES: readonly Json[] = [
  null,
  true,
  0,
  -1,
  1.5,
  'x',
  [],
  {},
  [1, 2],
  { a: 1 },
  '!!!not base64',
  'AA=',
  '99999999999999999999999',
];

/** Replaces one random node of `value` (in place where possible); returns the new root. */
function bendNode(rng: Rng, value: Json, depth = 0): Json {
  if (value !== null && typeof value === 'object' && depth < 8 && rng.chance(0.7)) {
    if (Array.isArray(value)) {
      if (value.length === 0) return [structuredClone(rng.pick(WRONG_TYPES))];
      const i = rng.int(value.length);
      value[i] = bendNode(rng, value[i]!, depth + 1);
      return value;
    }
    const keys = Object.keys(value);
    if (keys.length === 0) {
      value[rng.pick(['key', 'x', '__proto__', 'constructor'])] = structuredClone(rng.pick(WRONG_TYPES));
      return value;
    }
    const k = rng.pick(keys);
    value[k] = bendNode(rng, value[k]!, depth + 1);
    return value;
  }
  return structuredClone(rng.pick(WRONG_TYPES));
}

const NUMBER_BOMBS = [
  '1e400',
  '-1e400',
  '18446744073709551616',
  '1' + '0'.repeat(400),
  '-0',
  '1.0e-400',
  '0x10',
  'NaN',
  'Infinity',
];

/** Text-level bends that JSON.stringify cannot produce. */
function bendText(rng: Rng, text: string): { text: string; how: string } {
  const op = rng.int(10);
  switch (op) {
    case 0: {
      const n = rng.pick([100, 1000, 10_000, 100_000, 400_000]);
      const open = rng.chance(0.5) ? '[' : '{"a":';
      const close = open === '[' ? ']' : '}';
      return { text: `{"key":${open.repeat(n)}1${close.repeat(n)}}`, how: `deep(${n})` };
    }
    case 1:
      return { text: text.replace(/"(\d+)"|\d+/, rng.pick(NUMBER_BOMBS)), how: 'number-bomb' };
    case 2:
      return { text: text.slice(0, rng.int(text.length + 1)), how: 'torn' };
    case 3:
      return { text: `\ufeff${text}`, how: 'bom' };
    case 4:
      return { text: `${text}${rng.pick([' x', '}', '{}', '\u0000', '\n{"key":"AA=="}'])}`, how: 'trailing' };
    case 5:
      return { text: text.replace(/^\{/, '{"key":"AA==","key":"QQ==",'), how: 'dup-keys' };
    case 6:
      return {
        text: `{"key":"${'A'.repeat(rng.pick([100_000, 1_200_000, 2_000_000]))}"}`,
        how: 'huge-string',
      };
    case 7:
      return { text: text.replace(/"([A-Za-z0-9+/=]{2,})"/, '"%%%\\u0000==="'), how: 'bad-base64' };
    case 8:
      return { text: text.replace(/"/, '"\\ud800'), how: 'lone-surrogate' };
    default:
      return {
        text: text.replace(/^\{/, '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},'),
        how: 'proto-keys',
      };
  }
}

function mutateJson(rng: Rng, valid: Json): { text: string; how: string } {
  if (rng.chance(0.5)) {
    let v = structuredClone(valid);
    const rounds = 1 + rng.int(3);
    for (let i = 0; i < rounds; i++) v = bendNode(rng, v);
    return { text: JSON.stringify(v), how: `bend×${rounds}` };
  }
  return bendText(rng, JSON.stringify(valid));
}

function gatewayInput(rng: Rng, ctx: SafetyContext): JsonInput | undefined {
  const path = rng.pick(GATEWAY_PATHS);
  const route = GATEWAY_ROUTES[path]!;
  const valid = toGatewayJson(route.requestType, randomObject(rng, etcdRoot().lookupType(route.requestType)));
  const strategy = rng.weighted([
    [2, 'random'],
    [2, 'valid'],
    [6, 'mutated'],
  ] as const);
  let text: string;
  let how: string = strategy;
  if (strategy === 'random') text = JSON.stringify(randomJson(rng));
  else if (strategy === 'valid') text = JSON.stringify(valid);
  else ({ text, how } = mutateJson(rng, valid));
  if (route.streaming === 'bidi' && rng.chance(0.3)) text = `${text}\n${text}`;
  const method = `${route.service}/${route.method}`;
  if (unsafeGatewayBody(ctx, method, route.requestType, text)) return undefined;
  const prefix = rng.chance(0.1) ? rng.pick(['/v3beta', '/v3alpha']) : '/v3';
  return {
    kind: 'json',
    how: `gateway ${how}`,
    method: 'POST',
    path: prefix + path.slice(3),
    contentType: rng.chance(0.9) ? 'application/json' : rng.pick(['text/plain', '']),
    body: Buffer.from(text, 'utf8'),
  };
}

interface RestRoute {
  method: 'POST' | 'PUT' | 'PATCH';
  path: (seg: () => string) => string;
  body: (rng: Rng) => Json;
}

const ITEM = (seg: () => string) => `/api/config/v1/namespaces/${seg()}/apps/${seg()}/items/${seg()}`;
const INSTANCE = (seg: () => string) =>
  `/api/registry/v1/namespaces/${seg()}/services/${seg()}/instances/${seg()}`;

const REST_ROUTES: readonly RestRoute[] = [
  {
    method: 'PUT',
    path: () => '/api/console/v1/keys/value',
    body: (r) => ({
      key: FUZZ_PREFIX + r.text(8),
      value: r.text(r.size(100)),
      ...(r.chance(0.3) ? { valueBase64: 'aGVsbG8=' } : {}),
      ...(r.chance(0.2) ? { lease: '0' } : {}),
    }),
  },
  {
    method: 'PUT',
    path: INSTANCE,
    body: (r) => ({
      address: { host: '127.0.0.1', port: r.range(1, 65535), scheme: 'http' },
      ttl: r.range(1, 3600),
      metadata: { zone: r.text(5) },
      tags: ['a', r.text(4)],
      weight: r.int(100),
      zone: 'z1',
      version: '1.0.0',
      status: r.pick(['UP', 'DOWN', 'STARTING', 'x']),
    }),
  },
  {
    method: 'PATCH',
    path: INSTANCE,
    body: (r) => ({ metadata: { k: r.text(6) }, status: r.pick(['UP', 'DOWN', 'OUT_OF_SERVICE']) }),
  },
  { method: 'PUT', path: (s) => `${INSTANCE(s)}/heartbeat`, body: () => ({}) },
  {
    method: 'PUT',
    path: (s) => `/api/config/v1/namespaces/${s()}`,
    body: (r) => ({ description: r.text(20) }),
  },
  {
    method: 'PUT',
    path: (s) => `/api/config/v1/namespaces/${s()}/apps/${s()}`,
    body: (r) => ({ description: r.text(20) }),
  },
  {
    method: 'PUT',
    path: ITEM,
    body: (r) => ({
      format: r.pick(['json', 'yaml', 'text', 'properties', 'xml']),
      description: r.text(10),
      schema: '{}',
    }),
  },
  {
    method: 'PUT',
    path: (s) => `${ITEM(s)}/draft`,
    body: (r) => ({ content: r.text(r.size(200)), author: 'fuzz', baseRevision: r.int(100) }),
  },
  {
    method: 'POST',
    path: (s) => `${ITEM(s)}/validate`,
    body: (r) => ({ content: r.pick(['{"a":1}', 'a: [', r.text(50)]), format: r.pick(['json', 'yaml']) }),
  },
  {
    method: 'POST',
    path: (s) => `${ITEM(s)}/publish`,
    body: (r) => ({
      content: r.text(r.size(300)),
      author: 'fuzz',
      comment: r.text(10),
      ...(r.chance(0.3) ? { expectedRevision: r.int(50) } : {}),
      ...(r.chance(0.2) ? { fromDraft: true } : {}),
    }),
  },
  {
    method: 'POST',
    path: (s) => `${ITEM(s)}/rollback`,
    body: (r) => ({ revision: r.int(100), author: 'fuzz', expectedRevision: r.int(100) }),
  },
  {
    method: 'POST',
    path: (s) => `${ITEM(s)}/gray`,
    body: (r) => ({
      content: r.text(30),
      rule: { labels: { zone: 'z1' }, percentage: r.int(101) },
      author: 'fuzz',
    }),
  },
  { method: 'POST', path: (s) => `${ITEM(s)}/gray/promote`, body: () => ({ author: 'fuzz' }) },
  { method: 'POST', path: (s) => `${ITEM(s)}/gray/abandon`, body: () => ({ author: 'fuzz' }) },
  {
    method: 'POST',
    path: (s) => `/api/config/v1/namespaces/${s()}/apps/${s()}/listeners`,
    body: (r) => ({ instance: r.text(8), items: { a: '1' }, labels: { zone: 'z' } }),
  },
  {
    method: 'POST',
    path: () => '/api/config/v1/import',
    body: (r) => ({
      namespaces: [
        {
          name: 'fuzz',
          apps: [{ name: 'a', items: [{ name: r.text(5), content: r.text(20), format: 'text' }] }],
        },
      ],
    }),
  },
];

function restInput(rng: Rng, ctx: SafetyContext): JsonInput | undefined {
  const route = rng.pick(REST_ROUTES);
  const seg = (): string =>
    encodeURIComponent(
      rng.chance(0.8) ? rng.pick(['fuzz', 'default', 'orders', 'app.yaml']) : rng.text(rng.size(30)),
    );
  const path = route.path(seg);
  const valid = route.body(rng);
  const strategy = rng.weighted([
    [2, 'random'],
    [2, 'valid'],
    [6, 'mutated'],
  ] as const);
  let text: string;
  let how: string = strategy;
  if (strategy === 'random') text = JSON.stringify(randomJson(rng));
  else if (strategy === 'valid') text = JSON.stringify(valid);
  else ({ text, how } = mutateJson(rng, valid));
  if (unsafeRestBody(ctx, path, text)) return undefined;
  return {
    kind: 'json',
    how: `rest ${how}`,
    method: route.method,
    path,
    contentType: rng.chance(0.9)
      ? 'application/json'
      : rng.pick(['text/plain', 'application/x-www-form-urlencoded', '']),
    body: Buffer.from(text, 'utf8'),
  };
}

export function genJsonInput(rng: Rng, ctx: SafetyContext): JsonInput {
  for (let attempt = 0; attempt < 20; attempt++) {
    const input = rng.chance(0.55) ? gatewayInput(rng, ctx) : restInput(rng, ctx);
    if (input !== undefined) return input;
  }
  return {
    kind: 'json',
    how: 'fallback',
    method: 'POST',
    path: '/v3/maintenance/status',
    contentType: 'application/json',
    body: Buffer.from('{}'),
  };
}

/** The HTTP/1.1 request that carries a JSON input. */
export function jsonRequestBytes(input: JsonInput): Buffer {
  const head =
    `${input.method} ${input.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
    (input.contentType === '' ? '' : `Content-Type: ${input.contentType}\r\n`) +
    `Content-Length: ${input.body.length}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), input.body]);
}
