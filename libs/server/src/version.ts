// The versions Cairn reports. `ETCD_API_VERSION` is the etcd API level it speaks, reported where etcd clients
// expect an etcd version (Status, /version, etcd_server_version), so they enable the features of that level;
// `CAIRN_VERSION` is the release itself (/version's `cairn`, `--version`, the OpenAPI document, a metric).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The repository's root package.json is the one place the release version is written: both this file
 * (libs/server/src, under vitest) and its build (libs/server/dist) sit three directories below it.
 */
function readCairnVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as {
      name?: unknown;
      version?: unknown;
    };
    if (pkg.name === 'cairn' && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // A relocated build without the repository around it: say so rather than fail to start.
  }
  return '0.0.0-unknown';
}

export const CAIRN_VERSION = readCairnVersion();
export const ETCD_API_VERSION = '3.5.0';
export const ETCD_CLUSTER_VERSION = '3.5.0';
