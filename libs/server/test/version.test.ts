// Cairn's release has one source, the repository's root package.json; the etcd API level is a constant.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAIRN_VERSION, ETCD_API_VERSION, ETCD_CLUSTER_VERSION } from '../src/version';

describe('version', () => {
  it("CAIRN_VERSION is the root package.json's version", () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    expect(pkg.name).toBe('cairn');
    expect(CAIRN_VERSION).toBe(pkg.version);
  });

  it('reports the etcd 3.5 API level', () => {
    expect(ETCD_API_VERSION).toBe('3.5.0');
    expect(ETCD_CLUSTER_VERSION).toBe('3.5.0');
  });
});
