// The registry's instances by health and the config center's new releases, as this member's store holds
// them, for the metrics history (metrics-sampler.ts). Kept current by one internal watch over both roots
// (one range first for the instances), so a sample reads two numbers instead of scanning the keyspace.
import { prefixEnd } from '@cairn/api';
import {
  type EtcdPort,
  type Logger,
  type PortWatch,
  type WatchResponse,
  internalContext,
} from '@cairn/server';
import type { FeatureCounts } from './metrics-sampler';

type Health = 'passing' | 'warning' | 'critical';

const RETRY_MS = 1000;

export interface FeatureRoots {
  /** The registry's root (Registry.keys.root) and its parser of instance record keys. */
  registryRoot: string;
  isInstanceKey(key: string): boolean;
  /** The config center's root (CONFIG_ROOT). */
  configRoot: string;
}

export class KeyspaceFeatureCounts implements FeatureCounts {
  private readonly health = new Map<string, Health>();
  private readonly counts = { passing: 0, warning: 0, critical: 0 };
  private publishes = 0;
  private watch?: PortWatch;
  private generation = 0;
  private closed = false;

  constructor(
    private readonly port: EtcdPort,
    private readonly roots: FeatureRoots,
    private readonly logger?: Logger,
  ) {}

  instances(): { passing: number; warning: number; critical: number } {
    return { ...this.counts };
  }

  configPublishes(): number {
    return this.publishes;
  }

  /** Reads the instances, then follows changes (again from a fresh read after a compaction). */
  async start(): Promise<void> {
    const generation = ++this.generation;
    this.watch?.cancel();
    const ctx = internalContext();
    const { registryRoot, configRoot } = this.roots;
    try {
      const { kvs, revision } = await this.port.range(ctx, {
        key: Buffer.from(registryRoot),
        rangeEnd: prefixEnd(Buffer.from(registryRoot)),
        serializable: true,
      });
      if (generation !== this.generation || this.closed) return;
      this.health.clear();
      this.counts.passing = this.counts.warning = this.counts.critical = 0;
      for (const kv of kvs) this.upsert(kv.key.toString(), kv.value);
      // One watcher for both roots: the range from the lower root to the end of the higher one.
      const [low, high] = registryRoot < configRoot ? [registryRoot, configRoot] : [configRoot, registryRoot];
      this.watch = this.port.watch(
        ctx,
        { key: Buffer.from(low), rangeEnd: prefixEnd(Buffer.from(high)), startRevision: revision + 1 },
        (response) => this.onChanges(response, generation),
      );
    } catch (err) {
      if (this.closed || generation !== this.generation) return;
      this.logger?.warn({ err }, 'metrics history: registry and config counts could not start; retrying');
      setTimeout(() => void this.start(), RETRY_MS).unref();
    }
  }

  close(): void {
    this.closed = true;
    this.generation++;
    this.watch?.cancel();
  }

  private onChanges(response: WatchResponse, generation: number): boolean {
    if (generation !== this.generation) return true;
    if (response.compactRevision !== undefined) {
      setImmediate(() => void this.start());
      return true;
    }
    for (const event of response.events) {
      const key = event.kv.key.toString();
      if (key.startsWith(this.roots.registryRoot)) {
        this.upsert(key, event.type === 'delete' ? undefined : event.kv.value);
      } else if (
        key.startsWith(this.roots.configRoot) &&
        event.type === 'put' &&
        event.kv.version === 1 &&
        key.includes('/~release/')
      ) {
        this.publishes++; // a release record is written once, when the release is made
      }
    }
    return true;
  }

  private upsert(key: string, value: Uint8Array | undefined): void {
    if (!this.roots.isInstanceKey(key)) return;
    const before = this.health.get(key);
    if (before) this.counts[before]--;
    const after = value === undefined ? undefined : healthOf(value);
    if (after) {
      this.health.set(key, after);
      this.counts[after]++;
    } else this.health.delete(key);
  }
}

function healthOf(value: Uint8Array): Health | undefined {
  try {
    const record = JSON.parse(Buffer.from(value).toString('utf8')) as { health?: { status?: unknown } };
    const status = record.health?.status;
    return status === 'passing' || status === 'warning' || status === 'critical' ? status : 'warning';
  } catch {
    return undefined;
  }
}
