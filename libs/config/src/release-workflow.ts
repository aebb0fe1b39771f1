// The release workflow: publish (content or a draft), rollback, gray release (start, promote, abandon),
// and reading releases back (list, get, diff). Every release is one txn guarded by the item record's and
// the live key's mod_revision, so a concurrent edit loses with a conflict naming both versions.
import type { CallContext, Compare, Logger, RequestOp } from '@cairn/server';
import type { ConfigCatalog } from './catalog';
import { MAX_ATTEMPTS, type ItemRef, checkRef, checkRule, invalidContent, itemNotFound } from './checks';
import { unifiedDiff } from './diff';
import { ConfigError } from './errors';
import { validateContent } from './formats';
import { draftKey, grayKey, itemKey, liveKey, releaseKey, releasePrefix } from './keys';
import { type ConfigStore, actorOps, deleteOp, modRevisionIs, parseRecord, putOp } from './store';
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
      content = draft.content;
      expected ??= draft.baseRevision;
      draftModRevision = draftKv.modRevision;
    }
    if (typeof content !== 'string')
      throw new ConfigError('bad-request', 'content (or fromDraft) is required');
    return this.release(ctx, ref, content, {
      author: opts.author ?? '',
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
    const target = await this.getRelease(ctx, ref, opts.version);
    if (target.kind === 'gray') {
      throw new ConfigError(
        'bad-request',
        `release ${opts.version} is a gray release; roll back to a main release`,
      );
    }
    return this.release(ctx, ref, target.content, {
      author: opts.author ?? '',
      comment: opts.comment || `rollback to version ${opts.version}`,
      kind: 'rollback',
      sourceVersion: opts.version,
      expectedRevision: opts.expectedRevision,
    });
  }

  /**
   * One txn guarded by the item record's and the live key's mod_revision: live content, item record
   * (live version), release record, and the actor marker for the audit archive.
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
      const release: ReleaseRecord = {
        version,
        format: item.format,
        content,
        author: opts.author,
        comment: opts.comment,
        time,
        kind: opts.kind,
        sourceVersion: opts.sourceVersion,
      };
      const next: ItemRecord = { ...item, version, latestRelease: version, updatedAt: time };
      const compare: Compare[] = [modRevisionIs(iKey, itemKv.modRevision), modRevisionIs(lKey, liveRevision)];
      const ops: RequestOp[] = [
        putOp(lKey, content),
        putOp(iKey, JSON.stringify(next)),
        putOp(releaseKey(ns, app, name, version), JSON.stringify(release)),
        ...actorOps(opts.author),
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
          { ns, app, name, version, revision: res.revision, kind: opts.kind, author: opts.author },
          'config release published',
        );
        return { ...release, namespace: ns, app, name, revision: res.revision };
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
    const releases = await this.listReleases(ctx, ref);
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

  // ---- reading releases back ------------------------------------------------------------------------------

  /** Releases, newest first. */
  async listReleases(ctx: CallContext, ref: ItemRef, limit = 0): Promise<ConfigReleaseView[]> {
    checkRef(ref);
    const res = await this.store.prefix(ctx, releasePrefix(ref.namespace, ref.app, ref.name));
    const out = res.kvs
      .map((kv) => ({
        ...(JSON.parse(kv.value.toString('utf8')) as ReleaseRecord),
        namespace: ref.namespace,
        app: ref.app,
        name: ref.name,
        revision: kv.modRevision,
      }))
      .reverse();
    return limit > 0 ? out.slice(0, limit) : out;
  }

  async getRelease(ctx: CallContext, ref: ItemRef, version: number): Promise<ConfigReleaseView> {
    checkRef(ref);
    if (!Number.isInteger(version) || version <= 0) {
      throw new ConfigError('bad-request', 'version must be a positive integer');
    }
    const kv = await this.store.get(ctx, releaseKey(ref.namespace, ref.app, ref.name, version));
    const record = parseRecord<ReleaseRecord>(kv);
    if (!kv || !record) {
      throw new ConfigError(
        'not-found',
        `release ${version} of ${ref.namespace}/${ref.app}/${ref.name} not found`,
      );
    }
    return { ...record, namespace: ref.namespace, app: ref.app, name: ref.name, revision: kv.modRevision };
  }

  /** Unified diff between two releases (to = 0: the live content; from = 0: empty). */
  async diff(ctx: CallContext, ref: ItemRef, from: number, to: number): Promise<string> {
    const before = from > 0 ? (await this.getRelease(ctx, ref, from)).content : '';
    let after: string;
    let toLabel: string;
    if (to > 0) {
      after = (await this.getRelease(ctx, ref, to)).content;
      toLabel = `${ref.name}@v${to}`;
    } else {
      const item = await this.catalog.getItem(ctx, ref);
      after = item.content;
      toLabel = `${ref.name}@live(v${item.version})`;
    }
    return unifiedDiff(before, after, from > 0 ? `${ref.name}@v${from}` : '/dev/null', toLabel);
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
      const gray: GrayRecord = {
        version,
        content: input.content,
        rule,
        author: input.author ?? '',
        comment: input.comment ?? '',
        time,
        baseVersion: item.version,
      };
      const release: ReleaseRecord = {
        version,
        format: item.format,
        content: input.content,
        author: gray.author,
        comment: gray.comment,
        time,
        kind: 'gray',
        sourceVersion: 0,
        rule,
      };
      const res = await this.store.txn(
        ctx,
        [modRevisionIs(iKey, itemKv.modRevision)],
        [
          putOp(grayKey(ns, app, name), JSON.stringify(gray)),
          putOp(iKey, JSON.stringify({ ...item, latestRelease: version, updatedAt: time })),
          putOp(releaseKey(ns, app, name, version), JSON.stringify(release)),
          ...actorOps(gray.author),
        ],
      );
      if (res.succeeded) return gray;
    }
    throw new ConfigError('conflict', 'the item kept changing; try again');
  }

  async getGray(ctx: CallContext, ref: ItemRef): Promise<GrayRecord> {
    checkRef(ref);
    const gray = parseRecord<GrayRecord>(
      await this.store.get(ctx, grayKey(ref.namespace, ref.app, ref.name)),
    );
    if (!gray) throw noGray(ref);
    return gray;
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
    return this.release(ctx, ref, gray.content, {
      author: opts.author ?? '',
      comment: opts.comment || `promote gray version ${gray.version}`,
      kind: 'promote',
      sourceVersion: gray.version,
      grayModRevision: grayKv.modRevision,
    });
  }

  /** Gray subscribers go back to the main release; the gray release record stays in history. */
  async abandonGray(ctx: CallContext, ref: ItemRef, opts: { author?: string } = {}): Promise<boolean> {
    checkRef(ref);
    const key = grayKey(ref.namespace, ref.app, ref.name);
    const kv = await this.store.get(ctx, key);
    if (!kv) return false;
    const res = await this.store.txn(
      ctx,
      [modRevisionIs(key, kv.modRevision)],
      [deleteOp(key), ...actorOps(opts.author ?? '')],
    );
    return res.succeeded;
  }
}

function noGray(ref: ItemRef): ConfigError {
  return new ConfigError('not-found', `no gray release for ${ref.namespace}/${ref.app}/${ref.name}`);
}
