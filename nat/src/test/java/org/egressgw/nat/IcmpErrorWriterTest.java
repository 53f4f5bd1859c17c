package org.egressgw.nat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.net.InetAddress;
import java.util.Arrays;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Tcp;
import org.junit.jupiter.api.Test;
import org.pcap4j.packet.IcmpV4DestinationUnreachablePacket;
import org.pcap4j.packet.IcmpV4TimeExceededPacket;
import org.pcap4j.packet.IpV4Packet;

/** The errors the gateway originates, read back by an independent parser (pcap4j), checksums verified. */
class IcmpErrorWriterTest {
    private static final int SERVER = Ipv4Address.parse("203.0.113.5");
    private static final int EGRESS_IP = Ipv4Address.parse("192.0.2.10");

    @Test
    void fragmentationNeededQuotesTheHeaderAndEightBytesAndCarriesTheMtu() throws Exception {
        UnsafeBuffer b = new UnsafeBuffer(new byte[2048]);
        int ip = 100;
        int len = FrameBuilder.tcp(b, ip, SERVER, EGRESS_IP, 443, 40000, Tcp.ACK, 0, 1400);
        int quoted = IcmpErrorWriter.quoteLength(20, len);
        assertEquals(28, quoted);
        byte[] offending = Arrays.copyOfRange(b.byteArray(), ip, ip + quoted);
        int out = ip - IcmpErrorWriter.HEADROOM;
        IcmpErrorWriter.write(b, out, Icmp.TYPE_DEST_UNREACHABLE, Icmp.CODE_FRAG_NEEDED, 1450, EGRESS_IP, SERVER, quoted);
        IpV4Packet p = IpV4Packet.newPacket(b.byteArray(), out, IcmpErrorWriter.HEADROOM + quoted);
        assertEquals(InetAddress.getByName("192.0.2.10"), p.getHeader().getSrcAddr());
        assertEquals(InetAddress.getByName("203.0.113.5"), p.getHeader().getDstAddr());
        assertEquals(IcmpErrorWriter.TTL, p.getHeader().getTtlAsInt());
        assertEquals(true, p.getHeader().hasValidChecksum(false));
        var icmp = p.getPayload();
        assertEquals(true, ((org.pcap4j.packet.IcmpV4CommonPacket) icmp).hasValidChecksum(false));
        var unreachable = assertInstanceOf(IcmpV4DestinationUnreachablePacket.class, icmp.getPayload());
        // pcap4j reads bytes 4-7 of the header as one "unused" word: RFC 1191 puts the next-hop MTU in its low half
        assertEquals(1450, unreachable.getHeader().getUnused() & 0xffff);
        assertArrayEquals(offending, unreachable.getPayload().getRawData());
    }

    @Test
    void timeExceededQuotesAShortPacketWhole() throws Exception {
        UnsafeBuffer b = new UnsafeBuffer(new byte[512]);
        int ip = 64;
        int len = FrameBuilder.udp(b, ip, SERVER, EGRESS_IP, 53, 40000, 0, true);
        int quoted = IcmpErrorWriter.quoteLength(20, len);
        assertEquals(len, quoted, "a 28-byte datagram is quoted whole");
        IcmpErrorWriter.write(b, ip - IcmpErrorWriter.HEADROOM, Icmp.TYPE_TIME_EXCEEDED, 0, 0, EGRESS_IP, SERVER, quoted);
        IpV4Packet p = IpV4Packet.newPacket(b.byteArray(), ip - IcmpErrorWriter.HEADROOM, IcmpErrorWriter.HEADROOM + quoted);
        assertEquals(true, ((org.pcap4j.packet.IcmpV4CommonPacket) p.getPayload()).hasValidChecksum(false));
        assertInstanceOf(IcmpV4TimeExceededPacket.class, p.getPayload().getPayload());
    }
}
