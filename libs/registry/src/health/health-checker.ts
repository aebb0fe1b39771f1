// Server-side health checks. Only the leader runs them: it follows every instance record that asks for a
// check (a range of the registry root, then a watch), probes each on its interval, damps flapping
// (failures_before_critical, successes_before_passing), writes the instance's health when it changes,
// and deregisters an instance that stayed critical for deregister_critical_after_ms. On losing
// leadership it stops; the new leader starts from the health stored in the records. Leadership, the range
// and the watch all come from the member's EtcdPort (registry.port).
import { type Logger, type PortWatch, type WatchResponse, internalContext } from '@cairn/server';
import { prefixRange } from '../kv';
import type { HealthCheckSpec, HealthStatus, StoredInstance } from '../model';
import { tryParse } from '../records';
import type { Registry } from '../registry';
import { DEFAULT_PROBES, type Probe } from './probes';

interface CheckState {
  key: string;
  record: StoredInstance;
  spec: string;
  timer?: NodeJS.Timeout;
  failures: number;
  successes: number;
  criticalSince?: number;
  busy: boolean;
}

export interface HealthCheckerOptions {
  logger?: Logger;
  probes?: Partial<Record<HealthCheckSpec['type'], Probe>>;
  now?: () => number;
}

const NO_CHECK = Buffer.from(',"check":null}');

/** A record the registry wrote (JSON.stringify, `check` its last field) that asks for no health check. */
function withoutCheck(value: Uint8Array): boolean {
  if (value.length < NO_CHECK.length) return false;
  return Buffer.from(value.buffer, value.byteOffset + value.length - NO_CHECK.length, NO_CHECK.length).equals(
    NO_CHECK,
  );
}

export class HealthChecker {
  private readonly checks = new Map<string, CheckState>();
  private running = false;
  private watcher?: PortWatch;
  private stopLeaderListener?: () => void;
  private generation = 0;
  private readonly probes: Record<HealthCheckSpec['type'], Probe>;
  private readonly now: () => number;

  constructor(
    private readonly registry: Registry,
    private readonly options: HealthCheckerOptions = {},
  ) {
    this.probes = { ...DEFAULT_PROBES, ...options.probes };
    this.now = options.now ?? Date.now;
  }

  /** Follows leadership: checks run while this member leads. */
  start(): void {
    this.stopLeaderListener = this.registry.port.member.onLeaderChange(() => this.sync());
    this.sync();
  }

  close(): void {
    this.stopLeaderListener?.();
    this.stopChecks();
  }

  /** Instances with a running check (for tests and metrics). */
  get active(): number {
    return this.checks.size;
  }

  get isRunning(): boolean {
    return this.running;
  }

  private sync(): void {
    const leader = this.registry.port.member.isLeader();
    if (leader && !this.running) void this.startChecks();
    else if (!leader && this.running) this.stopChecks();
  }

  private async startChecks(): Promise<void> {
    this.running = true;
    const generation = ++this.generation;
    this.options.logger?.info({}, 'registry: this member leads; health checks start');
    try {
      const root = this.registry.keys.root;
      // A leader's duty no client asked for: it reads every namespace and writes health changes.
      const ctx = internalContext();
      const { kvs, revision } = await this.registry.port.range(ctx, {
        ...prefixRange(root),
        serializable: true,
      });
      if (generation !== this.generation) return;
      for (const kv of kvs) this.upsert(kv.key.toString(), tryParse(kv));
      this.watcher = this.registry.port.watch(
        ctx,
        { ...prefixRange(root), startRevision: revision + 1 },
        (response) => this.onChanges(response, generation),
      );
    } catch (err) {
      this.options.logger?.warn({ err }, 'registry: health checks could not start; retrying');
      if (generation === this.generation) {
        this.stopChecks();
        setTimeout(() => this.sync(), 1000).unref();
      }
    }
  }

  private stopChecks(): void {
    if (this.running) this.options.logger?.info({}, 'registry: health checks stop (not the leader)');
    this.running = false;
    this.generation++;
    this.watcher?.cancel();
    this.watcher = undefined;
    for (const state of this.checks.values()) clearTimeout(state.timer);
    this.checks.clear();
  }

  private onChanges(response: WatchResponse, generation: number): boolean {
    if (generation !== this.generation) return true;
    if (response.compactRevision !== undefined) {
      // Missed changes: rebuild from a fresh range.
      this.stopChecks();
      this.sync();
      return true;
    }
    for (const event of response.events) {
      const key = event.kv.key.toString();
      // Naming entries and session keys (`<ns>/~naming/`, `<ns>/~sessions/`) are never instance records.
      if (key.includes('/~')) continue;
      if (event.type === 'delete' || withoutCheck(event.kv.value)) {
        // Most instances ask for no check: their records need no parse here (one per change, on the leader).
        if (this.checks.has(key)) this.upsert(key, undefined);
        continue;
      }
      this.upsert(key, tryParse(event.kv));
    }
    return true;
  }

  private upsert(key: string, record: StoredInstance | undefined): void {
    const existing = this.checks.get(key);
    if (!record?.check) {
      if (existing) {
        clearTimeout(existing.timer);
        this.checks.delete(key);
      }
      return;
    }
    const spec = JSON.stringify(record.check);
    if (existing && existing.spec === spec) {
      existing.record = record;
      return;
    }
    if (existing) clearTimeout(existing.timer);
    const state: CheckState = { key, record, spec, failures: 0, successes: 0, busy: false };
    if (record.health.status === 'critical') state.criticalSince = this.now();
    this.checks.set(key, state);
    this.schedule(state, 0);
  }

  private schedule(state: CheckState, delayMs: number): void {
    state.timer = setTimeout(() => void this.run(state), delayMs);
    state.timer.unref();
  }

  private async run(state: CheckState): Promise<void> {
    const generation = this.generation;
    if (this.checks.get(state.key) !== state || state.busy) return;
    const check = state.record.check!;
    state.busy = true;
    try {
      const result = await this.probes[check.type](state.record, check);
      if (generation !== this.generation || this.checks.get(state.key) !== state) return;
      const current = state.record.health.status;
      let next: HealthStatus = current;
      if (result.ok) {
        state.successes++;
        state.failures = 0;
        if (current !== 'passing' && state.successes >= check.successes_before_passing) next = 'passing';
      } else {
        state.failures++;
        state.successes = 0;
        if (state.failures >= check.failures_before_critical) next = 'critical';
        else if (current === 'passing') next = 'warning';
      }
      if (next === 'critical') state.criticalSince ??= this.now();
      else state.criticalSince = undefined;
      if (next !== current) {
        const health = {
          status: next,
          reason: result.reason,
          checked_at: new Date(this.now()).toISOString(),
        };
        const { namespace, service, id } = state.record;
        state.record = { ...state.record, health };
        await this.registry.setHealth(internalContext(), { namespace, service, id }, health);
        this.options.logger?.info(
          { key: state.key, from: current, to: next, reason: result.reason },
          'registry: health changed',
        );
      }
      const deregisterAfter = check.deregister_critical_after_ms;
      if (
        next === 'critical' &&
        deregisterAfter > 0 &&
        this.now() - state.criticalSince! >= deregisterAfter
      ) {
        const { namespace, service, id } = state.record;
        this.options.logger?.info(
          { key: state.key },
          'registry: deregistering an instance critical for too long',
        );
        // Deregistering a critical instance past its deadline is the check's own duty too.
        await this.registry.deregister(internalContext(), { namespace, service, id }).catch(() => undefined);
        return;
      }
    } catch (err) {
      this.options.logger?.warn({ err, key: state.key }, 'registry: health check round failed');
    } finally {
      state.busy = false;
      if (generation === this.generation && this.checks.get(state.key) === state) {
        this.schedule(state, check.interval_ms);
      }
    }
  }
}
