// Workload names of the compare command: put<N> (N clients putting), get-l<N> / get-s<N>
// (N clients doing linearizable / serializable single-key reads).

import { UsageError } from '../cli/flags';

export type CompareWorkload =
  | { name: string; kind: 'put'; clients: number }
  | { name: string; kind: 'range'; clients: number; consistency: 'l' | 's' };

export function parseWorkloadName(name: string): CompareWorkload {
  const put = /^put(\d+)$/.exec(name);
  if (put) return { name, kind: 'put', clients: positive(put[1], name) };
  const get = /^get-([ls])(\d+)$/.exec(name);
  if (get) return { name, kind: 'range', clients: positive(get[2], name), consistency: get[1] as 'l' | 's' };
  throw new UsageError(`unknown workload "${name}": use put<N>, get-l<N> or get-s<N> (e.g. put64, get-s64)`);
}

function positive(digits: string, name: string): number {
  const clients = Number(digits);
  if (clients < 1) throw new UsageError(`workload "${name}" needs at least one client`);
  return clients;
}

export function describeWorkload(workload: CompareWorkload): string {
  if (workload.kind === 'put') return `put, ${workload.clients} in flight`;
  const consistency = workload.consistency === 'l' ? 'linearizable' : 'serializable';
  return `${consistency} get, ${workload.clients} in flight`;
}
