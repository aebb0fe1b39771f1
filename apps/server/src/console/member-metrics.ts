// The console's charts: one member's metrics history (GET /api/metrics/v1/history on every member). The
// member serving the console answers for itself from memory and asks the others over their client URLs, as
// the cluster page does (member-http.ts), forwarding the user's Authorization header so each member checks
// the user itself when auth is enabled.
import type { MemberMetricsHistory, MetricsHistory } from '../metrics-history/history-types';
import { type MemberDialOptions, memberJson } from './member-http';

const HISTORY_TIMEOUT_MS = 1500;

/** The members as the console's member sees them (cluster-overview.ts passes the node's list). */
export interface KnownMembers {
  selfId: bigint;
  list(): ReadonlyArray<{ id: bigint; clientUrls: readonly string[] }>;
}

export async function memberMetricsHistory(
  members: KnownMembers,
  local: (since: number) => MetricsHistory,
  memberId: string,
  since: number,
  authorization: string | undefined,
  dial?: MemberDialOptions,
): Promise<MemberMetricsHistory | undefined> {
  const member = members.list().find((m) => m.id.toString(16).padStart(16, '0') === memberId);
  if (!member) return undefined;
  if (member.id === members.selfId) return { memberId, history: local(since) };
  const url = member.clientUrls[0];
  if (!url) return { memberId, error: 'no client URL yet' };
  try {
    const target = new URL('/api/metrics/v1/history', url);
    target.searchParams.set('since', String(since));
    const res = await memberJson(target, {
      timeoutMs: HISTORY_TIMEOUT_MS,
      dial,
      headers: authorization ? { authorization } : {},
    });
    if (res.status !== 200) {
      const message = (res.body as { message?: unknown } | null)?.message;
      return { memberId, error: `HTTP ${res.status}${typeof message === 'string' ? `: ${message}` : ''}` };
    }
    return { memberId, history: res.body as MetricsHistory };
  } catch (err) {
    return { memberId, error: `unreachable: ${err instanceof Error ? err.message : String(err)}` };
  }
}
