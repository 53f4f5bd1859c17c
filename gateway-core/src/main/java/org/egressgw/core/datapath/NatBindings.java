package org.egressgw.core.datapath;

import org.agrona.DirectBuffer;
import org.egressgw.conntrack.ConnState;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.ExpiryListener;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.conntrack.TcpTracker;
import org.egressgw.conntrack.TimeoutPolicy;
import org.egressgw.conntrack.UnrepliedEviction;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.nat.PortAllocator;
import org.egressgw.packet.Ethernet;
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
    /** The group's state sync, or null for a gateway on its own. */
    private ConnectionSync sync;
    private long now;
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

    void sync(ConnectionSync sync) {
        this.sync = sync;
    }

    private final org.agrona.concurrent.MessageHandler applier = (type, buffer, index, length) -> {
        if (type == SyncRecord.UPSERT) {
            install(buffer, index, now);
        } else {
            uninstall(buffer, index);
        }
    };

    /** True if peers' records wait to be applied. */
    boolean syncPending() {
        return sync != null && sync.pending() > 0;
    }

    /** Applies up to {@code max} records peers sent ({@link ConnectionSync}'s in-ring); returns how many. */
    int applySync(int max, long nowMillis) {
        if (sync == null) {
            return 0;
        }
        now = nowMillis;
        return sync.inbound().read(applier, max);
    }

    /**
     * A request of the existing connection {@code e}: its TCP state follows the packet, and if the pod moved to
     * another node with the same IP, replies follow it there (to the source MAC of the frame at {@code eth}, read only
     * then); the group hears of either change.
     */
    void onRequest(int e, ParsedPacket p, int peerIp, DirectBuffer b, int eth, long nowMillis) {
        int before = table.state(e);
        if (p.proto == Ipv4.PROTO_TCP) {
            table.state(e, TcpTracker.next(before, p.tcpFlags, false));
        }
        boolean moved = table.vtep(e) != peerIp;
        if (moved) {
            table.vtep(e, peerIp);
            table.peerMac(e, Ethernet.srcMac(b, eth));
        }
        if (moved || table.state(e) != before) {
            changed(e, nowMillis);
        }
    }

    /** Tells the group's peers that entry {@code e} changed (created, new state, new node), if there is a group. */
    void changed(int e, long nowMillis) {
        if (sync != null) {
            sync.upserted(table, e, nowMillis);
        }
    }

    /**
     * Opens a connection for the parsed request {@code p} (original tuple {@code hi, lo}) from the node
     * {@code peerIp}, translated to its policy's egress IP and a free port.
     *
     * @return the new entry, or -1 with the drop reason in {@link #refused}
     */
    int open(ParsedPacket p, long hi, long lo, int peerIp, long peerMac, long now) {
        this.now = now;
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
        changed(e, now);
        return e;
    }

    private int refuse(int reason) {
        refused = reason;
        return -1;
    }

    /** Removes idle connections, visiting at most {@code maxVisits} entries, and returns their ports. */
    int expire(long nowMillis, int maxVisits, TimeoutPolicy timeouts) {
        now = nowMillis;
        int removed = table.expire(nowMillis, maxVisits, timeouts, releasePort);
        if (removed > 0) {
            counters.add(Counters.CONN_EXPIRED, removed);
        }
        return removed;
    }

    /** Before an entry goes (expired, evicted): its port returns, and the group learns it is gone. */
    private void releasePort(ConnTable t, int e) {
        if (sync != null) {
            sync.removed(t, e, now);
        }
        freePort(t, e);
    }

    private void freePort(ConnTable t, int e) {
        long rh = t.replyHi(e);
        long rl = t.replyLo(e);
        ports.release(FlowKey.protocol(rl), FlowKey.dstIp(rh), FlowKey.srcIp(rh), FlowKey.srcPort(rl), FlowKey.dstPort(rl));
    }

    /**
     * Installs a connection a peer of the group sent ({@link SyncRecord}) at {@code nowMillis}: the same tuples,
     * state, node and age; its port taken from the allocator. An entry with the same original tuple is updated (its
     * state and node follow the peer, its last-seen time the more recent of the two); an entry holding the same
     * reply tuple for another flow is a stale one and goes.
     *
     * @return true if the table holds the connection afterwards (false: the table is full)
     */
    boolean install(org.agrona.DirectBuffer b, int off, long nowMillis) {
        long hi = SyncRecord.origHi(b, off);
        long lo = SyncRecord.origLo(b, off);
        long rhi = SyncRecord.replyHi(b, off);
        long rlo = SyncRecord.replyLo(b, off);
        long seen = nowMillis - Math.min(Math.max(0, SyncRecord.ageMillis(b, off)), nowMillis);
        int e = table.lookup(hi, lo);
        if (e < 0) {
            int other = table.lookup(rhi, rlo);
            if (other >= 0) {
                freePort(table, other);
                table.remove(other);
            }
            e = table.insert(hi, lo, rhi, rlo, nowMillis);
            if (e < 0) {
                return false;
            }
            ports.reserve(FlowKey.protocol(rlo), FlowKey.dstIp(rhi), FlowKey.srcIp(rhi), FlowKey.srcPort(rlo),
                    FlowKey.dstPort(rlo));
            table.touch(e, seen);
        } else if (seen > table.lastSeen(e)) {
            table.touch(e, seen);
        }
        table.state(e, SyncRecord.state(b, off));
        table.policy(e, SyncRecord.policy(b, off));
        table.vtep(e, SyncRecord.vtep(b, off));
        table.peerMac(e, SyncRecord.peerMac(b, off));
        return true;
    }

    /** Removes the connection a peer of the group removed (if this table has it, with the same reply tuple). */
    void uninstall(org.agrona.DirectBuffer b, int off) {
        int e = table.lookup(SyncRecord.origHi(b, off), SyncRecord.origLo(b, off));
        if (e >= 0 && table.replyHi(e) == SyncRecord.replyHi(b, off) && table.replyLo(e) == SyncRecord.replyLo(b, off)) {
            freePort(table, e);
            table.remove(e);
        }
    }

    void publishStats() {
        natStats.publish();
    }

    NatStats natStats() {
        return natStats.stats();
    }
}
