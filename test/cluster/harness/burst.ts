// Many puts as fast as `concurrency` parallel callers allow, through one member: to fill the Raft log (and
// make the leader snapshot and compact it) in seconds. Each put is retried until acknowledged.
import type { Etcd3 } from 'etcd3';
import { sleep } from '../../support';
import type { Ack } from './write-load';

export async function writeBurst(
  client: Etcd3,
  options: { prefix: string; count: number; concurrency: number; endpoint: string; deadlineMs?: number },
): Promise<Ack[]> {
  const acks: Ack[] = [];
  let next = 0;
  const caller = async (lane: number) => {
    for (let seq = next++; seq < options.count; seq = next++) {
      const key = `${options.prefix}${String(seq).padStart(7, '0')}`;
      for (let attempt = 0; ; attempt++) {
        const value = `burst:${seq}:a${attempt}`;
        const invokedAt = performance.now();
        try {
          const response = await client
            .put(key)
            .value(value)
            .options({ deadline: Date.now() + (options.deadlineMs ?? 5000) });
          acks.push({
            writer: `burst-${lane}`,
            endpoint: options.endpoint,
            key,
            value,
            revision: BigInt(response.header.revision),
            invokedAt,
            ackedAt: performance.now(),
          });
          break;
        } catch (error) {
          if (attempt >= 20) throw new Error(`put ${key} failed ${attempt + 1} times`, { cause: error });
          await sleep(50);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, lane) => caller(lane)));
  return acks;
}
