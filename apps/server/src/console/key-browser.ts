// Reads for the console's key browser: a lazy, paged prefix tree, one key's value at a revision, and a key's
// history across revisions. Everything is read through the member's EtcdPort as serializable reads (like
// etcdctl --consistency=s), so the console stays usable on a member that lost its leader.
import type { AuditArchive, AuditRecord } from '@cairn/audit';
import { EtcdError, prefixEnd } from '@cairn/api';
import {
  type EtcdPort,
  type KeyValue,
  type RangeRequest,
  type RangeResult,
  type CallContext,
  toEtcdError,
} from '@cairn/server';
import type {
  ConsoleKeyValue,
  KeyHistoryEntry,
  KeyHistoryResponse,
  KeyTreeNode,
  KeyTreePage,
  KeyValueResponse,
  ValueEncoding,
} from './console-types';

const SLASH = 0x2f;
const ALL_KEYS = Buffer.of(0);
/** How long a history read may take to catch up from the backend before it answers what it has. */
const HISTORY_TIMEOUT_MS = 5000;
/** At most this many revisions of one key are returned (the newest). */
const MAX_HISTORY = 1000;

/** Reads as the console's user (its READ permission applies; the member's own identity never does). */
async function range(port: EtcdPort, ctx: CallContext, req: RangeRequest): Promise<RangeResult> {
  try {
    return await port.range(ctx, { ...req, serializable: true });
  } catch (err) {
    throw toEtcdError(err);
  }
}

function rangeEndOf(prefix: Buffer): Buffer {
  return prefix.length === 0 ? ALL_KEYS : prefixEnd(prefix);
}

/**
 * The children of `prefix` one level down ("/" separates levels): directories with the number of keys under
 * them, and keys. Costs two small range reads per child, whatever the size of the key space.
 */
export async function keyTree(
  port: EtcdPort,
  ctx: CallContext,
  prefixText: string,
  opts: { after?: string; limit: number; revision: number },
): Promise<KeyTreePage> {
  const prefix = Buffer.from(prefixText, 'utf8');
  const end = rangeEndOf(prefix);
  const revision = opts.revision > 0 ? opts.revision : port.revisions().current;
  let start: Buffer = opts.after
    ? Buffer.from(opts.after, 'base64')
    : prefix.length === 0
      ? ALL_KEYS
      : prefix;
  const children: KeyTreeNode[] = [];
  let next: string | null = null;
  for (;;) {
    const first = await range(port, ctx, { key: start, rangeEnd: end, limit: 1, keysOnly: true, revision });
    const kv = first.kvs[0];
    if (!kv) break;
    if (children.length >= opts.limit) {
      next = start.toString('base64');
      break;
    }
    const rest = kv.key.subarray(prefix.length);
    const slash = rest.indexOf(SLASH);
    if (slash === -1) {
      children.push({ name: rest.toString('utf8'), path: kv.key.toString('utf8'), dir: false, count: 1 });
      start = Buffer.concat([kv.key, ALL_KEYS]);
    } else {
      const dir = kv.key.subarray(0, prefix.length + slash + 1);
      const dirEnd = prefixEnd(dir);
      const counted = await range(port, ctx, { key: dir, rangeEnd: dirEnd, countOnly: true, revision });
      children.push({
        name: rest.subarray(0, slash + 1).toString('utf8'),
        path: dir.toString('utf8'),
        dir: true,
        count: counted.count,
      });
      start = dirEnd;
    }
    if (start.length === 1 && start[0] === 0) break; // the prefix range end wrapped: nothing after
  }
  return { prefix: prefixText, revision, children, next };
}

export function classifyValue(value: Buffer): { text: string | null; encoding: ValueEncoding } {
  const text = decodeUtf8(value);
  if (text === null) return { text, encoding: 'binary' };
  const trimmed = text.trim();
  if ((trimmed.startsWith('{') || trimmed.startsWith('[')) && isJson(trimmed))
    return { text, encoding: 'json' };
  if (/^(---\s*\n)?[\w"'.-][^\n:]*:(\s|$)/.test(trimmed) && trimmed.includes('\n')) {
    return { text, encoding: 'yaml' };
  }
  return { text, encoding: 'text' };
}

function decodeUtf8(value: Buffer): string | null {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(value);
    // Control characters other than whitespace mean "binary" to a human.
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x09 || (c > 0x0d && c < 0x20)) return null;
    }
    return text;
  } catch {
    return null;
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

export function consoleKv(kv: KeyValue): ConsoleKeyValue {
  const { text, encoding } = classifyValue(kv.value);
  return {
    key: kv.key.toString('utf8'),
    valueBase64: kv.value.toString('base64'),
    text,
    encoding,
    size: kv.value.length,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease.toString(),
  };
}

export async function keyValue(
  port: EtcdPort,
  ctx: CallContext,
  key: string,
  revision: number,
  audit?: AuditArchive,
): Promise<KeyValueResponse> {
  const at = revision > 0 ? revision : port.revisions().current;
  let result: RangeResult;
  try {
    result = await range(port, ctx, { key: Buffer.from(key, 'utf8'), revision: at });
  } catch (err) {
    // Past compaction MVCC has nothing; the audit archive may still know the value then.
    if (!(err instanceof EtcdError && err.code === 'compacted') || !audit) throw err;
    const record = await audit.valueAsOf(key, at).catch(() => undefined);
    if (!record) throw err;
    return {
      revision: at,
      compactRevision: port.revisions().compact,
      kv: record.operation === 'PUT' ? auditKv(record) : null,
      source: 'audit',
    };
  }
  const kv = result.kvs[0];
  const response: KeyValueResponse = {
    revision: at,
    compactRevision: port.revisions().compact,
    kv: kv ? consoleKv(kv) : null,
    source: 'mvcc',
  };
  if (kv && kv.lease !== 0n && response.kv && revision <= 0) {
    try {
      const info = await port.leaseTimeToLive(
        { ...ctx, signal: ctx.signal, deadline: Date.now() + 1500 },
        kv.lease,
      );
      if (info) {
        response.kv.leaseTtl = info.ttl;
        response.kv.leaseGrantedTtl = info.grantedTtl;
      }
    } catch {
      // No leader to ask: the value is still worth showing without its TTL.
    }
  }
  return response;
}

/** An archived PUT as the console shows a value (only the hash when the archive did not keep the bytes). */
export function auditKv(record: AuditRecord): ConsoleKeyValue {
  const value = record.value ?? Buffer.alloc(0);
  const classified = record.value
    ? classifyValue(value)
    : {
        text: `(value not archived: ${record.valueSize} bytes, sha256 ${record.valueSha256 ?? '?'})`,
        encoding: 'text' as const,
      };
  return {
    key: record.key.toString('utf8'),
    valueBase64: value.toString('base64'),
    text: classified.text,
    encoding: classified.encoding,
    size: record.valueSize,
    createRevision: record.createRevision,
    modRevision: record.revision,
    version: record.version,
    lease: record.lease,
  };
}

/**
 * Every revision of one key that MVCC still holds: the version surviving at the compact revision, then each
 * put and delete after it (replayed with a watch from compact+1, etcd's own way of reading history).
 */
export async function keyHistory(
  port: EtcdPort,
  ctx: CallContext,
  key: string,
  audit?: AuditArchive,
): Promise<KeyHistoryResponse> {
  const keyBytes = Buffer.from(key, 'utf8');
  // History (MVCC and the archive) is the key's content: the same READ permission as its value.
  await range(port, ctx, { key: keyBytes, countOnly: true });
  const { current: target, compact } = port.revisions();
  const entries: KeyHistoryEntry[] = [];
  let dropped = false;
  if (compact > 0) {
    const survivor = await range(port, ctx, { key: keyBytes, revision: compact }).catch(() => undefined);
    const kv = survivor?.kvs[0];
    if (kv) entries.push({ revision: kv.modRevision, type: 'put', kv: consoleKv(kv), source: 'mvcc' });
  }
  const start = compact + 1;
  if (start <= target) {
    const replayed: KeyHistoryEntry[] = [];
    await new Promise<void>((resolve) => {
      let finished = false;
      // Compacted meanwhile: the watch ends; answer with what was read (marked truncated).
      let compacted = false;
      const watch = port.watch(ctx, { key: keyBytes, startRevision: start }, (response) => {
        if (response.compactRevision !== undefined) {
          compacted = true;
          dropped = true;
          return true;
        }
        for (const event of response.events) {
          if (event.kv.modRevision > target) continue;
          replayed.push(
            event.type === 'put'
              ? { revision: event.kv.modRevision, type: 'put', kv: consoleKv(event.kv), source: 'mvcc' }
              : { revision: event.kv.modRevision, type: 'delete', source: 'mvcc' },
          );
        }
        if (replayed.length > 2 * MAX_HISTORY) {
          replayed.splice(0, replayed.length - MAX_HISTORY);
          dropped = true;
        }
        return true;
      });
      const started = Date.now();
      const poll = setInterval(() => {
        if (finished) return;
        if (compacted || watch.isSynced() || Date.now() - started > HISTORY_TIMEOUT_MS) {
          finished = true;
          clearInterval(poll);
          watch.cancel();
          resolve();
        }
      }, 10);
    });
    entries.push(...replayed);
  }
  // Before the compact revision only the audit archive remembers (config and registry keys by default).
  let archived: KeyHistoryEntry[] = [];
  if (compact > 0 && audit) {
    const records = await audit
      .history(keyBytes, { toRevision: compact, limit: MAX_HISTORY, order: 'desc' })
      .catch(() => [] as AuditRecord[]);
    archived = records
      .reverse()
      .filter((r) => !entries.some((e) => e.revision === r.revision))
      .map((r) =>
        r.operation === 'PUT'
          ? { revision: r.revision, type: 'put' as const, kv: auditKv(r), source: 'audit' as const }
          : { revision: r.revision, type: 'delete' as const, source: 'audit' as const },
      );
  }
  const all = [...archived, ...entries].sort((a, b) => a.revision - b.revision);
  return {
    key,
    revision: target,
    compactRevision: compact,
    // The newest MAX_HISTORY revisions: a key rewritten all day must not make a response of megabytes.
    entries: all.slice(-MAX_HISTORY),
    truncated: (compact > 0 && archived.length === 0) || dropped || all.length > MAX_HISTORY,
  };
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
