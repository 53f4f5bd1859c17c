package org.egressgw.packet;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight accessors for an ICMPv4 header (RFC 792).
 *
 * <p>Layouts of the messages this class knows. Bit numbers on top, byte offsets from {@code off}
 * on the left:
 *
 * <pre>
 * Echo request (TYPE_ECHO_REQUEST 8) and echo reply (TYPE_ECHO_REPLY 0), RFC 792:
 *
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    0  |      Type     |      Code     |            Checksum           |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |           Identifier          |        Sequence Number        |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    8  |     Data ...
 *       +-+-+-+-+-
 *
 * Destination unreachable (TYPE_DEST_UNREACHABLE 3), code CODE_FRAG_NEEDED 4, with the
 * next-hop MTU of RFC 1191 section 4:
 *
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    0  |    Type = 3   |    Code = 4   |            Checksum           |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |           Unused = 0          |          Next-Hop MTU         |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    8  |      Internet Header + 64 bits of Original Data Datagram      |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Bytes 4..7 of the other error types isError accepts (RFC 792); bytes 8 on are the
 * same quoted datagram:
 *
 * destination unreachable, other codes (3), source quench (TYPE_SOURCE_QUENCH 4),
 * time exceeded (TYPE_TIME_EXCEEDED 11):
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |                             unused                            |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * redirect (TYPE_REDIRECT 5):
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |                    Gateway Internet Address                   |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * parameter problem (TYPE_PARAMETER_PROBLEM 12):
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |    Pointer    |                     unused                    |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   TYPE_OFFSET          0
 *   CODE_OFFSET          1
 *   CHECKSUM_OFFSET      2   over the whole ICMP message
 *   IDENTIFIER_OFFSET    4   echo only
 *   SEQUENCE_OFFSET      6   echo only
 *   NEXT_HOP_MTU_OFFSET  6   fragmentation needed only
 *   HEADER_LENGTH        8   echo data or the quoted datagram start here
 * </pre>
 *
 * <p>{@code off} is the first byte of the header. After {@link #check} returns
 * {@link PacketError#NONE} every accessor stays within {@link #HEADER_LENGTH} bytes. Bytes 4..7
 * mean different things per type: identifier/sequence for echo, next-hop MTU (bytes 6..7) for
 * "fragmentation needed". Setters never touch the checksum; see {@link Checksum#icmp} and
 * {@link Checksum#update16}.
 */
public final class Icmp {
    public static final int HEADER_LENGTH = 8;
    public static final int TYPE_OFFSET = 0;
    public static final int CODE_OFFSET = 1;
    public static final int CHECKSUM_OFFSET = 2;
    public static final int IDENTIFIER_OFFSET = 4;
    public static final int SEQUENCE_OFFSET = 6;
    public static final int NEXT_HOP_MTU_OFFSET = 6;

    public static final int TYPE_ECHO_REPLY = 0;
    public static final int TYPE_DEST_UNREACHABLE = 3;
    public static final int TYPE_SOURCE_QUENCH = 4;
    public static final int TYPE_REDIRECT = 5;
    public static final int TYPE_ECHO_REQUEST = 8;
    public static final int TYPE_TIME_EXCEEDED = 11;
    public static final int TYPE_PARAMETER_PROBLEM = 12;

    /** Destination-unreachable code "fragmentation needed and DF set". */
    public static final int CODE_FRAG_NEEDED = 4;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    private Icmp() {
    }

    /** {@link PacketError#NONE} if {@code l4len >= 8}, else {@link PacketError#ICMP_TRUNCATED}. */
    public static int check(DirectBuffer b, int off, int l4len) {
        return l4len >= HEADER_LENGTH ? PacketError.NONE : PacketError.ICMP_TRUNCATED;
    }

    public static int type(DirectBuffer b, int off) {
        return b.getByte(off + TYPE_OFFSET) & 0xff;
    }

    public static void type(MutableDirectBuffer b, int off, int type) {
        b.putByte(off + TYPE_OFFSET, (byte) type);
    }

    public static int code(DirectBuffer b, int off) {
        return b.getByte(off + CODE_OFFSET) & 0xff;
    }

    public static void code(MutableDirectBuffer b, int off, int code) {
        b.putByte(off + CODE_OFFSET, (byte) code);
    }

    public static int checksum(DirectBuffer b, int off) {
        return b.getShort(off + CHECKSUM_OFFSET, BE) & 0xffff;
    }

    public static void checksum(MutableDirectBuffer b, int off, int checksum) {
        b.putShort(off + CHECKSUM_OFFSET, (short) checksum, BE);
    }

    /** Echo identifier (the "port" connection tracking uses for ICMP echo). */
    public static int identifier(DirectBuffer b, int off) {
        return b.getShort(off + IDENTIFIER_OFFSET, BE) & 0xffff;
    }

    public static void identifier(MutableDirectBuffer b, int off, int identifier) {
        b.putShort(off + IDENTIFIER_OFFSET, (short) identifier, BE);
    }

    /** Echo sequence number. */
    public static int sequence(DirectBuffer b, int off) {
        return b.getShort(off + SEQUENCE_OFFSET, BE) & 0xffff;
    }

    public static void sequence(MutableDirectBuffer b, int off, int sequence) {
        b.putShort(off + SEQUENCE_OFFSET, (short) sequence, BE);
    }

    /** Next-hop MTU of a "fragmentation needed" message (RFC 1191), bytes 6..7. */
    public static int nextHopMtu(DirectBuffer b, int off) {
        return b.getShort(off + NEXT_HOP_MTU_OFFSET, BE) & 0xffff;
    }

    public static void nextHopMtu(MutableDirectBuffer b, int off, int mtu) {
        b.putShort(off + NEXT_HOP_MTU_OFFSET, (short) mtu, BE);
    }

    /** True for echo request and echo reply. */
    public static boolean isEcho(int type) {
        return type == TYPE_ECHO_REQUEST || type == TYPE_ECHO_REPLY;
    }

    /**
     * True for error messages that quote the offending datagram's IP header and first 8 bytes:
     * destination unreachable, source quench, redirect, time exceeded, parameter problem.
     */
    public static boolean isError(int type) {
        return type == TYPE_DEST_UNREACHABLE || type == TYPE_SOURCE_QUENCH || type == TYPE_REDIRECT
                || type == TYPE_TIME_EXCEEDED || type == TYPE_PARAMETER_PROBLEM;
    }
}
