// cairn_peer_refusals_total{surface, reason}: what this member's peer URL turned away. surface=connection:
// TLS connections refused before any gRPC (handshake failed, certificate not trusted or not allowed);
// surface=stream: Raft stream and snapshot frames refused by the member check; surface=call: Membership
// calls (cluster view, forwarded lease calls) refused by the member check. A steady rise means something
// that is not a current member keeps knocking (or a member with a stale configuration does).
import { Counter, type Registry } from 'prom-client';
import { PEER_REJECTIONS, type PeerTransport } from '@cairn/server';
import type { PeerListeners } from './peer-listener';

type Rejection = { code: number; details: string };

/** The short name of a refusal (its PEER_REJECTIONS key), for a label. */
const NAME_OF = new Map<string, string>(
  Object.entries(PEER_REJECTIONS).map(([name, r]) => [r.details, name]),
);

export class PeerRefusals {
  private readonly calls = new Map<string, number>();

  /** A Membership call was refused (registerMembershipService's onRejected). */
  countCall(rejection: Rejection): void {
    const name = NAME_OF.get(rejection.details) ?? 'other';
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }

  register(registry: Registry, transport: PeerTransport | undefined, listeners: PeerListeners): void {
    const calls = this.calls;
    new Counter({
      name: 'cairn_peer_refusals_total',
      help: 'Connections, stream/snapshot frames and Membership calls the peer URL refused, by reason (not a member, another cluster, a removed member, TLS).',
      labelNames: ['surface', 'reason'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ surface: 'connection', reason: 'tls' }, listeners.refusedConnections());
        for (const [details, count] of transport?.rejections() ?? []) {
          this.inc({ surface: 'stream', reason: NAME_OF.get(details) ?? 'other' }, count);
        }
        for (const [name, count] of calls) this.inc({ surface: 'call', reason: name }, count);
      },
    });
  }
}
