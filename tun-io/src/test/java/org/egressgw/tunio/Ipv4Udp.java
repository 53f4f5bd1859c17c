package org.egressgw.tunio;

import java.nio.ByteOrder;

import org.agrona.MutableDirectBuffer;
import org.agrona.DirectBuffer;

/** Builds and checks IPv4/UDP packets for the tests (straightforward RFC 791/768/1071 code, no options). */
final class Ipv4Udp {
    static final int IP_HEADER = 20;
    static final int UDP_HEADER = 8;
    static final int PROTO_UDP = 17;

    private Ipv4Udp() {
    }

    /** a.b.c.d as an int in network bit order. */
    static int ip(int a, int b, int c, int d) {
        return (a << 24) | (b << 16) | (c << 8) | d;
    }

    /** Writes a complete packet at {@code offset}; returns its length. */
    static int build(MutableDirectBuffer buffer, int offset, int srcIp, int srcPort, int dstIp, int dstPort,
                     byte[] payload, int identification) {
        final int udpLength = UDP_HEADER + payload.length;
        final int totalLength = IP_HEADER + udpLength;
        buffer.putByte(offset, (byte) 0x45);
        buffer.putByte(offset + 1, (byte) 0);
        buffer.putShort(offset + 2, (short) totalLength, ByteOrder.BIG_ENDIAN);
        buffer.putShort(offset + 4, (short) identification, ByteOrder.BIG_ENDIAN);
        buffer.putShort(offset + 6, (short) 0x4000, ByteOrder.BIG_ENDIAN); // DF
        buffer.putByte(offset + 8, (byte) 64);
        buffer.putByte(offset + 9, (byte) PROTO_UDP);
        buffer.putShort(offset + 10, (short) 0);
        buffer.putInt(offset + 12, srcIp, ByteOrder.BIG_ENDIAN);
        buffer.putInt(offset + 16, dstIp, ByteOrder.BIG_ENDIAN);
        buffer.putShort(offset + 10, (short) checksum(buffer, offset, IP_HEADER, 0), ByteOrder.BIG_ENDIAN);

        final int udp = offset + IP_HEADER;
        buffer.putShort(udp, (short) srcPort, ByteOrder.BIG_ENDIAN);
        buffer.putShort(udp + 2, (short) dstPort, ByteOrder.BIG_ENDIAN);
        buffer.putShort(udp + 4, (short) udpLength, ByteOrder.BIG_ENDIAN);
        buffer.putShort(udp + 6, (short) 0);
        buffer.putBytes(udp + UDP_HEADER, payload);
        final long pseudo = (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff) + PROTO_UDP
            + udpLength;
        int udpChecksum = checksum(buffer, udp, udpLength, pseudo);
        if (udpChecksum == 0) {
            udpChecksum = 0xffff; // 0 means "no checksum" in UDP
        }
        buffer.putShort(udp + 6, (short) udpChecksum, ByteOrder.BIG_ENDIAN);
        return totalLength;
    }

    /** RFC 1071 one's-complement checksum of {@code length} bytes plus an initial sum. */
    static int checksum(DirectBuffer buffer, int offset, int length, long initial) {
        long sum = initial;
        for (int i = 0; i + 1 < length; i += 2) {
            sum += buffer.getShort(offset + i, ByteOrder.BIG_ENDIAN) & 0xffff;
        }
        if ((length & 1) != 0) {
            sum += (buffer.getByte(offset + length - 1) & 0xff) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }
}
