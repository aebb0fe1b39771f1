// The release workflow against an in-process EtcdPort: guarded publish, release history, rollback, gray
// release, validation before publish, and the caller's context reaching the port.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EtcdError } from '@cairn/api';
import { ANONYMOUS } from '@cairn/server';
import { ConfigError } from '../src';
import { createItem, type Harness, openHarness, ctx } from './harness';

const ref = { namespace: 'shop', app: 'payments', name: 'config.json' };
let h: Harness;

beforeEach(async () => {
  h = await openHarness();
  await createItem(h.center, ref, 'json');
});

afterEach(async () => {
  await h.close();
});

async function conflictOf(work: Promise<unknown>): Promise<ConfigError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to fail with a ConfigError').toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('publish', () => {
  it("makes the content live as version 1; the actor is the caller's identity, the sent author only a note", async () => {
    const release = await h.center.publish(ctx, ref, {
      content: '{"limit":1}',
      author: 'alice',
      comment: 'first',
      expectedRevision: 0,
    });
    expect(release).toMatchObject({
      version: 1,
      kind: 'publish',
      actor: 'tester',
      author: 'alice',
      comment: 'first',
    });
    const item = await h.center.getItem(ctx, ref);
    expect(item).toMatchObject({ version: 1, content: '{"limit":1}', modRevision: release.revision });
    // The write was made as the caller (what the Raft entry header carries), and no marker key was written.
    expect(h.local.lastWriter).toBe('tester');
    const marker = await h.local.port.range(ctx, { key: Buffer.from('/cairn/audit/actor') });
    expect(marker.kvs).toEqual([]);
  });

  it('guarded by mod_revision: of two edits based on the same revision the second loses with a conflict naming both releases', async () => {
    const v1 = await h.center.publish(ctx, ref, { content: '{"limit":1}', expectedRevision: 0 });
    const base = v1.revision;
    const bob = await h.center.publish(ctx, ref, {
      content: '{"limit":2}',
      author: 'bob',
      expectedRevision: base,
    });
    const err = await conflictOf(
      h.center.publish(ctx, ref, { content: '{"limit":3}', author: 'carol', expectedRevision: base }),
    );
    expect(err.kind).toBe('conflict');
    expect(err.conflict).toMatchObject({
      expectedRevision: base,
      currentRevision: bob.revision,
      base: { version: 1 },
      current: { version: 2, author: 'bob' },
    });
    expect((await h.center.getItem(ctx, ref)).content).toBe('{"limit":2}');
  });

  it('expectedRevision 0 refuses to overwrite an item that is already published', async () => {
    await h.center.publish(ctx, ref, { content: '{}' });
    expect(
      (await conflictOf(h.center.publish(ctx, ref, { content: '{"a":1}', expectedRevision: 0 }))).kind,
    ).toBe('conflict');
  });

  it('from a draft: publishes the draft, guarded by its base revision, and deletes it', async () => {
    const v1 = await h.center.publish(ctx, ref, { content: '{"a":1}' });
    await h.center.saveDraft(ctx, ref, { content: '{"a":2}', author: 'dave' });
    expect((await h.center.getItem(ctx, ref)).draft).toMatchObject({ baseRevision: v1.revision });
    const v2 = await h.center.publish(ctx, ref, { fromDraft: true, author: 'dave' });
    expect(v2).toMatchObject({ version: 2, content: '{"a":2}' });
    expect((await h.center.getItem(ctx, ref)).draft).toBeNull();
  });

  it('a draft based on a revision that is no longer live loses with a conflict', async () => {
    const v1 = await h.center.publish(ctx, ref, { content: '{"a":1}' });
    await h.center.saveDraft(ctx, ref, { content: '{"a":2}', baseRevision: v1.revision });
    await h.center.publish(ctx, ref, { content: '{"a":3}' });
    expect((await conflictOf(h.center.publish(ctx, ref, { fromDraft: true }))).kind).toBe('conflict');
  });

  it('an unknown item is not-found', async () => {
    const err = await conflictOf(h.center.publish(ctx, { ...ref, name: 'missing' }, { content: '{}' }));
    expect(err.kind).toBe('not-found');
  });

  it("runs under the caller's context: an aborted request is refused with etcd's canceled error", async () => {
    const abort = new AbortController();
    abort.abort();
    const err = await h.center
      .publish({ identity: ANONYMOUS, signal: abort.signal }, ref, { content: '{}' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EtcdError);
    expect((err as EtcdError).message).toMatch(/canceled/);
    expect((await h.center.getItem(ctx, ref)).version).toBe(0);
  });
});

describe('validation before publish', () => {
  it('invalid JSON is refused with the line and column of the problem, and nothing is released', async () => {
    const err = await conflictOf(h.center.publish(ctx, ref, { content: '{\n  "a": 1,\n  oops\n}' }));
    expect(err.kind).toBe('invalid');
    expect(err.issues[0]).toMatchObject({ line: 3 });
    expect(err.issues[0].column).toBeGreaterThan(0);
    expect(await h.center.listReleases(ctx, ref)).toEqual([]);
  });

  it('invalid YAML is refused with line and column; valid YAML is published', async () => {
    const yamlRef = { ...ref, name: 'app.yaml' };
    await h.center.putItem(ctx, yamlRef, { format: 'yaml' });
    const err = await conflictOf(h.center.publish(ctx, yamlRef, { content: 'a: 1\nb: [1, 2\nc: 3\n' }));
    expect(err.kind).toBe('invalid');
    expect(err.issues[0].line).toBeGreaterThan(0);
    expect(err.message).toMatch(/invalid yaml/);
    expect((await h.center.publish(ctx, yamlRef, { content: 'a: 1\nb: [1, 2]\n' })).version).toBe(1);
  });

  it("content violating the item's JSON Schema is refused", async () => {
    await h.center.putItem(ctx, ref, {
      schema: JSON.stringify({
        type: 'object',
        required: ['limit'],
        properties: { limit: { type: 'integer' } },
      }),
    });
    expect((await conflictOf(h.center.publish(ctx, ref, { content: '{"limit":"x"}' }))).kind).toBe('invalid');
    expect((await h.center.publish(ctx, ref, { content: '{"limit":5}' })).version).toBe(1);
  });

  it('validate() reports problems without publishing, in the item format or one given', async () => {
    expect(await h.center.validate(ctx, ref, '{"ok":true}')).toEqual([]);
    expect((await h.center.validate(ctx, ref, '{ nope')).length).toBeGreaterThan(0);
    expect((await h.center.validate(ctx, ref, 'a: [', 'yaml')).length).toBeGreaterThan(0);
    expect((await h.center.getItem(ctx, ref)).version).toBe(0);
  });
});

describe('release history and rollback', () => {
  it('lists releases newest first, gets one, and diffs two', async () => {
    await h.center.publish(ctx, ref, { content: '{"a":1}\n', author: 'alice' });
    await h.center.publish(ctx, ref, { content: '{"a":2}\n', author: 'bob' });
    const releases = await h.center.listReleases(ctx, ref);
    expect(releases.map((r) => [r.version, r.author])).toEqual([
      [2, 'bob'],
      [1, 'alice'],
    ]);
    expect((await h.center.listReleases(ctx, ref, 1)).map((r) => r.version)).toEqual([2]);
    expect((await h.center.getRelease(ctx, ref, 1)).content).toBe('{"a":1}\n');
    const diff = await h.center.diff(ctx, ref, 1, 2);
    expect(diff).toContain('-{"a":1}');
    expect(diff).toContain('+{"a":2}');
    expect(await h.center.diff(ctx, ref, 2, 0)).not.toMatch(/^[-+]\{/m);
  });

  it("rollback re-publishes an older release's content as a new release of kind rollback", async () => {
    await h.center.publish(ctx, ref, { content: '{"a":1}' });
    const v2 = await h.center.publish(ctx, ref, { content: '{"a":2}' });
    const v3 = await h.center.rollback(ctx, ref, {
      version: 1,
      author: 'ops',
      expectedRevision: v2.revision,
    });
    expect(v3).toMatchObject({ version: 3, kind: 'rollback', sourceVersion: 1, content: '{"a":1}' });
    expect(v3.comment).toBe('rollback to version 1');
    expect((await h.center.getItem(ctx, ref)).content).toBe('{"a":1}');
    expect((await h.center.listReleases(ctx, ref)).length).toBe(3);
  });

  it('rollback based on a stale revision loses with a conflict', async () => {
    const v1 = await h.center.publish(ctx, ref, { content: '{"a":1}' });
    await h.center.publish(ctx, ref, { content: '{"a":2}' });
    const err = await conflictOf(h.center.rollback(ctx, ref, { version: 1, expectedRevision: v1.revision }));
    expect(err.kind).toBe('conflict');
  });

  it('rollback to a missing release is not-found', async () => {
    await h.center.publish(ctx, ref, { content: '{}' });
    expect((await conflictOf(h.center.rollback(ctx, ref, { version: 9 }))).kind).toBe('not-found');
  });
});

describe('gray release', () => {
  it('start takes the next release number; promote makes it the main release and removes the gray record', async () => {
    await h.center.publish(ctx, ref, { content: '{"v":1}' });
    const gray = await h.center.startGray(ctx, ref, {
      content: '{"v":2}',
      rule: { labels: { zone: 'eu' }, percentage: 100 },
      author: 'alice',
    });
    expect(gray).toMatchObject({
      version: 2,
      baseVersion: 1,
      rule: { labels: { zone: 'eu' }, percentage: 100 },
    });
    expect((await h.center.getItem(ctx, ref)).content).toBe('{"v":1}');
    expect((await h.center.getRelease(ctx, ref, 2)).kind).toBe('gray');
    const promoted = await h.center.promoteGray(ctx, ref, { author: 'alice' });
    expect(promoted).toMatchObject({ version: 3, kind: 'promote', sourceVersion: 2, content: '{"v":2}' });
    expect((await h.center.getItem(ctx, ref)).gray).toBeNull();
    expect((await conflictOf(h.center.getGray(ctx, ref))).kind).toBe('not-found');
  });

  it('abandon removes the gray record and keeps its release in history; a gray release cannot be rolled back to', async () => {
    await h.center.publish(ctx, ref, { content: '{"v":1}' });
    await h.center.startGray(ctx, ref, { content: '{"v":2}', rule: { labels: {}, percentage: 10 } });
    expect(await h.center.abandonGray(ctx, ref)).toBe(true);
    expect(await h.center.abandonGray(ctx, ref)).toBe(false);
    expect((await h.center.getRelease(ctx, ref, 2)).kind).toBe('gray');
    expect((await conflictOf(h.center.rollback(ctx, ref, { version: 2 }))).kind).toBe('bad-request');
  });

  it('needs a published item, a valid rule and valid content', async () => {
    const rule = { labels: { zone: 'eu' }, percentage: 100 };
    expect((await conflictOf(h.center.startGray(ctx, ref, { content: '{}', rule }))).kind).toBe(
      'bad-request',
    );
    await h.center.publish(ctx, ref, { content: '{}' });
    expect(
      (
        await conflictOf(
          h.center.startGray(ctx, ref, { content: '{}', rule: { labels: {}, percentage: 100 } }),
        )
      ).kind,
    ).toBe('bad-request');
    expect((await conflictOf(h.center.startGray(ctx, ref, { content: '{', rule }))).kind).toBe('invalid');
  });
});

describe('item history from the audit archive', () => {
  it('is unavailable without an archive', async () => {
    expect((await conflictOf(h.center.history(ctx, ref))).kind).toBe('unavailable');
  });
});
