package org.egressgw.packet;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight accessors for an Ethernet II header (no 802.1Q tag parsing: a {@link #TYPE_VLAN} frame
 * is reported by its ether type and left to the caller).
 *
 * <p>Layout: Ethernet II (DIX) framing, as RFC 894 uses it for IPv4 and IEEE 802.3 defines it (its
 * "Length/Type" field holds a type when it is 0x0600 or more). Bit numbers on top, byte offsets
 * from {@code off} on the left:
 *
 * <pre>
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    0  |                Destination Address (octets 0-3)               |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |    Destination Addr. (4-5)    |      Source Address (0-1)     |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    8  |                  Source Address (octets 2-5)                  |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   12  |           Ether Type          |  payload, 46-1500 octets ...
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   DST_OFFSET      0   destination MAC, 6 octets
 *   SRC_OFFSET      6   source MAC, 6 octets
 *   TYPE_OFFSET    12   ether type, 16 bits: TYPE_IPV4 0x0800, TYPE_ARP 0x0806,
 *                       TYPE_IPV6 0x86DD, TYPE_VLAN 0x8100 (an 802.1Q tag would sit here)
 *   HEADER_LENGTH  14   preamble, start delimiter and FCS are not in the buffer
 * </pre>
 *
 * <p>{@code off} is the first byte of the header. Call {@link #check} once; after it returns
 * {@link PacketError#NONE} every accessor stays within {@link #HEADER_LENGTH} bytes.
 */
public final class Ethernet {
    public static final int HEADER_LENGTH = 14;
    public static final int DST_OFFSET = 0;
    public static final int SRC_OFFSET = 6;
    public static final int TYPE_OFFSET = 12;

    public static final int TYPE_IPV4 = 0x0800;
    public static final int TYPE_ARP = 0x0806;
    public static final int TYPE_IPV6 = 0x86DD;
    public static final int TYPE_VLAN = 0x8100;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    private Ethernet() {
    }

    /** {@link PacketError#NONE} if {@code len} bytes hold a header, else {@link PacketError#ETHERNET_TRUNCATED}. */
    public static int check(DirectBuffer b, int off, int len) {
        return len >= HEADER_LENGTH ? PacketError.NONE : PacketError.ETHERNET_TRUNCATED;
    }

    public static long dstMac(DirectBuffer b, int off) {
        return readMac(b, off + DST_OFFSET);
    }

    public static void dstMac(MutableDirectBuffer b, int off, long mac) {
        writeMac(b, off + DST_OFFSET, mac);
    }

    public static long srcMac(DirectBuffer b, int off) {
        return readMac(b, off + SRC_OFFSET);
    }

    public static void srcMac(MutableDirectBuffer b, int off, long mac) {
        writeMac(b, off + SRC_OFFSET, mac);
    }

    /** The ether type, 0..0xffff. */
    public static int etherType(DirectBuffer b, int off) {
        return b.getShort(off + TYPE_OFFSET, BE) & 0xffff;
    }

    public static void etherType(MutableDirectBuffer b, int off, int type) {
        b.putShort(off + TYPE_OFFSET, (short) type, BE);
    }

    /** Reads a 6-byte MAC at {@code index} into the low 48 bits of a long, first octet highest. */
    static long readMac(DirectBuffer b, int index) {
        return ((long) (b.getShort(index, BE) & 0xffff) << 32) | (b.getInt(index + 2, BE) & 0xffff_ffffL);
    }

    /** Writes the low 48 bits of {@code mac} as 6 bytes at {@code index}, first octet first. */
    static void writeMac(MutableDirectBuffer b, int index, long mac) {
        b.putShort(index, (short) (mac >>> 32), BE);
        b.putInt(index + 2, (int) mac, BE);
    }
}
