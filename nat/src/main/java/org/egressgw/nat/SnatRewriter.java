package org.egressgw.nat;

import java.nio.ByteOrder;
import org.agrona.MutableDirectBuffer;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Udp;

/**
 * Rewrites the source (request path, SNAT) or destination (reply path, reverse SNAT) address and
 * port of a validated IPv4 packet in place, updating the IPv4 header checksum and the transport
 * checksum incrementally (RFC 1624) rather than recomputing them.
 *
 * <p>For ICMP echo the identifier plays the role of the port: it is rewritten on both paths and
 * only the ICMP checksum (which has no pseudo-header) follows it. A UDP checksum of 0 ("none")
 * stays 0. Callers must have validated the IPv4 header and the transport header ({@code check}
 * of each view) before calling; nothing here re-checks lengths.
 */
public final class SnatRewriter {
    private SnatRewriter() {
    }

    /** Request path: replaces the source address and port (or ICMP echo identifier). */
    public static void rewriteSource(MutableDirectBuffer b, int ipOff, int l4Off, int protocol, int newIp, int newPort) {
        rewrite(b, ipOff, l4Off, protocol, newIp, newPort, Ipv4.SRC_ADDRESS_OFFSET, Tcp.SRC_PORT_OFFSET);
    }

    /** Reply path: replaces the destination address and port (or ICMP echo identifier). */
    public static void rewriteDestination(MutableDirectBuffer b, int ipOff, int l4Off, int protocol, int newIp, int newPort) {
        rewrite(b, ipOff, l4Off, protocol, newIp, newPort, Ipv4.DST_ADDRESS_OFFSET, Tcp.DST_PORT_OFFSET);
    }

    /**
     * Reply path for a packet whose TCP/UDP checksum the kernel has only started ({@code CHECKSUM_PARTIAL},
     * as a TUN device with checksum offload hands over): the field holds the folded, <em>not</em>
     * complemented pseudo-header sum, and whoever finishes the checksum adds the rest. That sum follows the
     * address change — RFC 1624 applied to its complement — while the new port is simply summed with the
     * rest of the segment later; there is no "0 means none" case, for UDP either. Other protocols are never partial; they are rewritten as by
     * {@link #rewriteDestination}.
     */
    public static void rewriteDestinationPartial(MutableDirectBuffer b, int ipOff, int l4Off, int protocol, int newIp,
            int newPort) {
        if (protocol != Ipv4.PROTO_TCP && protocol != Ipv4.PROTO_UDP) {
            rewriteDestination(b, ipOff, l4Off, protocol, newIp, newPort);
            return;
        }
        int oldIp = b.getInt(ipOff + Ipv4.DST_ADDRESS_OFFSET, ByteOrder.BIG_ENDIAN);
        b.putInt(ipOff + Ipv4.DST_ADDRESS_OFFSET, newIp, ByteOrder.BIG_ENDIAN);
        Ipv4.headerChecksum(b, ipOff, Checksum.update32(Ipv4.headerChecksum(b, ipOff), oldIp, newIp));
        // the port is summed with the rest of the segment when the checksum is finished: only the
        // address, which sits in the pseudo-header, changes the started sum
        swap16(b, l4Off + Tcp.DST_PORT_OFFSET, newPort);
        int field = l4Off + (protocol == Ipv4.PROTO_TCP ? Tcp.CHECKSUM_OFFSET : Udp.CHECKSUM_OFFSET);
        int complement = ~b.getShort(field, ByteOrder.BIG_ENDIAN) & 0xffff;
        b.putShort(field, (short) ~Checksum.update32(complement, oldIp, newIp), ByteOrder.BIG_ENDIAN);
    }

    /**
     * Replaces the address at {@code addressOffset} of the IPv4 header and the port at
     * {@code portOffset} of the TCP/UDP header (for ICMP echo: the identifier), fixing checksums.
     * One port offset serves both transports: TCP and UDP headers start with the same two fields
     * (SnatRewriterTest compares both against a from-scratch reference).
     */
    private static void rewrite(MutableDirectBuffer b, int ipOff, int l4Off, int protocol, int newIp, int newPort,
            int addressOffset, int portOffset) {
        int oldIp = b.getInt(ipOff + addressOffset, ByteOrder.BIG_ENDIAN);
        b.putInt(ipOff + addressOffset, newIp, ByteOrder.BIG_ENDIAN);
        Ipv4.headerChecksum(b, ipOff, Checksum.update32(Ipv4.headerChecksum(b, ipOff), oldIp, newIp));
        switch (protocol) {
            case Ipv4.PROTO_TCP -> {
                int oldPort = swap16(b, l4Off + portOffset, newPort);
                int c = Checksum.update32(Tcp.checksum(b, l4Off), oldIp, newIp);
                Tcp.checksum(b, l4Off, Checksum.update16(c, oldPort, newPort));
            }
            case Ipv4.PROTO_UDP -> {
                int oldPort = swap16(b, l4Off + portOffset, newPort);
                int c = Checksum.updateUdp32(Udp.checksum(b, l4Off), oldIp, newIp);
                Udp.checksum(b, l4Off, Checksum.updateUdp16(c, oldPort, newPort));
            }
            case Ipv4.PROTO_ICMP -> {
                int oldId = Icmp.identifier(b, l4Off);
                Icmp.identifier(b, l4Off, newPort);
                Icmp.checksum(b, l4Off, allZeroFix(b, ipOff, l4Off,
                        Checksum.update16(Icmp.checksum(b, l4Off), oldId, newPort)));
            }
            default -> {
                // other protocols carry no port; the address change above is all there is
            }
        }
    }

    /** Writes a 16-bit network-order field and returns its old value. */
    private static int swap16(MutableDirectBuffer b, int index, int value) {
        int old = b.getShort(index, ByteOrder.BIG_ENDIAN) & 0xffff;
        b.putShort(index, (short) value, ByteOrder.BIG_ENDIAN);
        return old;
    }

    /**
     * RFC 1624 eqn. 3 never yields 0xFFFF, yet that is the one correct checksum of an all-zero
     * message, which an echo reply with identifier 0, sequence 0 and a zero payload becomes on the
     * reply path (its 0x0000 fails the receiver's check). Only a computed 0 can be that case, so the
     * scan runs for about one packet in 65536 and stops at the first non-zero byte.
     */
    private static int allZeroFix(MutableDirectBuffer b, int ipOff, int l4Off, int checksum) {
        if (checksum != 0) {
            return checksum;
        }
        int end = ipOff + Ipv4.totalLength(b, ipOff);
        for (int i = l4Off; i < end; i++) {
            int rel = i - l4Off;
            // the checksum field still holds the old value and does not count
            if (rel != Icmp.CHECKSUM_OFFSET && rel != Icmp.CHECKSUM_OFFSET + 1 && b.getByte(i) != 0) {
                return 0;
            }
        }
        return 0xffff;
    }
}
