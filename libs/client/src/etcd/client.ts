// A small etcd v3 client over @grpc/grpc-js and @cairn/api's protos: KV, Txn, leases with keep-alive,
// watches that resume after a reconnect. Works against Cairn and against etcd.
import type * as grpc from '@grpc/grpc-js';
import type {
  DeleteRangeResponse__Output,
  LeaseGrantResponse__Output,
  LeaseTimeToLiveResponse__Output,
  PutResponse__Output,
  RangeResponse__Output,
  TxnRequest,
  TxnResponse__Output,
} from '@cairn/api';
import { EndpointPool, type EndpointOptions, callWithFailover } from './endpoints';
import { KeepAliveChannel, LeaseKeepAlive, type KeepAliveOptions } from './lease-keeper';
import {
  type Bytes,
  type DeleteOptions,
  type DeleteResult,
  type KeyValue,
  type LeaseGrantResult,
  type LeaseTimeToLiveResult,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type RangeResult,
  fromWireKv,
  toBuffer,
} from './types';
import { prefixEnd } from '@cairn/api';
import { Watcher, type WatchOptions } from './watch';

export type EtcdClientOptions = EndpointOptions;

export class EtcdClient {
  readonly pool: EndpointPool;
  private readonly keepAlives: KeepAliveChannel;
  private readonly watchers = new Set<Watcher>();
  private readonly keepers = new Set<LeaseKeepAlive>();

  constructor(options: EtcdClientOptions | string | readonly string[]) {
    const opts: EtcdClientOptions =
      typeof options === 'string' || Array.isArray(options)
        ? { endpoints: options as string | readonly string[] }
        : (options as EtcdClientOptions);
    this.pool = new EndpointPool(opts);
    this.keepAlives = new KeepAliveChannel(this.pool);
  }

  /** The etcd auth token later calls and streams carry (a renewed one, or undefined for none). */
  setToken(token: string | undefined): void {
    this.pool.setToken(token);
  }

  /** A unary call to any service in @cairn/api's proto set, with endpoint failover. */
  call<Req, Res>(servicePath: string, method: string, request: Req, timeoutMs?: number): Promise<Res> {
    return callWithFailover<Req, Res>(this.pool, servicePath, method, request, timeoutMs);
  }

  /** The grpc-js client of a service on the current endpoint (for streams; reuse the endpoint's channel). */
  serviceClient<T extends grpc.Client = grpc.Client>(servicePath: string): T {
    return this.pool.client<T>(servicePath);
  }

  // ---- KV ----

  async get(
    key: Bytes,
    options: Omit<RangeOptions, 'prefix' | 'rangeEnd'> = {},
  ): Promise<KeyValue | undefined> {
    return (await this.range(key, options)).kvs[0];
  }

  async range(key: Bytes, options: RangeOptions = {}): Promise<RangeResult> {
    const rangeEnd = options.prefix
      ? prefixEnd(key)
      : options.rangeEnd
        ? toBuffer(options.rangeEnd)
        : undefined;
    const response = await this.call<object, RangeResponse__Output>('etcdserverpb.KV', 'Range', {
      key: toBuffer(key),
      range_end: rangeEnd ?? Buffer.alloc(0),
      revision: (options.revision ?? 0n).toString(),
      limit: options.limit ?? 0,
      keys_only: options.keysOnly ?? false,
      count_only: options.countOnly ?? false,
      serializable: options.serializable ?? false,
    });
    return {
      kvs: response.kvs.map(fromWireKv),
      count: Number(response.count),
      more: response.more,
      revision: BigInt(response.header?.revision ?? '0'),
    };
  }

  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResult> {
    const response = await this.call<object, PutResponse__Output>('etcdserverpb.KV', 'Put', {
      key: toBuffer(key),
      value: toBuffer(value),
      lease: (options.lease ?? 0n).toString(),
      prev_kv: options.prevKv ?? false,
    });
    return {
      revision: BigInt(response.header?.revision ?? '0'),
      ...(response.prev_kv ? { prevKv: fromWireKv(response.prev_kv) } : {}),
    };
  }

  async delete(key: Bytes, options: DeleteOptions = {}): Promise<DeleteResult> {
    const rangeEnd = options.prefix
      ? prefixEnd(key)
      : options.rangeEnd
        ? toBuffer(options.rangeEnd)
        : undefined;
    const response = await this.call<object, DeleteRangeResponse__Output>('etcdserverpb.KV', 'DeleteRange', {
      key: toBuffer(key),
      range_end: rangeEnd ?? Buffer.alloc(0),
      prev_kv: options.prevKv ?? false,
    });
    return {
      revision: BigInt(response.header?.revision ?? '0'),
      deleted: Number(response.deleted),
      prevKvs: response.prev_kvs.map(fromWireKv),
    };
  }

  /**
   * A Txn in etcd's own request shape (compare / success / failure with request_put, request_range...;
   * int64 fields as decimal strings or numbers, keys as Buffers). The response is etcd's, decoded with
   * @cairn/api's LOADER_OPTIONS (int64 as strings); `revision` is the header revision as a bigint.
   */
  async txn(request: TxnRequest): Promise<TxnResponse__Output & { revision: bigint }> {
    const response = await this.call<TxnRequest, TxnResponse__Output>('etcdserverpb.KV', 'Txn', request);
    return { ...response, revision: BigInt(response.header?.revision ?? '0') };
  }

  // ---- Leases ----

  /** Grants a lease of `ttl` seconds (`id` 0n/undefined = the server picks). */
  async leaseGrant(ttl: number, id = 0n): Promise<LeaseGrantResult> {
    const response = await this.call<object, LeaseGrantResponse__Output>('etcdserverpb.Lease', 'LeaseGrant', {
      TTL: String(ttl),
      ID: id.toString(),
    });
    if (response.error) throw new Error(response.error);
    return {
      id: BigInt(response.ID),
      ttl: Number(response.TTL),
      revision: BigInt(response.header?.revision ?? '0'),
    };
  }

  async leaseRevoke(id: bigint): Promise<void> {
    await this.call('etcdserverpb.Lease', 'LeaseRevoke', { ID: id.toString() });
  }

  async leaseTimeToLive(id: bigint, keys = false): Promise<LeaseTimeToLiveResult> {
    const response = await this.call<object, LeaseTimeToLiveResponse__Output>(
      'etcdserverpb.Lease',
      'LeaseTimeToLive',
      { ID: id.toString(), keys },
    );
    return {
      id,
      ttl: Number(response.TTL),
      grantedTtl: Number(response.grantedTTL),
      keys: response.keys,
    };
  }

  /** One keep-alive over the client's shared stream: the new TTL, 0 if the lease is gone. */
  leaseKeepAliveOnce(id: bigint, timeoutMs?: number): Promise<number> {
    return this.keepAlives.once(id, timeoutMs);
  }

  /** Keeps `id` alive until close() of the handle (or of the client), or until the lease is lost. */
  keepAlive(id: bigint, options?: KeepAliveOptions): LeaseKeepAlive {
    const keeper = new LeaseKeepAlive(this.keepAlives, id, options);
    this.keepers.add(keeper);
    const forget = () => this.keepers.delete(keeper);
    keeper.once('lost', forget);
    const close = keeper.close.bind(keeper);
    keeper.close = () => {
      forget();
      close();
    };
    return keeper;
  }

  // ---- Watch ----

  /** Watches `key` (or a prefix / range); see Watcher for events, resume and compaction. */
  watch(key: Bytes, options?: WatchOptions): Watcher {
    const watcher = new Watcher(this.pool, key, options);
    this.watchers.add(watcher);
    watcher.once('closed', () => this.watchers.delete(watcher));
    watcher.once('compacted', () => this.watchers.delete(watcher));
    return watcher;
  }

  /** Stops every watcher and keep-alive and closes the channels. */
  close(): void {
    for (const watcher of [...this.watchers]) watcher.close();
    for (const keeper of [...this.keepers]) keeper.close();
    this.keepAlives.close();
    this.pool.close();
  }
}
