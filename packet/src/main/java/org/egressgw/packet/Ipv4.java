package org.egressgw.packet;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight accessors for an IPv4 header (RFC 791). {@code off} is the first byte of the header.
 *
 * <p>Layout, RFC 791 section 3.1. Bit numbers on top, byte offsets from {@code off} on the left:
 *
 * <pre>
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    0  |Version|  IHL  |Type of Service|          Total Length         |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |         Identification        |0|D|M|     Fragment Offset     |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    8  |  Time to Live |    Protocol   |        Header Checksum        |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   12  |                         Source Address                        |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   16  |                      Destination Address                      |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   20  |                    Options                    |    Padding    |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   VERSION_IHL_OFFSET      0   version (high 4 bits), IHL in 32-bit words (low 4 bits)
 *   TOS_OFFSET              1   type of service (now DSCP and ECN)
 *   TOTAL_LENGTH_OFFSET     2   header plus data, in octets
 *   IDENTIFICATION_OFFSET   4
 *   FLAGS_FRAGMENT_OFFSET   6   16-bit word: bit 0 reserved, FLAG_DF 0x4000 (D),
 *                               FLAG_MF 0x2000 (M), FRAGMENT_OFFSET_MASK 0x1fff (8-octet units)
 *   TTL_OFFSET              8
 *   PROTOCOL_OFFSET         9   PROTO_ICMP 1, PROTO_TCP 6, PROTO_UDP 17
 *   CHECKSUM_OFFSET        10   over the header only
 *   SRC_ADDRESS_OFFSET     12
 *   DST_ADDRESS_OFFSET     16
 *   MIN_HEADER_LENGTH      20   IHL 5, no options; options run to IHL * 4,
 *                               at most MAX_HEADER_LENGTH 60 (IHL 15)
 * </pre>
 *
 * <p>Validate once with {@link #check}; after it returns {@link PacketError#NONE} every getter stays
 * within the {@code len} given to it, options are allowed ({@link #headerLength} says where the
 * payload starts) and the payload is {@code totalLength - headerLength} bytes.
 *
 * <p><b>Checksum:</b> the plain setters ({@link #totalLength(MutableDirectBuffer, int, int)},
 * {@link #identification(MutableDirectBuffer, int, int)}, {@link #flagsAndFragment},
 * {@link #ttl(MutableDirectBuffer, int, int)}, {@link #protocol(MutableDirectBuffer, int, int)},
 * {@link #srcAddress(MutableDirectBuffer, int, int)}, {@link #dstAddress(MutableDirectBuffer, int, int)},
 * {@link #versionAndHeaderLength}, {@link #tos(MutableDirectBuffer, int, int)}) do NOT touch the header
 * checksum, so after any of them the header is invalid until the caller calls
 * {@link #updateHeaderChecksum} or patches it with {@link Checksum#update16}/{@link Checksum#update32}.
 * {@link #rewriteSrcAddress}, {@link #rewriteDstAddress} and {@link #decrementTtl} keep the header
 * checksum valid incrementally (but not any transport checksum, which the caller must patch).
 */
public final class Ipv4 {
    public static final int MIN_HEADER_LENGTH = 20;
    public static final int MAX_HEADER_LENGTH = 60;

    public static final int VERSION_IHL_OFFSET = 0;
    public static final int TOS_OFFSET = 1;
    public static final int TOTAL_LENGTH_OFFSET = 2;
    public static final int IDENTIFICATION_OFFSET = 4;
    public static final int FLAGS_FRAGMENT_OFFSET = 6;
    public static final int TTL_OFFSET = 8;
    public static final int PROTOCOL_OFFSET = 9;
    public static final int CHECKSUM_OFFSET = 10;
    public static final int SRC_ADDRESS_OFFSET = 12;
    public static final int DST_ADDRESS_OFFSET = 16;

    public static final int PROTO_ICMP = 1;
    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;

    /** Don't Fragment bit within the 16-bit flags/fragment-offset word. */
    public static final int FLAG_DF = 0x4000;
    /** More Fragments bit within the 16-bit flags/fragment-offset word. */
    public static final int FLAG_MF = 0x2000;
    /** Fragment offset (in 8-byte units) within the 16-bit flags/fragment-offset word. */
    public static final int FRAGMENT_OFFSET_MASK = 0x1fff;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    private Ipv4() {
    }

    /**
     * Validates the header against the {@code len} bytes available from {@code off} (the rest of the
     * frame). Returns {@link PacketError#NONE} or the first failing reason, in this order:
     * truncated, version, IHL, total length, header checksum.
     */
    public static int check(DirectBuffer b, int off, int len) {
        if (len < MIN_HEADER_LENGTH) {
            return PacketError.IPV4_TRUNCATED;
        }
        int vihl = b.getByte(off + VERSION_IHL_OFFSET) & 0xff;
        if ((vihl >>> 4) != 4) {
            return PacketError.IPV4_BAD_VERSION;
        }
        int hl = (vihl & 0x0f) << 2;
        if (hl < MIN_HEADER_LENGTH || hl > len) {
            return PacketError.IPV4_BAD_IHL;
        }
        int total = totalLength(b, off);
        if (total < hl || total > len) {
            return PacketError.IPV4_BAD_TOTAL_LENGTH;
        }
        if (!Checksum.verifyIpv4Header(b, off, hl)) {
            return PacketError.IPV4_BAD_CHECKSUM;
        }
        return PacketError.NONE;
    }

    public static int version(DirectBuffer b, int off) {
        return (b.getByte(off + VERSION_IHL_OFFSET) & 0xff) >>> 4;
    }

    /** Header length in bytes (IHL * 4). */
    public static int headerLength(DirectBuffer b, int off) {
        return (b.getByte(off + VERSION_IHL_OFFSET) & 0x0f) << 2;
    }

    /** Writes version 4 and the IHL for a header of {@code ihlBytes} bytes (a multiple of 4, 20..60). Breaks the checksum. */
    public static void versionAndHeaderLength(MutableDirectBuffer b, int off, int ihlBytes) {
        b.putByte(off + VERSION_IHL_OFFSET, (byte) (0x40 | ((ihlBytes >>> 2) & 0x0f)));
    }

    public static int tos(DirectBuffer b, int off) {
        return b.getByte(off + TOS_OFFSET) & 0xff;
    }

    /** Breaks the checksum. */
    public static void tos(MutableDirectBuffer b, int off, int tos) {
        b.putByte(off + TOS_OFFSET, (byte) tos);
    }

    public static int totalLength(DirectBuffer b, int off) {
        return b.getShort(off + TOTAL_LENGTH_OFFSET, BE) & 0xffff;
    }

    /** Breaks the checksum. */
    public static void totalLength(MutableDirectBuffer b, int off, int totalLength) {
        b.putShort(off + TOTAL_LENGTH_OFFSET, (short) totalLength, BE);
    }

    public static int identification(DirectBuffer b, int off) {
        return b.getShort(off + IDENTIFICATION_OFFSET, BE) & 0xffff;
    }

    /** Breaks the checksum. */
    public static void identification(MutableDirectBuffer b, int off, int id) {
        b.putShort(off + IDENTIFICATION_OFFSET, (short) id, BE);
    }

    /** The raw 16-bit flags/fragment-offset word. */
    public static int flagsAndFragment(DirectBuffer b, int off) {
        return b.getShort(off + FLAGS_FRAGMENT_OFFSET, BE) & 0xffff;
    }

    /** Writes the raw 16-bit flags/fragment-offset word (see {@link #FLAG_DF}, {@link #FLAG_MF}). Breaks the checksum. */
    public static void flagsAndFragment(MutableDirectBuffer b, int off, int raw16) {
        b.putShort(off + FLAGS_FRAGMENT_OFFSET, (short) raw16, BE);
    }

    public static boolean dontFragment(DirectBuffer b, int off) {
        return (flagsAndFragment(b, off) & FLAG_DF) != 0;
    }

    public static boolean moreFragments(DirectBuffer b, int off) {
        return (flagsAndFragment(b, off) & FLAG_MF) != 0;
    }

    /** Fragment offset in bytes (the field times 8). */
    public static int fragmentOffset(DirectBuffer b, int off) {
        return (flagsAndFragment(b, off) & FRAGMENT_OFFSET_MASK) << 3;
    }

    /** True for any fragment: MF set or a non-zero fragment offset. */
    public static boolean isFragment(DirectBuffer b, int off) {
        return (flagsAndFragment(b, off) & (FLAG_MF | FRAGMENT_OFFSET_MASK)) != 0;
    }

    public static int ttl(DirectBuffer b, int off) {
        return b.getByte(off + TTL_OFFSET) & 0xff;
    }

    /** Breaks the checksum; see {@link #decrementTtl} for the forwarding case. */
    public static void ttl(MutableDirectBuffer b, int off, int ttl) {
        b.putByte(off + TTL_OFFSET, (byte) ttl);
    }

    public static int protocol(DirectBuffer b, int off) {
        return b.getByte(off + PROTOCOL_OFFSET) & 0xff;
    }

    /** Breaks the checksum. */
    public static void protocol(MutableDirectBuffer b, int off, int protocol) {
        b.putByte(off + PROTOCOL_OFFSET, (byte) protocol);
    }

    public static int headerChecksum(DirectBuffer b, int off) {
        return b.getShort(off + CHECKSUM_OFFSET, BE) & 0xffff;
    }

    public static void headerChecksum(MutableDirectBuffer b, int off, int checksum) {
        b.putShort(off + CHECKSUM_OFFSET, (short) checksum, BE);
    }

    /** Source address in network order (first octet in the high byte). */
    public static int srcAddress(DirectBuffer b, int off) {
        return b.getInt(off + SRC_ADDRESS_OFFSET, BE);
    }

    /** Breaks the header checksum; see {@link #rewriteSrcAddress}. */
    public static void srcAddress(MutableDirectBuffer b, int off, int address) {
        b.putInt(off + SRC_ADDRESS_OFFSET, address, BE);
    }

    /** Destination address in network order (first octet in the high byte). */
    public static int dstAddress(DirectBuffer b, int off) {
        return b.getInt(off + DST_ADDRESS_OFFSET, BE);
    }

    /** Breaks the header checksum; see {@link #rewriteDstAddress}. */
    public static void dstAddress(MutableDirectBuffer b, int off, int address) {
        b.putInt(off + DST_ADDRESS_OFFSET, address, BE);
    }

    /** Recomputes and stores the header checksum over {@link #headerLength} bytes. */
    public static void updateHeaderChecksum(MutableDirectBuffer b, int off) {
        headerChecksum(b, off, Checksum.ipv4Header(b, off, headerLength(b, off)));
    }

    /**
     * Sets the source address and patches the header checksum incrementally (RFC 1624), so a valid
     * header stays valid. Transport checksums covering the pseudo-header are the caller's job.
     */
    public static void rewriteSrcAddress(MutableDirectBuffer b, int off, int address) {
        int old = srcAddress(b, off);
        srcAddress(b, off, address);
        headerChecksum(b, off, Checksum.update32(headerChecksum(b, off), old, address));
    }

    /** Like {@link #rewriteSrcAddress} for the destination address. */
    public static void rewriteDstAddress(MutableDirectBuffer b, int off, int address) {
        int old = dstAddress(b, off);
        dstAddress(b, off, address);
        headerChecksum(b, off, Checksum.update32(headerChecksum(b, off), old, address));
    }

    /**
     * Decrements the TTL by one and patches the header checksum incrementally, as a router does.
     * Returns the new TTL; a TTL already 0 is left alone and 0 returned (the caller drops or answers
     * with ICMP time exceeded before forwarding, so this is not expected).
     */
    public static int decrementTtl(MutableDirectBuffer b, int off) {
        // TTL shares a 16-bit checksum word with the protocol byte.
        int oldWord = b.getShort(off + TTL_OFFSET, BE) & 0xffff;
        int ttl = oldWord >>> 8;
        if (ttl == 0) {
            return 0;
        }
        int newWord = oldWord - 0x100;
        b.putShort(off + TTL_OFFSET, (short) newWord, BE);
        headerChecksum(b, off, Checksum.update16(headerChecksum(b, off), oldWord, newWord));
        return ttl - 1;
    }
}
