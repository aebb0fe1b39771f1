// One subscriber's view of an app: which release of each item applies to its labels (main or gray), kept
// up to date from a watch on the app's keys and sent as snapshot/change events. Resuming from a revision
// MVCC still has rebuilds the state as of that revision and replays every later revision in order, so a
// subscriber that was away sees each publish once, in order; a compacted revision gets a fresh snapshot.
// It reads and watches under the context of the call that opened it, so only a caller with READ on the app
// gets here; secret items are opened (decrypted) for it, since a subscriber is who the config is for.
import { createHash } from 'node:crypto';
import { parseContentSafe } from './formats';
import type { CallContext, KeyValue, PortWatch, WatchResponse } from '@cairn/server';
import type { ConfigStore } from './store';
import { appPrefix, classifyAppKey, subscriptionRange } from './keys';
import { SECRET_MASK, isEnvelope } from './secrets/secret-box';
import type { AppliedItem, ConfigFormat, ConfigWatchEvent, GrayRecord, GrayRule, ItemRecord } from './types';

export interface SubscribeParams {
  namespace: string;
  app: string;
  labels?: Record<string, string>;
  /** Stable subscriber ID: percentage gray releases hash it. */
  subscriberId?: string;
  /** Resume after this KV revision (0 = start with a snapshot). */
  revision?: number;
  /**
   * The subscriber's transport has room (an SSE stream or gRPC call below its send-buffer bound). While it
   * returns false the subscription refuses watch responses: the store keeps them and offers them again (the
   * watcher is parked, as etcd's victims), so nothing queues up in the member for a reader that does not read.
   * Omitted: always room (a long-poll collects into its answer).
   */
  ready?: () => boolean;
}

/** Percentage bucket 0..99 of a subscriber (stable across items: the same subscribers form the canary cohort). */
export function grayBucket(subscriberId: string): number {
  return createHash('sha256').update(subscriberId).digest().readUInt32BE(0) % 100;
}

export function grayApplies(rule: GrayRule, labels: Record<string, string>, subscriberId: string): boolean {
  for (const [k, v] of Object.entries(rule.labels)) if (labels[k] !== v) return false;
  if (rule.percentage >= 100) return true;
  if (rule.percentage <= 0) return false;
  return grayBucket(subscriberId) < rule.percentage;
}

interface ItemState {
  item?: ItemRecord;
  live?: { content: string; modRevision: number };
  gray?: { record: GrayRecord; modRevision: number };
}

interface Sent {
  version: number;
  gray: boolean;
  format: ConfigFormat;
}

const RESUME_WAIT_MS = 2000;

/**
 * Decoded text and JSON of a watched KeyValue. The store hands the same event objects to every watcher
 * of a revision, so with many subscribers each key and record is decoded once. Treated as read-only.
 */
const decoded = new WeakMap<object, Decoded>();

interface Decoded {
  key?: string;
  text?: string;
  json?: unknown;
  /** The live content or gray record with a secret's envelope opened. */
  opened?: unknown;
}

function decodedOf(kv: object): Decoded {
  let d = decoded.get(kv);
  if (!d) {
    d = {};
    decoded.set(kv, d);
  }
  return d;
}

function keyOf(kv: { key: Buffer }): string {
  const d = decodedOf(kv);
  d.key ??= kv.key.toString('utf8');
  return d.key;
}

function textOf(kv: { value: Buffer }): string {
  const d = decodedOf(kv);
  d.text ??= kv.value.toString('utf8');
  return d.text;
}

function jsonOf<T>(kv: { value: Buffer }): T {
  const d = decodedOf(kv);
  if (d.json === undefined) d.json = JSON.parse(textOf(kv)) as unknown;
  return d.json as T;
}

/**
 * AppliedItems are shared by every subscriber that gets the same release (parsed once, and the gRPC layer
 * encodes each once): keyed by name, release revision, gray flag, version and format.
 */
const sharedItems = new Map<string, AppliedItem>();
const SHARED_MAX = 512;

function sharedItem(
  name: string,
  format: ConfigFormat,
  version: number,
  content: string,
  gray: boolean,
  revision: number,
): AppliedItem {
  const key = `${name}\0${revision}\0${gray ? 1 : 0}\0${version}\0${format}`;
  let item = sharedItems.get(key);
  if (!item) {
    item = { name, format, version, content, value: parseContentSafe(format, content), gray, revision };
    if (sharedItems.size >= SHARED_MAX) sharedItems.delete(sharedItems.keys().next().value as string);
    sharedItems.set(key, item);
  }
  return item;
}

export class ConfigSubscription {
  private state = new Map<string, ItemState>();
  private sent = new Map<string, Sent>();
  private watch: PortWatch | undefined;
  private closed = false;
  lastRevision = 0;
  private readonly labels: Record<string, string>;
  private readonly prefix: string;

  constructor(
    private readonly store: ConfigStore,
    /** The subscriber's call: its reads and its watch run under it (aborting it ends the subscription). */
    private readonly ctx: CallContext,
    private readonly params: SubscribeParams,
    private readonly send: (event: ConfigWatchEvent) => void,
    private readonly onEnd: (err?: Error) => void,
  ) {
    this.labels = params.labels ?? {};
    this.prefix = appPrefix(params.namespace, params.app);
  }

  async start(): Promise<void> {
    let resume = Number(this.params.revision ?? 0);
    if (resume > this.store.revisions().current) {
      // The subscriber saw a revision this member has not applied yet: wait a little for it.
      const deadline = Date.now() + RESUME_WAIT_MS;
      while (this.store.revisions().current < resume && Date.now() < deadline && !this.closed) {
        await new Promise((r) => setTimeout(r, 20));
      }
      if (this.store.revisions().current < resume) resume = 0;
    }
    if (resume > 0 && resume >= this.store.revisions().compact) {
      try {
        await this.load(resume);
        for (const name of this.state.keys()) this.markSent(name);
        this.lastRevision = resume;
        this.send({ kind: 'resumed', revision: resume, items: [], deleted: [] });
        this.watchFrom(resume + 1);
        return;
      } catch {
        // compacted between the check and the read: fall through to a snapshot
      }
    }
    await this.snapshotAndWatch();
  }

  private async snapshotAndWatch(): Promise<void> {
    const revision = await this.load(0);
    if (this.closed) return;
    this.sent.clear();
    const items: AppliedItem[] = [];
    for (const name of [...this.state.keys()].sort()) {
      const applied = this.applicable(name);
      if (applied) items.push(applied);
      this.markSent(name);
    }
    this.lastRevision = revision;
    this.send({ kind: 'snapshot', revision, items, deleted: [] });
    this.watchFrom(revision + 1);
  }

  /** Reads the app's state at `revision` (0 = now); returns the revision read at. */
  private async load(revision: number): Promise<number> {
    const { key } = subscriptionRange(this.params.namespace, this.params.app);
    const live = await this.store.range(this.ctx, key, Buffer.from(`${this.prefix}~`), { revision });
    const at = revision || live.revision;
    const [gray, items] = await Promise.all([
      this.store.prefix(this.ctx, `${this.prefix}~gray/`, { revision: at }),
      this.store.prefix(this.ctx, `${this.prefix}~item/`, { revision: at }),
    ]);
    this.state = new Map();
    for (const kv of [...live.kvs, ...gray.kvs, ...items.kvs]) this.applyKv(keyOf(kv), kv);
    return at;
  }

  private entry(name: string): ItemState {
    let e = this.state.get(name);
    if (!e) {
      e = {};
      this.state.set(name, e);
    }
    return e;
  }

  /** Apply one key's new value (undefined = deleted); returns the item name it touched. */
  private applyKv(key: string, kv: KeyValue | undefined): string | undefined {
    const kind = classifyAppKey(this.prefix, key);
    if (kind.kind === 'live') {
      this.entry(kind.name).live = kv
        ? { content: this.openedText(kind.name, kv), modRevision: kv.modRevision }
        : undefined;
      return kind.name;
    }
    if (kind.kind === 'item') {
      this.entry(kind.name).item = kv ? jsonOf<ItemRecord>(kv) : undefined;
      return kind.name;
    }
    if (kind.kind === 'gray') {
      this.entry(kind.name).gray = kv
        ? { record: this.openedGray(kind.name, kv), modRevision: kv.modRevision }
        : undefined;
      return kind.name;
    }
    return undefined;
  }

  /** A live value as its subscribers get it: a secret's envelope opened (once per value, shared). */
  private openedText(name: string, kv: KeyValue): string {
    const d = decodedOf(kv);
    if (d.opened === undefined) d.opened = this.open(name, textOf(kv));
    return d.opened as string;
  }

  private openedGray(name: string, kv: KeyValue): GrayRecord {
    const d = decodedOf(kv);
    if (d.opened === undefined) {
      const record = jsonOf<GrayRecord>(kv);
      d.opened = { ...record, content: this.open(name, record.content) };
    }
    return d.opened as GrayRecord;
  }

  /** A value that does not open (its key left the key file) reaches the subscriber masked, never sealed. */
  private open(name: string, stored: string): string {
    if (!isEnvelope(stored)) return stored;
    try {
      return this.store.secrets.open(
        { namespace: this.params.namespace, app: this.params.app, name },
        stored,
      );
    } catch {
      return SECRET_MASK;
    }
  }

  private applicable(name: string): AppliedItem | undefined {
    const s = this.state.get(name);
    if (!s?.item || !s.live || s.item.version === 0) return undefined;
    const format = s.item.format;
    if (s.gray && grayApplies(s.gray.record.rule, this.labels, this.params.subscriberId ?? '')) {
      const g = s.gray;
      return sharedItem(name, format, g.record.version, g.record.content, true, g.modRevision);
    }
    return sharedItem(name, format, s.item.version, s.live.content, false, s.live.modRevision);
  }

  private markSent(name: string): void {
    const a = this.applicable(name);
    if (a) this.sent.set(name, { version: a.version, gray: a.gray, format: a.format });
    else this.sent.delete(name);
  }

  private watchFrom(startRevision: number): void {
    if (this.closed) return;
    const { key, rangeEnd } = subscriptionRange(this.params.namespace, this.params.app);
    this.watch = this.store.watch(
      this.ctx,
      { key, rangeEnd, startRevision },
      (res) => this.onWatch(res),
      // Ended without us: the subscriber's call was cancelled or its deadline passed, or the member lost
      // its leader under requireLeader.
      (err) => {
        if (!this.closed) this.onEnd(err);
      },
    );
  }

  /**
   * Takes a response whole, or refuses it (false) while the transport is full (`params.ready`): a refused
   * response is kept by the store and offered again, so this subscription resumes exactly where it parked
   * (or, compacted meanwhile, gets the compaction and re-snapshots). One response's events may go past the
   * transport's bound; never more.
   */
  private onWatch(res: WatchResponse): boolean {
    if (this.closed) return true;
    if (this.params.ready && !this.params.ready()) return false;
    if (res.compactRevision !== undefined) {
      // Fell behind past compaction while catching up (the port's watch ended): start over from a snapshot.
      this.watch = undefined;
      this.snapshotAndWatch().catch((err: unknown) => this.onEnd(err as Error));
      return true;
    }
    // Events are whole revisions in order; handle one revision at a time.
    let i = 0;
    while (i < res.events.length) {
      const revision = res.events[i].kv.modRevision;
      const touched = new Set<string>();
      for (; i < res.events.length && res.events[i].kv.modRevision === revision; i++) {
        const event = res.events[i];
        const name = this.applyKv(keyOf(event.kv), event.type === 'put' ? event.kv : undefined);
        if (name) touched.add(name);
      }
      this.emit(revision, touched);
    }
    this.lastRevision = Math.max(this.lastRevision, res.revision);
    return true;
  }

  private emit(revision: number, touched: Set<string>): void {
    const items: AppliedItem[] = [];
    const deleted: string[] = [];
    for (const name of [...touched].sort()) {
      const a = this.applicable(name);
      const before = this.sent.get(name);
      if (!a) {
        if (before) deleted.push(name);
        this.sent.delete(name);
        const s = this.state.get(name);
        if (s && !s.item && !s.live && !s.gray) this.state.delete(name);
        continue;
      }
      if (before && before.version === a.version && before.gray === a.gray && before.format === a.format)
        continue;
      items.push(a);
      this.sent.set(name, { version: a.version, gray: a.gray, format: a.format });
    }
    this.lastRevision = revision;
    if (items.length > 0 || deleted.length > 0) this.send({ kind: 'change', revision, items, deleted });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.watch?.cancel();
    this.watch = undefined;
  }
}
