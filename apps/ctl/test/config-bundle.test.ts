// The export/import files of `cairnctl config`: the member's bundle as JSON, YAML, zip and a directory.
import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  BundleError,
  type ConfigBundle,
  addTotals,
  bundleText,
  bundleToFiles,
  checkBundle,
  filesToBundle,
  formatOfPath,
  parseBundleText,
  splitByApp,
  zipToBundle,
} from '../src/commands/config/bundle';

const bundle = (): ConfigBundle => ({
  kind: 'cairn.config.bundle',
  version: 1,
  exportedAt: '2026-12-06T00:00:00.000Z',
  namespace: 'shop',
  apps: [
    {
      name: 'orders',
      description: 'orders',
      items: [
        {
          name: 'limits.json',
          format: 'json',
          description: '',
          schema: '',
          content: '{"a":1}\n',
          version: 2,
        },
        { name: 'app.yaml', format: 'yaml', description: '', schema: '', content: 'x: 1\n', version: 1 },
      ],
    },
    { name: 'billing', description: '', items: [] },
  ],
});

describe('config bundles', () => {
  it('round-trips through JSON and YAML', () => {
    for (const format of ['json', 'yaml'] as const) {
      expect(parseBundleText(bundleText(bundle(), format), format, 'f')).toEqual(bundle());
    }
  });

  it('round-trips through the directory layout, an edited item file winning', () => {
    const files = bundleToFiles(bundle());
    expect([...files.keys()]).toEqual(['bundle.json', 'shop/orders/limits.json', 'shop/orders/app.yaml']);
    files.set('shop/orders/app.yaml', 'x: 2\n');
    const back = filesToBundle((p) => files.get(p), 'dir');
    expect(back.apps[0]!.items[1]!.content).toBe('x: 2\n');
    expect(back.apps[0]!.items[0]!.content).toBe('{"a":1}\n');
  });

  it('reads the member zip layout', () => {
    const files = bundleToFiles(bundle());
    const zip = zipSync(Object.fromEntries([...files].map(([k, v]) => [k, strToU8(v)])));
    expect(zipToBundle(zip, 'x.zip')).toEqual(bundle());
    expect(formatOfPath('export.bin', false, zip.subarray(0, 4))).toBe('zip');
    expect(() => zipToBundle(strToU8('nope'), 'x.zip')).toThrow(/x.zip: not a zip file/);
    expect(() => zipToBundle(zipSync({ 'a.txt': strToU8('a') }), 'x.zip')).toThrow('x.zip: no bundle.json');
  });

  it('names the first problem of a bad bundle', () => {
    expect(() => checkBundle([], 'f')).toThrow(BundleError);
    expect(() => checkBundle({ ...bundle(), kind: 'x' }, 'f')).toThrow(
      'f: kind is "x", expected "cairn.config.bundle"',
    );
    expect(() => checkBundle({ ...bundle(), version: 2 }, 'f')).toThrow('bundle version 2 is not supported');
    expect(() => checkBundle({ ...bundle(), namespace: '' }, 'f')).toThrow('namespace is missing');
    const noContent = bundle() as unknown as { apps: { items: { content?: unknown }[] }[] };
    delete noContent.apps[0]!.items[0]!.content;
    expect(() => checkBundle(noContent, 'f')).toThrow('item orders/limits.json: content is not a string');
    expect(() => parseBundleText('{', 'json', 'f')).toThrow(/f: not valid JSON/);
  });

  it('picks the format from the path', () => {
    expect(formatOfPath('out', true)).toBe('dir');
    expect(formatOfPath('a.ZIP', false)).toBe('zip');
    expect(formatOfPath('a.yml', false)).toBe('yaml');
    expect(formatOfPath('a.json', false)).toBe('json');
    expect(formatOfPath('-', false)).toBe('json');
  });

  it('splits by app for progress and adds up the totals', () => {
    const parts = splitByApp(bundle());
    expect(parts.map((p) => p.apps.map((a) => a.name))).toEqual([['orders'], ['billing']]);
    expect(parts[0]!.namespace).toBe('shop');
    expect(
      addTotals(
        { items: 1, published: 1, drafts: 0, unchanged: 0 },
        { items: 2, published: 0, drafts: 1, unchanged: 1 },
      ),
    ).toEqual({
      items: 3,
      published: 1,
      drafts: 1,
      unchanged: 1,
    });
  });
});
