// The console's cluster page: every member's role, health, term, indexes, db size and alarms. The member
// asked reports itself from memory and asks the others over their client URLs with etcd's own endpoints
// (JSON gateway Maintenance/Status and /health), so the view also works for members of another version.
// The one console file that sees the CairnNode: for its status, members, alarms and whether auth is enabled
// only; revisions come from the EtcdPort (the import test in libs/server/test/feature-imports.test.ts holds it
// to that).
import type { CairnNode, EtcdPort } from '@cairn/server';
import { AlarmKind } from '@cairn/server';
import type { ClusterOverview, ConsoleAlarm, ConsoleMember, MemberRole } from './console-types';
import { withTimeout } from './key-browser';
import { type MemberDialOptions, memberJson } from './member-http';
import { memberMetricsHistory } from './member-metrics';
import type { MemberMetricsHistory, MetricsHistory } from '../metrics-history/history-types';

const STATUS_TIMEOUT_MS = 1500;
const HEALTH_TIMEOUT_MS = 2500;

const hex = (id: bigint): string => id.toString(16).padStart(16, '0');

/** What the console knows of its member beyond the EtcdPort: the cluster page and the request size limit. */
export interface ConsoleMemberInfo {
  overview(): Promise<ClusterOverview>;
  /** --max-request-bytes: the largest body the console accepts. */
  readonly maxRequestBytes: number;
  /** Whether etcd auth is enabled now (the console then needs a login, and may be served to remote clients). */
  authEnabled(): boolean;
  /** One member's metrics history for the charts (member-metrics.ts); undefined for an unknown member. */
  metricsHistory(
    memberId: string,
    since: number,
    authorization: string | undefined,
  ): Promise<MemberMetricsHistory | undefined>;
}

export function consoleMemberInfo(
  node: CairnNode,
  port: EtcdPort,
  dial?: MemberDialOptions,
  /** This member's own history (metrics-history/metrics-sampler.ts). */
  localHistory?: (since: number) => MetricsHistory,
): ConsoleMemberInfo {
  return {
    overview: () => clusterOverview(node, port, dial),
    metricsHistory: (memberId, since, authorization) =>
      localHistory
        ? memberMetricsHistory(
            { selfId: node.memberId, list: () => node.members.list() },
            localHistory,
            memberId,
            since,
            authorization,
            dial,
          )
        : Promise.resolve(undefined),
    maxRequestBytes: node.config.maxRequestBytes,
    authEnabled: () => node.auth.isEnabled(),
  };
}

export async function clusterOverview(
  node: CairnNode,
  port: EtcdPort,
  /** TLS material for members' https client URLs (the member's own: client-edge.ts). */
  dial?: MemberDialOptions,
): Promise<ClusterOverview> {
  const status = node.status();
  const leader = status.leader === 0n ? null : hex(status.leader);
  const members = await Promise.all(
    node.members.list().map(async (member): Promise<ConsoleMember> => {
      const base = {
        id: hex(member.id),
        name: member.name,
        peerUrls: member.peerUrls,
        clientUrls: member.clientUrls,
        isLearner: member.isLearner,
        errors: [] as string[],
        self: member.id === node.memberId,
      };
      const knownRole: MemberRole = member.isLearner
        ? 'learner'
        : leader === null
          ? 'unknown'
          : member.id === status.leader
            ? 'leader'
            : 'follower';
      if (base.self) {
        const reason = await localUnhealthyReason(node);
        return {
          ...base,
          role: status.isLearner ? 'learner' : node.isLeader() ? 'leader' : leader ? 'follower' : 'unknown',
          reachable: true,
          healthy: reason === undefined,
          reason,
          raftTerm: status.term,
          commitIndex: status.commitIndex,
          appliedIndex: status.appliedIndex,
          dbSize: node.dbSizeBytes,
          dbSizeInUse: node.dbSizeBytes,
          dbSizeQuota: node.config.quotaBackendBytes,
          errors: alarmsOf(node)
            .filter((a) => a.memberId === base.id)
            .map((a) => a.alarm),
        };
      }
      const url = member.clientUrls[0];
      if (!url)
        return { ...base, role: knownRole, reachable: false, healthy: null, reason: 'no client URL yet' };
      const [remote, health] = await Promise.all([remoteStatus(url, dial), remoteHealth(url, dial)]);
      if (!remote.ok) {
        return {
          ...base,
          role: knownRole,
          reachable: false,
          healthy: null,
          reason: `unreachable: ${remote.error}`,
        };
      }
      const s = remote.body;
      const remoteLeader = str(s['leader']);
      const header = (s['header'] ?? {}) as Record<string, unknown>;
      const remoteId = str(header['member_id'] ?? header['memberId']);
      const isLearner = s['isLearner'] === true || s['is_learner'] === true;
      const role: MemberRole = isLearner
        ? 'learner'
        : remoteLeader && remoteLeader === remoteId
          ? 'leader'
          : remoteLeader && remoteLeader !== '0'
            ? 'follower'
            : knownRole;
      return {
        ...base,
        role,
        reachable: true,
        healthy: health.healthy,
        reason: health.reason,
        raftTerm: num(s['raftTerm'] ?? s['raft_term']),
        commitIndex: num(s['raftIndex'] ?? s['raft_index']),
        appliedIndex: num(s['raftAppliedIndex'] ?? s['raft_applied_index']),
        dbSize: num(s['dbSize'] ?? s['db_size']),
        dbSizeInUse: num(s['dbSizeInUse'] ?? s['db_size_in_use']),
        dbSizeQuota: num(s['dbSizeQuota'] ?? s['db_size_quota']),
        version: str(s['version']) || undefined,
        errors: Array.isArray(s['errors']) ? (s['errors'] as unknown[]).map(String) : [],
      };
    }),
  );
  return {
    clusterId: hex(node.clusterId),
    memberId: hex(node.memberId),
    leader,
    raftTerm: status.term,
    revision: port.revisions().current,
    compactRevision: port.revisions().compact,
    members,
    alarms: alarmsOf(node),
    at: Date.now(),
  };
}

function alarmsOf(node: CairnNode): ConsoleAlarm[] {
  return node.alarms.list().map((a) => ({
    memberId: hex(a.memberId),
    alarm: a.alarm === AlarmKind.NoSpace ? 'NOSPACE' : a.alarm === AlarmKind.Corrupt ? 'CORRUPT' : 'NONE',
  }));
}

/** The same verdict as GET /health on this member. */
export async function localUnhealthyReason(node: CairnNode): Promise<string | undefined> {
  if (!node.hasLeader()) return 'RAFT NO LEADER';
  if (node.alarms.list().length > 0) return 'ALARM ACTIVE';
  try {
    await withTimeout(node.linearizableReadBarrier(), 2000);
    return undefined;
  } catch {
    return 'QGET ERROR';
  }
}

async function remoteStatus(
  url: string,
  dial: MemberDialOptions | undefined,
): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; error: string }> {
  try {
    const res = await memberJson(new URL('/v3/maintenance/status', url), {
      method: 'POST',
      body: '{}',
      timeoutMs: STATUS_TIMEOUT_MS,
      dial,
    });
    if (res.status !== 200) return { ok: false, error: `HTTP ${res.status}` };
    return { ok: true, body: (res.body ?? {}) as Record<string, unknown> };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

async function remoteHealth(
  url: string,
  dial: MemberDialOptions | undefined,
): Promise<{ healthy: boolean | null; reason?: string }> {
  try {
    const res = await memberJson(new URL('/health', url), { timeoutMs: HEALTH_TIMEOUT_MS, dial });
    const body = (res.body ?? {}) as { health?: string; reason?: string };
    return body.health === 'true'
      ? { healthy: true }
      : { healthy: false, reason: body.reason ?? `HTTP ${res.status}` };
  } catch (err) {
    return { healthy: null, reason: err instanceof Error ? err.message : String(err) };
  }
}

function str(value: unknown): string {
  return value === undefined || value === null ? '' : String(value as string);
}

function num(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
