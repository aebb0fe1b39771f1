// Leases for listener records: one per member for subscribers with an open stream (kept alive while the
// member runs, so a dead member's listeners vanish after the TTL), and short shared ones for subscribers
// that only report (long-poll), renewed by reporting.
import { type EtcdPort, type Logger, internalContext } from '@cairn/server';

const POLLER_TTL_SECONDS = 120;
/** A poller lease is reused for this long, then a fresh one is granted (the old one lapses on its own). */
const POLLER_ROTATE_MS = 30_000;
/** How long close() waits for the member lease's revoke. */
const REVOKE_ON_CLOSE_MS = 1000;

export class ListenerLeases {
  private member: Promise<bigint> | undefined;
  private poller: { id: Promise<bigint>; grantedAt: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly port: EtcdPort,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
    /** Called after the member lease was found gone (its records went with it): put them back. */
    private readonly onMemberLeaseLost: () => void = () => undefined,
  ) {}

  // Every lease call is the member's own duty (a subscriber's request only decides which lease it uses).
  private async grant(ttl: number): Promise<bigint> {
    return (await this.port.leaseGrant(internalContext(), { ttl })).id;
  }

  memberLease(): Promise<bigint> {
    if (!this.member) {
      const granted = this.grant(this.ttlSeconds);
      this.member = granted;
      granted.then(
        () => this.keepAlive(),
        () => {
          if (this.member === granted) this.member = undefined;
        },
      );
    }
    return this.member;
  }

  private keepAlive(): void {
    if (this.timer || this.closed) return;
    const period = Math.max(1000, (this.ttlSeconds * 1000) / 3);
    this.timer = setInterval(() => {
      const current = this.member;
      if (!current) return;
      current
        .then((id) => this.port.leaseKeepAlive(internalContext(), id))
        .then((ttl) => {
          // TTL 0: the lease is gone (e.g. expired during a long partition): grant a new one next time.
          if (ttl <= 0 && this.member === current) {
            this.member = undefined;
            this.onMemberLeaseLost();
          }
        })
        .catch((err: unknown) => this.logger.debug({ err }, 'config listener lease keep-alive failed'));
    }, period);
    this.timer.unref();
  }

  pollerLease(): Promise<bigint> {
    const now = Date.now();
    if (!this.poller || now - this.poller.grantedAt > POLLER_ROTATE_MS) {
      const id = this.grant(POLLER_TTL_SECONDS);
      const entry = { id, grantedAt: now };
      this.poller = entry;
      id.catch(() => {
        if (this.poller === entry) this.poller = undefined;
      });
    }
    return this.poller.id;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const member = this.member;
    this.member = undefined;
    if (!member) return;
    // Best effort and bounded: without a quorum the revoke would wait for its proposal to time out; the
    // lease lapses by itself after its TTL anyway.
    try {
      const id = await member;
      await this.port.leaseRevoke(internalContext({ deadline: Date.now() + REVOKE_ON_CLOSE_MS }), id);
    } catch {
      // shutting down: the lease lapses by itself
    }
  }
}
