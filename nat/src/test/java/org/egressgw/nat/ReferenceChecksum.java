package org.egressgw.nat;

import org.agrona.DirectBuffer;

/**
 * The slow reference for every checksum in the NAT tests: RFC 1071 computed one byte at a time with
 * a plain end-around-carry fold, sharing no code with {@code org.egressgw.packet.Checksum}, so a
 * bug there cannot hide the same bug in an incremental update.
 */
final class ReferenceChecksum {
    private ReferenceChecksum() {
    }

    /** Sum of {@code [off, off+len)} as big-endian 16-bit words; an odd last byte is a high byte. */
    static long sum(DirectBuffer b, int off, int len) {
        long s = 0;
        for (int i = 0; i < len; i++) {
            int v = b.getByte(off + i) & 0xff;
            s += (i & 1) == 0 ? v << 8 : v;
        }
        return s;
    }

    static int fold(long s) {
        while (s > 0xffff) {
            s = (s & 0xffff) + (s >>> 16);
        }
        return (int) s;
    }

    static long pseudoHeader(int src, int dst, int protocol, int length) {
        return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + protocol + length;
    }

    /**
     * The checksum to store for {@code [off, off+len)} plus {@code extra} (a pseudo-header sum),
     * taking the 16-bit field at {@code off + field} as zero.
     */
    static int compute(DirectBuffer b, int off, int len, int field, long extra) {
        int word = ((b.getByte(off + field) & 0xff) << 8) | (b.getByte(off + field + 1) & 0xff);
        return ~fold(sum(b, off, len) - word + extra) & 0xffff;
    }

    /** True if {@code [off, off+len)} plus {@code extra}, checksum field included, sums to 0xFFFF. */
    static boolean valid(DirectBuffer b, int off, int len, long extra) {
        return fold(sum(b, off, len) + extra) == 0xffff;
    }
}
