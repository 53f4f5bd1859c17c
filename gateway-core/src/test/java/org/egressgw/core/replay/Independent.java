package org.egressgw.core.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.pcap4j.packet.ArpPacket;
import org.pcap4j.packet.EthernetPacket;
import org.pcap4j.packet.IcmpV4CommonPacket;
import org.pcap4j.packet.IllegalRawDataException;
import org.pcap4j.packet.IpV4Packet;
import org.pcap4j.packet.Packet;
import org.pcap4j.packet.TcpPacket;
import org.pcap4j.packet.UdpPacket;
import org.pcap4j.util.IpV4Helper;

/**
 * A second opinion on the gateway's output, from a parser that shares no code with it (pcap4j's
 * packet classes): headers, addresses, ports and every checksum.
 */
final class Independent {
    private Independent() {
    }

    /** One IPv4 packet, parsed. */
    static IpV4Packet ipv4(byte[] raw) {
        try {
            return IpV4Packet.newPacket(raw, 0, raw.length);
        } catch (IllegalRawDataException e) {
            throw new AssertionError("not an IPv4 packet pcap4j can parse: " + e.getMessage(), e);
        }
    }

    static String addr(Inet4Address a) {
        return a.getHostAddress();
    }

    static boolean isFragment(IpV4Packet p) {
        return p.getHeader().getMoreFragmentFlag() || p.getHeader().getFragmentOffset() != 0;
    }

    /** Header checksum, and the L4 checksum of a packet that is not a fragment. */
    static void assertChecksums(IpV4Packet p, String what) {
        assertTrue(p.getHeader().hasValidChecksum(false), what + ": IPv4 header checksum " + p.getHeader());
        if (isFragment(p)) {
            return;
        }
        assertL4Checksum(p, what);
    }

    static void assertL4Checksum(IpV4Packet p, String what) {
        Inet4Address src = p.getHeader().getSrcAddr();
        Inet4Address dst = p.getHeader().getDstAddr();
        Packet l4 = p.getPayload();
        if (l4 instanceof TcpPacket t) {
            assertTrue(t.hasValidChecksum(src, dst, false), what + ": TCP checksum " + t.getHeader());
        } else if (l4 instanceof UdpPacket u) {
            assertTrue(u.hasValidChecksum(src, dst, true), what + ": UDP checksum " + u.getHeader());
        } else if (l4 instanceof IcmpV4CommonPacket i) {
            assertTrue(i.hasValidChecksum(false), what + ": ICMP checksum " + i.getHeader());
        } else {
            throw new AssertionError(what + ": pcap4j parsed no TCP/UDP/ICMP header: " + p);
        }
    }

    static IpV4Packet defragment(List<IpV4Packet> fragments) {
        return IpV4Helper.defragment(new ArrayList<>(fragments));
    }

    /** A tunnel-out packet taken apart: outer IPv4/UDP, VXLAN, inner Ethernet. */
    record Encapsulated(IpV4Packet outer, UdpPacket udp, int vxlanFlags, int vni, EthernetPacket inner) {
        IpV4Packet innerIpv4() {
            byte[] raw = inner.getPayload().getRawData();
            return ipv4(raw);
        }

        boolean isArp() {
            return inner.getPayload() instanceof ArpPacket;
        }
    }

    static Encapsulated encapsulated(byte[] raw) {
        IpV4Packet outer = ipv4(raw);
        assertTrue(outer.getHeader().hasValidChecksum(false), "outer IPv4 header checksum");
        assertTrue(outer.getPayload() instanceof UdpPacket, "outer UDP: " + outer);
        UdpPacket udp = (UdpPacket) outer.getPayload();
        byte[] vx = udp.getPayload().getRawData();
        assertTrue(vx.length >= 8 + 14, "VXLAN + Ethernet present");
        int vni = (vx[4] & 0xff) << 16 | (vx[5] & 0xff) << 8 | (vx[6] & 0xff);
        EthernetPacket eth;
        try {
            eth = EthernetPacket.newPacket(vx, 8, vx.length - 8);
        } catch (IllegalRawDataException e) {
            throw new AssertionError("inner Ethernet: " + e.getMessage(), e);
        }
        assertEquals(udp.getHeader().getLengthAsInt(), 8 + vx.length, "UDP length covers VXLAN");
        assertEquals(outer.getHeader().getTotalLengthAsInt(), raw.length, "outer total length");
        return new Encapsulated(outer, udp, vx[0] & 0xff, vni, eth);
    }

    static String mac(EthernetPacket e, boolean dst) {
        byte[] m = (dst ? e.getHeader().getDstAddr() : e.getHeader().getSrcAddr()).getAddress();
        StringBuilder b = new StringBuilder();
        for (byte x : m) {
            b.append(b.length() == 0 ? "" : ":").append(String.format("%02x", x & 0xff));
        }
        return b.toString();
    }

    static int srcPort(IpV4Packet p) {
        Packet l4 = p.getPayload();
        if (l4 instanceof TcpPacket t) {
            return t.getHeader().getSrcPort().valueAsInt();
        }
        if (l4 instanceof UdpPacket u) {
            return u.getHeader().getSrcPort().valueAsInt();
        }
        return -1;
    }

    static int dstPort(IpV4Packet p) {
        Packet l4 = p.getPayload();
        if (l4 instanceof TcpPacket t) {
            return t.getHeader().getDstPort().valueAsInt();
        }
        if (l4 instanceof UdpPacket u) {
            return u.getHeader().getDstPort().valueAsInt();
        }
        return -1;
    }

    static int protocol(IpV4Packet p) {
        return p.getHeader().getProtocol().value() & 0xff;
    }

    /** The ICMP body after the 8-byte header (the quoted packet of an error) of an unfragmented ICMP packet. */
    static byte[] icmpBody(IpV4Packet p) {
        byte[] l4 = p.getPayload().getRawData();
        return Arrays.copyOfRange(l4, 8, l4.length);
    }

    static int icmpType(IpV4Packet p) {
        return p.getPayload().getRawData()[0] & 0xff;
    }

    static int icmpCode(IpV4Packet p) {
        return p.getPayload().getRawData()[1] & 0xff;
    }

    static int u16(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }
}
