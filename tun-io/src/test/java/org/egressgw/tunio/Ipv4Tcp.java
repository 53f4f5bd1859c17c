package org.egressgw.tunio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

import org.agrona.concurrent.UnsafeBuffer;

/**
 * Builds IPv4/TCP segments for the tests and, as the slow reference for {@link TcpCoalescer}, cuts a
 * virtio-net GSO super-packet back into segments the way the kernel's {@code tcp_gso_segment} and
 * {@code inet_gso_segment} do (straightforward RFC 791/793/1071 code, independent of the {@code packet} module).
 */
final class Ipv4Tcp {
    static final int FIN = 0x01;
    static final int SYN = 0x02;
    static final int RST = 0x04;
    static final int PSH = 0x08;
    static final int ACK = 0x10;
    static final int URG = 0x20;
    static final int CWR = 0x80;

    /** A mutable description of one segment; {@link #bytes()} renders it with correct checksums. */
    static final class Segment implements Cloneable {
        int src = Ipv4Udp.ip(10, 1, 0, 5);
        int dst = Ipv4Udp.ip(203, 0, 113, 5);
        int srcPort = 40000;
        int dstPort = 5201;
        long seq = 1000;
        long ack = 777;
        int flags = ACK;
        int window = 502;
        int urgent;
        int tos;
        int ttl = 63;
        int id = 100;
        boolean df = true;
        byte[] ipOptions = new byte[0];
        byte[] tcpOptions = timestampOption(12345, 678);
        byte[] payload = new byte[0];
        /** Set by tests that want a wrong TCP checksum. */
        boolean corruptChecksum;

        Segment payload(int length, int fill) {
            payload = new byte[length];
            for (int i = 0; i < length; i++) {
                payload[i] = (byte) (fill + i * 7);
            }
            return this;
        }

        /** The next segment of the same flow: sequence advanced by this payload, ID by one. */
        Segment next(int length) {
            final Segment s = copy();
            s.seq = (seq + payload.length) & 0xffffffffL;
            s.id = (id + 1) & 0xffff;
            s.flags = ACK;
            return s.payload(length, (int) s.seq);
        }

        Segment copy() {
            try {
                return (Segment) clone();
            } catch (CloneNotSupportedException e) {
                throw new AssertionError(e);
            }
        }

        int length() {
            return 20 + ipOptions.length + 20 + tcpOptions.length + payload.length;
        }

        byte[] bytes() {
            final int ihl = 20 + ipOptions.length;
            final int thl = 20 + tcpOptions.length;
            final ByteBuffer b = ByteBuffer.allocate(length()).order(ByteOrder.BIG_ENDIAN);
            b.put((byte) (0x40 | (ihl / 4))).put((byte) tos).putShort((short) length()).putShort((short) id)
                .putShort((short) (df ? 0x4000 : 0)).put((byte) ttl).put((byte) 6).putShort((short) 0)
                .putInt(src).putInt(dst).put(ipOptions);
            b.putShort((short) srcPort).putShort((short) dstPort).putInt((int) seq).putInt((int) ack)
                .put((byte) ((thl / 4) << 4)).put((byte) flags).putShort((short) window).putShort((short) 0)
                .putShort((short) urgent).put(tcpOptions).put(payload);
            final byte[] bytes = b.array();
            finishChecksums(bytes, corruptChecksum);
            return bytes;
        }
    }

    private Ipv4Tcp() {
    }

    /** NOP, NOP, timestamp (kind 8, length 10). */
    static byte[] timestampOption(int tsVal, int tsEcr) {
        return ByteBuffer.allocate(12).put((byte) 1).put((byte) 1).put((byte) 8).put((byte) 10).putInt(tsVal)
            .putInt(tsEcr).array();
    }

    /** Recomputes the IPv4 header checksum and the full TCP checksum of {@code packet} in place. */
    static void finishChecksums(byte[] packet, boolean corruptTcp) {
        final UnsafeBuffer b = new UnsafeBuffer(packet);
        final int ihl = (packet[0] & 0x0f) * 4;
        b.putShort(10, (short) 0);
        b.putShort(10, (short) Ipv4Udp.checksum(b, 0, ihl, 0), ByteOrder.BIG_ENDIAN);
        final int tcpLength = packet.length - ihl;
        b.putShort(ihl + 16, (short) 0);
        final int tcp = Ipv4Udp.checksum(b, ihl, tcpLength, pseudo(b, tcpLength));
        b.putShort(ihl + 16, (short) (corruptTcp ? tcp ^ 0x0101 : tcp), ByteOrder.BIG_ENDIAN);
    }

    static long pseudo(UnsafeBuffer b, int tcpLength) {
        long sum = 6 + tcpLength;
        for (int i = 12; i < 20; i += 2) {
            sum += b.getShort(i, ByteOrder.BIG_ENDIAN) & 0xffff;
        }
        return sum;
    }

    /** Whether the IPv4 header and TCP checksums of {@code packet} verify. */
    static boolean checksumsValid(byte[] packet) {
        final UnsafeBuffer b = new UnsafeBuffer(packet);
        final int ihl = (packet[0] & 0x0f) * 4;
        final int tcpLength = packet.length - ihl;
        return Ipv4Udp.checksum(b, 0, ihl, 0) == 0 && Ipv4Udp.checksum(b, ihl, tcpLength, pseudo(b, tcpLength)) == 0;
    }

    /**
     * The packets a writer handed the kernel, as the kernel would emit them: a GSO_NONE write is the packet
     * itself (the header must then be all zero); a GSO_TCPV4 write is checked (NEEDS_CSUM, csum_start = IP
     * header length, csum_offset 16, checksum field = folded, not complemented pseudo-header sum) and cut into
     * gso_size pieces with IDs counting up, sequence numbers advanced, FIN/PSH only on the last piece, CWR
     * only on the first, and full checksums.
     */
    static List<byte[]> resegment(byte[] vnetHeader, byte[] packet) {
        final UnsafeBuffer h = new UnsafeBuffer(vnetHeader);
        final List<byte[]> out = new ArrayList<>();
        final int gsoType = VirtioNetHeader.gsoType(h, 0);
        if (gsoType == VirtioNetHeader.GSO_NONE) {
            check(VirtioNetHeader.flags(h, 0) == 0, "plain write with flags " + VirtioNetHeader.flags(h, 0));
            out.add(packet);
            return out;
        }
        check(gsoType == VirtioNetHeader.GSO_TCPV4, "gso_type " + gsoType);
        check(VirtioNetHeader.flags(h, 0) == VirtioNetHeader.FLAG_NEEDS_CSUM, "flags");
        final UnsafeBuffer p = new UnsafeBuffer(packet);
        final int ihl = (packet[0] & 0x0f) * 4;
        final int thl = ((packet[ihl + 12] & 0xff) >>> 4) * 4;
        check(VirtioNetHeader.csumStart(h, 0) == ihl, "csum_start");
        check(VirtioNetHeader.csumOffset(h, 0) == 16, "csum_offset");
        check(VirtioNetHeader.hdrLen(h, 0) == ihl + thl, "hdr_len");
        check((p.getShort(2, ByteOrder.BIG_ENDIAN) & 0xffff) == packet.length, "total length");
        check(Ipv4Udp.checksum(p, 0, ihl, 0) == 0, "IP header checksum of the super-packet");
        long pseudo = pseudo(p, packet.length - ihl);
        while ((pseudo >>> 16) != 0) {
            pseudo = (pseudo & 0xffff) + (pseudo >>> 16);
        }
        check((p.getShort(ihl + 16, ByteOrder.BIG_ENDIAN) & 0xffff) == pseudo, "partial TCP checksum");
        final int size = VirtioNetHeader.gsoSize(h, 0);
        final int payload = packet.length - ihl - thl;
        check(payload > size, "a GSO write must hold more than one segment");
        final int id = p.getShort(4, ByteOrder.BIG_ENDIAN) & 0xffff;
        final long seq = p.getInt(ihl + 4, ByteOrder.BIG_ENDIAN) & 0xffffffffL;
        final int flags = packet[ihl + 13] & 0xff;
        for (int k = 0, at = 0; at < payload; k++, at += size) {
            final int piece = Math.min(size, payload - at);
            final byte[] seg = new byte[ihl + thl + piece];
            System.arraycopy(packet, 0, seg, 0, ihl + thl);
            System.arraycopy(packet, ihl + thl + at, seg, ihl + thl, piece);
            final UnsafeBuffer s = new UnsafeBuffer(seg);
            s.putShort(2, (short) seg.length, ByteOrder.BIG_ENDIAN);
            s.putShort(4, (short) (id + k), ByteOrder.BIG_ENDIAN);
            s.putInt(ihl + 4, (int) (seq + at), ByteOrder.BIG_ENDIAN);
            int f = flags;
            if (at + piece < payload) {
                f &= ~(FIN | PSH);
            }
            if (k > 0) {
                f &= ~CWR;
            }
            seg[ihl + 13] = (byte) f;
            finishChecksums(seg, false);
            out.add(seg);
        }
        return out;
    }

    private static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError("bad GSO write: " + what);
        }
    }
}
