package org.egressgw.nat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Icmp;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.PacketError;
import org.egressgw.packet.Tcp;
import org.junit.jupiter.api.Test;
import org.pcap4j.packet.IcmpV4CommonPacket;
import org.pcap4j.packet.IcmpV4DestinationUnreachablePacket;
import org.pcap4j.packet.IcmpV4EchoPacket;
import org.pcap4j.packet.IcmpV4ParameterProblemPacket;
import org.pcap4j.packet.IcmpV4TimeExceededPacket;
import org.pcap4j.packet.IllegalRawDataException;
import org.pcap4j.packet.IpV4Packet;
import org.pcap4j.packet.Packet;
import org.pcap4j.packet.TcpPacket;
import org.pcap4j.packet.UdpPacket;

/**
 * {@link IcmpErrorTranslator} checked three ways: byte for byte against the error the pod would have
 * got had its packet not been translated (the quote must equal the prefix of the pod's own packet,
 * which covers every embedded field and checksum), by full recomputation of every checksum with
 * {@link ReferenceChecksum}, and by pcap4j as an independent parser.
 */
class IcmpErrorTranslatorTest {
    private static final int POD = Ipv4Address.parse("10.244.1.10");
    private static final int SERVER = Ipv4Address.parse("198.51.100.7");
    private static final int EGRESS = Ipv4Address.parse("203.0.113.5");
    private static final int ROUTER = Ipv4Address.parse("192.0.2.1");
    private static final int POD_PORT = 40000;
    private static final int NAT_PORT = 61001;
    private static final int MTU = 1400;

    /** The packet the gateway sent, which the error quotes. */
    enum Sent {
        TCP(Ipv4.PROTO_TCP, 443, false), TCP_WITH_IP_OPTIONS(Ipv4.PROTO_TCP, 443, true), UDP(Ipv4.PROTO_UDP, 53, false),
        UDP_NO_CHECKSUM(Ipv4.PROTO_UDP, 53, false), ECHO(Ipv4.PROTO_ICMP, 0, false);

        final int protocol;
        final int remotePort;
        final boolean ipOptions;

        Sent(int protocol, int remotePort, boolean ipOptions) {
            this.protocol = protocol;
            this.remotePort = remotePort;
            this.ipOptions = ipOptions;
        }

        /** Writes the packet from {@code src}:{@code port} to the server; returns its bytes. */
        byte[] build(int src, int port) {
            UnsafeBuffer b = new UnsafeBuffer(new byte[200]);
            int len = switch (this) {
                case TCP, TCP_WITH_IP_OPTIONS -> FrameBuilder.tcp(b, 0, src, SERVER, port, 443, Tcp.SYN, 1460, 0);
                case UDP -> FrameBuilder.udp(b, 0, src, SERVER, port, 53, 30, true);
                case UDP_NO_CHECKSUM -> FrameBuilder.udp(b, 0, src, SERVER, port, 53, 30, false);
                case ECHO -> FrameBuilder.icmpEcho(b, 0, src, SERVER, Icmp.TYPE_ECHO_REQUEST, port, 7, 24);
            };
            if (ipOptions) {
                len = addIpOptions(b, len);
            }
            return Arrays.copyOf(b.byteArray(), len);
        }
    }

    /** The error kinds that are translated: type, code, bytes 4..7 of the ICMP header. */
    enum Kind {
        FRAG_NEEDED(Icmp.TYPE_DEST_UNREACHABLE, Icmp.CODE_FRAG_NEEDED, MTU), PORT_UNREACHABLE(3, 3, 0),
        TIME_EXCEEDED(Icmp.TYPE_TIME_EXCEEDED, 0, 0), PARAMETER_PROBLEM(Icmp.TYPE_PARAMETER_PROBLEM, 0, 9 << 24);

        final int type;
        final int code;
        final int rest;

        Kind(int type, int code, int rest) {
            this.type = type;
            this.code = code;
            this.rest = rest;
        }
    }

    /** Inserts four NOP options after a 20-byte IPv4 header, fixing IHL, length and checksum. */
    static int addIpOptions(MutableDirectBuffer b, int len) {
        byte[] tail = new byte[len - 20];
        b.getBytes(20, tail);
        b.putBytes(24, tail);
        b.putInt(20, 0x01010101);
        Ipv4.versionAndHeaderLength(b, 0, 24);
        Ipv4.totalLength(b, 0, len + 4);
        Ipv4.headerChecksum(b, 0, ReferenceChecksum.compute(b, 0, 24, Ipv4.CHECKSUM_OFFSET, 0));
        return len + 4;
    }

    /**
     * An ICMP error from the router to the egress IP quoting {@code quoteLen} bytes of {@code sent};
     * the outer header gets 4 bytes of options if asked. Checksums from {@link ReferenceChecksum}.
     */
    static byte[] error(int type, int code, int rest, byte[] sent, int quoteLen, boolean outerOptions) {
        int hl = outerOptions ? 24 : 20;
        int total = hl + Icmp.HEADER_LENGTH + quoteLen;
        UnsafeBuffer b = new UnsafeBuffer(new byte[total]);
        Ipv4.versionAndHeaderLength(b, 0, hl);
        Ipv4.totalLength(b, 0, total);
        Ipv4.identification(b, 0, 0x4321);
        Ipv4.ttl(b, 0, 250);
        Ipv4.protocol(b, 0, Ipv4.PROTO_ICMP);
        Ipv4.srcAddress(b, 0, ROUTER);
        Ipv4.dstAddress(b, 0, EGRESS);
        if (outerOptions) {
            b.putInt(20, 0x01010101);
        }
        Ipv4.headerChecksum(b, 0, ReferenceChecksum.compute(b, 0, hl, Ipv4.CHECKSUM_OFFSET, 0));
        Icmp.type(b, hl, type);
        Icmp.code(b, hl, code);
        b.putInt(hl + 4, rest, java.nio.ByteOrder.BIG_ENDIAN);
        b.putBytes(hl + Icmp.HEADER_LENGTH, sent, 0, quoteLen);
        fixIcmpChecksum(b);
        return b.byteArray();
    }

    /** Recomputes the outer ICMP checksum (and the outer header's), for mutated test packets. */
    static void fixIcmpChecksum(MutableDirectBuffer b) {
        int hl = Ipv4.headerLength(b, 0);
        int end = Math.min(Ipv4.totalLength(b, 0), b.capacity());
        if (hl >= 20 && hl <= b.capacity()) {
            Ipv4.headerChecksum(b, 0, ReferenceChecksum.compute(b, 0, hl, Ipv4.CHECKSUM_OFFSET, 0));
        }
        if (hl >= 20 && end >= hl + Icmp.HEADER_LENGTH) {
            Icmp.checksum(b, hl, ReferenceChecksum.compute(b, hl, end - hl, Icmp.CHECKSUM_OFFSET, 0));
        }
    }

    private static int ihl(Sent s) {
        return s.ipOptions ? 24 : 20;
    }

    /** Every quote length worth a case: RFC 792's minimum, odd and even cuts through the TCP checksum, all. */
    private static int[] quoteLengths(Sent s, int full) {
        int ihl = ihl(s);
        return new int[] {ihl + 8, ihl + 9, ihl + 17, ihl + 18, full};
    }

    @Test
    void translatesEveryKindOfErrorForEveryFlowAndQuoteLength() throws Exception {
        int cases = 0;
        for (Kind k : Kind.values()) {
            for (Sent s : Sent.values()) {
                byte[] asSent = s.build(EGRESS, NAT_PORT);
                byte[] asPodSentIt = s.build(POD, POD_PORT);
                for (int quote : quoteLengths(s, asSent.length)) {
                    for (boolean outerOptions : new boolean[] {false, true}) {
                        String what = k + " about " + s + ", quote " + quote + "/" + asSent.length
                                + (outerOptions ? ", outer options" : "");
                        byte[] bytes = error(k.type, k.code, k.rest, asSent, quote, outerOptions);
                        byte[] podPacket = asPodSentIt.clone();
                        if (s.protocol == Ipv4.PROTO_TCP && quote == ihl(s) + Tcp.CHECKSUM_OFFSET + 1) {
                            // half a checksum cannot be updated (the carry depends on the missing
                            // byte), so the quoted half stays as the gateway sent it
                            podPacket[quote - 1] = asSent[quote - 1];
                        }
                        byte[] expected = error(k.type, k.code, k.rest, podPacket, quote, outerOptions);
                        UnsafeBuffer x = new UnsafeBuffer(expected);
                        Ipv4.dstAddress(x, 0, POD);
                        fixIcmpChecksum(x);
                        checkTranslation(what, k, s, bytes, expected, quote, asSent.length, outerOptions ? 24 : 20);
                        cases++;
                    }
                }
            }
        }
        assertEquals(4 * 5 * 5 * 2, cases);
    }

    private static void checkTranslation(String what, Kind k, Sent s, byte[] bytes, byte[] expected, int quote,
            int full, int hl) throws Exception {
        UnsafeBuffer b = new UnsafeBuffer(bytes);
        assertEquals(PacketError.NONE, Ipv4.check(b, 0, bytes.length), what);
        IcmpErrorTranslator.Embedded e = new IcmpErrorTranslator.Embedded();
        assertEquals(IcmpErrorTranslator.OK, IcmpErrorTranslator.parse(b, 0, bytes.length, e), what);
        assertEquals(FlowKey.hi(SERVER, EGRESS), e.replyHi, what);
        assertEquals(FlowKey.lo(s.protocol, s.remotePort, NAT_PORT, true), e.replyLo, what);
        assertEquals(s.protocol, e.protocol, what);
        assertEquals(hl + 8, e.ipOffset, what);
        assertEquals(hl + 8 + ihl(s), e.l4Offset, what);
        assertEquals(quote - ihl(s), e.quotedLength, what);

        IcmpErrorTranslator.translate(b, 0, bytes.length, e, POD, POD_PORT);

        // 1. exactly what the pod would have received about its own packet, checksums included
        // (incremental and from-scratch checksums agree: no message here sums to zero)
        assertArrayEquals(expected, bytes, what);

        // 2. every checksum recomputed from scratch
        assertTrue(ReferenceChecksum.valid(b, 0, hl, 0), what + ": outer IPv4 header checksum");
        assertTrue(ReferenceChecksum.valid(b, hl, bytes.length - hl, 0), what + ": ICMP checksum over the message");
        int q = hl + 8;
        assertTrue(ReferenceChecksum.valid(b, q, ihl(s), 0), what + ": embedded IPv4 header checksum");
        if (quote == full) {
            int l4 = q + ihl(s);
            int l4len = full - ihl(s);
            boolean ok = switch (s) {
                case TCP, TCP_WITH_IP_OPTIONS, UDP -> ReferenceChecksum.valid(b, l4, l4len,
                        ReferenceChecksum.pseudoHeader(POD, SERVER, s.protocol, l4len));
                case UDP_NO_CHECKSUM -> b.getShort(l4 + 6) == 0;
                case ECHO -> ReferenceChecksum.valid(b, l4, l4len, 0);
            };
            assertTrue(ok, what + ": embedded L4 checksum");
        }

        // 3. an independent parser
        checkWithPcap4j(what, k, s, bytes, quote == full);
    }

    private static InetAddress inet(int ip) throws UnknownHostException {
        return InetAddress.getByAddress(new byte[] {(byte) (ip >>> 24), (byte) (ip >>> 16), (byte) (ip >>> 8), (byte) ip});
    }

    private static void checkWithPcap4j(String what, Kind k, Sent s, byte[] bytes, boolean full)
            throws IllegalRawDataException, UnknownHostException {
        IpV4Packet ip = IpV4Packet.newPacket(bytes, 0, bytes.length);
        assertEquals(inet(POD), ip.getHeader().getDstAddr(), what);
        assertEquals(inet(ROUTER), ip.getHeader().getSrcAddr(), what);
        assertTrue(ip.getHeader().hasValidChecksum(false), what + ": pcap4j outer header checksum");
        IcmpV4CommonPacket icmp = assertInstanceOf(IcmpV4CommonPacket.class, ip.getPayload(), what);
        assertTrue(icmp.hasValidChecksum(false), what + ": pcap4j ICMP checksum");
        assertEquals((byte) k.type, icmp.getHeader().getType().value(), what);
        assertEquals((byte) k.code, icmp.getHeader().getCode().value(), what);
        Packet error = icmp.getPayload();
        Packet quoted;
        switch (k) {
            case FRAG_NEEDED, PORT_UNREACHABLE -> {
                IcmpV4DestinationUnreachablePacket u = assertInstanceOf(IcmpV4DestinationUnreachablePacket.class, error, what);
                assertEquals(k.rest, u.getHeader().getUnused(), what + ": next-hop MTU kept");
                quoted = u.getPayload();
            }
            case TIME_EXCEEDED -> quoted = assertInstanceOf(IcmpV4TimeExceededPacket.class, error, what).getPayload();
            default -> {
                IcmpV4ParameterProblemPacket p = assertInstanceOf(IcmpV4ParameterProblemPacket.class, error, what);
                assertEquals(9, p.getHeader().getPointerAsInt(), what);
                quoted = p.getPayload();
            }
        }
        IpV4Packet inner = assertInstanceOf(IpV4Packet.class, quoted, what + ": pcap4j parses the quote as IPv4");
        assertEquals(inet(POD), inner.getHeader().getSrcAddr(), what);
        assertEquals(inet(SERVER), inner.getHeader().getDstAddr(), what);
        assertTrue(inner.getHeader().hasValidChecksum(false), what + ": pcap4j embedded header checksum");
        if (!full) {
            // pcap4j cannot make a TCP/UDP/ICMP packet out of a cut-off segment; the bytes were checked above
            return;
        }
        Inet4Address pod = (Inet4Address) inet(POD);
        Inet4Address server = (Inet4Address) inet(SERVER);
        switch (s) {
            case TCP, TCP_WITH_IP_OPTIONS -> {
                TcpPacket t = assertInstanceOf(TcpPacket.class, inner.getPayload(), what);
                assertEquals(POD_PORT, t.getHeader().getSrcPort().valueAsInt(), what);
                assertEquals(443, t.getHeader().getDstPort().valueAsInt(), what);
                assertTrue(t.hasValidChecksum(pod, server, false), what + ": pcap4j TCP checksum");
            }
            case UDP, UDP_NO_CHECKSUM -> {
                UdpPacket u = assertInstanceOf(UdpPacket.class, inner.getPayload(), what);
                assertEquals(POD_PORT, u.getHeader().getSrcPort().valueAsInt(), what);
                assertTrue(u.hasValidChecksum(pod, server, s == Sent.UDP_NO_CHECKSUM), what + ": pcap4j UDP checksum");
            }
            case ECHO -> {
                IcmpV4CommonPacket c = assertInstanceOf(IcmpV4CommonPacket.class, inner.getPayload(), what);
                assertTrue(c.hasValidChecksum(false), what + ": pcap4j echo checksum");
                IcmpV4EchoPacket echo = assertInstanceOf(IcmpV4EchoPacket.class, c.getPayload(), what);
                assertEquals(POD_PORT, echo.getHeader().getIdentifierAsInt(), what);
            }
        }
    }

    @Test
    void theParsedKeyFindsTheConnection() {
        try (ConnTable table = new ConnTable(16, 1)) {
            int e = table.insert(FlowKey.hi(POD, SERVER), FlowKey.lo(Ipv4.PROTO_UDP, POD_PORT, 53, false),
                    FlowKey.hi(SERVER, EGRESS), FlowKey.lo(Ipv4.PROTO_UDP, 53, NAT_PORT, true), 0);
            int echo = table.insert(FlowKey.hi(POD, SERVER), FlowKey.lo(Ipv4.PROTO_ICMP, POD_PORT, 0, false),
                    FlowKey.hi(SERVER, EGRESS), FlowKey.lo(Ipv4.PROTO_ICMP, 0, NAT_PORT, true), 0);
            IcmpErrorTranslator.Embedded out = new IcmpErrorTranslator.Embedded();
            byte[] udp = error(3, 3, 0, Sent.UDP.build(EGRESS, NAT_PORT), 28, false);
            assertEquals(IcmpErrorTranslator.OK, IcmpErrorTranslator.parse(new UnsafeBuffer(udp), 0, udp.length, out));
            assertEquals(e, table.lookup(out.replyHi, out.replyLo));
            byte[] ping = error(11, 0, 0, Sent.ECHO.build(EGRESS, NAT_PORT), 28, false);
            assertEquals(IcmpErrorTranslator.OK, IcmpErrorTranslator.parse(new UnsafeBuffer(ping), 0, ping.length, out));
            assertEquals(echo, table.lookup(out.replyHi, out.replyLo));
        }
    }

    /** A valid error about the TCP SYN, full quote, that individual tests then break in one place. */
    private static UnsafeBuffer tcpError(int type) {
        return new UnsafeBuffer(error(type, 0, 0, Sent.TCP.build(EGRESS, NAT_PORT), 44, false));
    }

    private static int parse(DirectBuffer b) {
        return IcmpErrorTranslator.parse(b, 0, b.capacity(), new IcmpErrorTranslator.Embedded());
    }

    @Test
    void rejectsWhatMustNotBeTranslatedWithItsReason() {
        assertEquals(IcmpErrorTranslator.UNTRANSLATED_TYPE, parse(tcpError(Icmp.TYPE_SOURCE_QUENCH)));
        assertEquals(IcmpErrorTranslator.UNTRANSLATED_TYPE, parse(tcpError(Icmp.TYPE_REDIRECT)));
        assertEquals(IcmpErrorTranslator.NOT_AN_ERROR, parse(tcpError(Icmp.TYPE_ECHO_REPLY)));
        assertEquals(IcmpErrorTranslator.NOT_AN_ERROR, parse(tcpError(Icmp.TYPE_ECHO_REQUEST)));
        assertEquals(IcmpErrorTranslator.NOT_AN_ERROR, parse(tcpError(42)));

        UnsafeBuffer b = tcpError(3);
        Ipv4.protocol(b, 0, Ipv4.PROTO_UDP);
        assertEquals(IcmpErrorTranslator.NOT_AN_ERROR, parse(b), "outer not ICMP");

        b = tcpError(3);
        Ipv4.flagsAndFragment(b, 0, Ipv4.FLAG_MF);
        assertEquals(IcmpErrorTranslator.FRAGMENTED, parse(b));

        b = tcpError(3);
        b.putByte(60, (byte) (b.getByte(60) ^ 0x10));
        assertEquals(IcmpErrorTranslator.BAD_CHECKSUM, parse(b), "corrupted quote");

        // the embedded header, with the outer ICMP checksum fixed up after each change
        int q = 28;
        assertEquals(IcmpErrorTranslator.OK, fixAndParse(tcpError(3)), "sanity: the unchanged error");
        b = tcpError(3);
        b.putByte(q, (byte) 0x65);
        assertEquals(IcmpErrorTranslator.BAD_EMBEDDED_HEADER, fixAndParse(b), "version 6");
        b = tcpError(3);
        b.putByte(q, (byte) 0x44);
        assertEquals(IcmpErrorTranslator.BAD_EMBEDDED_HEADER, fixAndParse(b), "IHL 16 bytes");
        b = tcpError(3);
        b.putByte(q, (byte) 0x4f);
        assertEquals(IcmpErrorTranslator.TRUNCATED_QUOTE, fixAndParse(b), "IHL 60 beyond a 44-byte quote");
        b = tcpError(3);
        Ipv4.totalLength(b, q, 27);
        assertEquals(IcmpErrorTranslator.BAD_EMBEDDED_HEADER, fixAndParse(b), "embedded total length below IHL + 8");
        b = tcpError(3);
        Ipv4.totalLength(b, q, 9000);
        assertEquals(IcmpErrorTranslator.OK, fixAndParse(b), "embedded total length beyond the quote is normal");
        b = tcpError(3);
        Ipv4.flagsAndFragment(b, q, 1);
        assertEquals(IcmpErrorTranslator.EMBEDDED_FRAGMENT, fixAndParse(b));
        b = tcpError(3);
        Ipv4.flagsAndFragment(b, q, Ipv4.FLAG_MF);
        assertEquals(IcmpErrorTranslator.OK, fixAndParse(b), "a first fragment has its ports");
        b = tcpError(3);
        Ipv4.srcAddress(b, q, POD);
        assertEquals(IcmpErrorTranslator.EMBEDDED_NOT_FROM_EGRESS_IP, fixAndParse(b));
        b = tcpError(3);
        Ipv4.protocol(b, q, 47);
        assertEquals(IcmpErrorTranslator.UNSUPPORTED_EMBEDDED_PROTOCOL, fixAndParse(b), "GRE");
        for (int type : new int[] {Icmp.TYPE_DEST_UNREACHABLE, Icmp.TYPE_ECHO_REPLY, Icmp.TYPE_TIME_EXCEEDED}) {
            UnsafeBuffer p = new UnsafeBuffer(error(3, 3, 0, Sent.ECHO.build(EGRESS, NAT_PORT), 28, false));
            Icmp.type(p, q + 20, type);
            assertEquals(IcmpErrorTranslator.UNSUPPORTED_EMBEDDED_PROTOCOL, fixAndParse(p), "embedded ICMP type " + type);
        }

        // quotes too short
        byte[] sent = Sent.TCP_WITH_IP_OPTIONS.build(EGRESS, NAT_PORT);
        for (int quote = 0; quote < 24 + 8; quote++) {
            UnsafeBuffer t = new UnsafeBuffer(error(3, 3, 0, sent, quote, false));
            assertEquals(IcmpErrorTranslator.TRUNCATED_QUOTE, parse(t), "quote " + quote);
        }
        assertEquals(IcmpErrorTranslator.OK, parse(new UnsafeBuffer(error(3, 3, 0, sent, 32, false))));
    }

    private static int fixAndParse(UnsafeBuffer b) {
        fixIcmpChecksum(b);
        return parse(b);
    }

    @Test
    void namesEveryCode() {
        for (int c = 0; c > -IcmpErrorTranslator.CODE_COUNT; c--) {
            assertTrue(IcmpErrorTranslator.name(c).matches("[a-z_]+"));
        }
    }

    /** Valid errors of every kind, as seeds for the hostile-input tests. */
    private static List<byte[]> seeds() {
        List<byte[]> seeds = new ArrayList<>();
        for (Kind k : Kind.values()) {
            for (Sent s : Sent.values()) {
                byte[] sent = s.build(EGRESS, NAT_PORT);
                for (int quote : quoteLengths(s, sent.length)) {
                    seeds.add(error(k.type, k.code, k.rest, sent, quote, quote % 2 == 0));
                }
            }
        }
        return seeds;
    }

    /**
     * What the datapath does with a received packet: validate the outer headers, parse, translate
     * only on OK. Nothing may throw, and a translated packet has valid outer checksums.
     *
     * @return the parse code, or 1 if the outer validation already rejected it
     */
    private static int datapath(byte[] bytes, boolean parseAnyway) {
        UnsafeBuffer b = new UnsafeBuffer(bytes);
        boolean valid = Ipv4.check(b, 0, bytes.length) == PacketError.NONE
                && Ipv4.protocol(b, 0) == Ipv4.PROTO_ICMP
                && Icmp.check(b, Ipv4.headerLength(b, 0), Ipv4.totalLength(b, 0) - Ipv4.headerLength(b, 0))
                        == PacketError.NONE;
        if (!valid && !parseAnyway) {
            return 1;
        }
        IcmpErrorTranslator.Embedded e = new IcmpErrorTranslator.Embedded();
        int code = IcmpErrorTranslator.parse(b, 0, bytes.length, e);
        if (code == IcmpErrorTranslator.OK && valid) {
            boolean innerValid = ReferenceChecksum.valid(b, e.ipOffset, e.l4Offset - e.ipOffset, 0);
            IcmpErrorTranslator.translate(b, 0, bytes.length, e, POD, POD_PORT);
            int hl = Ipv4.headerLength(b, 0);
            int total = Ipv4.totalLength(b, 0);
            assertTrue(ReferenceChecksum.valid(b, 0, hl, 0), "outer header checksum");
            assertTrue(ReferenceChecksum.valid(b, hl, total - hl, 0), "ICMP checksum");
            assertEquals(innerValid, ReferenceChecksum.valid(b, e.ipOffset, e.l4Offset - e.ipOffset, 0),
                    "embedded header checksum validity is preserved");
        }
        return valid ? code : 1;
    }

    @Test
    void everyTruncationIsHandled() {
        int translated = 0;
        for (byte[] seed : seeds()) {
            for (int cut = 0; cut <= seed.length; cut++) {
                // the buffer ends where the data ends; total length still claims the full packet
                datapath(Arrays.copyOf(seed, cut), true);
                // and a consistent packet that is simply shorter: total length and checksums fixed up
                byte[] shorter = Arrays.copyOf(seed, cut);
                if (cut >= 20) {
                    UnsafeBuffer b = new UnsafeBuffer(shorter);
                    Ipv4.totalLength(b, 0, cut);
                    fixIcmpChecksum(b);
                    int code = datapath(shorter, true);
                    int hl = Ipv4.headerLength(b, 0);
                    int quote = cut - hl - 8;
                    int ihl = quote >= 1 ? (b.getByte(hl + 8) & 0x0f) * 4 : 0;
                    if (cut < hl + 8) {
                        assertEquals(1, code, "cut " + cut);
                    } else if (quote < 20 || quote < ihl + 8) {
                        assertEquals(IcmpErrorTranslator.TRUNCATED_QUOTE, code, "cut " + cut);
                    } else {
                        assertEquals(IcmpErrorTranslator.OK, code, "cut " + cut);
                        translated++;
                    }
                }
            }
        }
        assertTrue(translated > 500, "translated " + translated);
    }

    /**
     * 100 000 random mutations of valid errors: a few bytes changed, sometimes cut short, and in half
     * the cases the outer checksums fixed up afterwards so the mutation reaches the deeper checks.
     */
    @Test
    void randomMutationsNeverThrow() {
        List<byte[]> seeds = seeds();
        Random rnd = new Random(0x1C3D_E440L);
        int[] codes = new int[IcmpErrorTranslator.CODE_COUNT + 1];
        for (int i = 0; i < 100_000; i++) {
            byte[] bytes = seeds.get(rnd.nextInt(seeds.size())).clone();
            if (rnd.nextInt(8) == 0) {
                bytes = Arrays.copyOf(bytes, rnd.nextInt(bytes.length + 1));
            }
            int changes = 1 + rnd.nextInt(4);
            for (int c = 0; c < changes && bytes.length > 0; c++) {
                int at = rnd.nextInt(4) == 0 ? rnd.nextInt(Math.min(bytes.length, 36)) : rnd.nextInt(bytes.length);
                bytes[at] = (byte) rnd.nextInt(256);
            }
            if (rnd.nextBoolean() && bytes.length >= 20) {
                fixIcmpChecksum(new UnsafeBuffer(bytes));
            }
            int code = datapath(bytes, rnd.nextInt(4) == 0);
            codes[code == 1 ? IcmpErrorTranslator.CODE_COUNT : -code]++;
        }
        for (int c = 0; c < IcmpErrorTranslator.CODE_COUNT; c++) {
            if (c != -IcmpErrorTranslator.FRAGMENTED) {
                assertTrue(codes[c] > 0, "never saw " + IcmpErrorTranslator.name(-c) + ": " + Arrays.toString(codes));
            }
        }
        assertTrue(codes[0] > 10_000, Arrays.toString(codes));
    }
}
