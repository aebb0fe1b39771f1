// A member that is behind on the log does not know the members added since its last applied entry, and
// would refuse their streams; if one of them leads, it would never catch up (etcd has the same gap on its
// stream transport and falls back to its pipeline one). So a frame from an unknown, not removed sender in
// the right cluster asks a member this one does know (its Membership service, as a member calls it) for
// the current member list, and accepts IDs that list names. Nothing more is trusted than the peers it
// already talks to: without peer TLS a frame's IDs are claims anyway; with mTLS the lookup is over TLS to a
// known peer URL. One lookup at a time, at most one per interval whatever the strangers send.
import type { NodeId } from '@cairn/raft';
import type { Logger } from '../logger';
import { describeGrpcError } from './errors';

/** The IDs of the current members as the member at `peerUrl` answers them. */
export type MemberListFetch = (peerUrl: string, timeoutMs: number) => Promise<NodeId[]>;

export interface MemberLookupDeps {
  fetch: MemberListFetch;
  /** The peer URLs of the members this one knows (asked in turn). */
  knownPeerUrls(): string[];
  logger: Logger;
  now: () => number;
  intervalMs?: number;
  timeoutMs?: number;
}

export class MemberLookup {
  private listed = new Set<NodeId>();
  private inFlight = false;
  private lastStartedAt = -Infinity;

  constructor(private readonly deps: MemberLookupDeps) {}

  /** Whether the last answer of a known member listed `id`. */
  listedByPeers(id: NodeId): boolean {
    return this.listed.has(id);
  }

  /** A frame came from `id`, whom this member does not know: look it up (rate-limited, in the background). */
  consider(id: NodeId): void {
    const now = this.deps.now();
    if (this.inFlight || now - this.lastStartedAt < (this.deps.intervalMs ?? 2_000)) return;
    this.inFlight = true;
    this.lastStartedAt = now;
    void this.lookUp(id).finally(() => {
      this.inFlight = false;
    });
  }

  private async lookUp(id: NodeId): Promise<void> {
    for (const url of this.deps.knownPeerUrls()) {
      try {
        const ids = await this.deps.fetch(url, this.deps.timeoutMs ?? 1_000);
        this.listed = new Set(ids);
        if (this.listed.has(id)) {
          this.deps.logger.info(
            { remotePeerId: id.toString(16), askedUrl: url },
            'a member this one has not applied yet is listed by a known peer: accepting its streams',
          );
        }
        return;
      } catch (err) {
        this.deps.logger.debug({ url, error: describeGrpcError(err).details }, 'member lookup failed');
      }
    }
  }
}
