// Secret config items on a real member: `--config-encryption-key-file` reaches the config center, a secret's
// content is encrypted at rest (etcdctl sees only the envelope), REST shows it masked unless ?reveal=true, and
// a member without a key file refuses to mark an item secret with a 400 naming the flag. (Cairn only.)
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupAll, currentTarget, etcdctl, makeTempDir, startMember, type Member } from '../support';

const skip = currentTarget().kind === 'etcd';
let keyed: Member;
let plain: Member;
const ITEM = '/api/config/v1/namespaces/prod/apps/payments/items/db.yaml';

async function rest(member: Member, method: string, path: string, body?: unknown) {
  const response = await fetch(`${member.clientUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  if (skip) return;
  const keyFile = join(makeTempDir(), 'config-keys');
  writeFileSync(keyFile, `# test key\nk1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  keyed = await startMember({ extraFlags: ['--config-encryption-key-file', keyFile] });
  plain = await startMember();
}, 60_000);

afterAll(() => cleanupAll());

describe.skipIf(skip)('secret config items on a member', () => {
  it('are stored encrypted, shown masked, revealed on request', async () => {
    expect((await rest(keyed, 'PUT', ITEM, { format: 'yaml', secret: true })).status).toBe(200);
    const published = await rest(keyed, 'POST', `${ITEM}/publish`, { content: 'password: hunter2\n' });
    expect(published.status).toBe(201);
    expect(published.body['content']).toBe('******');
    const stored = await etcdctl(['get', '--print-value-only', '/cairn/config/prod/payments/db.yaml'], {
      endpoints: keyed,
    });
    expect(stored.stdout).toMatch(/^cairn-secret:v1:k1:/);
    expect(stored.stdout).not.toContain('hunter2');
    expect((await rest(keyed, 'GET', ITEM)).body).toMatchObject({ secret: true, content: '******' });
    expect((await rest(keyed, 'GET', `${ITEM}?reveal=true`)).body['content']).toBe('password: hunter2\n');
    const history = await rest(keyed, 'GET', `${ITEM}/releases`);
    expect(JSON.stringify(history.body)).not.toContain('hunter2');
  });

  it('without a key file, marking an item secret is a 400 that names the flag', async () => {
    const answer = await rest(plain, 'PUT', ITEM, { format: 'yaml', secret: true });
    expect(answer.status).toBe(400);
    expect(String(answer.body['message'])).toMatch(/--config-encryption-key-file/);
  });
});
