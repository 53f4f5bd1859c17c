package org.egressgw.core.datapath;

import org.egressgw.conntrack.ConnState;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.ExpiryListener;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.conntrack.TimeoutPolicy;
import org.egressgw.conntrack.UnrepliedEviction;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.nat.PortAllocator;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Tcp;

/**
 * Where connections are born and die: a new flow is checked against the policies, gets a translated port from the
 * allocator and an entry in the connection table (evicting an unreplied one when the table is full); an entry that
 * expires or is evicted gives its port back. Also publishes the port usage ({@link NatStatsPublisher}).
 *
 * <p>Threading: the datapath thread only, except {@link #policies(Datapath.PolicyView)} (any thread: a volatile
 * swap, seen by the next new connection) and {@link #natStats()} (any thread).
 */
final class NatBindings {
    private final ConnTable table;
    private final PortAllocator ports;
    private final UnrepliedEviction eviction = new UnrepliedEviction();
    private final NatStatsPublisher natStats;
    private final Counters counters;
    private final ExpiryListener releasePort = this::releasePort;
    private volatile Datapath.PolicyView policies;
    /** Why the last {@link #open} refused the flow. */
    int refused;

    NatBindings(DatapathSettings settings, ConnTable table, Datapath.PolicyView policies, Counters counters) {
        this.table = table;
        this.policies = policies;
        this.counters = counters;
        this.ports = new PortAllocator(settings.portLow(), settings.portHigh(), settings.portTries(), System.nanoTime());
        this.natStats = new NatStatsPublisher(ports, () -> this.policies.table());
    }

    void policies(Datapath.PolicyView view) {
        this.policies = view;
    }

    Datapath.PolicyView policies() {
        return policies;
    }

    /**
     * Opens a connection for the parsed request {@code p} (original tuple {@code hi, lo}) from the node
     * {@code peerIp}, translated to its policy's egress IP and a free port.
     *
     * @return the new entry, or -1 with the drop reason in {@link #refused}
     */
    int open(ParsedPacket p, long hi, long lo, int peerIp, long peerMac, long now) {
        int state;
        if (p.proto == Ipv4.PROTO_TCP) {
            if ((p.tcpFlags & (Tcp.RST | Tcp.FIN)) != 0 && (p.tcpFlags & Tcp.SYN) == 0) {
                // a stray RST or FIN opens nothing (Linux calls it invalid): otherwise it would hold a port for the
                // established timeout with nobody left to close it
                return refuse(DropReason.NO_CONNECTION);
            }
            // a SYN opens a connection; a plain segment is picked up mid-stream (as Linux's nf_conntrack_tcp_loose
            // does), so flows survive a gateway restart when their port is kept
            state = (p.tcpFlags & (Tcp.SYN | Tcp.ACK)) == Tcp.SYN ? ConnState.TCP_SYN_SENT : ConnState.TCP_ESTABLISHED;
        } else {
            state = p.proto == Ipv4.PROTO_UDP ? ConnState.UDP_UNREPLIED : ConnState.ICMP;
        }
        PolicyTable policyTable = policies.table();
        int policy = policyTable.lookup(p.src, p.dst);
        if (policy < 0) {
            return refuse(DropReason.ofPolicyVerdict(policy));
        }
        int egressIp = policyTable.egressIp(policy);
        int natPort = ports.allocate(table, p.proto, egressIp, p.dst, p.dstPort, p.srcPort);
        if (natPort == PortAllocator.EXHAUSTED) {
            return refuse(DropReason.NAT_PORT_EXHAUSTED);
        }
        long replyHi = FlowKey.hi(p.dst, egressIp);
        long replyLo = FlowKey.lo(p.proto, p.dstPort, natPort, true);
        int e = table.insert(hi, lo, replyHi, replyLo, now);
        if (e == ConnTable.FULL && eviction.evictOne(table, releasePort)) {
            counters.increment(Counters.CONN_EVICTED);
            e = table.insert(hi, lo, replyHi, replyLo, now);
        }
        if (e < 0) {
            ports.release(p.proto, egressIp, p.dst, p.dstPort, natPort);
            return refuse(e == ConnTable.FULL ? DropReason.CONNTRACK_FULL : DropReason.NO_CONNECTION);
        }
        table.state(e, state);
        table.policy(e, policy);
        table.vtep(e, peerIp);
        table.peerMac(e, peerMac);
        counters.increment(Counters.CONN_CREATED);
        return e;
    }

    private int refuse(int reason) {
        refused = reason;
        return -1;
    }

    /** Removes idle connections, visiting at most {@code maxVisits} entries, and returns their ports. */
    int expire(long nowMillis, int maxVisits, TimeoutPolicy timeouts) {
        int removed = table.expire(nowMillis, maxVisits, timeouts, releasePort);
        if (removed > 0) {
            counters.add(Counters.CONN_EXPIRED, removed);
        }
        return removed;
    }

    private void releasePort(ConnTable t, int e) {
        long rh = t.replyHi(e);
        long rl = t.replyLo(e);
        ports.release(FlowKey.protocol(rl), FlowKey.dstIp(rh), FlowKey.srcIp(rh), FlowKey.srcPort(rl), FlowKey.dstPort(rl));
    }

    void publishStats() {
        natStats.publish();
    }

    NatStats natStats() {
        return natStats.stats();
    }
}
