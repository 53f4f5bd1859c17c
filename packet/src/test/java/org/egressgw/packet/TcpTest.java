package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class TcpTest {
    private static final byte[] FRAME = TestBytes.hex(TestBytes.VXLAN_TCP_SYN);
    private static final int TCP = TestBytes.VXLAN_INNER_TCP;

    @Test
    void gettersOnRealSyn() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        assertEquals(PacketError.NONE, Tcp.check(b, TCP, 40));
        assertEquals(43512, Tcp.srcPort(b, TCP));
        assertEquals(443, Tcp.dstPort(b, TCP));
        assertEquals(0x8c3e1f27L, Tcp.sequence(b, TCP));
        assertEquals(0L, Tcp.acknowledgment(b, TCP));
        assertEquals(40, Tcp.headerLength(b, TCP));
        assertEquals(Tcp.SYN, Tcp.flags(b, TCP));
        assertEquals(64860, Tcp.window(b, TCP));
        assertEquals(0x62f0, Tcp.checksum(b, TCP));
        assertEquals(0, Tcp.urgentPointer(b, TCP));

        assertEquals(TCP + 20, Tcp.findOption(b, TCP, Tcp.OPTION_MSS));
        assertEquals(1410, Tcp.mss(b, TCP));
        assertEquals(TCP + 24, Tcp.findOption(b, TCP, 4)); // SACK permitted
        assertEquals(TCP + 26, Tcp.findOption(b, TCP, 8)); // timestamps
        assertEquals(TCP + 36, Tcp.findOption(b, TCP, Tcp.OPTION_NOP));
        assertEquals(TCP + 37, Tcp.findOption(b, TCP, 3)); // window scale
        assertEquals(7, b.getByte(TCP + 39));
        assertEquals(-1, Tcp.findOption(b, TCP, 5));
        assertEquals(-1, Tcp.findOption(b, TCP, Tcp.OPTION_END));
    }

    @Test
    void settersRoundTripAndMssClampKeepsChecksumValid() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        int src = TestBytes.ip(10, 244, 1, 23);
        int dst = TestBytes.ip(203, 0, 113, 10);
        int at = Tcp.findOption(b, TCP, Tcp.OPTION_MSS);
        int old = Tcp.mss(b, TCP);
        b.putShort(at + 2, (short) 1360, java.nio.ByteOrder.BIG_ENDIAN);
        Tcp.checksum(b, TCP, Checksum.update16(Tcp.checksum(b, TCP), old, 1360));
        assertEquals(1360, Tcp.mss(b, TCP));
        assertTrue(Checksum.verifyTransport(b, TCP, 40, src, dst, Ipv4.PROTO_TCP));

        UnsafeBuffer t = new UnsafeBuffer(new byte[20]);
        Tcp.srcPort(t, 0, 65535);
        Tcp.dstPort(t, 0, 1);
        Tcp.sequence(t, 0, 0xffff_fffeL);
        Tcp.acknowledgment(t, 0, 0x8000_0001L);
        Tcp.headerLength(t, 0, 60);
        Tcp.flags(t, 0, Tcp.CWR | Tcp.ECE | Tcp.URG | Tcp.ACK | Tcp.PSH | Tcp.RST | Tcp.SYN | Tcp.FIN);
        Tcp.window(t, 0, 65535);
        Tcp.checksum(t, 0, 0xfffe);
        Tcp.urgentPointer(t, 0, 40000);
        assertEquals(65535, Tcp.srcPort(t, 0));
        assertEquals(1, Tcp.dstPort(t, 0));
        assertEquals(0xffff_fffeL, Tcp.sequence(t, 0));
        assertEquals(0x8000_0001L, Tcp.acknowledgment(t, 0));
        assertEquals(60, Tcp.headerLength(t, 0));
        assertEquals(0xff, Tcp.flags(t, 0));
        assertEquals(65535, Tcp.window(t, 0));
        assertEquals(0xfffe, Tcp.checksum(t, 0));
        assertEquals(40000, Tcp.urgentPointer(t, 0));
        t.putByte(12, (byte) 0x51); // reserved/AE bit set: headerLength must keep it
        Tcp.headerLength(t, 0, 20);
        assertEquals(0x51, t.getByte(12));
        assertEquals(20, Tcp.headerLength(t, 0));
    }

    @Test
    void checkReasons() {
        UnsafeBuffer b = TestBytes.buffer(FRAME);
        assertEquals(PacketError.TCP_TRUNCATED, Tcp.check(b, TCP, 19));
        assertEquals(PacketError.TCP_BAD_DATA_OFFSET, Tcp.check(b, TCP, 39));
        Tcp.headerLength(b, TCP, 16);
        assertEquals(PacketError.TCP_BAD_DATA_OFFSET, Tcp.check(b, TCP, 40));
        Tcp.headerLength(b, TCP, 20);
        assertEquals(PacketError.NONE, Tcp.check(b, TCP, 20));
    }

    /** A TCP header of {@code 20 + options.length} bytes (options padded by the caller), in an exact buffer. */
    private static DirectBuffer withOptions(int... options) {
        byte[] bytes = new byte[20 + options.length];
        bytes[12] = (byte) ((bytes.length / 4) << 4);
        for (int i = 0; i < options.length; i++) {
            bytes[20 + i] = (byte) options[i];
        }
        return new UnsafeBuffer(bytes);
    }

    @Test
    void findOptionSurvivesMalformedOptions() {
        // Zero length: would loop forever if trusted.
        assertEquals(-1, Tcp.findOption(withOptions(8, 0, 2, 4), 0, Tcp.OPTION_MSS));
        // Length 1.
        assertEquals(-1, Tcp.findOption(withOptions(8, 1, 2, 4), 0, Tcp.OPTION_MSS));
        // Runs past the header end.
        assertEquals(-1, Tcp.findOption(withOptions(8, 10, 2, 4), 0, Tcp.OPTION_MSS));
        assertEquals(-1, Tcp.findOption(withOptions(1, 1, 2, 4, 0x05, 0xb4, 0, 0), 0, 8));
        assertEquals(-1, Tcp.findOption(withOptions(1, 1, 1, 1, 1, 2, 4, 0x05), 0, Tcp.OPTION_MSS));
        // The wanted option itself runs past the end.
        assertEquals(-1, Tcp.findOption(withOptions(1, 1, 2, 4), 0, Tcp.OPTION_MSS));
        assertEquals(-1, Tcp.mss(withOptions(1, 1, 2, 4), 0));
        // Kind as the last byte, no room for a length.
        assertEquals(-1, Tcp.findOption(withOptions(1, 1, 1, 2), 0, Tcp.OPTION_MSS));
        // End of options stops the search.
        assertEquals(-1, Tcp.findOption(withOptions(0, 0, 0, 0, 2, 4, 5, 0xb4), 0, Tcp.OPTION_MSS));
        assertEquals(20, Tcp.findOption(withOptions(0, 0, 0, 0), 0, Tcp.OPTION_END));
        // No options at all.
        assertEquals(-1, Tcp.findOption(withOptions(), 0, Tcp.OPTION_MSS));
        assertEquals(-1, Tcp.mss(withOptions(), 0));
        // NOPs then MSS.
        DirectBuffer ok = withOptions(1, 1, 1, 1, 2, 4, 0x05, 0xb4);
        assertEquals(24, Tcp.findOption(ok, 0, Tcp.OPTION_MSS));
        assertEquals(1460, Tcp.mss(ok, 0));
        // A wrong-length MSS is found but not trusted as an MSS value.
        DirectBuffer odd = withOptions(2, 3, 5, 1);
        assertEquals(20, Tcp.findOption(odd, 0, Tcp.OPTION_MSS));
        assertEquals(-1, Tcp.mss(odd, 0));
    }

    @Test
    void findOptionOverRandomOptionAreas() {
        Random rnd = new Random(9293);
        for (int i = 0; i < 100_000; i++) {
            int optLen = 4 * rnd.nextInt(11);
            byte[] bytes = new byte[20 + optLen];
            rnd.nextBytes(bytes);
            if (rnd.nextBoolean()) {
                // Bias towards small kinds and lengths so real structures appear.
                for (int j = 20; j < bytes.length; j++) {
                    bytes[j] = (byte) rnd.nextInt(12);
                }
            }
            bytes[12] = (byte) (((bytes.length / 4) << 4) | (bytes[12] & 0x0f));
            UnsafeBuffer b = new UnsafeBuffer(bytes);
            assertEquals(PacketError.NONE, Tcp.check(b, 0, bytes.length));
            for (int kind = 0; kind < 10; kind++) {
                int at = Tcp.findOption(b, 0, kind);
                if (at >= 0) {
                    assertTrue(at >= 20 && at < bytes.length);
                    assertEquals(kind, bytes[at] & 0xff);
                    if (kind > 1) {
                        int l = bytes[at + 1] & 0xff;
                        assertTrue(l >= 2 && at + l <= bytes.length);
                    }
                }
            }
            int mss = Tcp.mss(b, 0);
            assertTrue(mss >= -1 && mss <= 65535);
        }
    }

    @Test
    void hostileInput() {
        Hostile.Accessors all = (b, off, len) -> {
            Tcp.srcPort(b, off);
            Tcp.dstPort(b, off);
            Tcp.sequence(b, off);
            Tcp.acknowledgment(b, off);
            Tcp.flags(b, off);
            Tcp.window(b, off);
            Tcp.checksum(b, off);
            Tcp.urgentPointer(b, off);
            int hl = Tcp.headerLength(b, off);
            assertTrue(hl >= 20 && hl <= len);
            for (int kind = 0; kind < 256; kind++) {
                Tcp.findOption(b, off, kind);
            }
            Tcp.mss(b, off);
            Checksum.transport(b, off, len, 1, 2, Ipv4.PROTO_TCP);
        };
        byte[] tcp = Hostile.slice(FRAME, TCP);
        assertEquals(2, Hostile.truncations(tcp, 0, tcp.length, Tcp::check, all));
        assertTrue(Hostile.fuzz(793, 20_000, tcp, Tcp::check, all, null) > 100);
    }
}
