// The peer links of a cluster planned with indirect peer URLs (planCluster(..., { indirectPeerUrls: true })):
// one TcpProxy per member on its advertised peer port, forwarding to the port it listens on. Every peer
// connection passes through the proxy of the member that was dialled, and the proxy names the member that
// dialled it (socket-owner.ts), so a link between two members can be cut whichever side opened the
// connection: a real partition, not just "nobody can reach X".
import type { Socket } from 'node:net';
import { BLACKHOLE, CUT_TO_CLIENT, CUT_TO_TARGET, TcpProxy, type ProxyFault } from '../../support/tcp-proxy';
import type { Member } from '../../support';
import { socketOwner } from './socket-owner';

export class PeerNetwork {
  private constructor(
    private readonly members: readonly Member[],
    private readonly proxies: Map<string, TcpProxy>,
  ) {}

  /** Starts one proxy per member (before the members are launched, so their first dials get through). */
  static async start(members: readonly Member[]): Promise<PeerNetwork> {
    const proxies = new Map<string, TcpProxy>();
    // Names the member whose process dialled the connection (PIDs change when a member restarts).
    const classify = async (socket: Socket) => {
      const running = members.flatMap((m) => (m.pid === undefined ? [] : [{ name: m.name, pid: m.pid }]));
      const pid = await socketOwner(
        socket,
        running.map((m) => m.pid),
      );
      return running.find((m) => m.pid === pid)?.name;
    };
    try {
      for (const member of members) {
        const advertised = member.plan.advertisedPeerPort;
        if (advertised === undefined || advertised === member.plan.peerPort) {
          throw new Error(`${member.name} has no indirect peer URL (plan it with indirectPeerUrls: true)`);
        }
        proxies.set(
          member.name,
          await TcpProxy.start({
            listenPort: advertised,
            targetPort: member.plan.peerPort,
            classify,
            label: `peer proxy of ${member.name}`,
          }),
        );
      }
    } catch (error) {
      await Promise.all([...proxies.values()].map((p) => p.close()));
      throw error;
    }
    return new PeerNetwork(members, proxies);
  }

  proxyOf(member: Member): TcpProxy {
    const proxy = this.proxies.get(member.name);
    if (proxy === undefined) throw new Error(`no peer proxy for ${member.name}`);
    return proxy;
  }

  /** Cuts every peer link of `member`, both ways: what it sends and what is sent to it is dropped. */
  isolate(member: Member): void {
    this.proxyOf(member).setFault(BLACKHOLE);
    for (const other of this.members) {
      if (other !== member) this.proxyOf(other).setSourceFault(member.name, BLACKHOLE);
    }
  }

  /** Cuts every link between the two sides, both ways; links within a side stay up. */
  partition(sideA: readonly Member[], sideB: readonly Member[]): void {
    for (const a of sideA) for (const b of sideB) this.cutLink(a, b);
  }

  /** Cuts the link between two members, both ways. */
  cutLink(a: Member, b: Member): void {
    this.setLink(a, b, BLACKHOLE, BLACKHOLE);
  }

  /** Drops what `from` sends to `to`; what `to` sends to `from` still arrives. */
  cutOneWay(from: Member, to: Member): void {
    // A connection `from` dialled to `to`: from's bytes travel to the target. One `to` dialled: to the client.
    this.setLink(from, to, CUT_TO_TARGET, CUT_TO_CLIENT);
  }

  /**
   * Open peer connections whose dialler is not (yet) known, per proxy: a source fault cannot reach them, so
   * a partition is only complete when there are none.
   */
  unidentifiedConnections(): string[] {
    return [...this.proxies.entries()].flatMap(([name, proxy]) => {
      const unknown = proxy.openSources().filter((source) => source === undefined).length;
      return unknown > 0 ? [`${unknown} on the proxy of ${name}`] : [];
    });
  }

  /** Every link passes again (connections that lost bytes are reset, the members redial). */
  heal(): void {
    for (const proxy of this.proxies.values()) proxy.heal();
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
  }

  /** Sets the fault for connections `from` dials to `to` and for those `to` dials to `from`. */
  private setLink(from: Member, to: Member, dialledByFrom: ProxyFault, dialledByTo: ProxyFault): void {
    this.proxyOf(to).setSourceFault(from.name, dialledByFrom);
    this.proxyOf(from).setSourceFault(to.name, dialledByTo);
  }
}
