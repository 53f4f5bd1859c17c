package org.egressgw.core.datapath;

import org.agrona.DirectBuffer;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.PacketError;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;

/**
 * The packet being handled, parsed (smoltcp's "repr"): where its headers are and the values the datapath decides
 * on. {@link #ipv4} fills the network layer, {@link #transport} the ports and TCP flags; after either returns
 * {@link PacketError#NONE} the fields are valid for this packet, and the header views may be read at them without
 * further checks. One instance per datapath, reused for every packet: nothing is allocated.
 *
 * <p>Threading: the datapath thread only.
 */
final class ParsedPacket {
    /** Start of the IPv4 header in the slot. */
    int ip;
    /** IPv4 header length (with options). */
    int hl;
    /** IPv4 total length: the packet, as the header says (validated against what was received). */
    int total;
    int proto;
    int src;
    int dst;
    /** Start of the transport header. */
    int l4;
    /** The first fragment of a fragmented datagram: it carries the transport header, but not all of its payload. */
    boolean firstFragment;
    /** A fragment after the first: no transport header at all. */
    boolean laterFragment;
    /** Source port (ICMP echo request: the identifier; echo reply: 0). */
    int srcPort;
    /** Destination port (ICMP echo reply: the identifier; echo request: 0). */
    int dstPort;
    /** TCP flags, 0 for other protocols. */
    int tcpFlags;

    /** Validates the IPv4 header at {@code ip} against the {@code len} bytes received and reads it. */
    int ipv4(DirectBuffer b, int ip, int len) {
        int err = Ipv4.check(b, ip, len);
        if (err != PacketError.NONE) {
            return err;
        }
        this.ip = ip;
        hl = Ipv4.headerLength(b, ip);
        total = Ipv4.totalLength(b, ip);
        proto = Ipv4.protocol(b, ip);
        src = Ipv4.srcAddress(b, ip);
        dst = Ipv4.dstAddress(b, ip);
        l4 = ip + hl;
        boolean fragment = Ipv4.isFragment(b, ip);
        laterFragment = fragment && Ipv4.fragmentOffset(b, ip) != 0;
        firstFragment = fragment && !laterFragment;
        return PacketError.NONE;
    }

    /** Bytes after the IPv4 header. */
    int l4Length() {
        return total - hl;
    }

    /** True for an ICMP error message (a first fragment is never looked into as one). */
    boolean isIcmpError(DirectBuffer b) {
        return proto == Ipv4.PROTO_ICMP && !firstFragment && l4Length() >= Icmp.HEADER_LENGTH
                && Icmp.isError(Icmp.type(b, l4));
    }

    /**
     * Validates the transport header and reads its ports and TCP flags. ICMP: only echo requests (from pods) and
     * echo replies (from outside) are flows; the identifier stands for the pod-side port. A first fragment holds
     * only the start of its datagram, so its UDP length is not compared with what is present.
     *
     * @param reply the packet came from outside (an echo reply is expected, not a request)
     */
    int transport(DirectBuffer b, boolean reply) {
        tcpFlags = 0;
        int len = l4Length();
        switch (proto) {
            case Ipv4.PROTO_TCP -> {
                int err = Tcp.check(b, l4, len);
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
                        ? (len < Udp.HEADER_LENGTH ? PacketError.UDP_TRUNCATED
                                : Udp.length(b, l4) < Udp.HEADER_LENGTH ? PacketError.UDP_BAD_LENGTH : PacketError.NONE)
                        : Udp.check(b, l4, len);
                if (err != PacketError.NONE) {
                    return err;
                }
                srcPort = Udp.srcPort(b, l4);
                dstPort = Udp.dstPort(b, l4);
                return PacketError.NONE;
            }
            case Ipv4.PROTO_ICMP -> {
                int err = Icmp.check(b, l4, len);
                if (err != PacketError.NONE) {
                    return err;
                }
                if (Icmp.type(b, l4) != (reply ? Icmp.TYPE_ECHO_REPLY : Icmp.TYPE_ECHO_REQUEST)) {
                    return DropReason.UNSUPPORTED_ICMP;
                }
                srcPort = reply ? 0 : Icmp.identifier(b, l4);
                dstPort = reply ? Icmp.identifier(b, l4) : 0;
                return PacketError.NONE;
            }
            default -> {
                return DropReason.UNSUPPORTED_PROTOCOL;
            }
        }
    }
}
