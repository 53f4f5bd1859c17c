package org.egressgw.packet;

import org.agrona.MutableDirectBuffer;

/**
 * Writes complete, valid packets (every length and checksum right) into a buffer: the inner IPv4
 * packets pods and servers send, and the VXLAN payloads a node's kernel produces. For tests,
 * benchmarks and tools — it is control-path code and checks its arguments.
 */
public final class FrameBuilder {
    private FrameBuilder() {
    }

    /**
     * Writes an IPv4 packet with a TCP header (and an MSS option when {@code mss > 0}) and
     * {@code payload} bytes of a deterministic pattern.
     *
     * @return the packet's length
     */
    public static int tcp(MutableDirectBuffer b, int off, int src, int dst, int srcPort, int dstPort, int flags,
            int mss, int payload) {
        int tcpHeader = mss > 0 ? Tcp.MIN_HEADER_LENGTH + 4 : Tcp.MIN_HEADER_LENGTH;
        int total = ipv4(b, off, src, dst, Ipv4.PROTO_TCP, tcpHeader + payload, true);
        int l4 = off + Ipv4.MIN_HEADER_LENGTH;
        Tcp.srcPort(b, l4, srcPort);
        Tcp.dstPort(b, l4, dstPort);
        Tcp.sequence(b, l4, 1000);
        Tcp.acknowledgment(b, l4, (flags & Tcp.ACK) != 0 ? 2000 : 0);
        Tcp.headerLength(b, l4, tcpHeader);
        Tcp.flags(b, l4, flags);
        Tcp.window(b, l4, 64240);
        Tcp.urgentPointer(b, l4, 0);
        if (mss > 0) {
            b.putByte(l4 + 20, (byte) Tcp.OPTION_MSS);
            b.putByte(l4 + 21, (byte) 4);
            b.putByte(l4 + 22, (byte) (mss >>> 8));
            b.putByte(l4 + 23, (byte) mss);
        }
        pattern(b, l4 + tcpHeader, payload);
        Tcp.checksum(b, l4, 0);
        Tcp.checksum(b, l4, Checksum.transport(b, l4, total - Ipv4.MIN_HEADER_LENGTH, src, dst, Ipv4.PROTO_TCP));
        return total;
    }

    /** Writes an IPv4/UDP packet; {@code withChecksum} false leaves the UDP checksum 0 ("none"). */
    public static int udp(MutableDirectBuffer b, int off, int src, int dst, int srcPort, int dstPort, int payload,
            boolean withChecksum) {
        int total = ipv4(b, off, src, dst, Ipv4.PROTO_UDP, Udp.HEADER_LENGTH + payload, false);
        int l4 = off + Ipv4.MIN_HEADER_LENGTH;
        Udp.srcPort(b, l4, srcPort);
        Udp.dstPort(b, l4, dstPort);
        Udp.length(b, l4, Udp.HEADER_LENGTH + payload);
        pattern(b, l4 + Udp.HEADER_LENGTH, payload);
        Udp.checksum(b, l4, 0);
        if (withChecksum) {
            Udp.checksum(b, l4, Checksum.udp(b, l4, Udp.HEADER_LENGTH + payload, src, dst));
        }
        return total;
    }

    /** Writes an IPv4/ICMP echo request or reply. */
    public static int icmpEcho(MutableDirectBuffer b, int off, int src, int dst, int type, int identifier, int sequence,
            int payload) {
        if (!Icmp.isEcho(type)) {
            throw new IllegalArgumentException("not an echo type: " + type);
        }
        int total = ipv4(b, off, src, dst, Ipv4.PROTO_ICMP, Icmp.HEADER_LENGTH + payload, false);
        int l4 = off + Ipv4.MIN_HEADER_LENGTH;
        Icmp.type(b, l4, type);
        Icmp.code(b, l4, 0);
        Icmp.identifier(b, l4, identifier);
        Icmp.sequence(b, l4, sequence);
        pattern(b, l4 + Icmp.HEADER_LENGTH, payload);
        Icmp.checksum(b, l4, 0);
        Icmp.checksum(b, l4, Checksum.finish(Checksum.sum(b, l4, Icmp.HEADER_LENGTH + payload, 0)));
        return total;
    }

    /**
     * Wraps the IPv4 packet already at {@code vxlanOff + 22} into a VXLAN payload (VXLAN header and
     * inner Ethernet header in front of it), as a node's kernel VXLAN device sends it.
     *
     * @return the VXLAN payload's length (what a UDP socket receives)
     */
    public static int vxlan(MutableDirectBuffer b, int vxlanOff, int vni, long dstMac, long srcMac, int ipLength) {
        Vxlan.write(b, vxlanOff, vni);
        int eth = vxlanOff + Vxlan.HEADER_LENGTH;
        Ethernet.dstMac(b, eth, dstMac);
        Ethernet.srcMac(b, eth, srcMac);
        Ethernet.etherType(b, eth, Ethernet.TYPE_IPV4);
        return Vxlan.HEADER_LENGTH + Ethernet.HEADER_LENGTH + ipLength;
    }

    /** Writes a VXLAN payload carrying an ARP request for {@code targetIp}. */
    public static int vxlanArpRequest(MutableDirectBuffer b, int vxlanOff, int vni, long senderMac, int senderIp,
            int targetIp) {
        Vxlan.write(b, vxlanOff, vni);
        int eth = vxlanOff + Vxlan.HEADER_LENGTH;
        Ethernet.dstMac(b, eth, MacAddress.BROADCAST);
        Ethernet.srcMac(b, eth, senderMac);
        Ethernet.etherType(b, eth, Ethernet.TYPE_ARP);
        int arp = eth + Ethernet.HEADER_LENGTH;
        Arp.writeReply(b, arp, senderMac, senderIp, 0, targetIp);
        Arp.op(b, arp, Arp.OP_REQUEST);
        return Vxlan.HEADER_LENGTH + Ethernet.HEADER_LENGTH + Arp.LENGTH;
    }

    private static int ipv4(MutableDirectBuffer b, int off, int src, int dst, int protocol, int l4Length, boolean df) {
        int total = Ipv4.MIN_HEADER_LENGTH + l4Length;
        if (total > 65535) {
            throw new IllegalArgumentException("packet too long: " + total);
        }
        Ipv4.versionAndHeaderLength(b, off, Ipv4.MIN_HEADER_LENGTH);
        Ipv4.tos(b, off, 0);
        Ipv4.totalLength(b, off, total);
        Ipv4.identification(b, off, 0x1234);
        Ipv4.flagsAndFragment(b, off, df ? Ipv4.FLAG_DF : 0);
        Ipv4.ttl(b, off, 63);
        Ipv4.protocol(b, off, protocol);
        Ipv4.srcAddress(b, off, src);
        Ipv4.dstAddress(b, off, dst);
        Ipv4.updateHeaderChecksum(b, off);
        return total;
    }

    private static void pattern(MutableDirectBuffer b, int off, int len) {
        for (int i = 0; i < len; i++) {
            b.putByte(off + i, (byte) (i * 31 + 7));
        }
    }
}
