// The config center reaches the core only through the EtcdPort (issue 13): no source file imports a
// member's internals (CairnNode, EtcdApis) or reaches for node.kv / node.watchable / node.leases.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.join(__dirname, '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.join(dir, e.name)]
        : [],
  );
}

describe('libs/config uses only the EtcdPort', () => {
  it("no source file names CairnNode or EtcdApis, or a member's kv/watchable/leases", () => {
    const offenders = sources(SRC).flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      return [/\bCairnNode\b/, /\bEtcdApis\b/, /\bnode\.(kv|watchable|leases)\b/]
        .filter((re) => re.test(text))
        .map((re) => `${path.relative(SRC, file)}: ${re.source}`);
    });
    expect(offenders).toEqual([]);
  });
});
