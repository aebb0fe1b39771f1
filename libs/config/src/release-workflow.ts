// The release workflow: publish (content or a draft), rollback, gray release (start, promote, abandon),
// and reading releases back (list, get, diff). Every release is one txn guarded by the item record's and
// the live key's mod_revision, so a concurrent edit loses with a conflict naming both versions.
//
// A release carries its content once, so an item up to about --max-request-bytes fits one publish: the
// release's txn writes the content to the live key (or the gray record) and a release record without it;
// right after, a second write keeps the bytes under `~release-content/<name>/<v>` for history and rollback.
// Until that write lands (a crash in between), the content is read from the live (or gray) key at the
// release's own revision, and copied then; only a compaction past that revision before any read or the next
// release could lose it.
//
// Who released is the caller's authenticated identity (actor.ts), recorded by the member in the release,
// draft and gray records; the `author` a caller sends is kept as its own note. A secret item's content is
// sealed (secrets/secret-box.ts) before it is written anywhere and opened only for callers whose reads of it
// succeeded, and only when they ask (`reveal`); views otherwise show it masked.
import type { CallContext, Compare, Logger, RequestOp } from '@cairn/server';
import { actorOf, authorNote } from './actor';
import type { ConfigCatalog } from './catalog';
import { MAX_ATTEMPTS, type ItemRef, checkRef, checkRule, invalidContent, itemNotFound } from './checks';
import { unifiedDiff } from './diff';
import { ConfigError } from './errors';
import { validateContent } from './formats';
import {
  draftKey,
  grayKey,
  itemKey,
  liveKey,
  releaseContentKey,
  releaseContentPrefix,
  releaseKey,
  releasePrefix,
} from './keys';
import { SECRET_MASK } from './secrets/secret-box';
import {
  type ConfigStore,
  RELEASE_OVERHEAD_BYTES,
  deleteOp,
  maxItemBytes,
  modRevisionIs,
  parseRecord,
  putOp,
} from './store';
import type {
  ConfigReleaseView,
  DraftRecord,
  GrayRecord,
  GrayRule,
  ItemRecord,
  ReleaseKind,
  ReleaseRecord,
} from './types';

export interface PublishOptions {
  content?: string;
  fromDraft?: boolean;
  author?: string;
  comment?: string;
  /** The live mod_revision the caller based its edit on; 0 = the item must not be published yet. */
  expectedRevision?: number;
}

export interface ReleaseOptions {
  /** The caller's own note (untrusted); the actor comes from the call's identity. */
  author: string;
  comment: string;
  kind: ReleaseKind;
  sourceVersion: number;
  expectedRevision?: number;
  /** publish from a draft: the draft must still be this one; it is deleted in the same txn. */
  draftModRevision?: number;
  /** promote: the gray record must still be this one; it is deleted in the same txn. */
  grayModRevision?: number;
}

export class ReleaseWorkflow {
  constructor(
    private readonly store: ConfigStore,
    private readonly catalog: ConfigCatalog,
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {}

  async publish(ctx: CallContext, ref: ItemRef, opts: PublishOptions): Promise<ConfigReleaseView> {
    checkRef(ref);
    let content = opts.content;
    let expected = opts.expectedRevision;
    let draftModRevision: number | undefined;
    if (opts.fromDraft) {
      const draftKv = await this.store.get(ctx, draftKey(ref.namespace, ref.app, ref.name));
      const draft = parseRecord<DraftRecord>(draftKv);
      if (!draftKv || !draft) {
        throw new ConfigError('not-found', `no draft for ${ref.namespace}/${ref.app}/${ref.name}`);
      }
      content = this.store.secrets.open(ref, draft.content);
      expected ??= draft.baseRevision;
      draftModRevision = draftKv.modRevision;
    }
    if (typeof content !== 'string')
      throw new ConfigError('bad-request', 'content (or fromDraft) is required');
    return this.release(ctx, ref, content, {
      author: authorNote(opts.author),
      comment: opts.comment ?? '',
      kind: 'publish',
      sourceVersion: 0,
      expectedRevision: expected,
      draftModRevision,
    });
  }

  async rollback(
    ctx: CallContext,
    ref: ItemRef,
    opts: { version: number; author?: string; comment?: string; expectedRevision?: number },
  ): Promise<ConfigReleaseView> {
    const target = await this.getRelease(ctx, ref, opts.version, true);
    if (target.kind === 'gray') {
      throw new ConfigError(
        'bad-request',
        `release ${opts.version} is a gray release; roll back to a main release`,
      );
    }
    return this.release(ctx, ref, target.content, {
      author: authorNote(opts.author),
      comment: opts.comment || `rollback to version ${opts.version}`,
      kind: 'rollback',
      sourceVersion: opts.version,
      expectedRevision: opts.expectedRevision,
    });
  }

  /**
   * One txn guarded by the item record's and the live key's mod_revision: live content, item record
   * (live version) and release record, all under the item's own app prefix. `content` is the plaintext;
   * a secret item stores it sealed.
   */
  async release(
    ctx: CallContext,
    ref: ItemRef,
    content: string,
    opts: ReleaseOptions,
  ): Promise<ConfigReleaseView> {
    const { namespace: ns, app, name } = ref;
    const iKey = itemKey(ns, app, name);
    const lKey = liveKey(ns, app, name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const [itemKv, liveKv] = await Promise.all([this.store.get(ctx, iKey), this.store.get(ctx, lKey)]);
      const item = parseRecord<ItemRecord>(itemKv);
      if (!itemKv || !item) throw itemNotFound(ref);
      const issues = validateContent(item.format, content, item.schema);
      if (issues.length > 0) throw invalidContent(item.format, issues);
      const liveRevision = liveKv?.modRevision ?? 0;
      if (opts.expectedRevision !== undefined && opts.expectedRevision !== liveRevision) {
        throw await this.conflict(ctx, ref, item, opts.expectedRevision, liveRevision);
      }
      const version = item.latestRelease + 1;
      const time = this.now().toISOString();
      const stored = this.store.secrets.store(ref, item.secret, content);
      const actor = actorOf(ctx);
      const release: ReleaseRecord = {
        version,
        format: item.format,
        content: stored,
        actor,
        author: opts.author,
        comment: opts.comment,
        time,
        kind: opts.kind,
        sourceVersion: opts.sourceVersion,
      };
      const next: ItemRecord = { ...item, version, latestRelease: version, updatedAt: time };
      const nextText = JSON.stringify(next);
      const releaseText = JSON.stringify(withoutContent(release));
      this.checkFits(ref, stored, Buffer.byteLength(nextText) + Buffer.byteLength(releaseText));
      await this.keepContent(ctx, ref, item.latestRelease);
      const compare: Compare[] = [modRevisionIs(iKey, itemKv.modRevision), modRevisionIs(lKey, liveRevision)];
      const ops: RequestOp[] = [
        putOp(lKey, stored),
        putOp(iKey, nextText),
        putOp(releaseKey(ns, app, name, version), releaseText),
      ];
      if (opts.draftModRevision !== undefined) {
        compare.push(modRevisionIs(draftKey(ns, app, name), opts.draftModRevision));
        ops.push(deleteOp(draftKey(ns, app, name)));
      }
      if (opts.grayModRevision !== undefined) {
        compare.push(modRevisionIs(grayKey(ns, app, name), opts.grayModRevision));
        ops.push(deleteOp(grayKey(ns, app, name)));
      }
      const res = await this.store.txn(ctx, compare, ops);
      if (res.succeeded) {
        this.logger.info(
          { ns, app, name, version, revision: res.revision, kind: opts.kind, actor, author: opts.author },
          'config release published',
        );
        this.store.noteActor(res.revision, actor);
        await this.storeContent(ctx, ref, version, stored);
        const shown = this.catalog.present(ref, stored, item.secret === true, false);
        return { ...release, content: shown, namespace: ns, app, name, revision: res.revision };
      }
      if (opts.grayModRevision !== undefined) {
        throw new ConfigError('conflict', 'the gray release changed while promoting it; reload and retry');
      }
      if (opts.draftModRevision !== undefined) {
        throw new ConfigError('conflict', 'the draft changed while publishing it; reload and retry');
      }
      // Lost a race: with an expected revision that is a conflict (checked on the next pass), else retry.
    }
    throw new ConfigError('conflict', 'the item kept changing; try again');
  }

  private async conflict(
    ctx: CallContext,
    ref: ItemRef,
    item: ItemRecord,
    expectedRevision: number,
    currentRevision: number,
  ): Promise<ConfigError> {
    const releases = await this.listReleases(ctx, ref, 0, false);
    const base =
      expectedRevision === 0
        ? null
        : (releases.find((r) => r.revision === expectedRevision && r.kind !== 'gray') ?? null);
    const current = releases.find((r) => r.version === item.version) ?? null;
    return new ConfigError(
      'conflict',
      `${ref.namespace}/${ref.app}/${ref.name} changed since revision ${expectedRevision}: ` +
        `live is version ${item.version} at revision ${currentRevision}`,
      [],
      { expectedRevision, currentRevision, base, current },
    );
  }

  // ---- a release's content -------------------------------------------------------------------------------

  /** Refuses (413) content that cannot fit one release's txn, naming the limit. */
  private checkFits(ref: ItemRef, content: string, recordBytes: number): void {
    const max = this.store.maxRequestBytes;
    const contentBytes = Buffer.byteLength(content);
    // The records' own size beyond the stated overhead (a JSON Schema on the item) counts against the content.
    const room = maxItemBytes(max) - Math.max(0, recordBytes - RELEASE_OVERHEAD_BYTES / 2);
    if (contentBytes > room) {
      throw new ConfigError(
        'too-large',
        `${ref.namespace}/${ref.app}/${ref.name}: content of ${contentBytes} bytes does not fit one release: ` +
          `the limit is ${room} bytes (--max-request-bytes=${max} minus the item's records; docs/api.md)`,
      );
    }
  }

  /** Keeps release `version`'s bytes under ~release-content (create-only; a failure is logged, not thrown). */
  private async storeContent(
    ctx: CallContext,
    ref: ItemRef,
    version: number,
    content: string,
  ): Promise<void> {
    const key = releaseContentKey(ref.namespace, ref.app, ref.name, version);
    try {
      await this.store.txn(ctx, [modRevisionIs(key, 0)], [putOp(key, content)]);
    } catch (err) {
      this.logger.warn(
        { ns: ref.namespace, app: ref.app, name: ref.name, version, err: String(err) },
        'config release content not kept yet: it is read from the live key at the release revision until copied',
      );
    }
  }

  /** Copies release `version`'s content under ~release-content if an earlier copy never landed. */
  private async keepContent(ctx: CallContext, ref: ItemRef, version: number): Promise<void> {
    if (version <= 0) return;
    const kept = await this.store.get(ctx, releaseContentKey(ref.namespace, ref.app, ref.name, version));
    if (kept) return;
    const kv = await this.store.get(ctx, releaseKey(ref.namespace, ref.app, ref.name, version));
    const record = parseRecord<Partial<ReleaseRecord>>(kv);
    if (!kv || !record || typeof record.content === 'string') return;
    await this.contentOf(ctx, ref, record, kv.modRevision, undefined).catch(() => undefined);
  }

  /**
   * A release's content: in its record (records older than issue 14), under ~release-content, or else from
   * the live (gray) key at the release's revision, which is then copied under ~release-content.
   */
  private async contentOf(
    ctx: CallContext,
    ref: ItemRef,
    record: Partial<ReleaseRecord>,
    revision: number,
    kept: Map<number, string> | undefined,
  ): Promise<string> {
    if (typeof record.content === 'string') return record.content;
    const version = record.version ?? 0;
    const known = kept?.get(version);
    if (known !== undefined) return known;
    if (!kept) {
      const kv = await this.store.get(ctx, releaseContentKey(ref.namespace, ref.app, ref.name, version));
      if (kv) return kv.value.toString('utf8');
    }
    const { namespace: ns, app, name } = ref;
    const source = record.kind === 'gray' ? grayKey(ns, app, name) : liveKey(ns, app, name);
    let content: string | undefined;
    try {
      const kv = await this.store.get(ctx, source, revision);
      if (kv && kv.modRevision === revision) {
        content = record.kind === 'gray' ? parseRecord<GrayRecord>(kv)?.content : kv.value.toString('utf8');
      }
    } catch {
      content = undefined; // compacted
    }
    if (content === undefined) {
      throw new ConfigError(
        'unavailable',
        `the content of release ${version} of ${ns}/${app}/${name} is no longer available`,
      );
    }
    await this.storeContent(ctx, ref, version, content);
    return content;
  }

  private async view(
    ctx: CallContext,
    ref: ItemRef,
    kv: { value: Uint8Array; modRevision: number },
    kept?: Map<number, string>,
  ): Promise<ConfigReleaseView> {
    const record = JSON.parse(Buffer.from(kv.value).toString('utf8')) as Partial<ReleaseRecord>;
    const content = await this.contentOf(ctx, ref, record, kv.modRevision, kept);
    return {
      ...(record as ReleaseRecord),
      content,
      namespace: ref.namespace,
      app: ref.app,
      name: ref.name,
      revision: kv.modRevision,
    };
  }

  // ---- reading releases back ------------------------------------------------------------------------------

  /** Releases, newest first (a secret's content masked unless `reveal`). */
  async listReleases(
    ctx: CallContext,
    ref: ItemRef,
    limit = 0,
    reveal = false,
  ): Promise<ConfigReleaseView[]> {
    checkRef(ref);
    const { namespace: ns, app, name } = ref;
    const [res, contents, secret] = await Promise.all([
      this.store.prefix(ctx, releasePrefix(ns, app, name)),
      this.store.prefix(ctx, releaseContentPrefix(ns, app, name)),
      this.isSecret(ctx, ref),
    ]);
    const kept = new Map<number, string>();
    const prefixLength = releaseContentPrefix(ns, app, name).length;
    for (const kv of contents.kvs) {
      kept.set(Number(kv.key.toString('utf8').slice(prefixLength)), kv.value.toString('utf8'));
    }
    const kvs = [...res.kvs].reverse();
    const chosen = limit > 0 ? kvs.slice(0, limit) : kvs;
    const out: ConfigReleaseView[] = [];
    for (const kv of chosen) out.push(this.shown(ref, await this.view(ctx, ref, kv, kept), secret, reveal));
    return out;
  }

  /** A release (a secret's content masked unless `reveal`: then decrypted, after the caller's own read). */
  async getRelease(
    ctx: CallContext,
    ref: ItemRef,
    version: number,
    reveal = false,
  ): Promise<ConfigReleaseView> {
    checkRef(ref);
    if (!Number.isInteger(version) || version <= 0) {
      throw new ConfigError('bad-request', 'version must be a positive integer');
    }
    const kv = await this.store.get(ctx, releaseKey(ref.namespace, ref.app, ref.name, version));
    if (!kv) {
      throw new ConfigError(
        'not-found',
        `release ${version} of ${ref.namespace}/${ref.app}/${ref.name} not found`,
      );
    }
    const secret = await this.isSecret(ctx, ref);
    return this.shown(ref, await this.view(ctx, ref, kv), secret, reveal);
  }

  private shown(ref: ItemRef, view: ConfigReleaseView, secret: boolean, reveal: boolean): ConfigReleaseView {
    return { ...view, content: this.catalog.present(ref, view.content, secret, reveal) };
  }

  private async isSecret(ctx: CallContext, ref: ItemRef): Promise<boolean> {
    const kv = await this.store.get(ctx, itemKey(ref.namespace, ref.app, ref.name));
    return parseRecord<ItemRecord>(kv)?.secret === true;
  }

  /**
   * Unified diff between two releases (to = 0: the live content; from = 0: empty). A secret never shows:
   * both sides are masked, and the diff only says whether the content changed.
   */
  async diff(ctx: CallContext, ref: ItemRef, from: number, to: number): Promise<string> {
    const before = from > 0 ? (await this.getRelease(ctx, ref, from, true)).content : '';
    let after: string;
    let toLabel: string;
    let secret: boolean;
    if (to > 0) {
      after = (await this.getRelease(ctx, ref, to, true)).content;
      secret = await this.isSecret(ctx, ref);
      toLabel = `${ref.name}@v${to}`;
    } else {
      const item = await this.catalog.getItem(ctx, ref, true);
      after = item.content;
      secret = item.secret;
      toLabel = `${ref.name}@live(v${item.version})`;
    }
    const fromLabel = from > 0 ? `${ref.name}@v${from}` : '/dev/null';
    if (secret) {
      // Both sides masked: the diff says only whether the content changed.
      const left = from > 0 ? `${SECRET_MASK}\n` : '';
      const right = from > 0 && before === after ? left : `${SECRET_MASK}${from > 0 ? ' (changed)' : ''}\n`;
      return unifiedDiff(left, right, fromLabel, toLabel);
    }
    return unifiedDiff(before, after, fromLabel, toLabel);
  }

  // ---- gray release --------------------------------------------------------------------------------------

  async startGray(
    ctx: CallContext,
    ref: ItemRef,
    input: { content: string; rule: GrayRule; author?: string; comment?: string },
  ): Promise<GrayRecord> {
    checkRef(ref);
    const rule = checkRule(input.rule);
    const { namespace: ns, app, name } = ref;
    const iKey = itemKey(ns, app, name);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const itemKv = await this.store.get(ctx, iKey);
      const item = parseRecord<ItemRecord>(itemKv);
      if (!itemKv || !item) throw itemNotFound(ref);
      if (item.version === 0) throw new ConfigError('bad-request', 'publish the item before a gray release');
      const issues = validateContent(item.format, input.content, item.schema);
      if (issues.length > 0) throw invalidContent(item.format, issues);
      const version = item.latestRelease + 1;
      const time = this.now().toISOString();
      const stored = this.store.secrets.store(ref, item.secret, input.content);
      const actor = actorOf(ctx);
      const gray: GrayRecord = {
        version,
        content: stored,
        rule,
        actor,
        author: authorNote(input.author),
        comment: input.comment ?? '',
        time,
        baseVersion: item.version,
      };
      const release: ReleaseRecord = {
        version,
        format: item.format,
        content: stored,
        actor,
        author: gray.author,
        comment: gray.comment,
        time,
        kind: 'gray',
        sourceVersion: 0,
        rule,
      };
      const grayText = JSON.stringify(gray);
      const itemText = JSON.stringify({ ...item, latestRelease: version, updatedAt: time });
      const releaseText = JSON.stringify(withoutContent(release));
      // The gray record holds the content JSON-escaped: that escaping counts against the room too.
      const escaping = Buffer.byteLength(grayText) - Buffer.byteLength(stored);
      this.checkFits(ref, stored, escaping + Buffer.byteLength(itemText + releaseText));
      await this.keepContent(ctx, ref, item.latestRelease);
      const res = await this.store.txn(
        ctx,
        [modRevisionIs(iKey, itemKv.modRevision)],
        [
          putOp(grayKey(ns, app, name), grayText),
          putOp(iKey, itemText),
          putOp(releaseKey(ns, app, name, version), releaseText),
        ],
      );
      if (res.succeeded) {
        this.store.noteActor(res.revision, actor);
        await this.storeContent(ctx, ref, version, stored);
        return { ...gray, content: this.catalog.present(ref, stored, item.secret === true, false) };
      }
    }
    throw new ConfigError('conflict', 'the item kept changing; try again');
  }

  async getGray(ctx: CallContext, ref: ItemRef, reveal = false): Promise<GrayRecord> {
    checkRef(ref);
    const [grayKv, secret] = await Promise.all([
      this.store.get(ctx, grayKey(ref.namespace, ref.app, ref.name)),
      this.isSecret(ctx, ref),
    ]);
    const gray = parseRecord<GrayRecord>(grayKv);
    if (!gray) throw noGray(ref);
    return { ...gray, content: this.catalog.present(ref, gray.content, secret, reveal) };
  }

  /** The gray content becomes the main release (a new release of kind promote) for everyone. */
  async promoteGray(
    ctx: CallContext,
    ref: ItemRef,
    opts: { author?: string; comment?: string },
  ): Promise<ConfigReleaseView> {
    checkRef(ref);
    const grayKv = await this.store.get(ctx, grayKey(ref.namespace, ref.app, ref.name));
    const gray = parseRecord<GrayRecord>(grayKv);
    if (!grayKv || !gray) throw noGray(ref);
    return this.release(ctx, ref, this.store.secrets.open(ref, gray.content), {
      author: authorNote(opts.author),
      comment: opts.comment || `promote gray version ${gray.version}`,
      kind: 'promote',
      sourceVersion: gray.version,
      grayModRevision: grayKv.modRevision,
    });
  }

  /** Gray subscribers go back to the main release; the gray release record stays in history. */
  async abandonGray(ctx: CallContext, ref: ItemRef): Promise<boolean> {
    checkRef(ref);
    const key = grayKey(ref.namespace, ref.app, ref.name);
    const kv = await this.store.get(ctx, key);
    if (!kv) return false;
    const res = await this.store.txn(ctx, [modRevisionIs(key, kv.modRevision)], [deleteOp(key)]);
    if (res.succeeded) this.store.noteActor(res.revision, actorOf(ctx));
    return res.succeeded;
  }
}

/** A release record as stored: everything but the content (kept under ~release-content). */
function withoutContent(release: ReleaseRecord): Omit<ReleaseRecord, 'content'> {
  const { content: _content, ...rest } = release;
  void _content;
  return rest;
}

function noGray(ref: ItemRef): ConfigError {
  return new ConfigError('not-found', `no gray release for ${ref.namespace}/${ref.app}/${ref.name}`);
}
