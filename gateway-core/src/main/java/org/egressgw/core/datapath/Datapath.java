package org.egressgw.core.datapath;

import java.util.ArrayList;
import java.util.List;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.ConnState;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.ExpiryListener;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.conntrack.TcpTracker;
import org.egressgw.conntrack.TimeoutPolicy;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.encap.ArpResponder;
import org.egressgw.encap.VxlanDecapsulator;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.nat.FragmentTracker;
import org.egressgw.nat.IcmpErrorTranslator;
import org.egressgw.nat.MssClamp;
import org.egressgw.nat.PortAllocator;
import org.egressgw.nat.SnatRewriter;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FlowHash;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Cidr;
import org.egressgw.packet.PacketError;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;
import org.egressgw.packet.Vxlan;
import org.egressgw.tunio.VirtioNetHeader;

/**
 * The gateway's per-packet logic, both directions, run to completion on one thread.
 *
 * <pre>
 * request: VXLAN payload → peer check → decap (VNI, inner MAC; ARP answered) → IPv4/L4 validate
 *          → conntrack (original tuple) or policy + port allocation + insert → TTL → MSS clamp
 *          → SNAT → egress write (TUN)
 * reply:   IPv4 from the egress side → validate → conntrack (reply tuple; for ICMP errors the
 *          quoted packet's tuple) → size check (ICMP fragmentation-needed) → TTL → MSS clamp
 *          → reverse SNAT → VXLAN encap → tunnel send to the node the flow came from
 * </pre>
 *
 * <p>IPv4 fragments follow their first fragment by IP ID: the first carries the transport header
 * and is translated like any packet, and the translation is remembered for the datagram; later
 * fragments get the same address rewrite. A later fragment that arrives before its first is
 * dropped ({@code fragment}).
 *
 * <p>Threading: every method is called by the single datapath thread, which owns the connection
 * table, the port allocator, the fragment trackers and the counters. Nothing here allocates or
 * throws per packet: every packet is either forwarded or counted under exactly one
 * {@link DropReason}.
 */
public final class Datapath {
    /** Where request packets (VXLAN payloads) start in a ring slot: room for an outer IP+UDP header in front. */
    public static final int REQUEST_OFFSET = 32;
    /** Where reply packets (inner IPv4) start in a ring slot: room for the whole encapsulation in front. */
    public static final int REPLY_OFFSET = 64;
    /** How many entries a full table scans for an unreplied connection to evict. */
    static final int EVICTION_SCAN = 64;
    /** How long a fragmented datagram's translation is remembered. */
    static final long FRAGMENT_TTL_MILLIS = 5_000;
    static final int FRAGMENT_SLOTS = 4096;
    /** How many of the busiest destinations are published for metrics (as Cilium: top 30). */
    static final int BUSIEST = 30;

    /** The largest IPv4 packet: a super-packet must still fit once encapsulated. */
    private static final int MAX_IPV4_LENGTH = 0xffff;
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
    private final FragmentTracker requestFragments = new FragmentTracker(FRAGMENT_SLOTS, FRAGMENT_TTL_MILLIS);
    private final FragmentTracker replyFragments = new FragmentTracker(FRAGMENT_SLOTS, FRAGMENT_TTL_MILLIS);
    private final FragmentTracker.Result fragment = new FragmentTracker.Result();
    private final IcmpErrorTranslator.Embedded embedded = new IcmpErrorTranslator.Embedded();
    /** Scratch for the quoted part of an ICMP error (IP header with options + 8 bytes). */
    private final UnsafeBuffer quote = new UnsafeBuffer(new byte[Ipv4.MAX_HEADER_LENGTH + 8]);
    private final ExpiryListener releasePort = (t, e) -> releasePort(t, e);
    private volatile PolicyView policies;
    private volatile NatStats natStats = NatStats.EMPTY;
    private DropObserver dropObserver;
    private long now;
    private int evictCursor;
    // the packet being handled, for the drop observer
    private long packetAddress;
    private int packetLength;
    private int packetPeer;
    // the transport header of the packet being handled
    private int srcPort;
    private int dstPort;
    private int tcpFlags;
    /** Bytes of virtio-net header in front of each reply packet (0: none, nothing offloaded). */
    private int replyVnet;
    // the offload metadata of the reply being handled
    private boolean replyPartial;
    private int replyGsoType;
    private int replyGsoSize;
    private int replyCsumStart;
    private int replyCsumOffset;

    /** The policy table the datapath consults for new connections; swapped whole on reload. */
    public record PolicyView(PolicyTable table) {
    }

    public Datapath(DatapathSettings settings, ConnTable table, PolicyView policies, EgressSink egress,
            TunnelSink tunnel, Counters request, Counters reply) {
        this.settings = settings;
        this.table = table;
        this.policies = policies;
        this.egress = egress;
        this.tunnel = tunnel;
        this.request = request;
        this.reply = reply;
        this.ports = new PortAllocator(settings.portLow(), settings.portHigh(), settings.portTries(), System.nanoTime());
        this.decap = new VxlanDecapsulator(settings.vni(), settings.gatewayMac());
        this.encap = new VxlanEncapsulator(settings.localIp(), settings.tunnelDstPort(), settings.vni(), settings.gatewayMac());
        this.arp = new ArpResponder(settings.overlayIp(), settings.gatewayMac(), settings.hasOverlayIp());
        this.peerNets = settings.allowedPeers().stream().mapToInt(Ipv4Cidr::network).toArray();
        this.peerMasks = settings.allowedPeers().stream().mapToInt(c -> Ipv4Cidr.mask(c.prefixLength())).toArray();
    }

    /** Installs a new policy table (control thread); takes effect for the next new connection. */
    public void policies(PolicyView view) {
        this.policies = view;
    }

    public PolicyView policies() {
        return policies;
    }

    /**
     * Says that every reply packet is preceded by a {@link VirtioNetHeader} of {@code length} bytes (the TUN
     * device's, 0 for none) whose offload metadata is honoured: a TCP super-packet is translated once and
     * handed to {@link TunnelSink#sendOffloaded} whole (its checksum left started for the kernel to finish per
     * segment); a single packet with a started checksum has it finished here and is batched as any other.
     * Call before the datapath thread starts; the tunnel sink must then support offloaded sends.
     */
    public void replyVnetHeader(int length) {
        this.replyVnet = length;
    }

    /** Installs the drop observer (before the datapath thread starts). */
    public void dropObserver(DropObserver observer) {
        this.dropObserver = observer;
    }

    // ------------------------------------------------------------------ request path

    /**
     * Handles one VXLAN payload received from a node.
     *
     * @param off start of the VXLAN header in the slot
     */
    public void onRequest(UnsafeBuffer b, long address, int off, int len, int peerIp, long nowMillis) {
        now = nowMillis;
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
        int hl = Ipv4.headerLength(b, ip);
        int total = Ipv4.totalLength(b, ip);
        int proto = Ipv4.protocol(b, ip);
        int src = Ipv4.srcAddress(b, ip);
        int dst = Ipv4.dstAddress(b, ip);
        boolean firstFragment = false;
        if (Ipv4.isFragment(b, ip)) {
            if (Ipv4.fragmentOffset(b, ip) != 0) {
                requestLaterFragment(b, address, ip, total, proto, src, dst);
                return;
            }
            firstFragment = true;
        }
        int l4 = ip + hl;
        err = parseTransport(b, l4, total - hl, proto, false, firstFragment);
        if (err != PacketError.NONE) {
            dropRequest(err);
            return;
        }
        long hi = FlowKey.hi(src, dst);
        long lo = FlowKey.lo(proto, srcPort, dstPort, false);
        int e = table.lookup(hi, lo);
        if (Ipv4.ttl(b, ip) <= 1) {
            // expires here: answered as a router would, but only for traffic the gateway would
            // forward, and without creating state for it
            int forwardable = e >= 0 ? 0 : policies.table().lookup(src, dst);
            if (forwardable >= 0) {
                requestTtlExceeded(b, address, ip, hl, total, peerIp, Ethernet.srcMac(b, eth));
            } else {
                dropRequest(policyDrop(forwardable));
            }
            return;
        }
        if (e < 0) {
            e = newConnection(b, eth, hi, lo, proto, src, dst, peerIp);
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
        Ipv4.decrementTtl(b, ip);
        if (proto == Ipv4.PROTO_TCP && (tcpFlags & Tcp.SYN) != 0 && settings.mssClamp() > 0
                && MssClamp.clamp(b, l4, settings.mssClamp())) {
            request.increment(Counters.MSS_CLAMPED);
        }
        int natIp = FlowKey.dstIp(table.replyHi(e));
        if (firstFragment) {
            requestFragments.record(src, dst, proto, Ipv4.identification(b, ip), natIp, 0, 0, 0, now);
        }
        SnatRewriter.rewriteSource(b, ip, l4, proto, natIp, FlowKey.dstPort(table.replyLo(e)));
        writeEgress(address + ip, total);
    }

    /** A fragment after the first: it carries no ports, so it follows its first fragment's translation. */
    private void requestLaterFragment(UnsafeBuffer b, long address, int ip, int total, int proto, int src, int dst) {
        if (!requestFragments.lookup(src, dst, proto, Ipv4.identification(b, ip), now, fragment)) {
            dropRequest(DropReason.FRAGMENT);
            return;
        }
        if (Ipv4.ttl(b, ip) <= 1) {
            // time exceeded is only ever sent for the first fragment (RFC 792)
            dropRequest(DropReason.TTL_EXCEEDED);
            return;
        }
        Ipv4.decrementTtl(b, ip);
        FragmentTracker.rewriteSourceAddress(b, ip, fragment.newAddress);
        writeEgress(address + ip, total);
    }

    private void writeEgress(long address, int length) {
        if (egress.write(address, length) <= 0) {
            dropRequest(DropReason.TX_FAILED);
            return;
        }
        request.increment(Counters.TX_PACKETS);
        request.add(Counters.TX_BYTES, length);
    }

    private int newConnection(MutableDirectBuffer b, int eth, long hi, long lo, int proto, int src, int dst, int peerIp) {
        int state;
        if (proto == Ipv4.PROTO_TCP) {
            if ((tcpFlags & (Tcp.RST | Tcp.FIN)) != 0 && (tcpFlags & Tcp.SYN) == 0) {
                // a stray RST or FIN opens nothing (Linux calls it invalid): otherwise it would hold a
                // port for the established timeout with nobody left to close it
                dropRequest(DropReason.NO_CONNECTION);
                return -1;
            }
            // a SYN opens a connection; a plain segment is picked up mid-stream (as Linux's
            // nf_conntrack_tcp_loose does), so flows survive a gateway restart when their port is kept
            state = (tcpFlags & (Tcp.SYN | Tcp.ACK)) == Tcp.SYN ? ConnState.TCP_SYN_SENT : ConnState.TCP_ESTABLISHED;
        } else {
            state = proto == Ipv4.PROTO_UDP ? ConnState.UDP_UNREPLIED : ConnState.ICMP;
        }
        PolicyTable policyTable = policies.table();
        int policy = policyTable.lookup(src, dst);
        if (policy < 0) {
            dropRequest(policyDrop(policy));
            return -1;
        }
        int egressIp = policyTable.egressIp(policy);
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
            ports.release(proto, egressIp, dst, dstPort, natPort);
            dropRequest(e == ConnTable.FULL ? DropReason.CONNTRACK_FULL : DropReason.NO_CONNECTION);
            return -1;
        }
        table.state(e, state);
        table.policy(e, policy);
        table.vtep(e, peerIp);
        table.peerMac(e, Ethernet.srcMac(b, eth));
        request.increment(Counters.CONN_CREATED);
        return e;
    }

    private static int policyDrop(int verdict) {
        return switch (verdict) {
            case PolicyTable.EXCLUDED -> DropReason.EXCLUDED_CIDR;
            case PolicyTable.NOT_SERVED_HERE -> DropReason.NOT_SERVED_HERE;
            case PolicyTable.NO_EGRESS_IP -> DropReason.NO_EGRESS_IP;
            default -> DropReason.NO_POLICY;
        };
    }

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
                releasePort(table, e);
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
            send(address + outer, frame + VxlanEncapsulator.FRAME_OVERHEAD, peerIp, false);
            request.increment(Counters.ARP_REPLIES);
        } else {
            dropRequest(r == ArpResponder.IGNORED ? DropReason.ARP_NOT_FOR_US : r);
        }
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
    public void onReply(UnsafeBuffer b, long address, int ip, int len, long nowMillis) {
        now = nowMillis;
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
        int hl = Ipv4.headerLength(b, ip);
        int total = Ipv4.totalLength(b, ip);
        int proto = Ipv4.protocol(b, ip);
        int src = Ipv4.srcAddress(b, ip);
        int dst = Ipv4.dstAddress(b, ip);
        if (replyVnet != 0 && !readOffload(b, ip - replyVnet)) {
            dropReply(DropReason.OFFLOAD_INVALID);
            return;
        }
        boolean offloaded = replyPartial || replyGsoType != VirtioNetHeader.GSO_NONE;
        boolean firstFragment = false;
        if (Ipv4.isFragment(b, ip)) {
            if (offloaded) {
                // the kernel finishes checksums and segments before it fragments
                dropReply(DropReason.OFFLOAD_INVALID);
                return;
            }
            if (Ipv4.fragmentOffset(b, ip) != 0) {
                replyLaterFragment(b, address, ip, total, proto, src, dst);
                return;
            }
            firstFragment = true;
        }
        int l4 = ip + hl;
        if (proto == Ipv4.PROTO_ICMP && !firstFragment && total - hl >= Icmp.HEADER_LENGTH
                && Icmp.isError(Icmp.type(b, l4))) {
            if (offloaded) {
                dropReply(DropReason.OFFLOAD_INVALID);
                return;
            }
            replyIcmpError(b, address, ip, total);
            return;
        }
        err = parseTransport(b, l4, total - hl, proto, true, firstFragment);
        if (err != PacketError.NONE) {
            dropReply(err);
            return;
        }
        int segmentLength = total;
        if (offloaded) {
            int checksumField = proto == Ipv4.PROTO_TCP ? Tcp.CHECKSUM_OFFSET : proto == Ipv4.PROTO_UDP ? Udp.CHECKSUM_OFFSET : -1;
            boolean gso = replyGsoType != VirtioNetHeader.GSO_NONE;
            if (!replyPartial || checksumField < 0 || replyCsumStart != hl || replyCsumOffset != checksumField
                    || (gso && proto != Ipv4.PROTO_TCP) || total + VxlanEncapsulator.OVERHEAD > MAX_IPV4_LENGTH) {
                dropReply(DropReason.OFFLOAD_INVALID);
                return;
            }
            if (gso) {
                // what must fit the tunnel is each segment the kernel will cut, not the super-packet
                segmentLength = Math.min(total, hl + Tcp.headerLength(b, l4) + replyGsoSize);
            }
        }
        int e = table.lookup(FlowKey.hi(src, dst), FlowKey.lo(proto, srcPort, dstPort, true));
        if (e < 0) {
            dropReply(DropReason.NO_CONNECTION);
            return;
        }
        if (segmentLength > settings.innerMtu()) {
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
                && MssClamp.clamp(b, l4, settings.mssClamp(), replyPartial && offloaded)) {
            reply.increment(Counters.MSS_CLAMPED);
        }
        int podIp = FlowKey.srcIp(table.origHi(e));
        int podPort = FlowKey.srcPort(table.origLo(e));
        int vtep = table.vtep(e);
        long peerMac = table.peerMac(e);
        int hash = FlowHash.hash(podIp, src, podPort, srcPort, proto);
        if (firstFragment) {
            replyFragments.record(src, dst, proto, Ipv4.identification(b, ip), podIp, vtep, peerMac, hash, now);
        }
        if (replyGsoType != VirtioNetHeader.GSO_NONE) {
            sendSuperPacket(b, address, ip, hl, l4, total, podIp, podPort, vtep, peerMac, hash);
            return;
        }
        SnatRewriter.rewriteDestination(b, ip, l4, proto, podIp, podPort);
        if (replyPartial) {
            // one packet whose checksum the kernel only started (a pure ACK, a SYN-ACK): finished here, from
            // scratch, it goes with the batch — cheaper than a write of its own to the TAP device
            finishTransportChecksum(b, ip, l4, total - hl, proto);
        }
        int outer = encap.encapsulate(b, ip, total, vtep, peerMac, hash);
        send(address + outer, total + VxlanEncapsulator.OVERHEAD, vtep, true);
    }

    /**
     * A validated TCP super-packet whose checksum the kernel only started: translated once (the started sum
     * follows the address change) and handed to the tunnel whole, for the kernel to cut and checksum.
     */
    private void sendSuperPacket(UnsafeBuffer b, long address, int ip, int hl, int l4, int total, int podIp, int podPort,
            int vtep, long peerMac, int hash) {
        SnatRewriter.rewriteDestinationPartial(b, ip, l4, Ipv4.PROTO_TCP, podIp, podPort);
        int outer = encap.encapsulate(b, ip, total, vtep, peerMac, hash);
        int inner = VxlanEncapsulator.OVERHEAD + hl;
        int length = total + VxlanEncapsulator.OVERHEAD;
        if (!tunnel.sendOffloaded(address + outer, length, vtep, replyGsoType, replyGsoSize, inner, Tcp.CHECKSUM_OFFSET,
                inner + Tcp.headerLength(b, l4))) {
            dropReply(DropReason.TX_FAILED);
            return;
        }
        reply.increment(Counters.TX_PACKETS);
        reply.add(Counters.TX_BYTES, length);
        reply.increment(Counters.SUPER_PACKETS);
    }

    /** Computes the TCP or UDP checksum of the (translated) packet from scratch and stores it. */
    private static void finishTransportChecksum(UnsafeBuffer b, int ip, int l4, int l4Len, int proto) {
        int src = Ipv4.srcAddress(b, ip);
        int dst = Ipv4.dstAddress(b, ip);
        if (proto == Ipv4.PROTO_UDP) {
            Udp.checksum(b, l4, Checksum.udp(b, l4, l4Len, src, dst));
        } else {
            Tcp.checksum(b, l4, Checksum.transport(b, l4, l4Len, src, dst, Ipv4.PROTO_TCP));
        }
    }

    /**
     * Reads the reply's virtio-net header into fields; false if it asks for something the gateway cannot
     * honour (a segmentation type other than TCP/IPv4, with or without ECN, or a zero segment size). The
     * checksum start and offset are compared with the parsed headers later.
     */
    private boolean readOffload(UnsafeBuffer b, int v) {
        int flags = VirtioNetHeader.flags(b, v);
        int gsoType = VirtioNetHeader.gsoType(b, v);
        replyPartial = (flags & VirtioNetHeader.FLAG_NEEDS_CSUM) != 0;
        replyCsumStart = VirtioNetHeader.csumStart(b, v);
        replyCsumOffset = VirtioNetHeader.csumOffset(b, v);
        replyGsoType = gsoType;
        replyGsoSize = VirtioNetHeader.gsoSize(b, v);
        if (gsoType == VirtioNetHeader.GSO_NONE) {
            return true;
        }
        return (gsoType & ~VirtioNetHeader.GSO_ECN) == VirtioNetHeader.GSO_TCPV4 && replyGsoSize > 0;
    }

    private void replyLaterFragment(UnsafeBuffer b, long address, int ip, int total, int proto, int src, int dst) {
        if (!replyFragments.lookup(src, dst, proto, Ipv4.identification(b, ip), now, fragment)) {
            dropReply(DropReason.FRAGMENT);
            return;
        }
        if (total > settings.innerMtu()) {
            dropReply(DropReason.TOO_BIG);
            return;
        }
        if (Ipv4.ttl(b, ip) <= 1) {
            dropReply(DropReason.TTL_EXCEEDED);
            return;
        }
        Ipv4.decrementTtl(b, ip);
        FragmentTracker.rewriteDestinationAddress(b, ip, fragment.newAddress);
        int outer = encap.encapsulate(b, ip, total, fragment.vtep, fragment.peerMac, fragment.flowHash);
        send(address + outer, total + VxlanEncapsulator.OVERHEAD, fragment.vtep, true);
    }

    /**
     * An ICMP error from outside about a translated flow (RFC 5508): the quoted packet identifies
     * the connection; the error is translated back — outer destination, quoted source address and
     * port, every checksum — and tunnelled to the pod, so path-MTU discovery and traceroute work
     * through the gateway. Errors do not refresh the connection.
     */
    private void replyIcmpError(UnsafeBuffer b, long address, int ip, int total) {
        int r = IcmpErrorTranslator.parse(b, ip, total, embedded);
        if (r != IcmpErrorTranslator.OK) {
            dropReply(r == IcmpErrorTranslator.UNTRANSLATED_TYPE || r == IcmpErrorTranslator.NOT_AN_ERROR
                    ? DropReason.UNSUPPORTED_ICMP : DropReason.ICMP_ERROR_INVALID);
            return;
        }
        int e = table.lookup(embedded.replyHi, embedded.replyLo);
        if (e < 0) {
            dropReply(DropReason.NO_CONNECTION);
            return;
        }
        if (total > settings.innerMtu()) {
            dropReply(DropReason.TOO_BIG);
            return;
        }
        if (Ipv4.ttl(b, ip) <= 1) {
            // never an ICMP error about an ICMP error
            dropReply(DropReason.TTL_EXCEEDED);
            return;
        }
        Ipv4.decrementTtl(b, ip);
        int podIp = FlowKey.srcIp(table.origHi(e));
        IcmpErrorTranslator.translate(b, ip, total, embedded, podIp, FlowKey.srcPort(table.origLo(e)));
        int vtep = table.vtep(e);
        int outer = encap.encapsulate(b, ip, total, vtep, table.peerMac(e), podIp);
        send(address + outer, total + VxlanEncapsulator.OVERHEAD, vtep, true);
        reply.increment(Counters.ICMP_ERRORS_TRANSLATED);
    }

    /**
     * A reply that cannot fit in the tunnel. With DF set, answer the sender with ICMP
     * fragmentation-needed carrying the tunnel's inner MTU (RFC 1191), built in the slot's headroom
     * in front of the quoted packet and sent out of the egress side; without DF, drop it. (With the
     * egress IP routed to the TUN device, the kernel already does both before the gateway sees the
     * packet, since the TUN device's MTU is the inner MTU; this covers packets redirected to it.)
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
        if (Ipv4.fragmentOffset(b, ip) != 0) {
            return;
        }
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
        send(address + outer, len + VxlanEncapsulator.OVERHEAD, peerIp, false, false);
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

    // ------------------------------------------------------------------ shared

    /**
     * Validates the transport header and leaves its ports (for ICMP echo: the identifier as the
     * pod-side port) and TCP flags in fields. A first fragment holds only the start of its
     * datagram, so its UDP length is not compared with what is present.
     */
    private int parseTransport(UnsafeBuffer b, int l4, int l4len, int proto, boolean replyDirection, boolean firstFragment) {
        tcpFlags = 0;
        switch (proto) {
            case Ipv4.PROTO_TCP -> {
                int err = Tcp.check(b, l4, l4len);
                if (err != PacketError.NONE) {
                    return err;
                }
                srcPort = Tcp.srcPort(b, l4);
                dstPort = Tcp.dstPort(b, l4);
                tcpFlags = Tcp.flags(b, l4);
                return PacketError.NONE;
            }
            case Ipv4.PROTO_UDP -> {
                int err = firstFragment
                        ? (l4len < Udp.HEADER_LENGTH ? PacketError.UDP_TRUNCATED
                                : Udp.length(b, l4) < Udp.HEADER_LENGTH ? PacketError.UDP_BAD_LENGTH : PacketError.NONE)
                        : Udp.check(b, l4, l4len);
                if (err != PacketError.NONE) {
                    return err;
                }
                srcPort = Udp.srcPort(b, l4);
                dstPort = Udp.dstPort(b, l4);
                return PacketError.NONE;
            }
            case Ipv4.PROTO_ICMP -> {
                int err = Icmp.check(b, l4, l4len);
                if (err != PacketError.NONE) {
                    return err;
                }
                int expected = replyDirection ? Icmp.TYPE_ECHO_REPLY : Icmp.TYPE_ECHO_REQUEST;
                if (Icmp.type(b, l4) != expected) {
                    return DropReason.UNSUPPORTED_ICMP;
                }
                srcPort = replyDirection ? 0 : Icmp.identifier(b, l4);
                dstPort = replyDirection ? Icmp.identifier(b, l4) : 0;
                return PacketError.NONE;
            }
            default -> {
                return DropReason.UNSUPPORTED_PROTOCOL;
            }
        }
    }

    private void send(long address, int length, int dstIp, boolean replyDirection) {
        send(address, length, dstIp, replyDirection, true);
    }

    /**
     * Queues an outer packet for the tunnel. {@code countTx} is false for ICMP errors the gateway
     * generates about a packet it dropped: that packet is already counted (as a drop), so
     * received = sent + dropped holds per direction; the errors have their own counter.
     */
    private void send(long address, int length, int dstIp, boolean replyDirection, boolean countTx) {
        Counters counters = replyDirection ? reply : request;
        if (!tunnel.add(address, length, dstIp)) {
            tunnel.flush();
            if (!tunnel.add(address, length, dstIp)) {
                if (!countTx) {
                    return;
                }
                if (replyDirection) {
                    dropReply(DropReason.TX_FAILED);
                } else {
                    dropRequest(DropReason.TX_FAILED);
                }
                return;
            }
        }
        if (countTx) {
            counters.increment(Counters.TX_PACKETS);
            counters.add(Counters.TX_BYTES, length);
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

    /** Sends what the batch queued; called at the end of every ring batch. */
    public void flush() {
        egress.flush();
        tunnel.flush();
    }

    // ------------------------------------------------------------------ housekeeping

    /**
     * Removes idle connections, visiting at most {@code maxVisits} entries, returns their ports,
     * and forgets stale fragment translations.
     */
    public int expire(long nowMillis, int maxVisits, TimeoutPolicy timeouts) {
        int removed = table.expire(nowMillis, maxVisits, timeouts, releasePort);
        if (removed > 0) {
            request.add(Counters.CONN_EXPIRED, removed);
        }
        requestFragments.expire(nowMillis);
        replyFragments.expire(nowMillis);
        return removed;
    }

    private void releasePort(ConnTable t, int e) {
        long rh = t.replyHi(e);
        long rl = t.replyLo(e);
        ports.release(FlowKey.protocol(rl), FlowKey.dstIp(rh), FlowKey.srcIp(rh), FlowKey.srcPort(rl), FlowKey.dstPort(rl));
    }

    /**
     * Publishes NAT port usage for metrics: ports in use per egress IP (those of the current
     * policies, and any still holding ports) and the busiest destinations. Owner thread, about
     * once a second; it allocates, off the per-packet path.
     */
    public void publishStats() {
        PolicyTable t = policies.table();
        List<Integer> ips = new ArrayList<>();
        for (int p = 0; p < t.policyCount(); p++) {
            if (!ips.contains(t.egressIp(p))) {
                ips.add(t.egressIp(p));
            }
        }
        NatStats old = natStats;
        for (int i = 0; i < old.egressIps().length; i++) {
            if (!ips.contains(old.egressIps()[i]) && ports.inUse(old.egressIps()[i]) > 0) {
                ips.add(old.egressIps()[i]);
            }
        }
        int[] egressIps = ips.stream().mapToInt(Integer::intValue).toArray();
        long[] inUse = new long[egressIps.length];
        for (int i = 0; i < egressIps.length; i++) {
            inUse[i] = ports.inUse(egressIps[i]);
        }
        List<NatStats.Destination> busiest = new ArrayList<>();
        ports.busiest(BUSIEST, (egressIp, protocol, remoteIp, remotePort, used, capacity) ->
                busiest.add(new NatStats.Destination(egressIp, protocol, remoteIp, remotePort, used, capacity)));
        natStats = new NatStats(egressIps, inUse, List.copyOf(busiest));
    }

    /** The last published NAT statistics (any thread). */
    public NatStats natStats() {
        return natStats;
    }

    public ConnTable table() {
        return table;
    }
}
