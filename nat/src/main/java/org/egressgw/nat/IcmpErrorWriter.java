package org.egressgw.nat;

import org.agrona.MutableDirectBuffer;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;

/**
 * Writes the ICMP errors the gateway originates as an IP hop (RFC 792; fragmentation-needed with the next-hop
 * MTU of RFC 1191): time exceeded when a TTL expires here, fragmentation-needed when a reply cannot fit the
 * tunnel. The caller has put the quoted part of the offending datagram ({@link #quoteLength}) at
 * {@code out + HEADROOM}; this writes the IPv4 and ICMP headers in front of it. (Errors from outside about a
 * translated flow are translated, not written: {@link IcmpErrorTranslator}.)
 */
public final class IcmpErrorWriter {
    /** An IPv4 header without options and the 8-byte ICMP header, in front of the quoted bytes. */
    public static final int HEADROOM = Ipv4.MIN_HEADER_LENGTH + Icmp.HEADER_LENGTH;
    /** The TTL of the errors the gateway originates. */
    static final int TTL = 64;

    private IcmpErrorWriter() {
    }

    /** How much of a datagram an error quotes: its IP header and the first 8 bytes of its payload (RFC 792). */
    public static int quoteLength(int headerLength, int totalLength) {
        return Math.min(totalLength, headerLength + 8);
    }

    /**
     * Writes an IPv4 + ICMP error header at {@code out}, in front of {@code quoted} bytes already at
     * {@code out + HEADROOM}; the message is {@code HEADROOM + quoted} bytes long.
     *
     * @param mtu the next-hop MTU for fragmentation-needed, 0 for none
     * @param src the error's source address (the gateway's, or the egress IP the sender was talking to)
     * @param dst whom it is about: the original sender
     */
    public static void write(MutableDirectBuffer b, int out, int type, int code, int mtu, int src, int dst, int quoted) {
        int icmp = out + Ipv4.MIN_HEADER_LENGTH;
        Ipv4.versionAndHeaderLength(b, out, Ipv4.MIN_HEADER_LENGTH);
        Ipv4.tos(b, out, 0);
        Ipv4.totalLength(b, out, HEADROOM + quoted);
        Ipv4.identification(b, out, 0);
        Ipv4.flagsAndFragment(b, out, 0);
        Ipv4.ttl(b, out, TTL);
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
}
