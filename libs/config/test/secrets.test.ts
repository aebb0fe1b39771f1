// Secret items: the key file's format, content encrypted at rest wherever it is stored (live key, releases,
// gray and draft records), decrypted for subscribers and for an explicit reveal, masked in views, diffs and
// exports, refused without a key, and key rotation (a new active key; the old one still opens old data).
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { internalContext, silentLogger } from '@cairn/server';
import { ConfigCenter, ConfigError, KeyRing, SECRET_MASK, SecretBox } from '../src';
import { type Harness, createItem, ctx, eventSink, openHarness } from './harness';

const ref = { namespace: 'prod', app: 'payments', name: 'db.yaml' };
const keyLine = (id: string): string => `${id}:${randomBytes(32).toString('base64')}`;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Every stored value under the app, as raw text (what etcdctl or a snapshot would show). */
async function storedValues(): Promise<string> {
  const all = await h!.local.port.range(internalContext(), {
    key: Buffer.from('/cairn/config/'),
    rangeEnd: Buffer.from('/cairn/config0'),
  });
  return all.kvs.map((kv) => `${kv.key.toString()}=${kv.value.toString()}`).join('\n');
}

describe('the key file', () => {
  it('is <keyId>:<base64 of 32 bytes> a line, the first line active; comments and blank lines are skipped', () => {
    const ring = KeyRing.parse(`# rotated 2026-12\n\n${keyLine('k2')}\n${keyLine('k1')}\n`);
    expect(ring.activeId).toBe('k2');
    expect(ring.key('k1')).toHaveLength(32);
  });

  it('names the line that is wrong', () => {
    expect(() => KeyRing.parse('k1:c2hvcnQ=')).toThrow(/line 1: key "k1" is 5 bytes; AES-256 needs 32/);
    expect(() => KeyRing.parse(`${keyLine('a')}\nno-colon`)).toThrow(/line 2: expected <keyId>:/);
    expect(() => KeyRing.parse(`${keyLine('a')}\n${keyLine('a')}`)).toThrow(/appears twice/);
    expect(() => KeyRing.parse('# nothing\n')).toThrow(/holds no key/);
  });

  it('an envelope moved to another item does not open (the item path is the additional data)', () => {
    const box = new SecretBox(KeyRing.parse(keyLine('k1')));
    const sealed = box.seal(ref, 'password: hunter2\n');
    expect(sealed).toMatch(/^cairn-secret:v1:k1:/);
    expect(box.open(ref, sealed)).toBe('password: hunter2\n');
    expect(() => box.open({ ...ref, name: 'other.yaml' }, sealed)).toThrow(/does not open/);
  });
});

describe('secret items', () => {
  it('without a key file, marking an item secret is a 400 that says which flag is missing', async () => {
    h = await openHarness();
    await createItem(h.center, ref, 'yaml');
    const err = await h.center.putItem(ctx, ref, { secret: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).kind).toBe('bad-request');
    expect((err as ConfigError).message).toMatch(/--config-encryption-key-file/);
  });

  it('are stored encrypted everywhere, masked in views, diffs and exports, and revealed or pushed decrypted', async () => {
    h = await openHarness({ keyRing: KeyRing.parse(keyLine('k1')) });
    await createItem(h.center, ref, 'yaml');
    const marked = await h.center.putItem(ctx, ref, { secret: true });
    expect(marked.secret).toBe(true);
    const v1 = await h.center.publish(ctx, ref, { content: 'password: one\n' });
    expect(v1.content).toBe(SECRET_MASK);
    await h.center.saveDraft(ctx, ref, { content: 'password: draft\n' });
    await h.center.startGray(ctx, ref, {
      content: 'password: gray\n',
      rule: { labels: { canary: 'true' }, percentage: 100 },
    });
    // At rest: no plaintext anywhere in the KV.
    const raw = await storedValues();
    expect(raw).not.toMatch(/password: (one|draft|gray)/);
    expect(raw).toMatch(/cairn-secret:v1:k1:/);

    const item = await h.center.getItem(ctx, ref);
    expect([item.content, item.draft?.content, item.gray?.content]).toEqual([
      SECRET_MASK,
      SECRET_MASK,
      SECRET_MASK,
    ]);
    const revealed = await h.center.getItem(ctx, ref, true);
    expect([revealed.content, revealed.draft?.content, revealed.gray?.content]).toEqual([
      'password: one\n',
      'password: draft\n',
      'password: gray\n',
    ]);
    expect((await h.center.getRelease(ctx, ref, 1)).content).toBe(SECRET_MASK);
    expect((await h.center.getRelease(ctx, ref, 1, true)).content).toBe('password: one\n');
    expect((await h.center.listReleases(ctx, ref)).map((r) => r.content)).toEqual([SECRET_MASK, SECRET_MASK]);

    // A subscriber is who the config is for: it gets the plaintext (main or gray by its labels).
    const main = eventSink();
    const canary = eventSink();
    const a = await h.center.subscribe(ctx, { ...ref, subscriberId: 'm' }, main.send);
    const b = await h.center.subscribe(
      ctx,
      { ...ref, subscriberId: 'c', labels: { canary: 'true' } },
      canary.send,
    );
    expect((await main.next(1))[0].items[0]).toMatchObject({
      content: 'password: one\n',
      value: { password: 'one' },
    });
    expect((await canary.next(1))[0].items[0]).toMatchObject({ content: 'password: gray\n', gray: true });
    const v3 = await h.center.publish(ctx, ref, { fromDraft: true });
    expect((await main.next(2))[1].items[0]).toMatchObject({
      version: v3.version,
      content: 'password: draft\n',
    });
    a.close();
    b.close();

    // Diffs say whether a secret changed, never what it is.
    const diff = await h.center.diff(ctx, ref, 1, v3.version);
    expect(diff).not.toMatch(/password/);
    expect(diff).toContain(`+${SECRET_MASK} (changed)`);
    expect(await h.center.diff(ctx, ref, v3.version, 0)).not.toContain('(changed)');

    // Exports carry the mask; importing one back leaves the secret as it is.
    const bundle = await h.center.exportBundle(ctx, ref.namespace, ref.app);
    expect(bundle.apps[0].items[0]).toMatchObject({ secret: true, content: SECRET_MASK });
    const result = await h.center.importBundle(ctx, bundle, { publish: true });
    expect(result).toMatchObject({ published: 0, unchanged: 1 });
    expect((await h.center.getItem(ctx, ref, true)).content).toBe('password: draft\n');

    // Rollback restores the old plaintext, stored encrypted again.
    const back = await h.center.rollback(ctx, ref, { version: 1 });
    expect((await h.center.getRelease(ctx, ref, back.version, true)).content).toBe('password: one\n');
    expect(await storedValues()).not.toMatch(/password: one/);
  });

  it('rotate: put the new key first and re-publish; the old key still opens what it sealed until dropped', async () => {
    const old = keyLine('old');
    h = await openHarness({ keyRing: KeyRing.parse(old) });
    await createItem(h.center, ref, 'yaml');
    await h.center.putItem(ctx, ref, { secret: true });
    await h.center.publish(ctx, ref, { content: 'password: one\n' });

    // The same store, a member restarted with the rotated file: the new key on top, the old one below.
    const newKey = keyLine('new');
    const rotated = new ConfigCenter({
      port: h.local.port,
      logger: silentLogger,
      keyRing: KeyRing.parse(`${newKey}\n${old}`),
    });
    expect((await rotated.getItem(ctx, ref, true)).content).toBe('password: one\n');
    await rotated.publish(ctx, ref, { content: 'password: two\n' });
    await rotated.close();
    const live = await h.local.port.range(internalContext(), {
      key: Buffer.from('/cairn/config/prod/payments/db.yaml'),
    });
    expect(live.kvs[0].value.toString()).toMatch(/^cairn-secret:v1:new:/);

    // Dropping the old key: release 1 no longer opens (503, naming the key); the live content does.
    const dropped = new ConfigCenter({
      port: h.local.port,
      logger: silentLogger,
      keyRing: KeyRing.parse(newKey),
    });
    expect((await dropped.getItem(ctx, ref, true)).content).toBe('password: two\n');
    const err = await dropped.getRelease(ctx, ref, 1, true).catch((e: unknown) => e);
    await dropped.close();
    expect((err as ConfigError).kind).toBe('unavailable');
    expect((err as ConfigError).message).toMatch(/key "old"/);
  });
});
