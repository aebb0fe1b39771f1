// Cluster alarms (NOSPACE, CORRUPT): raised and cleared through Raft, persisted in the 'alarm' bucket.
// While NOSPACE is active, requests that would grow the store are refused.
import type { Backend, BackendBatch } from '@cairn/storage';

export enum AlarmKind {
  None = 0,
  NoSpace = 1,
  Corrupt = 2,
}

export interface Alarm {
  memberId: bigint;
  alarm: AlarmKind;
}

function alarmKey(alarm: Alarm): Buffer {
  const key = Buffer.alloc(9);
  key.writeBigUInt64BE(alarm.memberId, 0);
  key.writeUInt8(alarm.alarm, 8);
  return key;
}

export class AlarmStore {
  private readonly active = new Map<string, Alarm>();

  static async load(backend: Backend): Promise<AlarmStore> {
    const store = new AlarmStore();
    for await (const [key] of backend.iterate('alarm')) {
      const alarm = { memberId: key.readBigUInt64BE(0), alarm: key.readUInt8(8) as AlarmKind };
      store.active.set(key.toString('hex'), alarm);
    }
    return store;
  }

  list(): Alarm[] {
    return [...this.active.values()];
  }

  has(kind: AlarmKind): boolean {
    return this.list().some((alarm) => alarm.alarm === kind);
  }

  activate(alarm: Alarm, batch: BackendBatch): boolean {
    const key = alarmKey(alarm);
    if (this.active.has(key.toString('hex'))) return false;
    this.active.set(key.toString('hex'), alarm);
    batch.put('alarm', key, Buffer.alloc(0));
    return true;
  }

  deactivate(alarm: Alarm, batch: BackendBatch): boolean {
    const key = alarmKey(alarm);
    if (!this.active.delete(key.toString('hex'))) return false;
    batch.del('alarm', key);
    return true;
  }
}
