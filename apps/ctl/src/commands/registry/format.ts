// How registry instances and watch events read on a terminal (table columns and one-line events).
import type { Column } from '../../command';
import type { Instance, RegistryWatchEvent } from './api';

export const address = (i: Instance): string => `${i.address.scheme}://${i.address.host}:${i.address.port}`;

export const INSTANCE_COLUMNS: Column<Instance>[] = [
  { header: 'service', get: (i) => i.service, align: 'left' },
  { header: 'id', get: (i) => i.id, align: 'left' },
  { header: 'address', get: address, align: 'left' },
  { header: 'status', get: (i) => i.status, align: 'left' },
  { header: 'health', get: (i) => i.health.status, align: 'left' },
  { header: 'zone', get: (i) => i.zone, align: 'left' },
  { header: 'version', get: (i) => i.version, align: 'left' },
  { header: 'weight', get: (i) => i.weight },
  { header: 'ttl', get: (i) => i.ttl },
  { header: 'last heartbeat', get: (i) => i.last_heartbeat, align: 'left' },
];

/** One instance as `KEY: value` lines (`registry get` in table/simple). */
export function describeInstance(i: Instance): string {
  const lines: [string, unknown][] = [
    ['namespace', i.namespace],
    ['service', i.service],
    ['id', i.id],
    ['address', address(i)],
    ['status', i.status],
    ['health', `${i.health.status}${i.health.reason ? ` (${i.health.reason})` : ''}`],
    ['tags', i.tags.join(',')],
    [
      'metadata',
      Object.entries(i.metadata)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    ],
    ['zone', i.zone],
    ['version', i.version],
    ['weight', i.weight],
    ['lease', `${i.lease} (ttl ${i.ttl}s)`],
    ['registered', `${i.registered_at}${i.registered_by ? ` by ${i.registered_by}` : ''}`],
    ['last heartbeat', i.last_heartbeat],
    ['check', i.check ? JSON.stringify(i.check) : ''],
    ['mod revision', i.mod_revision],
  ];
  return lines.map(([k, v]) => `${k}: ${String(v)}\n`).join('');
}

function eventLine(type: string, i: Instance, revision: string): string {
  return `${type} ${i.namespace}/${i.service}/${i.id} ${address(i)} status=${i.status} health=${i.health.status} rev=${revision}\n`;
}

/** A watch event as lines: `ADDED ns/service/id scheme://host:port status=UP health=passing rev=N`. */
export function watchLines(event: RegistryWatchEvent): string {
  if (event.type === 'snapshot') {
    const instances = event.instances ?? [];
    if (instances.length === 0) return `SNAPSHOT (no instances) rev=${event.revision}\n`;
    return instances.map((i) => eventLine('SNAPSHOT', i, event.revision)).join('');
  }
  return event.instance ? eventLine(event.type.toUpperCase(), event.instance, event.revision) : '';
}
