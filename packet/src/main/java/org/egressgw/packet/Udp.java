package org.egressgw.packet;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight accessors for a UDP header (RFC 768).
 *
 * <p>Layout, RFC 768 (drawn in 32-bit rows). Bit numbers on top, byte offsets from {@code off} on
 * the left:
 *
 * <pre>
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    0  |          Source Port          |        Destination Port       |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |             Length            |            Checksum           |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   SRC_PORT_OFFSET   0
 *   DST_PORT_OFFSET   2
 *   LENGTH_OFFSET     4   header plus data, in octets
 *   CHECKSUM_OFFSET   6   over pseudo-header, header and data; 0 means none was computed
 *   HEADER_LENGTH     8   the data octets start here
 * </pre>
 *
 * <p>{@code off} is the first byte of the header. After {@link #check} returns
 * {@link PacketError#NONE} the header and {@link #length} bytes of datagram lie within the
 * {@code l4len} given. Setters never touch the checksum; see {@link Checksum#udp} and
 * {@link Checksum#updateUdp16}.
 */
public final class Udp {
    public static final int HEADER_LENGTH = 8;
    public static final int SRC_PORT_OFFSET = 0;
    public static final int DST_PORT_OFFSET = 2;
    public static final int LENGTH_OFFSET = 4;
    public static final int CHECKSUM_OFFSET = 6;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    private Udp() {
    }

    /**
     * Validates against {@code l4len}, the bytes the IP total length leaves for UDP: at least a
     * header ({@link PacketError#UDP_TRUNCATED}) and a length field within {@code 8..l4len}
     * ({@link PacketError#UDP_BAD_LENGTH}). Trailing bytes beyond the UDP length are allowed.
     */
    public static int check(DirectBuffer b, int off, int l4len) {
        if (l4len < HEADER_LENGTH) {
            return PacketError.UDP_TRUNCATED;
        }
        int length = length(b, off);
        if (length < HEADER_LENGTH || length > l4len) {
            return PacketError.UDP_BAD_LENGTH;
        }
        return PacketError.NONE;
    }

    public static int srcPort(DirectBuffer b, int off) {
        return b.getShort(off + SRC_PORT_OFFSET, BE) & 0xffff;
    }

    public static void srcPort(MutableDirectBuffer b, int off, int port) {
        b.putShort(off + SRC_PORT_OFFSET, (short) port, BE);
    }

    public static int dstPort(DirectBuffer b, int off) {
        return b.getShort(off + DST_PORT_OFFSET, BE) & 0xffff;
    }

    public static void dstPort(MutableDirectBuffer b, int off, int port) {
        b.putShort(off + DST_PORT_OFFSET, (short) port, BE);
    }

    /** Datagram length in bytes, header included. */
    public static int length(DirectBuffer b, int off) {
        return b.getShort(off + LENGTH_OFFSET, BE) & 0xffff;
    }

    public static void length(MutableDirectBuffer b, int off, int length) {
        b.putShort(off + LENGTH_OFFSET, (short) length, BE);
    }

    /** The checksum field; 0 means "not computed". */
    public static int checksum(DirectBuffer b, int off) {
        return b.getShort(off + CHECKSUM_OFFSET, BE) & 0xffff;
    }

    public static void checksum(MutableDirectBuffer b, int off, int checksum) {
        b.putShort(off + CHECKSUM_OFFSET, (short) checksum, BE);
    }
}
