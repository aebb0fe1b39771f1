// Session mode's registrations, batched: the register() calls of one event-loop turn (or of batchDelayMs)
// on the same session and namespace go out as ONE Registry.RegisterBatch, which the server writes in txns of
// up to 128 instances (--max-txn-ops; 64 with etcd naming entries), one Raft entry each, instead of a txn
// and an entry per instance. Each caller gets its own answer: its registration, or its instance's own error
// (a gRPC-style error with `code`).
import type { EtcdClient } from '../etcd/client';
import type { RegistryInstance } from './types';

export interface RegisterResponse {
  instance: RegistryInstance;
  lease: string;
  ttl: number;
  revision: string;
}

interface BatchResult {
  registered?: RegisterResponse | null;
  code?: number;
  error?: string;
}

interface Pending {
  instance: object;
  resolve(response: RegisterResponse): void;
  reject(err: Error): void;
}

const SERVICE = 'cairn.registry.v1.Registry';
/** Instances one call carries at most (the server takes 10,000; smaller calls keep a slow one short). */
export const MAX_CALL_BATCH = 1000;

export class RegisterBatcher {
  private readonly queues = new Map<string, { namespace: string; session: bigint; items: Pending[] }>();
  private scheduled = false;

  constructor(
    private readonly client: EtcdClient,
    /** 0 = the same turn (setImmediate); else a window of this many ms. */
    private readonly batchDelayMs = 0,
  ) {}

  /** Registers `instance` (a Registry instance message) on `session`, in the next batch. */
  register(namespace: string, session: bigint, instance: object): Promise<RegisterResponse> {
    return new Promise((resolve, reject) => {
      const key = `${session}/${namespace}`;
      let queue = this.queues.get(key);
      if (!queue) this.queues.set(key, (queue = { namespace, session, items: [] }));
      queue.items.push({ instance, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      const flush = () => {
        this.scheduled = false;
        this.flush();
      };
      if (this.batchDelayMs > 0) setTimeout(flush, this.batchDelayMs);
      else setImmediate(flush);
    });
  }

  private flush(): void {
    const queues = [...this.queues.values()];
    this.queues.clear();
    for (const { namespace, session, items } of queues) {
      for (let i = 0; i < items.length; i += MAX_CALL_BATCH) {
        void this.send(namespace, session, items.slice(i, i + MAX_CALL_BATCH));
      }
    }
  }

  private async send(namespace: string, session: bigint, items: Pending[]): Promise<void> {
    let results: BatchResult[];
    try {
      ({ results } = await this.client.call<object, { results: BatchResult[] }>(SERVICE, 'RegisterBatch', {
        namespace,
        session: session.toString(),
        instances: items.map((item) => item.instance),
      }));
    } catch (err) {
      // The whole call failed (unreachable, refused, the session gone: NOT_FOUND): every caller sees it.
      for (const item of items) item.reject(err as Error);
      return;
    }
    items.forEach((item, i) => {
      const result = results[i];
      if (result?.registered) item.resolve(result.registered);
      else {
        const message = result?.error || 'no answer for this instance';
        item.reject(Object.assign(new Error(message), { code: result?.code ?? 13, details: message }));
      }
    });
  }
}
