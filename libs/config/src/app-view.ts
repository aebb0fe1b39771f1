// An app's config state as the watch on its keys reveals it (item records, live values, gray releases), and
// which release of an item applies to a subscriber's labels and gray bucket. Kept by the member's shared feed
// of the app (app-feed.ts) and by a subscription that catches up on its own (subscription.ts).
import { createHash } from 'node:crypto';
import type { CallContext, KeyValue } from '@cairn/server';
import { parseContentSafe } from './formats';
import { appPrefix, classifyAppKey, subscriptionRange } from './keys';
import { SECRET_MASK, isEnvelope } from './secrets/secret-box';
import type { ConfigStore } from './store';
import type { AppliedItem, ConfigFormat, GrayRecord, GrayRule, ItemRecord } from './types';

/** Percentage bucket 0..99 of a subscriber (stable across items: the same subscribers form the canary cohort). */
export function grayBucket(subscriberId: string): number {
  return createHash('sha256').update(subscriberId).digest().readUInt32BE(0) % 100;
}

export function grayApplies(rule: GrayRule, labels: Record<string, string>, subscriberId: string): boolean {
  return grayAppliesInBucket(rule, labels, () => grayBucket(subscriberId));
}

function grayAppliesInBucket(rule: GrayRule, labels: Record<string, string>, bucket: () => number): boolean {
  for (const [k, v] of Object.entries(rule.labels)) if (labels[k] !== v) return false;
  if (rule.percentage >= 100) return true;
  if (rule.percentage <= 0) return false;
  return bucket() < rule.percentage;
}

/** Who a view is for: labels and gray bucket decide which release of each item applies. */
export interface Viewer {
  readonly labels: Record<string, string>;
  readonly bucket: number;
}

export interface ItemState {
  item?: ItemRecord;
  live?: { content: string; modRevision: number };
  gray?: { record: GrayRecord; modRevision: number };
}

/**
 * Decoded text and JSON of a watched KeyValue. The store hands the same event objects to every watcher
 * of a revision, so each key and record is decoded once. Treated as read-only.
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

export function keyOf(kv: { key: Buffer }): string {
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

/** The release of an item (its state `s`) that applies to `viewer`, or undefined (unpublished or gone). */
export function applicableOf(
  name: string,
  s: ItemState | undefined,
  viewer: Viewer,
): AppliedItem | undefined {
  if (!s?.item || !s.live || s.item.version === 0) return undefined;
  const format = s.item.format;
  if (s.gray && grayAppliesInBucket(s.gray.record.rule, viewer.labels, () => viewer.bucket)) {
    const g = s.gray;
    return sharedItem(name, format, g.record.version, g.record.content, true, g.modRevision);
  }
  return sharedItem(name, format, s.item.version, s.live.content, false, s.live.modRevision);
}

/** Two applied releases a subscriber would not tell apart (nothing to send). */
export function sameRelease(a: AppliedItem | undefined, b: AppliedItem | undefined): boolean {
  if (!a || !b) return a === b;
  return a.version === b.version && a.gray === b.gray && a.format === b.format;
}

/** One app's item states, updated key by key from reads and watch events. */
export class AppState {
  items = new Map<string, ItemState>();
  readonly prefix: string;

  constructor(
    private readonly store: ConfigStore,
    readonly namespace: string,
    readonly app: string,
  ) {
    this.prefix = appPrefix(namespace, app);
  }

  /** Reads the app's state at `revision` (0 = now) under `ctx`; returns the revision read at. */
  async load(ctx: CallContext, revision: number): Promise<number> {
    const { key } = subscriptionRange(this.namespace, this.app);
    const live = await this.store.range(ctx, key, Buffer.from(`${this.prefix}~`), { revision });
    const at = revision || live.revision;
    const [gray, items] = await Promise.all([
      this.store.prefix(ctx, `${this.prefix}~gray/`, { revision: at }),
      this.store.prefix(ctx, `${this.prefix}~item/`, { revision: at }),
    ]);
    this.items = new Map();
    for (const kv of [...live.kvs, ...gray.kvs, ...items.kvs]) this.applyKv(keyOf(kv), kv);
    return at;
  }

  private entry(name: string): ItemState {
    let e = this.items.get(name);
    if (!e) {
      e = {};
      this.items.set(name, e);
    }
    return e;
  }

  /** The item name a key belongs to (undefined: not part of an item's state). */
  nameOf(key: string): string | undefined {
    const kind = classifyAppKey(this.prefix, key);
    return kind.kind === 'live' || kind.kind === 'item' || kind.kind === 'gray' ? kind.name : undefined;
  }

  /** Apply one key's new value (undefined = deleted); returns the item name it touched. */
  applyKv(key: string, kv: KeyValue | undefined): string | undefined {
    const kind = classifyAppKey(this.prefix, key);
    if (kind.kind === 'live') {
      this.entry(kind.name).live = kv
        ? { content: this.openedText(kind.name, kv), modRevision: kv.modRevision }
        : undefined;
    } else if (kind.kind === 'item') {
      this.entry(kind.name).item = kv ? jsonOf<ItemRecord>(kv) : undefined;
    } else if (kind.kind === 'gray') {
      this.entry(kind.name).gray = kv
        ? { record: this.openedGray(kind.name, kv), modRevision: kv.modRevision }
        : undefined;
    } else {
      return undefined;
    }
    return kind.name;
  }

  /** Forgets an item whose keys are all gone. */
  prune(name: string): void {
    const s = this.items.get(name);
    if (s && !s.item && !s.live && !s.gray) this.items.delete(name);
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
      return this.store.secrets.open({ namespace: this.namespace, app: this.app, name }, stored);
    } catch {
      return SECRET_MASK;
    }
  }
}
