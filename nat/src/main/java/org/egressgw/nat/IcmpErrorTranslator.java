package org.egressgw.nat;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;

/**
 * Reverse-translates an ICMP error that a router or the remote host sent about a packet the gateway
 * translated (RFC 5508 section 4.2, as a NAT must for path-MTU discovery and traceroute to work).
 *
 * <p>The error arrives on the egress side addressed to the egress IP and quotes (RFC 792: at least
 * the IP header and the first 8 bytes of the payload, RFC 1812 routers often more) the packet as the
 * gateway sent it: source = egress IP, source port or echo identifier = NAT port, destination = the
 * remote. {@link #parse} finds the connection it belongs to (the REPLY key of the flow, as the
 * datapath looks up replies); {@link #translate} then rewrites it so the pod sees an error about the
 * packet it sent: outer destination egress IP → pod IP, embedded source and source port (identifier)
 * back to the pod's, every checksum that covers a changed field updated incrementally (RFC 1624).
 *
 * <p>Translated: destination unreachable (3, including fragmentation needed, whose next-hop MTU is
 * kept: the pod's packets leave the gateway at the size the pod sent them, so the path MTU the router
 * reports is the one the pod must use), time exceeded (11) and parameter problem (12). Not
 * translated: source quench (4, deprecated by RFC 6633) and redirect (5, about the gateway's own
 * next hop, meaningless to a pod). Embedded packets that are non-first fragments carry no ports and
 * are not translated; embedded ICMP is translated only for echo requests (RFC 1122 forbids errors
 * about errors, and the gateway originates no other ICMP on behalf of pods).
 *
 * <p>The outer ICMP checksum is verified before anything is trusted, as Linux conntrack does by
 * default: the quote is only 8 bytes of L4 header, and a forged or corrupted quote could otherwise
 * steer an error to an arbitrary pod. ICMP errors are small (at most 576 bytes by RFC 1812) and rare,
 * so the full sum costs little.
 *
 * <p>Stateless, allocation-free, thread-safe; bad packets give a negative code, never an exception.
 */
public final class IcmpErrorTranslator {
    /** {@link #parse}: a translatable error; {@link Embedded} is filled. */
    public static final int OK = 0;
    /** Not ICMP, not an error type, or an outer header that was not validated as promised. */
    public static final int NOT_AN_ERROR = -1;
    /** Source quench or redirect: errors a NAT does not forward to the inside. */
    public static final int UNTRANSLATED_TYPE = -2;
    /** The outer packet is a fragment; the checksum and the quote cannot be checked piecemeal. */
    public static final int FRAGMENTED = -3;
    /** The ICMP checksum over the whole message is wrong. */
    public static final int BAD_CHECKSUM = -4;
    /** The quote is shorter than a 20-byte IP header, its IHL, or its IHL + 8 bytes of L4 header. */
    public static final int TRUNCATED_QUOTE = -5;
    /** The embedded header is not IPv4, has an IHL below 20 bytes or a total length below IHL + 8. */
    public static final int BAD_EMBEDDED_HEADER = -6;
    /** The embedded packet is a fragment other than the first: no ports to map it by. */
    public static final int EMBEDDED_FRAGMENT = -7;
    /** The embedded packet is neither TCP, UDP nor an ICMP echo request. */
    public static final int UNSUPPORTED_EMBEDDED_PROTOCOL = -8;
    /** The embedded source is not the outer destination, so the gateway did not send that packet. */
    public static final int EMBEDDED_NOT_FROM_EGRESS_IP = -9;

    /** Number of codes, {@link #OK} included; {@code -code} indexes a counter array of this size. */
    public static final int CODE_COUNT = 10;

    private static final String[] NAMES = {
        "ok", "not_an_error", "untranslated_type", "fragmented", "bad_checksum", "truncated_quote",
        "bad_embedded_header", "embedded_fragment", "unsupported_embedded_protocol", "embedded_not_from_egress_ip",
    };

    private static final int MIN_L4_QUOTE = 8;

    /**
     * What {@link #parse} found, for the conntrack lookup and for {@link #translate}. Preallocate one
     * per thread and reuse it.
     */
    public static final class Embedded {
        /** The flow's REPLY key: {@code FlowKey.hi(remote, egressIp)}. */
        public long replyHi;
        /** {@code FlowKey.lo(protocol, remotePort, natPort, true)}; remote port 0 for ICMP echo. */
        public long replyLo;
        /** Absolute offset of the embedded IPv4 header. */
        public int ipOffset;
        /** Absolute offset of the embedded L4 header. */
        public int l4Offset;
        /** Bytes of the embedded L4 header/payload present in the quote (at least 8). */
        public int quotedLength;
        /** Embedded protocol: TCP, UDP or ICMP. */
        public int protocol;
    }

    private IcmpErrorTranslator() {
    }

    /**
     * Checks an ICMP error and extracts the reply key of the flow it is about.
     *
     * <p>The caller has validated the outer IPv4 header ({@code Ipv4.check}) and the ICMP header
     * ({@code Icmp.check}); the checks repeated here are cheap guards, so that no input makes this
     * read outside {@code [ipOff, ipOff+len)}. The quote may end anywhere after the embedded IP header
     * + 8 bytes, and the embedded total length may exceed what was quoted: both are normal.
     *
     * @param len bytes available from {@code ipOff}
     * @return {@link #OK} (and {@code out} filled) or one of the negative codes of this class
     */
    public static int parse(DirectBuffer b, int ipOff, int len, Embedded out) {
        if (len < Ipv4.MIN_HEADER_LENGTH || Ipv4.version(b, ipOff) != 4) {
            return NOT_AN_ERROR;
        }
        int hl = Ipv4.headerLength(b, ipOff);
        int end = ipOff + Math.min(len, Ipv4.totalLength(b, ipOff));
        if (hl < Ipv4.MIN_HEADER_LENGTH || Ipv4.protocol(b, ipOff) != Ipv4.PROTO_ICMP
                || end - ipOff < hl + Icmp.HEADER_LENGTH) {
            return NOT_AN_ERROR;
        }
        int icmp = ipOff + hl;
        int type = Icmp.type(b, icmp);
        if (type == Icmp.TYPE_SOURCE_QUENCH || type == Icmp.TYPE_REDIRECT) {
            return UNTRANSLATED_TYPE;
        }
        if (type != Icmp.TYPE_DEST_UNREACHABLE && type != Icmp.TYPE_TIME_EXCEEDED
                && type != Icmp.TYPE_PARAMETER_PROBLEM) {
            return NOT_AN_ERROR;
        }
        if (Ipv4.isFragment(b, ipOff)) {
            return FRAGMENTED;
        }
        if (!Checksum.verifyIcmp(b, icmp, end - icmp)) {
            return BAD_CHECKSUM;
        }
        int q = icmp + Icmp.HEADER_LENGTH;
        int quoted = end - q;
        if (quoted < Ipv4.MIN_HEADER_LENGTH) {
            return TRUNCATED_QUOTE;
        }
        int ihl = Ipv4.headerLength(b, q);
        if (Ipv4.version(b, q) != 4 || ihl < Ipv4.MIN_HEADER_LENGTH) {
            return BAD_EMBEDDED_HEADER;
        }
        if (ihl + MIN_L4_QUOTE > quoted) {
            return TRUNCATED_QUOTE;
        }
        if (Ipv4.totalLength(b, q) < ihl + MIN_L4_QUOTE) {
            return BAD_EMBEDDED_HEADER;
        }
        if (Ipv4.fragmentOffset(b, q) != 0) {
            return EMBEDDED_FRAGMENT;
        }
        int egressIp = Ipv4.dstAddress(b, ipOff);
        if (Ipv4.srcAddress(b, q) != egressIp) {
            return EMBEDDED_NOT_FROM_EGRESS_IP;
        }
        int protocol = Ipv4.protocol(b, q);
        int l4 = q + ihl;
        long lo;
        switch (protocol) {
            // source and destination port sit at the same offsets in TCP and UDP
            case Ipv4.PROTO_TCP, Ipv4.PROTO_UDP -> lo = FlowKey.lo(protocol, Udp.dstPort(b, l4), Udp.srcPort(b, l4), true);
            case Ipv4.PROTO_ICMP -> {
                if (Icmp.type(b, l4) != Icmp.TYPE_ECHO_REQUEST) {
                    return UNSUPPORTED_EMBEDDED_PROTOCOL;
                }
                lo = FlowKey.lo(protocol, 0, Icmp.identifier(b, l4), true);
            }
            default -> {
                return UNSUPPORTED_EMBEDDED_PROTOCOL;
            }
        }
        out.replyHi = FlowKey.hi(Ipv4.dstAddress(b, q), egressIp);
        out.replyLo = lo;
        out.ipOffset = q;
        out.l4Offset = l4;
        out.quotedLength = end - l4;
        out.protocol = protocol;
        return OK;
    }

    /**
     * Rewrites an error that {@link #parse} accepted (with the same {@code b}, {@code ipOff},
     * {@code len} and {@code e}) for delivery to the pod: outer destination → {@code podIp}, embedded
     * source → {@code podIp}, embedded source port or echo identifier → {@code podPort}.
     *
     * <p>Checksums: the outer IPv4 header's; the embedded IPv4 header's; the embedded TCP checksum
     * only if all of it was quoted (it sits at offset 16, past the 8 bytes RFC 792 guarantees); the
     * embedded UDP checksum (offset 6, always quoted) unless it is 0, "none", which stays 0; the
     * embedded echo request's (offset 2). The outer ICMP checksum covers the whole message, quote
     * included, so each quoted 16-bit word that changed — address halves, port, and each embedded
     * checksum field — enters its incremental update. The quote starts 8 bytes into the ICMP message
     * and an IHL is a multiple of 4, so every one of those words starts at an even offset from the
     * ICMP header: each is exactly one word of the outer sum, never a pair of straddled halves.
     */
    public static void translate(MutableDirectBuffer b, int ipOff, int len, Embedded e, int podIp, int podPort) {
        int icmp = ipOff + Ipv4.headerLength(b, ipOff);
        Ipv4.rewriteDstAddress(b, ipOff, podIp);

        int c = Icmp.checksum(b, icmp);
        int q = e.ipOffset;
        int egressIp = Ipv4.srcAddress(b, q);
        Ipv4.srcAddress(b, q, podIp);
        c = Checksum.update32(c, egressIp, podIp);
        int oldIpSum = Ipv4.headerChecksum(b, q);
        int newIpSum = Checksum.update32(oldIpSum, egressIp, podIp);
        Ipv4.headerChecksum(b, q, newIpSum);
        c = Checksum.update16(c, oldIpSum, newIpSum);

        int l4 = e.l4Offset;
        switch (e.protocol) {
            case Ipv4.PROTO_TCP -> {
                int natPort = Tcp.srcPort(b, l4);
                Tcp.srcPort(b, l4, podPort);
                c = Checksum.update16(c, natPort, podPort);
                if (e.quotedLength >= Tcp.CHECKSUM_OFFSET + 2) {
                    int old = Tcp.checksum(b, l4);
                    int now = Checksum.update16(Checksum.update32(old, egressIp, podIp), natPort, podPort);
                    Tcp.checksum(b, l4, now);
                    c = Checksum.update16(c, old, now);
                }
            }
            case Ipv4.PROTO_UDP -> {
                int natPort = Udp.srcPort(b, l4);
                Udp.srcPort(b, l4, podPort);
                c = Checksum.update16(c, natPort, podPort);
                int old = Udp.checksum(b, l4);
                int now = Checksum.updateUdp16(Checksum.updateUdp32(old, egressIp, podIp), natPort, podPort);
                Udp.checksum(b, l4, now);
                c = Checksum.update16(c, old, now);
            }
            default -> {
                // ICMP echo request: the identifier; its checksum has no pseudo-header
                int natId = Icmp.identifier(b, l4);
                Icmp.identifier(b, l4, podPort);
                c = Checksum.update16(c, natId, podPort);
                int old = Icmp.checksum(b, l4);
                int now = Checksum.update16(old, natId, podPort);
                Icmp.checksum(b, l4, now);
                c = Checksum.update16(c, old, now);
            }
        }
        Icmp.checksum(b, icmp, c);
    }

    /**
     * The snake_case metric label of a code from {@link #parse}, e.g. {@code "truncated_quote"}.
     *
     * @throws IllegalArgumentException if {@code code} is not one of this class's codes
     */
    public static String name(int code) {
        if (code > 0 || -code >= CODE_COUNT) {
            throw new IllegalArgumentException("ICMP error code " + code + " is not within " + (1 - CODE_COUNT) + "..0");
        }
        return NAMES[-code];
    }
}
