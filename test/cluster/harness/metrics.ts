// Reads Prometheus text from a member's /metrics.
import type { Member } from '../../support';

export interface Sample {
  labels: string;
  value: number;
}

/** Every sample of `name` (exact metric name, any labels) the member reports now. */
export async function metricSamples(member: Member, name: string): Promise<Sample[]> {
  const response = await fetch(`${member.clientUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`${member.name} /metrics answered ${response.status}`);
  const text = await response.text();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match === null || match[1] !== name) continue;
    samples.push({ labels: match[2] ?? '', value: Number(match[3]) });
  }
  return samples;
}

/** Sum of every sample of `name` (0 when the member does not report it). */
export async function metricSum(member: Member, name: string): Promise<number> {
  return (await metricSamples(member, name)).reduce((sum, s) => sum + s.value, 0);
}
