// The flow of `config edit` with a fake config API and a scripted editor: the draft (or live content) goes to
// the editor; an unchanged file publishes nothing; the edit is saved as the draft on the live revision before
// the question; a "no" keeps it as the draft, a "yes" publishes from it; no terminal and no --yes refuses.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandError, type Context } from '../src/command';
import type { ConfigApi, Item } from '../src/commands/config/api';
import { editItem } from '../src/commands/config/edit';

const dir = mkdtempSync(join(tmpdir(), 'cairnctl-edit-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An editor that records what it was given and writes `replacement` (or leaves the file as is). */
function editor(name: string, replacement?: string): { command: string; seen: string } {
  const seen = join(dir, `${name}.seen`);
  const script = join(dir, `${name}.sh`);
  const write = replacement === undefined ? '' : `printf '%s' '${replacement}' > "$1"\n`;
  writeFileSync(script, `#!/bin/sh\ncp "$1" '${seen}'\n${write}`);
  chmodSync(script, 0o755);
  return { command: script, seen };
}

function fakeApi(item: Partial<Item>) {
  const calls: [string, unknown][] = [];
  const full: Item = {
    namespace: 'shop',
    app: 'orders',
    name: 'limits.json',
    format: 'json',
    description: '',
    schema: '',
    version: 4,
    content: 'a\nb\n',
    secret: false,
    modRevision: 40,
    latestRelease: 4,
    draft: null,
    gray: null,
    createdAt: '',
    updatedAt: '',
    ...item,
  };
  const api = {
    item: async () => full,
    saveDraft: async (_ref: unknown, body: unknown) => {
      calls.push(['saveDraft', body]);
      return {};
    },
    publish: async (_ref: unknown, body: unknown) => {
      calls.push(['publish', body]);
      return { namespace: 'shop', app: 'orders', name: 'limits.json', version: 5, revision: 41 };
    },
  } as unknown as ConfigApi;
  return { api, calls };
}

function fakeContext(env: Record<string, string>): { ctx: Context; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const ctx = {
    output: 'simple',
    env: { ...process.env, ...env },
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    print: (v: unknown) => (out += JSON.stringify(v)),
  } as unknown as Context;
  return { ctx, out: () => out, err: () => err };
}

const ref = { namespace: 'shop', app: 'orders', name: 'limits.json' };
const base = { yes: false, draftOnly: false, interactive: true };

describe('config edit', () => {
  it('publishes nothing when the file comes back unchanged', async () => {
    const e = editor('same');
    const { api, calls } = fakeApi({});
    const { ctx, err } = fakeContext({ EDITOR: e.command });
    expect(await editItem(ctx, api, ref, base)).toBe(0);
    expect(calls).toEqual([]);
    expect(err()).toContain('no change from the live release (v4); nothing published');
  });

  it('starts from the draft, saves the edit on the live revision, and keeps it on "no"', async () => {
    const e = editor('no', 'a\nc\n');
    const { api, calls } = fakeApi({
      draft: { content: 'draft\n', author: '', updatedAt: '', baseRevision: 40 },
    });
    const { ctx, out, err } = fakeContext({ EDITOR: e.command });
    const questions: string[] = [];
    const ask = async (q: string) => (questions.push(q), false);
    expect(await editItem(ctx, api, ref, { ...base, ask })).toBe(0);
    expect(readFileSync(e.seen, 'utf8')).toBe('draft\n');
    expect(out()).toBe(
      '--- shop/orders/limits.json (live v4)\n+++ shop/orders/limits.json (edited)\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n',
    );
    expect(questions).toEqual(['Publish this as a new release of shop/orders/limits.json?']);
    expect(calls).toEqual([['saveDraft', { content: 'a\nc\n', baseRevision: 40 }]]);
    expect(err()).toContain('not published; the edit is kept as the draft');
  });

  it('publishes from the draft on "yes", with the comment', async () => {
    const e = editor('yes', 'x\n');
    const { api, calls } = fakeApi({});
    const { ctx, err } = fakeContext({ EDITOR: e.command });
    expect(await editItem(ctx, api, ref, { ...base, comment: 'why', ask: async () => true })).toBe(0);
    expect(calls).toEqual([
      ['saveDraft', { content: 'x\n', baseRevision: 40 }],
      ['publish', { fromDraft: true, comment: 'why' }],
    ]);
    expect(err()).toContain('published v5 (rev 41)');
  });

  it('refuses without a terminal unless --yes, the edit waiting as the draft', async () => {
    const e = editor('tty', 'y\n');
    const { api, calls } = fakeApi({});
    const { ctx } = fakeContext({ EDITOR: e.command });
    const refused = await editItem(ctx, api, ref, { ...base, interactive: false }).catch((x: unknown) => x);
    expect(refused).toBeInstanceOf(CommandError);
    expect((refused as Error).message).toContain('stdin is not a terminal (pass --yes)');
    expect(calls.map(([name]) => name)).toEqual(['saveDraft']);
    expect(await editItem(ctx, api, ref, { ...base, interactive: false, yes: true })).toBe(0);
    expect(calls.map(([name]) => name)).toEqual(['saveDraft', 'saveDraft', 'publish']);
  });

  it('reports an editor that fails and changes nothing', async () => {
    const { api, calls } = fakeApi({});
    const { ctx } = fakeContext({ EDITOR: 'false' });
    await expect(editItem(ctx, api, ref, base)).rejects.toThrow(
      'the editor (false) exited with status 1; nothing was changed',
    );
    expect(calls).toEqual([]);
  });
});
