package org.egressgw.packet;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;

/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624), the one implementation
 * every module uses.
 *
 * <p>Sums are kept unfolded in a {@code long} so that pieces (pseudo-header, headers, payload) can be
 * chained cheaply and folded once at the end. Every piece except the last must have an even length,
 * because an odd final byte is treated as the high byte of a zero-padded 16-bit word. A chained
 * {@code initial} must itself come from this class ({@link #sum}, {@link #pseudoHeader} or a small
 * constant); such values stay far below the overflow limit for any buffer an {@code int} can address.
 *
 * <p>All methods are static, allocation-free and thread-safe; none throws on packet data (only a
 * buffer's own bounds check can, if the caller passes a range outside the buffer).
 */
public final class Checksum {
    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;
    private static final int PROTO_TCP = 6;
    private static final int PROTO_UDP = 17;
    private static final int TCP_CHECKSUM_OFFSET = 16;
    private static final int UDP_CHECKSUM_OFFSET = 6;
    private static final int IPV4_CHECKSUM_OFFSET = 10;
    private static final int ICMP_CHECKSUM_OFFSET = 2;

    private Checksum() {
    }

    /**
     * Adds the bytes {@code [off, off+len)} as big-endian 16-bit words to {@code initial}, without
     * folding. An odd last byte counts as the high byte of a word whose low byte is zero.
     */
    public static long sum(DirectBuffer b, int off, int len, long initial) {
        long acc = initial;
        int i = off;
        final int end = off + len;
        // 16 bytes per iteration: two 64-bit reads, each split into two 32-bit halves. Summing
        // 32-bit words is equivalent to summing 16-bit words modulo 0xffff, since 2^16 == 1 (mod 0xffff).
        final int end16 = off + (len & ~15);
        while (i < end16) {
            long w0 = b.getLong(i, BE);
            long w1 = b.getLong(i + 8, BE);
            acc += (w0 >>> 32) + (w0 & 0xffff_ffffL) + (w1 >>> 32) + (w1 & 0xffff_ffffL);
            i += 16;
        }
        if (end - i >= 8) {
            long w = b.getLong(i, BE);
            acc += (w >>> 32) + (w & 0xffff_ffffL);
            i += 8;
        }
        if (end - i >= 4) {
            acc += b.getInt(i, BE) & 0xffff_ffffL;
            i += 4;
        }
        if (end - i >= 2) {
            acc += b.getShort(i, BE) & 0xffff;
            i += 2;
        }
        if (i < end) {
            acc += (b.getByte(i) & 0xff) << 8;
        }
        return acc;
    }

    /**
     * Folds an unfolded sum (treated as unsigned 64-bit) to 16 bits, not complemented. The result is
     * 0 only for a zero sum; otherwise it lies in {@code 1..0xffff}.
     */
    public static int fold(long sum) {
        long s = (sum >>> 32) + (sum & 0xffff_ffffL);
        s = (s >>> 16) + (s & 0xffff);
        s = (s >>> 16) + (s & 0xffff);
        s = (s >>> 16) + (s & 0xffff);
        return (int) s;
    }

    /** The checksum of an unfolded sum: {@code ~fold(sum) & 0xffff}. */
    public static int finish(long sum) {
        return ~fold(sum) & 0xffff;
    }

    /** The unfolded sum of the IPv4 pseudo-header used by TCP and UDP. */
    public static long pseudoHeader(int srcIp, int dstIp, int protocol, int l4Length) {
        return (long) (srcIp >>> 16) + (srcIp & 0xffff) + (dstIp >>> 16) + (dstIp & 0xffff)
                + (protocol & 0xff) + (l4Length & 0xffff);
    }

    /**
     * The value to store in an IPv4 header's checksum field, computed as if the field were zero.
     * {@code headerLength} is in bytes (IHL * 4) and must be at least 12.
     */
    public static int ipv4Header(DirectBuffer b, int off, int headerLength) {
        return finish(sumSkipping(b, off, headerLength, IPV4_CHECKSUM_OFFSET, 0));
    }

    /** True if the IPv4 header at {@code off} of {@code headerLength} bytes carries a correct checksum. */
    public static boolean verifyIpv4Header(DirectBuffer b, int off, int headerLength) {
        return fold(sum(b, off, headerLength, 0)) == 0xffff;
    }

    /**
     * The TCP or UDP checksum value to store for the segment {@code [l4Off, l4Off+l4Len)} with the
     * IPv4 pseudo-header, computed as if the checksum field (at offset 16 for TCP, 6 for UDP) were
     * zero. For any other protocol no field is skipped. For UDP prefer {@link #udp}, which applies
     * the "0 is sent as 0xFFFF" rule.
     */
    public static int transport(DirectBuffer b, int l4Off, int l4Len, int srcIp, int dstIp, int protocol) {
        long pseudo = pseudoHeader(srcIp, dstIp, protocol, l4Len);
        int field = protocol == PROTO_TCP ? TCP_CHECKSUM_OFFSET : protocol == PROTO_UDP ? UDP_CHECKSUM_OFFSET : -1;
        if (field < 0) {
            return finish(sum(b, l4Off, l4Len, pseudo));
        }
        return finish(sumSkipping(b, l4Off, l4Len, field, pseudo));
    }

    /** The UDP checksum value to store: like {@link #transport} but a computed 0 is returned as 0xFFFF. */
    public static int udp(DirectBuffer b, int l4Off, int l4Len, int srcIp, int dstIp) {
        int c = transport(b, l4Off, l4Len, srcIp, dstIp, PROTO_UDP);
        return c == 0 ? 0xffff : c;
    }

    /**
     * Computes the checksum of a TCP or UDP segment from scratch and writes it into the segment's checksum
     * field (UDP: a computed 0 is written as 0xFFFF) — for a segment whose checksum is missing or only started.
     */
    public static void storeTransport(org.agrona.MutableDirectBuffer b, int l4Off, int l4Len, int srcIp, int dstIp,
            int protocol) {
        if (protocol == PROTO_UDP) {
            b.putShort(l4Off + UDP_CHECKSUM_OFFSET, (short) udp(b, l4Off, l4Len, srcIp, dstIp), BE);
        } else {
            b.putShort(l4Off + TCP_CHECKSUM_OFFSET, (short) transport(b, l4Off, l4Len, srcIp, dstIp, protocol), BE);
        }
    }

    /**
     * True if the TCP or UDP segment carries a correct checksum. A UDP checksum of 0 ("not computed")
     * counts as valid. {@code l4Len} must cover the checksum field.
     */
    public static boolean verifyTransport(DirectBuffer b, int l4Off, int l4Len, int srcIp, int dstIp, int protocol) {
        if (protocol == PROTO_UDP && l4Len >= UDP_CHECKSUM_OFFSET + 2
                && b.getShort(l4Off + UDP_CHECKSUM_OFFSET, BE) == 0) {
            return true;
        }
        return fold(sum(b, l4Off, l4Len, pseudoHeader(srcIp, dstIp, protocol, l4Len))) == 0xffff;
    }

    /** The ICMP checksum value to store for the message {@code [off, off+len)} (no pseudo-header). */
    public static int icmp(DirectBuffer b, int off, int len) {
        return finish(sumSkipping(b, off, len, ICMP_CHECKSUM_OFFSET, 0));
    }

    /** True if the ICMP message {@code [off, off+len)} carries a correct checksum. */
    public static boolean verifyIcmp(DirectBuffer b, int off, int len) {
        return fold(sum(b, off, len, 0)) == 0xffff;
    }

    /**
     * RFC 1624 eqn. 3: the new checksum after a 16-bit word covered by {@code checksum} changed from
     * {@code oldValue16} to {@code newValue16}. Only the low 16 bits of each argument are used.
     */
    public static int update16(int checksum, int oldValue16, int newValue16) {
        long s = (~checksum & 0xffff) + (~oldValue16 & 0xffff) + (newValue16 & 0xffff);
        return ~fold(s) & 0xffff;
    }

    /**
     * RFC 1624 eqn. 3 for a 32-bit value (two aligned 16-bit words), such as an IPv4 address,
     * which also enters TCP/UDP checksums through the pseudo-header.
     */
    public static int update32(int checksum, int oldValue32, int newValue32) {
        long s = (~checksum & 0xffff)
                + (~oldValue32 >>> 16) + (~oldValue32 & 0xffff)
                + (newValue32 >>> 16) + (newValue32 & 0xffff);
        return ~fold(s) & 0xffff;
    }

    /**
     * {@link #update16} for a UDP checksum: 0 ("no checksum") stays 0, and a computed 0 is returned
     * as 0xFFFF, as RFC 768 requires.
     */
    public static int updateUdp16(int checksum, int oldValue16, int newValue16) {
        if ((checksum & 0xffff) == 0) {
            return 0;
        }
        int c = update16(checksum, oldValue16, newValue16);
        return c == 0 ? 0xffff : c;
    }

    /** {@link #update32} for a UDP checksum, with the same 0 rules as {@link #updateUdp16}. */
    public static int updateUdp32(int checksum, int oldValue32, int newValue32) {
        if ((checksum & 0xffff) == 0) {
            return 0;
        }
        int c = update32(checksum, oldValue32, newValue32);
        return c == 0 ? 0xffff : c;
    }

    /** Sums {@code [off, off+len)} leaving out the 16-bit field at {@code off+field} (field is even). */
    private static long sumSkipping(DirectBuffer b, int off, int len, int field, long initial) {
        if (len <= field) {
            return sum(b, off, len, initial);
        }
        long s = sum(b, off, field, initial);
        int rest = field + 2;
        if (len > rest) {
            s = sum(b, off + rest, len - rest, s);
        }
        return s;
    }
}
