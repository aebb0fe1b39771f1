// The config center's only way to the core: thin typed helpers over the member's EtcdPort (string keys at
// this edge, Uint8Array below) and guarded-txn operands. Every call carries the caller's CallContext, so the
// core checks the caller's permissions on exactly the keys each call touches.
import { EtcdError, prefixEnd } from '@cairn/api';
import { ConfigError } from './errors';
import type { SecretBox } from './secrets/secret-box';
import type {
  CallContext,
  Compare,
  EtcdPort,
  KeyValue,
  PortWatch,
  RangeResult,
  RequestOp,
  TxnResult,
  WatchEndListener,
  WatchRequest,
  WatchSink,
} from '@cairn/server';

const NO_END = Buffer.alloc(0);

export interface ReadOptions {
  /** Read at this revision (0 = the latest). */
  revision?: number;
  keysOnly?: boolean;
}

/** etcd's --max-request-bytes default (the config center is told the member's own value). */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

export class ConfigStore {
  constructor(
    readonly port: EtcdPort,
    /** The member's --max-request-bytes: one write (a put or one txn) must fit in it. */
    readonly maxRequestBytes: number = DEFAULT_MAX_REQUEST_BYTES,
    /** Seals and opens secret items' content (disabled without --config-encryption-key-file). */
    readonly secrets: SecretBox,
    /** The audit archive's noteActor, when the member runs one. */
    private readonly actorSink?: (revision: number, actor: string) => void,
  ) {}

  /**
   * Tells the audit archive who made the change at `revision` (in process, on the member that served it),
   * until the archiver reads the user from the Raft entry's header itself (docs/audit.md#actors).
   */
  noteActor(revision: number, actor: string): void {
    this.actorSink?.(revision, actor);
  }

  /** The member this config center runs on (its name goes into listener records). */
  get memberName(): string {
    return this.port.member.name;
  }

  /** This member's applied and compacted revisions (no round trip). */
  revisions(): { current: number; compact: number } {
    return this.port.revisions();
  }

  async get(ctx: CallContext, key: string, revision?: number): Promise<KeyValue | undefined> {
    const res = await this.range(ctx, Buffer.from(key), NO_END, { revision });
    return res.kvs[0];
  }

  prefix(ctx: CallContext, prefix: string, opts: ReadOptions = {}): Promise<RangeResult> {
    return this.range(ctx, Buffer.from(prefix), prefixEnd(prefix), opts);
  }

  range(
    ctx: CallContext,
    key: Uint8Array,
    rangeEnd: Uint8Array,
    opts: ReadOptions = {},
  ): Promise<RangeResult> {
    return this.port.range(ctx, { key, rangeEnd, revision: opts.revision ?? 0, keysOnly: opts.keysOnly });
  }

  /**
   * Proves the caller may READ `[key, rangeEnd)`: a serializable count-only range under its context (the
   * core checks the permission on the whole range, reads nothing worth sending). For an operation the member
   * then performs as its own duty (a subscriber's record), so it is allowed exactly to callers who could
   * read what it is about.
   */
  async checkRead(ctx: CallContext, key: Uint8Array, rangeEnd: Uint8Array): Promise<void> {
    await this.port.range(ctx, { key, rangeEnd, countOnly: true, serializable: true });
  }

  async put(ctx: CallContext, key: string, value: string | Uint8Array, lease = 0n): Promise<number> {
    try {
      return (await this.port.put(ctx, { key: Buffer.from(key), value: bytes(value), lease })).revision;
    } catch (err) {
      throw this.tooLarge(err);
    }
  }

  async delete(ctx: CallContext, key: string): Promise<number> {
    return (await this.port.deleteRange(ctx, { key: Buffer.from(key) })).revision;
  }

  /** One txn: if every compare holds, `success`, else `failure`. */
  async txn(
    ctx: CallContext,
    compare: Compare[],
    success: RequestOp[],
    failure: RequestOp[] = [],
  ): Promise<TxnResult> {
    try {
      return await this.port.txn(ctx, { compare, success, failure });
    } catch (err) {
      throw this.tooLarge(err);
    }
  }

  /** A write the member refused as larger than --max-request-bytes becomes a 413 that names the limit. */
  private tooLarge(err: unknown): unknown {
    if (!(err instanceof EtcdError) || err.code !== 'request-too-large') return err;
    return new ConfigError(
      'too-large',
      `the write is larger than this member's --max-request-bytes (${this.maxRequestBytes} bytes); ` +
        `one release carries at most ${maxItemBytes(this.maxRequestBytes)} bytes of content (docs/api.md)`,
    );
  }

  watch(ctx: CallContext, req: WatchRequest, sink: WatchSink, onEnd?: WatchEndListener): PortWatch {
    return this.port.watch(ctx, req, sink, onEnd);
  }
}

/**
 * Room a release's own txn needs besides the content: the item record (without its JSON Schema), the
 * release record, keys and the request's framing. The item's JSON Schema counts on
 * top of it (the item record carries it).
 */
export const RELEASE_OVERHEAD_BYTES = 8 * 1024;

/** The largest content one publish carries under `maxRequestBytes` (no JSON Schema on the item). */
export function maxItemBytes(maxRequestBytes: number): number {
  return Math.max(0, maxRequestBytes - RELEASE_OVERHEAD_BYTES);
}

/** The guard of an optimistic write: `key` still has this mod_revision (0 = it does not exist). */
export function modRevisionIs(key: string, modRevision: number): Compare {
  return { key: Buffer.from(key), target: 'MOD', result: 'EQUAL', modRevision };
}

export function putOp(key: string, value: string | Uint8Array, lease = 0n): RequestOp {
  return { put: { key: Buffer.from(key), value: bytes(value), lease } };
}

export function deleteOp(key: string, opts: { prefix?: boolean } = {}): RequestOp {
  return { deleteRange: { key: Buffer.from(key), rangeEnd: opts.prefix ? prefixEnd(key) : undefined } };
}

/** A JSON record stored under a key (undefined when the key does not exist). */
export function parseRecord<T>(kv: KeyValue | undefined): T | undefined {
  return kv ? (JSON.parse(kv.value.toString('utf8')) as T) : undefined;
}

function bytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value) : value;
}
