package org.egressgw.core.datapath;

import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.nat.IcmpErrorWriter;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;

/**
 * The ICMP errors the gateway sends as an IP hop, about a packet the datapath has just dropped (and counted): time
 * exceeded when a TTL expires here, fragmentation-needed when a reply with DF cannot fit the tunnel. They are
 * built in the dropped packet's slot (in its headroom, in front of the quoted bytes) and counted under their own
 * counters, not as sent packets, so {@code rx = tx + drops} holds.
 *
 * <p>Threading: the datapath thread only.
 */
final class HopErrors {
    private final DatapathSettings settings;
    private final VxlanEncapsulator encap;
    private final EgressSink egress;
    private final TunnelSink tunnel;
    private final Counters request;
    private final Counters reply;
    /** Scratch for the quoted part of a request (IP header with options + 8 bytes). */
    private final UnsafeBuffer quote = new UnsafeBuffer(new byte[Ipv4.MAX_HEADER_LENGTH + 8]);

    HopErrors(DatapathSettings settings, VxlanEncapsulator encap, EgressSink egress, TunnelSink tunnel, Counters request,
            Counters reply) {
        this.settings = settings;
        this.encap = encap;
        this.egress = egress;
        this.tunnel = tunnel;
        this.request = request;
        this.reply = reply;
    }

    /**
     * A reply that cannot fit in the tunnel: with DF set, fragmentation-needed carrying the tunnel's inner MTU
     * (RFC 1191) to the sender, out of the egress side; without DF, nothing. (With the egress IP routed to the TUN
     * device the kernel already does this, since the TUN device's MTU is the inner MTU; this covers packets
     * redirected to it.)
     */
    void replyTooBig(UnsafeBuffer b, long address, ParsedPacket p) {
        if (Ipv4.dontFragment(b, p.ip)
                && fromEgress(b, address, p, Icmp.TYPE_DEST_UNREACHABLE, Icmp.CODE_FRAG_NEEDED, settings.innerMtu())) {
            reply.increment(Counters.FRAG_NEEDED_SENT);
        }
    }

    /**
     * A reply's TTL expired here: time exceeded to the external sender, from the egress IP it talked to (a later
     * fragment never gets one, RFC 792; the datapath does not call this for them).
     */
    void replyTimeExceeded(UnsafeBuffer b, long address, ParsedPacket p) {
        if (fromEgress(b, address, p, Icmp.TYPE_TIME_EXCEEDED, 0, 0)) {
            reply.increment(Counters.ICMP_ERRORS_SENT);
        }
    }

    /** Writes an error about the reply (quoted as it arrived) in front of it and sends it out of the egress side. */
    private boolean fromEgress(UnsafeBuffer b, long address, ParsedPacket p, int type, int code, int mtu) {
        int quoted = IcmpErrorWriter.quoteLength(p.hl, p.total);
        int out = p.ip - IcmpErrorWriter.HEADROOM;
        IcmpErrorWriter.write(b, out, type, code, mtu, p.dst, p.src, quoted);
        return egress.write(address + out, IcmpErrorWriter.HEADROOM + quoted) > 0;
    }

    /**
     * A request's TTL expired here: time exceeded to the pod through the tunnel, quoting its packet as it sent it,
     * from the gateway's overlay address (or its underlay address when none is configured) — so a traceroute from
     * the pod shows the gateway as a hop.
     */
    void requestTimeExceeded(UnsafeBuffer b, long address, ParsedPacket p, int peerIp, long peerMac) {
        int quoted = IcmpErrorWriter.quoteLength(p.hl, p.total);
        b.getBytes(p.ip, quote, 0, quoted);
        int out = PacketEvent.REPLY_OFFSET;
        b.putBytes(out + IcmpErrorWriter.HEADROOM, quote, 0, quoted);
        int self = settings.hasOverlayIp() ? settings.overlayIp() : settings.localIp();
        IcmpErrorWriter.write(b, out, Icmp.TYPE_TIME_EXCEEDED, 0, 0, self, p.src, quoted);
        int len = IcmpErrorWriter.HEADROOM + quoted;
        int outer = encap.encapsulate(b, out, len, peerIp, peerMac, p.src);
        if (tunnel.sendNow(address + outer, len + VxlanEncapsulator.OVERHEAD, peerIp)) {
            request.increment(Counters.ICMP_ERRORS_SENT);
        }
    }
}
