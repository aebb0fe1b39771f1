// Import/export against an in-process EtcdPort: a namespace exported and imported into an empty store comes
// back the same; re-importing changes nothing; a bad bundle writes nothing.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigBundle } from '../src';
import { createItem, type Harness, openHarness, ctx } from './harness';

let source: Harness;
let target: Harness;

beforeEach(async () => {
  source = await openHarness();
  target = await openHarness();
  const json = { namespace: 'shop', app: 'payments', name: 'limits.json' };
  const yaml = { namespace: 'shop', app: 'orders', name: 'app.yaml' };
  await createItem(source.center, json, 'json', JSON.stringify({ type: 'object' }));
  await createItem(source.center, yaml, 'yaml');
  await source.center.putApp(ctx, 'shop', 'orders', 'order service');
  await source.center.publish(ctx, json, { content: '{"max":10}' });
  await source.center.publish(ctx, yaml, { content: 'a: 1\n' });
  await source.center.publish(ctx, yaml, { content: 'a: 2\n' });
});

afterEach(async () => {
  await source.close();
  await target.close();
});

function withoutTime(bundle: ConfigBundle): Omit<ConfigBundle, 'exportedAt'> {
  const { exportedAt: _, ...rest } = bundle;
  return {
    ...rest,
    apps: rest.apps.map((a) => ({ ...a, items: a.items.map((i) => ({ ...i, version: 0 })) })),
  };
}

describe('bundles', () => {
  it('an exported namespace imported (publish) into an empty store exports the same apps, items, schemas and content', async () => {
    const bundle = await source.center.exportBundle(ctx, 'shop');
    expect(bundle.apps.map((a) => [a.name, a.items.map((i) => [i.name, i.version])])).toEqual([
      ['orders', [['app.yaml', 2]]],
      ['payments', [['limits.json', 1]]],
    ]);
    const result = await target.center.importBundle(ctx, bundle, { author: 'ops', publish: true });
    expect(result).toEqual({ items: 2, published: 2, drafts: 0, unchanged: 0 });
    const back = await target.center.exportBundle(ctx, 'shop');
    expect(withoutTime(back)).toEqual(withoutTime(bundle));
    const release = (
      await target.center.listReleases(ctx, { namespace: 'shop', app: 'orders', name: 'app.yaml' })
    )[0];
    expect(release).toMatchObject({ kind: 'import', author: 'ops', content: 'a: 2\n' });
  });

  it('re-importing the same bundle changes nothing; importing without publish saves drafts', async () => {
    const bundle = await source.center.exportBundle(ctx, 'shop', 'payments');
    expect(bundle.apps.map((a) => a.name)).toEqual(['payments']);
    expect(await source.center.importBundle(ctx, bundle, { publish: true })).toMatchObject({ unchanged: 1 });
    const drafted = await target.center.importBundle(ctx, bundle, { author: 'ops', publish: false });
    expect(drafted).toEqual({ items: 1, published: 0, drafts: 1, unchanged: 0 });
    const item = await target.center.getItem(ctx, {
      namespace: 'shop',
      app: 'payments',
      name: 'limits.json',
    });
    expect(item).toMatchObject({ version: 0, draft: { content: '{"max":10}', author: 'ops' } });
  });

  it('a bundle with invalid content (publish) or a bad format is refused before anything is written', async () => {
    const bundle = await source.center.exportBundle(ctx, 'shop');
    bundle.apps[1].items[0].content = '{ broken';
    await expect(target.center.importBundle(ctx, bundle, { publish: true })).rejects.toMatchObject({
      kind: 'invalid',
    });
    const badFormat = {
      ...bundle,
      apps: [{ name: 'x', description: '', items: [{ ...bundle.apps[0].items[0], format: 'xml' }] }],
    };
    await expect(target.center.importBundle(ctx, badFormat as ConfigBundle, {})).rejects.toMatchObject({
      kind: 'bad-request',
    });
    await expect(
      target.center.importBundle(ctx, { kind: 'nope' } as unknown as ConfigBundle, {}),
    ).rejects.toMatchObject({ kind: 'bad-request' });
    expect(await target.center.listNamespaces(ctx)).toEqual([]);
  });

  it('exporting an unknown app is not-found', async () => {
    await expect(source.center.exportBundle(ctx, 'shop', 'nope')).rejects.toMatchObject({
      kind: 'not-found',
    });
  });
});
