// Listener tracking: which subscribers an app has, what they applied and through which member. A subscriber
// with an open stream on this member lives as long as the stream (its record rides the member lease); one
// that only reports (long-poll) gets a shared poller lease that lapses if it stops reporting.
//
// Permissions: records live under the app's own prefix (`/cairn/config/<ns>/<app>/~subscriber/<id>`), so
// listing them needs READ on the app, like its config. Reporting needs READ on the app's config, not WRITE:
// a subscriber is a reader (Apollo's and Nacos's clients are), and what it reports is bookkeeping about its
// own subscription. So the caller's READ is proven under its own context first (ConfigStore.checkRead), and
// the member then writes the record as its own duty (internalContext, on the member's own leases). The
// member sets `member`, `user` and the times; a record reported by one user is never overwritten by another.
import { EtcdError } from '@cairn/api';
import { type CallContext, type Logger, internalContext } from '@cairn/server';
import { actorOf } from './actor';
import { checkName } from './checks';
import { ConfigError } from './errors';
import {
  grayKey,
  isValidSubscriberId,
  itemKey,
  listenerAppPrefix,
  listenerKey,
  subscriptionRange,
} from './keys';
import { ListenerLeases } from './listener-leases';
import { type ConfigStore, deleteOp, modRevisionIs, parseRecord } from './store';
import { grayApplies } from './app-view';
import type { GrayRecord, ItemRecord, ListenerRecord, ListenerView } from './types';

export interface ListenerReport {
  subscriberId: string;
  namespace: string;
  app: string;
  labels?: Record<string, string>;
  versions?: Record<string, number>;
  host?: string;
}

export class ListenerTracking {
  private readonly leases: ListenerLeases;
  /** ns/app/subscriberId -> open streams on this member (its listener record goes when the last closes). */
  private readonly streaming = new Map<string, number>();
  /** The last record put for each subscriber streaming here (put back if the member lease is lost). */
  private readonly streamingRecords = new Map<string, { key: string; record: ListenerRecord }>();
  private closed = false;

  constructor(
    private readonly store: ConfigStore,
    private readonly logger: Logger,
    private readonly now: () => Date,
    leaseTtlSeconds: number,
  ) {
    this.leases = new ListenerLeases(store.port, leaseTtlSeconds, logger, () =>
      this.restoreListeners().catch((err: unknown) =>
        this.logger.warn({ err }, 'config listener records could not be restored after the lease was lost'),
      ),
    );
  }

  /** A subscriber reports what it applied (its labels and the release number per item). */
  async report(ctx: CallContext, input: ListenerReport): Promise<void> {
    checkName('namespace', input.namespace);
    checkName('app', input.app);
    if (!isValidSubscriberId(input.subscriberId)) {
      throw new ConfigError('bad-request', `invalid subscriber ID "${input.subscriberId}"`);
    }
    const { key: from, rangeEnd } = subscriptionRange(input.namespace, input.app);
    await this.store.checkRead(ctx, from, rangeEnd);
    const user = actorOf(ctx);
    // The member's own duty from here: the caller proved it may read the app it reports about.
    const duty = internalContext({ deadline: ctx.deadline, signal: ctx.signal });
    const key = listenerKey(input.namespace, input.app, input.subscriberId);
    const existing = parseRecord<ListenerRecord>(await this.store.get(duty, key));
    if (existing?.user !== undefined && existing.user !== user) {
      // Another user's subscriber ID: reporting over it would forge that subscriber's record.
      throw new EtcdError('permission-denied');
    }
    const time = this.now().toISOString();
    const versions: Record<string, number> = {};
    for (const [name, v] of Object.entries(input.versions ?? {})) versions[name] = Number(v);
    const rec: ListenerRecord = {
      subscriberId: input.subscriberId,
      namespace: input.namespace,
      app: input.app,
      labels: input.labels ?? existing?.labels ?? {},
      versions,
      host: input.host ?? existing?.host ?? '',
      connectedAt: existing?.connectedAt ?? time,
      reportedAt: time,
      member: this.store.memberName,
      user,
    };
    const streamKey = streamKeyOf(input.namespace, input.app, input.subscriberId);
    const streaming = this.streaming.has(streamKey);
    const lease = streaming ? await this.leases.memberLease() : await this.leases.pollerLease();
    await this.store.put(duty, key, JSON.stringify(rec), lease);
    if (streaming && this.streaming.has(streamKey)) {
      this.streamingRecords.set(streamKey, { key, record: rec });
    }
  }

  async listListeners(ctx: CallContext, ns: string, app: string, name = ''): Promise<ListenerView[]> {
    checkName('namespace', ns);
    checkName('app', app);
    if (name) checkName('item name', name);
    const res = await this.store.prefix(ctx, listenerAppPrefix(ns, app));
    const records = res.kvs.map((kv) => JSON.parse(kv.value.toString('utf8')) as ListenerRecord);
    let item: ItemRecord | undefined;
    let gray: GrayRecord | undefined;
    if (name) {
      [item, gray] = await Promise.all([
        this.store.get(ctx, itemKey(ns, app, name)).then((kv) => parseRecord<ItemRecord>(kv)),
        this.store.get(ctx, grayKey(ns, app, name)).then((kv) => parseRecord<GrayRecord>(kv)),
      ]);
    }
    return records.map((rec) => {
      const grayHere = gray && grayApplies(gray.rule, rec.labels, rec.subscriberId) ? gray : undefined;
      return {
        ...rec,
        appliedVersion: name ? (rec.versions[name] ?? 0) : 0,
        expectedVersion: name ? (grayHere ? grayHere.version : (item?.version ?? 0)) : 0,
        gray: grayHere !== undefined,
      };
    });
  }

  /**
   * A subscriber opened a stream on this member: its reports ride the member lease until the last of its
   * streams here closes (call the returned function), then its record is removed (unless it reconnected
   * through another member meanwhile).
   */
  openStream(ns: string, app: string, subscriberId: string): () => void {
    const streamKey = streamKeyOf(ns, app, subscriberId);
    this.streaming.set(streamKey, (this.streaming.get(streamKey) ?? 0) + 1);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      const left = (this.streaming.get(streamKey) ?? 1) - 1;
      if (left > 0) {
        this.streaming.set(streamKey, left);
        return;
      }
      this.streaming.delete(streamKey);
      this.streamingRecords.delete(streamKey);
      if (this.closed) return;
      this.removeListener(ns, app, subscriberId).catch((err: unknown) =>
        this.logger.debug({ err, subscriberId }, 'config listener removal failed'),
      );
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.leases.close();
  }

  // The member's own duties (no client request behind them): internal context. Putting back the records of
  // subscribers streaming here after the member lease lapsed, and removing one when its last stream closes.

  /** The member lease lapsed (e.g. a long partition): its listener records went with it; put them back. */
  private async restoreListeners(): Promise<void> {
    if (this.closed || this.streamingRecords.size === 0) return;
    const lease = await this.leases.memberLease();
    for (const { key, record } of this.streamingRecords.values()) {
      await this.store.put(internalContext(), key, JSON.stringify(record), lease);
    }
  }

  private async removeListener(ns: string, app: string, subscriberId: string): Promise<void> {
    const ctx = internalContext();
    const key = listenerKey(ns, app, subscriberId);
    const kv = await this.store.get(ctx, key);
    const rec = parseRecord<ListenerRecord>(kv);
    if (!kv || !rec || rec.member !== this.store.memberName) return; // reconnected elsewhere: not ours
    await this.store.txn(ctx, [modRevisionIs(key, kv.modRevision)], [deleteOp(key)]);
  }
}

function streamKeyOf(ns: string, app: string, subscriberId: string): string {
  return `${ns}/${app}/${subscriberId}`;
}
