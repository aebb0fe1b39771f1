// bcrypt is meant to be slow (~70 ms of CPU at cost 10 here), and Authenticate needs no credentials: a flood
// of password checks must not starve the member's Raft loop and clients. At most `concurrency` hashes run at
// once; up to `queueLimit` more wait; beyond that a request is refused at once with etcd's "too many
// requests" (ResourceExhausted), which clients retry.
import { etcdError } from '@cairn/api';

export class PasswordGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly concurrency = 2,
    private readonly queueLimit = 128,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueLimit) throw etcdError('too-many-requests');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      // Hand the slot to the next in line (it keeps `running` as is), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Hashes running and waiting now (tests, metrics). */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}
