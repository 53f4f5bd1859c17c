package org.egressgw.core.datapath;

import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.ConnState;
import org.egressgw.conntrack.ConnTable;
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
import org.egressgw.nat.SnatRewriter;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FlowHash;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4CidrSet;
import org.egressgw.packet.PacketError;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Vxlan;

/**
 * The gateway's per-packet logic, both directions, run to completion on one thread.
 *
 * <pre>
 * request: VXLAN payload → peer check → decap (VNI, inner MAC; ARP answered) → IPv4/L4 validate
 *          → conntrack (original tuple) or policy + port allocation + insert → TTL → MSS clamp
 *          → SNAT → egress write (TUN)
 * reply:   IPv4 from the egress side → validate (offload metadata too) → conntrack (reply tuple; for ICMP errors
 *          the quoted packet's tuple) → size check (ICMP fragmentation-needed) → TTL → MSS clamp
 *          → reverse SNAT → VXLAN encap → tunnel send to the node the flow came from
 * </pre>
 *
 * <p>IPv4 fragments follow their first fragment by IP ID: the first carries the transport header and is translated
 * like any packet, and the translation is remembered for the datagram; later fragments get the same address
 * rewrite. A later fragment that arrives before its first is dropped ({@code fragment}).
 *
 * <p>Accounting: every packet received is either sent or counted under exactly one {@link DropReason}. What the
 * sinks only queue (TCP segments held for coalescing, datagrams batched for {@code sendmmsg}) is counted as sent at
 * {@link #flush}, minus what the kernel refused in it, which is counted as {@code tx_failed} — so the counters
 * only ever grow and {@code rx = tx + drops} holds per direction after every flush.
 *
 * <p>Threading: every method is called by the single datapath thread, which owns the connection table, the port
 * allocator, the fragment trackers and the counters. Nothing here allocates or throws per packet.
 */
public final class Datapath {
    /** How long a fragmented datagram's translation is remembered. */
    static final long FRAGMENT_TTL_MILLIS = 5_000;
    static final int FRAGMENT_SLOTS = 4096;

    private final DatapathSettings settings;
    private final ConnTable table;
    private final NatBindings bindings;
    private final VxlanDecapsulator decap;
    private final VxlanEncapsulator encap;
    private final ArpResponder arp;
    private final EgressSink egress;
    private final TunnelSink tunnel;
    private final Counters request;
    private final Counters reply;
    private final Ipv4CidrSet peers;
    private final FragmentTracker requestFragments = new FragmentTracker(FRAGMENT_SLOTS, FRAGMENT_TTL_MILLIS);
    private final FragmentTracker replyFragments = new FragmentTracker(FRAGMENT_SLOTS, FRAGMENT_TTL_MILLIS);
    private final FragmentTracker.Result fragment = new FragmentTracker.Result();
    private final IcmpErrorTranslator.Embedded embedded = new IcmpErrorTranslator.Embedded();
    private final ParsedPacket p = new ParsedPacket();
    private final ReplyOffload offload = new ReplyOffload();
    private final HopErrors hopErrors;
    private final ReplyFragmenter fragmenter;
    private final TxLedger egressLedger;
    private final TxLedger tunnelLedger;
    private final PacketAccounting acct;

    private long now;
    /** Bytes of virtio-net header in front of each reply packet (0: none, nothing offloaded). */
    private int replyVnet;

    /** The policy table the datapath consults for new connections; swapped whole on reload. */
    public record PolicyView(PolicyTable table) {
    }

    public Datapath(DatapathSettings settings, ConnTable table, PolicyView policies, EgressSink egress,
            TunnelSink tunnel, Counters request, Counters reply) {
        this.settings = settings;
        this.table = table;
        this.bindings = new NatBindings(settings, table, policies, request);
        this.egress = egress;
        this.tunnel = tunnel;
        this.request = request;
        this.reply = reply;
        this.acct = new PacketAccounting(request, reply);
        this.decap = new VxlanDecapsulator(settings.vni(), settings.gatewayMac());
        this.encap = new VxlanEncapsulator(settings.localIp(), settings.tunnelDstPort(), settings.vni(), settings.gatewayMac());
        this.arp = settings.hasOverlayIp() ? ArpResponder.forAddress(settings.overlayIp(), settings.gatewayMac())
                : ArpResponder.forAnyAddress(settings.gatewayMac());
        this.peers = new Ipv4CidrSet(settings.allowedPeers());
        this.hopErrors = new HopErrors(settings, encap, egress, tunnel, request, reply);
        this.fragmenter = new ReplyFragmenter(encap, tunnel, settings.innerMtu(), reply);
        this.egressLedger = new TxLedger(request);
        this.tunnelLedger = new TxLedger(reply);
    }

    /** Installs a new policy table (control thread); takes effect for the next new connection. */
    public void policies(PolicyView view) {
        bindings.policies(view);
    }

    public PolicyView policies() {
        return bindings.policies();
    }

    /**
     * Says that every reply packet is preceded by a virtio-net header of {@code length} bytes (the TUN device's, 0
     * for none) whose offload metadata is honoured: a TCP super-packet is translated once and handed to
     * {@link TunnelSink#sendOffloaded} whole (its checksum left started for the kernel to finish per segment); a
     * single packet with a started checksum has it finished here and is batched as any other. Call before the
     * datapath thread starts; the tunnel sink must then support offloaded sends.
     */
    public void replyVnetHeader(int length) {
        this.replyVnet = length;
    }

    /** Installs the drop observer (before the datapath thread starts). */
    public void dropObserver(DropObserver observer) {
        acct.observer(observer);
    }

    // ------------------------------------------------------------------ request path

    /**
     * Handles one VXLAN payload received from a node.
     *
     * @param off start of the VXLAN header in the slot
     */
    public void onRequest(UnsafeBuffer b, long address, int off, int len, int peerIp, long nowMillis) {
        now = nowMillis;
        acct.received(false, address + off, len, peerIp);
        if (!peers.contains(peerIp)) {
            acct.dropRequest(DropReason.PEER_NOT_ALLOWED);
            return;
        }
        int verdict = decap.classify(b, off, len);
        int eth = off + Vxlan.HEADER_LENGTH;
        if (verdict != VxlanDecapsulator.FOR_US) {
            if (verdict == VxlanDecapsulator.ARP) {
                answerArp(b, address, eth, len - Vxlan.HEADER_LENGTH, peerIp);
            } else {
                acct.dropRequest(verdict > 0 ? verdict
                        : verdict == VxlanDecapsulator.WRONG_VNI ? DropReason.WRONG_VNI : DropReason.NOT_OUR_MAC);
            }
            return;
        }
        if (Ethernet.etherType(b, eth) != Ethernet.TYPE_IPV4) {
            acct.dropRequest(DropReason.UNSUPPORTED_ETHERTYPE);
            return;
        }
        int err = p.ipv4(b, eth + Ethernet.HEADER_LENGTH, len - Vxlan.HEADER_LENGTH - Ethernet.HEADER_LENGTH);
        if (err == PacketError.NONE && p.laterFragment) {
            requestLaterFragment(b, address);
            return;
        }
        if (err != PacketError.NONE || (err = p.transport(b, false)) != PacketError.NONE) {
            acct.dropRequest(err);
            return;
        }
        long hi = FlowKey.hi(p.src, p.dst);
        long lo = FlowKey.lo(p.proto, p.srcPort, p.dstPort, false);
        int e = table.lookup(hi, lo);
        if (Ipv4.ttl(b, p.ip) <= 1) {
            // expires here: answered as a router would, but only for traffic the gateway would forward, and
            // without creating state for it
            int forwardable = e >= 0 ? 0 : bindings.policies().table().lookup(p.src, p.dst);
            if (forwardable >= 0) {
                acct.dropRequest(DropReason.TTL_EXCEEDED);
                hopErrors.requestTimeExceeded(b, address, p, peerIp, Ethernet.srcMac(b, eth));
            } else {
                acct.dropRequest(DropReason.ofPolicyVerdict(forwardable));
            }
            return;
        }
        if (e < 0) {
            e = bindings.open(p, hi, lo, peerIp, Ethernet.srcMac(b, eth), now);
            if (e < 0) {
                acct.dropRequest(bindings.refused);
                return;
            }
        } else {
            bindings.onRequest(e, p, peerIp, b, eth, now);
        }
        table.touch(e, now);
        table.count(e, false, p.total);
        Ipv4.decrementTtl(b, p.ip);
        clampMss(b, false, request);
        int natIp = FlowKey.dstIp(table.replyHi(e));
        if (p.firstFragment) {
            requestFragments.record(p.src, p.dst, p.proto, Ipv4.identification(b, p.ip), natIp, 0, 0, 0, now);
        }
        SnatRewriter.rewriteSource(b, p.ip, p.l4, p.proto, natIp, FlowKey.dstPort(table.replyLo(e)));
        writeEgress(address + p.ip, p.total);
    }

    /** A fragment after the first: it carries no ports, so it follows its first fragment's translation. */
    private void requestLaterFragment(UnsafeBuffer b, long address) {
        if (!requestFragments.lookup(p.src, p.dst, p.proto, Ipv4.identification(b, p.ip), now, fragment)) {
            acct.dropRequest(DropReason.FRAGMENT);
            return;
        }
        if (Ipv4.ttl(b, p.ip) <= 1) {
            // time exceeded is only ever sent for the first fragment (RFC 792)
            acct.dropRequest(DropReason.TTL_EXCEEDED);
            return;
        }
        Ipv4.decrementTtl(b, p.ip);
        FragmentTracker.rewriteSourceAddress(b, p.ip, fragment.newAddress);
        writeEgress(address + p.ip, p.total);
    }

    private void writeEgress(long address, int length) {
        if (egress.write(address, length) <= 0) {
            acct.dropRequest(DropReason.TX_FAILED);
            return;
        }
        egressLedger.queued(length);
    }

    private void answerArp(UnsafeBuffer b, long address, int eth, int frameLen, int peerIp) {
        int r = arp.respond(b, eth, frameLen);
        if (r != ArpResponder.REPLIED) {
            acct.dropRequest(r == ArpResponder.IGNORED ? DropReason.ARP_NOT_FOR_US : r);
            return;
        }
        int frame = ArpResponder.replyLength();
        int outer = encap.encapsulateFrame(b, eth, frame, peerIp, peerIp);
        int length = frame + VxlanEncapsulator.FRAME_OVERHEAD;
        if (tunnel.sendNow(address + outer, length, peerIp)) {
            request.increment(Counters.TX_PACKETS);
            request.add(Counters.TX_BYTES, length);
            request.increment(Counters.ARP_REPLIES);
        } else {
            acct.dropRequest(DropReason.TX_FAILED);
        }
    }

    // ------------------------------------------------------------------ reply path

    /**
     * Handles one IPv4 packet that arrived on the egress side for an egress IP.
     *
     * @param ip start of the IPv4 header in the slot; at least {@link PacketEvent#REPLY_OFFSET}
     */
    public void onReply(UnsafeBuffer b, long address, int ip, int len, long nowMillis) {
        now = nowMillis;
        acct.received(true, address + ip, len, 0);
        int err = p.ipv4(b, ip, len);
        if (err != PacketError.NONE) {
            acct.dropReply(err);
            return;
        }
        // the kernel finishes checksums and segments before it fragments; ICMP errors are never offloaded
        if (!offload.read(b, ip, replyVnet) || (offload.any() && (p.firstFragment || p.laterFragment || p.isIcmpError(b)))) {
            acct.dropReply(DropReason.OFFLOAD_INVALID);
            return;
        }
        if (p.laterFragment) {
            replyLaterFragment(b, address);
            return;
        }
        if (p.isIcmpError(b)) {
            replyIcmpError(b, address);
            return;
        }
        if ((err = p.transport(b, true)) != PacketError.NONE) {
            acct.dropReply(err);
            return;
        }
        if (offload.any() && !offload.fits(p)) {
            acct.dropReply(DropReason.OFFLOAD_INVALID);
            return;
        }
        int e = table.lookup(FlowKey.hi(p.src, p.dst), FlowKey.lo(p.proto, p.srcPort, p.dstPort, true));
        if (e < 0) {
            acct.dropReply(DropReason.NO_CONNECTION);
            return;
        }
        if (offload.segmentLength(b, p) > settings.innerMtu() && (offload.any() || !cuttable(b))) {
            acct.dropReply(DropReason.TOO_BIG);
            hopErrors.replyTooBig(b, address, p);
            return;
        }
        int state = table.state(e);
        if (p.proto == Ipv4.PROTO_TCP) {
            if (TcpTracker.isInvalidReply(state, p.tcpFlags)) {
                // not trusted blindly: neither forwarded nor allowed to refresh the entry
                acct.dropReply(DropReason.TCP_INVALID);
                return;
            }
            table.state(e, TcpTracker.next(state, p.tcpFlags, true));
        } else if (p.proto == Ipv4.PROTO_UDP) {
            table.state(e, ConnState.UDP_REPLIED);
        }
        if (table.state(e) != state) {
            bindings.changed(e, now);
        }
        table.touch(e, now);
        table.count(e, true, p.total);
        if (Ipv4.ttl(b, p.ip) <= 1) {
            acct.dropReply(DropReason.TTL_EXCEEDED);
            hopErrors.replyTimeExceeded(b, address, p);
            return;
        }
        Ipv4.decrementTtl(b, p.ip);
        clampMss(b, offload.partial, reply);
        int podIp = FlowKey.srcIp(table.origHi(e));
        int podPort = FlowKey.srcPort(table.origLo(e));
        int vtep = table.vtep(e);
        long peerMac = table.peerMac(e);
        int hash = FlowHash.hash(podIp, p.src, podPort, p.srcPort, p.proto);
        if (p.firstFragment) {
            replyFragments.record(p.src, p.dst, p.proto, Ipv4.identification(b, p.ip), podIp, vtep, peerMac, hash, now);
        }
        if (offload.gso()) {
            sendSuperPacket(b, address, podIp, podPort, vtep, peerMac, hash);
            return;
        }
        SnatRewriter.rewriteDestination(b, p.ip, p.l4, p.proto, podIp, podPort);
        if (offload.partial) {
            // one packet whose checksum the kernel only started (a pure ACK, a SYN-ACK): finished here, from
            // scratch, it goes with the batch — cheaper than a write of its own to the TAP device
            Checksum.storeTransport(b, p.l4, p.l4Length(), p.src, podIp, p.proto);
        }
        tunnelReply(b, address, vtep, peerMac, hash);
    }

    /** A fragment after the first: it follows its first fragment's translation back to the pod. */
    private void replyLaterFragment(UnsafeBuffer b, long address) {
        if (!replyFragments.lookup(p.src, p.dst, p.proto, Ipv4.identification(b, p.ip), now, fragment)) {
            acct.dropReply(DropReason.FRAGMENT);
            return;
        }
        if (forwardableReply(b)) {
            FragmentTracker.rewriteDestinationAddress(b, p.ip, fragment.newAddress);
            tunnelReply(b, address, fragment.vtep, fragment.peerMac, fragment.flowHash);
        }
    }

    /**
     * An ICMP error from outside about a translated flow (RFC 5508): the quoted packet identifies the connection;
     * the error is translated back — outer destination, quoted source address and port, every checksum — and
     * tunnelled to the pod, so path-MTU discovery and traceroute work through the gateway. Errors do not refresh
     * the connection.
     */
    private void replyIcmpError(UnsafeBuffer b, long address) {
        int r = IcmpErrorTranslator.parse(b, p.ip, p.total, embedded);
        if (r != IcmpErrorTranslator.OK) {
            acct.dropReply(r == IcmpErrorTranslator.UNTRANSLATED_TYPE || r == IcmpErrorTranslator.NOT_AN_ERROR
                    ? DropReason.UNSUPPORTED_ICMP : DropReason.ICMP_ERROR_INVALID);
            return;
        }
        int e = table.lookup(embedded.replyHi, embedded.replyLo);
        if (e < 0) {
            acct.dropReply(DropReason.NO_CONNECTION);
            return;
        }
        if (forwardableReply(b)) {
            int podIp = FlowKey.srcIp(table.origHi(e));
            IcmpErrorTranslator.translate(b, p.ip, p.total, embedded, podIp, FlowKey.srcPort(table.origLo(e)));
            reply.increment(Counters.ICMP_ERRORS_TRANSLATED);
            tunnelReply(b, address, table.vtep(e), table.peerMac(e), podIp);
        }
    }

    /**
     * For replies that carry no flow state of their own (later fragments, ICMP errors): dropped when too big for
     * the tunnel or when their TTL expires here (no ICMP error about them), else their TTL is decremented.
     */
    private boolean forwardableReply(UnsafeBuffer b) {
        if (p.total > settings.innerMtu() && !cuttable(b)) {
            acct.dropReply(DropReason.TOO_BIG);
            return false;
        }
        if (Ipv4.ttl(b, p.ip) <= 1) {
            acct.dropReply(DropReason.TTL_EXCEEDED);
            return false;
        }
        Ipv4.decrementTtl(b, p.ip);
        return true;
    }

    /** A reply too big for the tunnel may be cut (no DF, room for 8 bytes after its header). */
    private boolean cuttable(UnsafeBuffer b) {
        return !Ipv4.dontFragment(b, p.ip) && fragmenter.canCut(b, p.ip);
    }

    /**
     * The reply tail: VXLAN encapsulation in the slot's headroom, queued for the tunnel; a reply too big for the
     * tunnel (that may be cut) leaves as fragments.
     */
    private void tunnelReply(UnsafeBuffer b, long address, int vtep, long peerMac, int hash) {
        if (p.total > settings.innerMtu()) {
            if (!fragmenter.send(b, p.ip, vtep, peerMac, hash)) {
                acct.dropReply(DropReason.TX_FAILED);
            }
            return;
        }
        int outer = encap.encapsulate(b, p.ip, p.total, vtep, peerMac, hash);
        int length = p.total + VxlanEncapsulator.OVERHEAD;
        if (!tunnel.add(address + outer, length, vtep)) {
            tunnel.flush();
            if (!tunnel.add(address + outer, length, vtep)) {
                acct.dropReply(DropReason.TX_FAILED);
                return;
            }
        }
        tunnelLedger.queued(length);
    }

    /**
     * A validated TCP super-packet whose checksum the kernel only started: translated once (the started sum follows
     * the address change) and handed to the tunnel whole, for the kernel to cut and checksum.
     */
    private void sendSuperPacket(UnsafeBuffer b, long address, int podIp, int podPort, int vtep, long peerMac, int hash) {
        SnatRewriter.rewriteDestinationPartial(b, p.ip, p.l4, Ipv4.PROTO_TCP, podIp, podPort);
        int outer = encap.encapsulate(b, p.ip, p.total, vtep, peerMac, hash);
        int inner = VxlanEncapsulator.OVERHEAD + p.hl;
        int length = p.total + VxlanEncapsulator.OVERHEAD;
        if (!tunnel.sendOffloaded(address + outer, length, vtep, offload.gsoType, offload.gsoSize, inner,
                Tcp.CHECKSUM_OFFSET, inner + Tcp.headerLength(b, p.l4))) {
            acct.dropReply(DropReason.TX_FAILED);
            return;
        }
        reply.increment(Counters.TX_PACKETS);
        reply.add(Counters.TX_BYTES, length);
        reply.increment(Counters.SUPER_PACKETS);
    }

    // ------------------------------------------------------------------ shared

    /** Lowers the MSS a SYN or SYN-ACK announces to what fits the tunnel. */
    private void clampMss(UnsafeBuffer b, boolean checksumStarted, Counters counters) {
        if (p.proto == Ipv4.PROTO_TCP && (p.tcpFlags & Tcp.SYN) != 0 && settings.mssClamp() > 0
                && MssClamp.clamp(b, p.l4, settings.mssClamp(), checksumStarted)) {
            counters.increment(Counters.MSS_CLAMPED);
        }
    }

    /**
     * Sends what the batch queued and counts it: as sent, less what the sinks lost ({@code tx_failed}). Called at
     * the end of every ring batch and before the datapath thread stops.
     */
    public void flush() {
        egress.flush();
        tunnel.flush();
        egressLedger.settle(egress.lostPackets(), egress.lostBytes());
        tunnelLedger.settle(tunnel.lostPackets(), tunnel.lostBytes());
    }

    // ------------------------------------------------------------------ housekeeping

    /**
     * Removes idle connections, visiting at most {@code maxVisits} entries, returns their ports, and forgets stale
     * fragment translations.
     */
    public int expire(long nowMillis, int maxVisits, TimeoutPolicy timeouts) {
        requestFragments.expire(nowMillis);
        replyFragments.expire(nowMillis);
        return bindings.expire(nowMillis, maxVisits, timeouts);
    }

    /** Joins the gateway group's state sync: changes go out, peers' connections come in ({@link #applySync}). */
    public void sync(ConnectionSync sync) {
        bindings.sync(sync);
    }

    /** True if connections peers sent wait to be installed (any thread). */
    public boolean syncPending() {
        return bindings.syncPending();
    }

    /** Installs up to {@code max} connections peers sent, at {@code nowMillis}; returns how many (datapath thread). */
    public int applySync(int max, long nowMillis) {
        return bindings.applySync(max, nowMillis);
    }

    /** Publishes NAT port usage for metrics (datapath thread, about once a second; allocates a small snapshot). */
    public void publishStats() {
        bindings.publishStats();
    }

    /** The last published NAT statistics (any thread). */
    public NatStats natStats() {
        return bindings.natStats();
    }

    public ConnTable table() {
        return table;
    }
}
