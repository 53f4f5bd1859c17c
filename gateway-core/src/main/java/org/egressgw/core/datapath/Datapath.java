package org.egressgw.core.datapath;

import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.ConnState;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.conntrack.TcpTracker;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.encap.ArpResponder;
import org.egressgw.encap.VxlanDecapsulator;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.nat.MssClamp;
import org.egressgw.nat.PortAllocator;
import org.egressgw.nat.SnatRewriter;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FlowHash;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.PacketError;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;
import org.egressgw.packet.Vxlan;

/**
 * The gateway's per-packet logic, both directions, run to completion on one thread.
 *
 * <pre>
 * request: VXLAN payload → peer check → decap (VNI, inner MAC; ARP answered) → IPv4/L4 validate
 *          → conntrack (original tuple) or policy + port allocation + insert → MSS clamp → SNAT
 *          → egress write (TUN)
 * reply:   IPv4 from the egress side → validate → conntrack (reply tuple) → size check (ICMP
 *          fragmentation-needed) → MSS clamp → reverse SNAT → VXLAN encap → tunnel send to the
 *          node the flow came from
 * </pre>
 *
 * <p>Threading: every method is called by the single datapath thread, which owns the connection
 * table, the port allocator and the counters. Nothing here allocates or throws per packet: every
 * packet is either forwarded or counted under exactly one {@link DropReason}.
 */
public final class Datapath {
    /** Where request packets (VXLAN payloads) start in a ring slot: room for an outer IP+UDP header in front. */
    public static final int REQUEST_OFFSET = 32;
    /** Where reply packets (inner IPv4) start in a ring slot: room for the whole encapsulation in front. */
    public static final int REPLY_OFFSET = 64;

    private static final int ICMP_ERROR_HEADROOM = Ipv4.MIN_HEADER_LENGTH + Icmp.HEADER_LENGTH;

    private final DatapathSettings settings;
    private final ConnTable table;
    private final PortAllocator ports;
    private final VxlanDecapsulator decap;
    private final VxlanEncapsulator encap;
    private final ArpResponder arp;
    private final EgressSink egress;
    private final TunnelSink tunnel;
    private final Counters request;
    private final Counters reply;
    private final int[] peerNets;
    private final int[] peerMasks;
    /** Scratch for the quoted part of an ICMP error (IP header with options + 8 bytes). */
    private final UnsafeBuffer quote = new UnsafeBuffer(new byte[Ipv4.MAX_HEADER_LENGTH + 8]);
    private volatile PolicyView policies;
    private EgressIpStats egressStats;
    private DropObserver dropObserver;
    // the packet being handled, for the drop observer
    private long packetAddress;
    private int packetLength;
    private int packetPeer;
    private int evictCursor;

    /** The policy table and its egress-IP statistics, swapped together on reload. */
    public record PolicyView(PolicyTable table, EgressIpStats stats) {
    }

    public Datapath(DatapathSettings settings, ConnTable table, PolicyView policies, EgressSink egress,
            TunnelSink tunnel, Counters request, Counters reply) {
        this.settings = settings;
        this.table = table;
        this.policies = policies;
        this.egressStats = policies.stats();
        this.egress = egress;
        this.tunnel = tunnel;
        this.request = request;
        this.reply = reply;
        this.ports = new PortAllocator(settings.portLow(), settings.portHigh(), settings.portTries(), System.nanoTime());
        this.decap = new VxlanDecapsulator(settings.vni(), settings.gatewayMac());
        this.encap = new VxlanEncapsulator(settings.localIp(), settings.tunnelDstPort(), settings.vni(), settings.gatewayMac());
        this.arp = new ArpResponder(settings.overlayIp(), settings.gatewayMac(), settings.hasOverlayIp());
        this.peerNets = settings.allowedPeers().stream().mapToInt(c -> c.network()).toArray();
        this.peerMasks = settings.allowedPeers().stream().mapToInt(c -> org.egressgw.packet.Ipv4Cidr.mask(c.prefixLength())).toArray();
    }

    /** Installs a new policy table (control thread); takes effect for the next new connection. */
    public void policies(PolicyView view) {
        this.policies = view;
    }

    public PolicyView policies() {
        return policies;
    }

    // ------------------------------------------------------------------ request path

    /**
     * Handles one VXLAN payload received from a node.
     *
     * @param off start of the VXLAN header in the slot
     */
    public void onRequest(UnsafeBuffer b, long address, int off, int len, int peerIp, long now) {
        packetAddress = address + off;
        packetLength = len;
        packetPeer = peerIp;
        request.increment(Counters.RX_PACKETS);
        request.add(Counters.RX_BYTES, len);
        if (!peerAllowed(peerIp)) {
            dropRequest(DropReason.PEER_NOT_ALLOWED);
            return;
        }
        int verdict = decap.classify(b, off, len);
        int eth = off + Vxlan.HEADER_LENGTH;
        if (verdict != VxlanDecapsulator.FOR_US) {
            if (verdict == VxlanDecapsulator.ARP) {
                answerArp(b, address, eth, len - Vxlan.HEADER_LENGTH, peerIp);
            } else {
                dropRequest(verdict > 0 ? verdict
                        : verdict == VxlanDecapsulator.WRONG_VNI ? DropReason.WRONG_VNI : DropReason.NOT_OUR_MAC);
            }
            return;
        }
        if (Ethernet.etherType(b, eth) != Ethernet.TYPE_IPV4) {
            dropRequest(DropReason.UNSUPPORTED_ETHERTYPE);
            return;
        }
        int ip = eth + Ethernet.HEADER_LENGTH;
        int err = Ipv4.check(b, ip, len - Vxlan.HEADER_LENGTH - Ethernet.HEADER_LENGTH);
        if (err != PacketError.NONE) {
            dropRequest(err);
            return;
        }
        if (Ipv4.isFragment(b, ip)) {
            dropRequest(DropReason.FRAGMENT);
            return;
        }
        int hl = Ipv4.headerLength(b, ip);
        int total = Ipv4.totalLength(b, ip);
        int l4 = ip + hl;
        int l4len = total - hl;
        int proto = Ipv4.protocol(b, ip);
        int srcPort;
        int dstPort;
        int tcpFlags = 0;
        switch (proto) {
            case Ipv4.PROTO_TCP -> {
                err = Tcp.check(b, l4, l4len);
                srcPort = err == PacketError.NONE ? Tcp.srcPort(b, l4) : 0;
                dstPort = err == PacketError.NONE ? Tcp.dstPort(b, l4) : 0;
                tcpFlags = err == PacketError.NONE ? Tcp.flags(b, l4) : 0;
            }
            case Ipv4.PROTO_UDP -> {
                err = Udp.check(b, l4, l4len);
                srcPort = err == PacketError.NONE ? Udp.srcPort(b, l4) : 0;
                dstPort = err == PacketError.NONE ? Udp.dstPort(b, l4) : 0;
            }
            case Ipv4.PROTO_ICMP -> {
                err = Icmp.check(b, l4, l4len);
                if (err == PacketError.NONE && Icmp.type(b, l4) != Icmp.TYPE_ECHO_REQUEST) {
                    dropRequest(DropReason.UNSUPPORTED_ICMP);
                    return;
                }
                srcPort = err == PacketError.NONE ? Icmp.identifier(b, l4) : 0;
                dstPort = 0;
            }
            default -> {
                dropRequest(DropReason.UNSUPPORTED_PROTOCOL);
                return;
            }
        }
        if (err != PacketError.NONE) {
            dropRequest(err);
            return;
        }
        int src = Ipv4.srcAddress(b, ip);
        int dst = Ipv4.dstAddress(b, ip);
        long hi = FlowKey.hi(src, dst);
        long lo = FlowKey.lo(proto, srcPort, dstPort, false);
        int e = table.lookup(hi, lo);
        if (e < 0) {
            e = newConnection(b, eth, hi, lo, proto, src, dst, srcPort, dstPort, tcpFlags, peerIp, now);
            if (e < 0) {
                return;
            }
        } else {
            if (proto == Ipv4.PROTO_TCP) {
                table.state(e, TcpTracker.next(table.state(e), tcpFlags, false));
            }
            if (table.vtep(e) != peerIp) {
                // the pod moved to another node with the same IP: replies follow it
                table.vtep(e, peerIp);
                table.peerMac(e, Ethernet.srcMac(b, eth));
            }
        }
        table.touch(e, now);
        table.count(e, false, total);
        if (Ipv4.ttl(b, ip) <= 1) {
            requestTtlExceeded(b, address, ip, hl, total, peerIp, Ethernet.srcMac(b, eth));
            return;
        }
        Ipv4.decrementTtl(b, ip);
        if (proto == Ipv4.PROTO_TCP && (tcpFlags & Tcp.SYN) != 0 && settings.mssClamp() > 0
                && MssClamp.clamp(b, l4, settings.mssClamp())) {
            request.increment(Counters.MSS_CLAMPED);
        }
        SnatRewriter.rewriteSource(b, ip, l4, proto, FlowKey.dstIp(table.replyHi(e)), FlowKey.dstPort(table.replyLo(e)));
        if (egress.write(address + ip, total) <= 0) {
            dropRequest(DropReason.TX_FAILED);
            return;
        }
        request.increment(Counters.TX_PACKETS);
        request.add(Counters.TX_BYTES, total);
    }

    private int newConnection(MutableDirectBuffer b, int eth, long hi, long lo, int proto, int src, int dst,
            int srcPort, int dstPort, int tcpFlags, int peerIp, long now) {
        int state;
        if (proto == Ipv4.PROTO_TCP) {
            if ((tcpFlags & Tcp.RST) != 0) {
                dropRequest(DropReason.NO_CONNECTION);
                return -1;
            }
            // a SYN opens a connection; anything else is picked up mid-stream (as Linux's
            // nf_conntrack_tcp_loose does), so flows survive a gateway restart when their port is kept
            state = (tcpFlags & (Tcp.SYN | Tcp.ACK)) == Tcp.SYN ? ConnState.TCP_SYN_SENT : ConnState.TCP_ESTABLISHED;
        } else {
            state = proto == Ipv4.PROTO_UDP ? ConnState.UDP_UNREPLIED : ConnState.ICMP;
        }
        PolicyView view = policies;
        int policy = view.table().lookup(src, dst);
        if (policy < 0) {
            dropRequest(policy == PolicyTable.EXCLUDED ? DropReason.EXCLUDED_CIDR : DropReason.NO_POLICY);
            return -1;
        }
        int egressIp = view.table().egressIp(policy);
        int natPort = ports.allocate(table, proto, egressIp, dst, dstPort, srcPort);
        if (natPort == PortAllocator.EXHAUSTED) {
            dropRequest(DropReason.NAT_PORT_EXHAUSTED);
            return -1;
        }
        long replyHi = FlowKey.hi(dst, egressIp);
        long replyLo = FlowKey.lo(proto, dstPort, natPort, true);
        int e = table.insert(hi, lo, replyHi, replyLo, now);
        if (e == ConnTable.FULL && evictUnreplied()) {
            e = table.insert(hi, lo, replyHi, replyLo, now);
        }
        if (e < 0) {
            dropRequest(e == ConnTable.FULL ? DropReason.CONNTRACK_FULL : DropReason.NO_CONNECTION);
            return -1;
        }
        table.state(e, state);
        table.policy(e, policy);
        table.vtep(e, peerIp);
        table.peerMac(e, Ethernet.srcMac(b, eth));
        egressStats = view.stats();
        egressStats.adjust(egressIp, 1);
        request.increment(Counters.CONN_CREATED);
        return e;
    }

    /** How many entries a full table scans for an unreplied connection to evict. */
    static final int EVICTION_SCAN = 64;

    /**
     * Early drop, as Linux's conntrack does when its table is full: look at up to
     * {@link #EVICTION_SCAN} entries from a rolling cursor and evict one that never saw a reply (a
     * SYN or a UDP/ICMP packet nobody answered), so a flood of unanswered new flows cannot lock out
     * new legitimate ones; established connections are never evicted.
     */
    private boolean evictUnreplied() {
        int capacity = table.capacity();
        for (int i = 0; i < EVICTION_SCAN; i++) {
            int e = evictCursor;
            evictCursor = evictCursor + 1 == capacity ? 0 : evictCursor + 1;
            if (!table.isLive(e)) {
                continue;
            }
            int st = table.state(e);
            if (st == ConnState.TCP_SYN_SENT || st == ConnState.UDP_UNREPLIED
                    || (st == ConnState.ICMP && table.packets(e, true) == 0)) {
                expiryListener.onExpire(table, e);
                table.remove(e);
                request.increment(Counters.CONN_EVICTED);
                return true;
            }
        }
        return false;
    }

    private void answerArp(UnsafeBuffer b, long address, int eth, int frameLen, int peerIp) {
        int r = arp.respond(b, eth, frameLen);
        if (r == ArpResponder.REPLIED) {
            int frame = ArpResponder.replyLength();
            int outer = encap.encapsulateFrame(b, eth, frame, peerIp, peerIp);
            send(address + outer, frame + VxlanEncapsulator.FRAME_OVERHEAD, peerIp, request);
            request.increment(Counters.ARP_REPLIES);
        } else {
            dropRequest(r == ArpResponder.IGNORED ? DropReason.ARP_NOT_FOR_US : r);
        }
    }

    private void dropRequest(int reason) {
        request.drop(reason);
        if (dropObserver != null) {
            dropObserver.onDrop(false, reason, packetAddress, packetLength, packetPeer);
        }
    }

    private void dropReply(int reason) {
        reply.drop(reason);
        if (dropObserver != null) {
            dropObserver.onDrop(true, reason, packetAddress, packetLength, 0);
        }
    }

    /** Installs the drop observer (before the datapath thread starts). */
    public void dropObserver(DropObserver observer) {
        this.dropObserver = observer;
    }

    private boolean peerAllowed(int peerIp) {
        for (int i = 0; i < peerNets.length; i++) {
            if ((peerIp & peerMasks[i]) == peerNets[i]) {
                return true;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ reply path

    /**
     * Handles one IPv4 packet that arrived on the egress side for an egress IP.
     *
     * @param ip start of the IPv4 header in the slot; at least {@link #REPLY_OFFSET}
     */
    public void onReply(UnsafeBuffer b, long address, int ip, int len, long now) {
        packetAddress = address + ip;
        packetLength = len;
        packetPeer = 0;
        reply.increment(Counters.RX_PACKETS);
        reply.add(Counters.RX_BYTES, len);
        int err = Ipv4.check(b, ip, len);
        if (err != PacketError.NONE) {
            dropReply(err);
            return;
        }
        if (Ipv4.isFragment(b, ip)) {
            dropReply(DropReason.FRAGMENT);
            return;
        }
        int hl = Ipv4.headerLength(b, ip);
        int total = Ipv4.totalLength(b, ip);
        int l4 = ip + hl;
        int l4len = total - hl;
        int proto = Ipv4.protocol(b, ip);
        int srcPort;
        int dstPort;
        int tcpFlags = 0;
        switch (proto) {
            case Ipv4.PROTO_TCP -> {
                err = Tcp.check(b, l4, l4len);
                srcPort = err == PacketError.NONE ? Tcp.srcPort(b, l4) : 0;
                dstPort = err == PacketError.NONE ? Tcp.dstPort(b, l4) : 0;
                tcpFlags = err == PacketError.NONE ? Tcp.flags(b, l4) : 0;
            }
            case Ipv4.PROTO_UDP -> {
                err = Udp.check(b, l4, l4len);
                srcPort = err == PacketError.NONE ? Udp.srcPort(b, l4) : 0;
                dstPort = err == PacketError.NONE ? Udp.dstPort(b, l4) : 0;
            }
            case Ipv4.PROTO_ICMP -> {
                err = Icmp.check(b, l4, l4len);
                if (err == PacketError.NONE && Icmp.type(b, l4) != Icmp.TYPE_ECHO_REPLY) {
                    dropReply(DropReason.UNSUPPORTED_ICMP);
                    return;
                }
                srcPort = 0;
                dstPort = err == PacketError.NONE ? Icmp.identifier(b, l4) : 0;
            }
            default -> {
                dropReply(DropReason.UNSUPPORTED_PROTOCOL);
                return;
            }
        }
        if (err != PacketError.NONE) {
            dropReply(err);
            return;
        }
        int src = Ipv4.srcAddress(b, ip);
        int e = table.lookup(FlowKey.hi(src, Ipv4.dstAddress(b, ip)), FlowKey.lo(proto, srcPort, dstPort, true));
        if (e < 0) {
            dropReply(DropReason.NO_CONNECTION);
            return;
        }
        if (total > settings.innerMtu()) {
            tooBig(b, address, ip, hl, total);
            return;
        }
        if (proto == Ipv4.PROTO_TCP) {
            int state = table.state(e);
            if (TcpTracker.isInvalidReply(state, tcpFlags)) {
                // not trusted blindly: neither forwarded nor allowed to refresh the entry
                dropReply(DropReason.TCP_INVALID);
                return;
            }
            table.state(e, TcpTracker.next(state, tcpFlags, true));
        } else if (proto == Ipv4.PROTO_UDP) {
            table.state(e, ConnState.UDP_REPLIED);
        }
        table.touch(e, now);
        table.count(e, true, total);
        if (Ipv4.ttl(b, ip) <= 1) {
            replyTtlExceeded(b, address, ip, hl, total);
            return;
        }
        Ipv4.decrementTtl(b, ip);
        if (proto == Ipv4.PROTO_TCP && (tcpFlags & Tcp.SYN) != 0 && settings.mssClamp() > 0
                && MssClamp.clamp(b, l4, settings.mssClamp())) {
            reply.increment(Counters.MSS_CLAMPED);
        }
        long origHi = table.origHi(e);
        int podIp = FlowKey.srcIp(origHi);
        int podPort = FlowKey.srcPort(table.origLo(e));
        SnatRewriter.rewriteDestination(b, ip, l4, proto, podIp, podPort);
        int vtep = table.vtep(e);
        int outer = encap.encapsulate(b, ip, total, vtep, table.peerMac(e),
                FlowHash.hash(podIp, src, podPort, srcPort, proto));
        send(address + outer, total + VxlanEncapsulator.OVERHEAD, vtep, reply);
    }

    /**
     * A reply that cannot fit in the tunnel. With DF set, answer the sender with ICMP
     * fragmentation-needed carrying the tunnel's inner MTU (RFC 1191), built in the slot's headroom
     * in front of the quoted packet and sent out of the egress side; without DF, drop it (TCP never
     * gets here because SYNs are MSS-clamped).
     */
    private void tooBig(UnsafeBuffer b, long address, int ip, int hl, int total) {
        dropReply(DropReason.TOO_BIG);
        if (!Ipv4.dontFragment(b, ip)) {
            return;
        }
        int quoted = Math.min(total, hl + 8);
        int out = ip - ICMP_ERROR_HEADROOM;
        writeIcmpError(b, out, Icmp.TYPE_DEST_UNREACHABLE, Icmp.CODE_FRAG_NEEDED, settings.innerMtu(),
                Ipv4.dstAddress(b, ip), Ipv4.srcAddress(b, ip), quoted);
        if (egress.write(address + out, ICMP_ERROR_HEADROOM + quoted) > 0) {
            reply.increment(Counters.FRAG_NEEDED_SENT);
        }
    }

    /**
     * The reply's TTL expires here: answer the external sender with ICMP time exceeded, from the
     * egress IP it was talking to, quoting the packet as it arrived.
     */
    private void replyTtlExceeded(UnsafeBuffer b, long address, int ip, int hl, int total) {
        dropReply(DropReason.TTL_EXCEEDED);
        int quoted = Math.min(total, hl + 8);
        int out = ip - ICMP_ERROR_HEADROOM;
        writeIcmpError(b, out, Icmp.TYPE_TIME_EXCEEDED, 0, 0, Ipv4.dstAddress(b, ip), Ipv4.srcAddress(b, ip), quoted);
        if (egress.write(address + out, ICMP_ERROR_HEADROOM + quoted) > 0) {
            reply.increment(Counters.ICMP_ERRORS_SENT);
        }
    }

    /**
     * The request's TTL expires here: answer the pod with ICMP time exceeded through the tunnel,
     * quoting its packet as it sent it, from the gateway's overlay address (or its underlay address
     * when none is configured) — so a traceroute from the pod shows the gateway as a hop.
     */
    private void requestTtlExceeded(UnsafeBuffer b, long address, int ip, int hl, int total, int peerIp, long peerMac) {
        dropRequest(DropReason.TTL_EXCEEDED);
        int quoted = Math.min(total, hl + 8);
        b.getBytes(ip, quote, 0, quoted);
        int out = REPLY_OFFSET;
        b.putBytes(out + ICMP_ERROR_HEADROOM, quote, 0, quoted);
        int self = settings.hasOverlayIp() ? settings.overlayIp() : settings.localIp();
        int pod = quote.getInt(Ipv4.SRC_ADDRESS_OFFSET, java.nio.ByteOrder.BIG_ENDIAN);
        writeIcmpError(b, out, Icmp.TYPE_TIME_EXCEEDED, 0, 0, self, pod, quoted);
        int len = ICMP_ERROR_HEADROOM + quoted;
        int outer = encap.encapsulate(b, out, len, peerIp, peerMac, pod);
        send(address + outer, len + VxlanEncapsulator.OVERHEAD, peerIp, request);
        request.increment(Counters.ICMP_ERRORS_SENT);
    }

    /** Writes an IPv4 + ICMP error header at {@code out}, in front of {@code quoted} bytes already at out + 28. */
    private static void writeIcmpError(UnsafeBuffer b, int out, int type, int code, int mtu, int src, int dst, int quoted) {
        int icmp = out + Ipv4.MIN_HEADER_LENGTH;
        Ipv4.versionAndHeaderLength(b, out, Ipv4.MIN_HEADER_LENGTH);
        Ipv4.tos(b, out, 0);
        Ipv4.totalLength(b, out, ICMP_ERROR_HEADROOM + quoted);
        Ipv4.identification(b, out, 0);
        Ipv4.flagsAndFragment(b, out, 0);
        Ipv4.ttl(b, out, 64);
        Ipv4.protocol(b, out, Ipv4.PROTO_ICMP);
        Ipv4.srcAddress(b, out, src);
        Ipv4.dstAddress(b, out, dst);
        Ipv4.updateHeaderChecksum(b, out);
        Icmp.type(b, icmp, type);
        Icmp.code(b, icmp, code);
        b.putInt(icmp + 4, 0);
        if (mtu > 0) {
            Icmp.nextHopMtu(b, icmp, mtu);
        }
        Icmp.checksum(b, icmp, 0);
        Icmp.checksum(b, icmp, Checksum.finish(Checksum.sum(b, icmp, Icmp.HEADER_LENGTH + quoted, 0)));
    }

    private void send(long address, int length, int dstIp, Counters counters) {
        if (!tunnel.add(address, length, dstIp)) {
            tunnel.flush();
            if (!tunnel.add(address, length, dstIp)) {
                if (counters == reply) {
                    dropReply(DropReason.TX_FAILED);
                } else {
                    dropRequest(DropReason.TX_FAILED);
                }
                return;
            }
        }
        counters.increment(Counters.TX_PACKETS);
        counters.add(Counters.TX_BYTES, length);
    }

    /** Sends what the batch queued; called at the end of every ring batch. */
    public void flush() {
        tunnel.flush();
    }

    // ------------------------------------------------------------------ housekeeping

    /**
     * Removes idle connections, visiting at most {@code maxVisits} entries, and returns their ports.
     */
    public int expire(long now, int maxVisits, org.egressgw.conntrack.TimeoutPolicy timeouts) {
        int removed = table.expire(now, maxVisits, timeouts, expiryListener);
        if (removed > 0) {
            request.add(Counters.CONN_EXPIRED, removed);
        }
        return removed;
    }

    private final org.egressgw.conntrack.ExpiryListener expiryListener =
            (t, e) -> egressStats.adjust(FlowKey.dstIp(t.replyHi(e)), -1);

    public ConnTable table() {
        return table;
    }
}
