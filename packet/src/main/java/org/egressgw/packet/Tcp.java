package org.egressgw.packet;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight accessors for a TCP header (RFC 9293).
 *
 * <p>Layout, RFC 9293 section 3.1. Bit numbers on top, byte offsets from {@code off} on the left:
 *
 * <pre>
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    0  |          Source Port          |        Destination Port       |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |                        Sequence Number                        |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    8  |                     Acknowledgment Number                     |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   12  |  Data |       |C|E|U|A|P|R|S|F|                               |
 *       | Offset| Rsrvd |W|C|R|C|S|S|Y|I|             Window            |
 *       |       |       |R|E|G|K|H|T|N|N|                               |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   16  |            Checksum           |         Urgent Pointer        |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   20  |                           [Options]                           |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   SRC_PORT_OFFSET         0
 *   DST_PORT_OFFSET         2
 *   SEQUENCE_OFFSET         4
 *   ACKNOWLEDGMENT_OFFSET   8
 *   DATA_OFFSET_OFFSET     12   data offset in 32-bit words (high 4 bits), reserved (low 4 bits)
 *   FLAGS_OFFSET           13   CWR 0x80, ECE 0x40, URG 0x20, ACK 0x10,
 *                               PSH 0x08, RST 0x04, SYN 0x02, FIN 0x01
 *   WINDOW_OFFSET          14
 *   CHECKSUM_OFFSET        16   over pseudo-header, header and data
 *   URGENT_POINTER_OFFSET  18
 *   MIN_HEADER_LENGTH      20   data offset 5; options run to data offset * 4,
 *                               at most MAX_HEADER_LENGTH 60 (data offset 15)
 *   MSS option (section 3.2): kind OPTION_MSS 2, length OPTION_MSS_LENGTH 4, 16-bit value
 * </pre>
 *
 * <p>{@code off} is the first byte of the header. After {@link #check} returns
 * {@link PacketError#NONE} the whole header, options included ({@link #headerLength} bytes), lies
 * within the {@code l4len} given, so {@link #findOption} and {@link #mss} are safe. Setters never
 * touch the checksum; see {@link Checksum#transport} and {@link Checksum#update16}.
 */
public final class Tcp {
    public static final int MIN_HEADER_LENGTH = 20;
    public static final int MAX_HEADER_LENGTH = 60;

    public static final int SRC_PORT_OFFSET = 0;
    public static final int DST_PORT_OFFSET = 2;
    public static final int SEQUENCE_OFFSET = 4;
    public static final int ACKNOWLEDGMENT_OFFSET = 8;
    public static final int DATA_OFFSET_OFFSET = 12;
    public static final int FLAGS_OFFSET = 13;
    public static final int WINDOW_OFFSET = 14;
    public static final int CHECKSUM_OFFSET = 16;
    public static final int URGENT_POINTER_OFFSET = 18;

    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;
    public static final int ECE = 0x40;
    public static final int CWR = 0x80;

    public static final int OPTION_END = 0;
    public static final int OPTION_NOP = 1;
    public static final int OPTION_MSS = 2;
    /** Length of the MSS option: kind, length, 16-bit value. */
    public static final int OPTION_MSS_LENGTH = 4;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    private Tcp() {
    }

    /**
     * Validates against {@code l4len}, the bytes the IP total length leaves for TCP: at least a
     * minimal header ({@link PacketError#TCP_TRUNCATED}) and a data offset of at least 5 words whose
     * header fits in {@code l4len} ({@link PacketError#TCP_BAD_DATA_OFFSET}).
     */
    public static int check(DirectBuffer b, int off, int l4len) {
        if (l4len < MIN_HEADER_LENGTH) {
            return PacketError.TCP_TRUNCATED;
        }
        int hl = headerLength(b, off);
        if (hl < MIN_HEADER_LENGTH || hl > l4len) {
            return PacketError.TCP_BAD_DATA_OFFSET;
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

    /** Sequence number, unsigned 32-bit. */
    public static long sequence(DirectBuffer b, int off) {
        return b.getInt(off + SEQUENCE_OFFSET, BE) & 0xffff_ffffL;
    }

    public static void sequence(MutableDirectBuffer b, int off, long sequence) {
        b.putInt(off + SEQUENCE_OFFSET, (int) sequence, BE);
    }

    /** Acknowledgment number, unsigned 32-bit. */
    public static long acknowledgment(DirectBuffer b, int off) {
        return b.getInt(off + ACKNOWLEDGMENT_OFFSET, BE) & 0xffff_ffffL;
    }

    public static void acknowledgment(MutableDirectBuffer b, int off, long acknowledgment) {
        b.putInt(off + ACKNOWLEDGMENT_OFFSET, (int) acknowledgment, BE);
    }

    /** Header length in bytes (data offset * 4). */
    public static int headerLength(DirectBuffer b, int off) {
        return ((b.getByte(off + DATA_OFFSET_OFFSET) & 0xff) >>> 4) << 2;
    }

    /** Writes the data offset for a header of {@code bytes} bytes (a multiple of 4), keeping the reserved bits. */
    public static void headerLength(MutableDirectBuffer b, int off, int bytes) {
        int old = b.getByte(off + DATA_OFFSET_OFFSET) & 0x0f;
        b.putByte(off + DATA_OFFSET_OFFSET, (byte) ((((bytes >>> 2) & 0x0f) << 4) | old));
    }

    /** The 8 flag bits (CWR..FIN). */
    public static int flags(DirectBuffer b, int off) {
        return b.getByte(off + FLAGS_OFFSET) & 0xff;
    }

    public static void flags(MutableDirectBuffer b, int off, int flags) {
        b.putByte(off + FLAGS_OFFSET, (byte) flags);
    }

    public static int window(DirectBuffer b, int off) {
        return b.getShort(off + WINDOW_OFFSET, BE) & 0xffff;
    }

    public static void window(MutableDirectBuffer b, int off, int window) {
        b.putShort(off + WINDOW_OFFSET, (short) window, BE);
    }

    public static int checksum(DirectBuffer b, int off) {
        return b.getShort(off + CHECKSUM_OFFSET, BE) & 0xffff;
    }

    public static void checksum(MutableDirectBuffer b, int off, int checksum) {
        b.putShort(off + CHECKSUM_OFFSET, (short) checksum, BE);
    }

    public static int urgentPointer(DirectBuffer b, int off) {
        return b.getShort(off + URGENT_POINTER_OFFSET, BE) & 0xffff;
    }

    public static void urgentPointer(MutableDirectBuffer b, int off, int urgentPointer) {
        b.putShort(off + URGENT_POINTER_OFFSET, (short) urgentPointer, BE);
    }

    /**
     * The absolute index of the first option of {@code kind} within the header's option area, or -1.
     * Multi-byte options are returned only if their length byte is at least 2 and the option ends
     * within the header. Malformed option lists (a length below 2, an option running past the header
     * end) end the search with -1; every step advances, so this always terminates. Reads only within
     * {@link #headerLength} bytes of {@code off}.
     */
    public static int findOption(DirectBuffer b, int off, int kind) {
        final int end = off + headerLength(b, off);
        int i = off + MIN_HEADER_LENGTH;
        while (i < end) {
            int k = b.getByte(i) & 0xff;
            if (k == OPTION_END) {
                return kind == OPTION_END ? i : -1;
            }
            if (k == OPTION_NOP) {
                if (kind == OPTION_NOP) {
                    return i;
                }
                i++;
                continue;
            }
            if (i + 1 >= end) {
                return -1;
            }
            int len = b.getByte(i + 1) & 0xff;
            if (len < 2 || len > end - i) {
                return -1;
            }
            if (k == kind) {
                return i;
            }
            i += len;
        }
        return -1;
    }

    /** The MSS option's value, or -1 if there is no well-formed (4-byte) MSS option. */
    public static int mss(DirectBuffer b, int off) {
        int i = findOption(b, off, OPTION_MSS);
        if (i < 0 || (b.getByte(i + 1) & 0xff) != OPTION_MSS_LENGTH) {
            return -1;
        }
        return b.getShort(i + 2, BE) & 0xffff;
    }
}
