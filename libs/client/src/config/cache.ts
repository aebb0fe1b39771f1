// The subscriber's local cache file: the last applied config, written atomically (temp file + rename)
// after every applied change, read at start when the server cannot be reached.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppliedConfig, ConfigCacheFile } from './types';

export function cacheFilePath(dir: string, ns: string, app: string, labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
  const tag = createHash('sha256').update(sorted).digest('hex').slice(0, 10);
  return join(dir, `${ns}.${app}.${tag}.json`);
}

export function readCache(file: string): ConfigCacheFile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as ConfigCacheFile;
    return parsed.kind === 'cairn.config.cache' && Array.isArray(parsed.items) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Writes are serialized; a write asked for while one runs is coalesced into one more write. */
export class CacheWriter {
  private running: Promise<void> | undefined;
  private pending: ConfigCacheFile | undefined;
  private seq = 0;

  constructor(private readonly file: string) {
    try {
      mkdirSync(join(file, '..'), { recursive: true });
    } catch {
      // reported on the first write
    }
  }

  save(content: ConfigCacheFile): void {
    this.pending = content;
    if (!this.running) this.running = this.drain();
  }

  /** Resolves when everything asked so far is on disk. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const content = this.pending;
        this.pending = undefined;
        const tmp = `${this.file}.${process.pid}.${this.seq++}.tmp`;
        await mkdir(join(this.file, '..'), { recursive: true });
        await writeFile(tmp, JSON.stringify(content));
        await rename(tmp, this.file);
      }
    } catch {
      // A cache that cannot be written only costs the offline start; the subscription goes on.
    } finally {
      this.running = undefined;
    }
  }
}

export function toCache(
  ns: string,
  app: string,
  labels: Record<string, string>,
  revision: number,
  items: Iterable<AppliedConfig>,
): ConfigCacheFile {
  return {
    kind: 'cairn.config.cache',
    namespace: ns,
    app,
    labels,
    revision,
    savedAt: new Date().toISOString(),
    items: [...items],
  };
}
