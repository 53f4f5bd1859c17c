package org.egressgw.packet;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight accessors for an ICMPv4 header (RFC 792). {@code off} is the first byte of the header.
 * After {@link #check} returns {@link PacketError#NONE} every accessor stays within
 * {@link #HEADER_LENGTH} bytes. Bytes 4..7 mean different things per type: identifier/sequence
 * for echo, next-hop MTU (bytes 6..7) for "fragmentation needed". Setters never touch the
 * checksum; see {@link Checksum#icmp} and {@link Checksum#update16}.
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
