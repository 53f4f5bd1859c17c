package org.egressgw.tunio.netlink;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Routing attributes ({@code struct rtattr}, {@code <linux/rtnetlink.h>}; the same layout as
 * {@code struct nlattr}), the type-length-value list after each rtnetlink family header.
 *
 * <pre>
 * struct rtattr {             offset size
 *     unsigned short rta_len;   0     2   header + payload, without the padding
 *     unsigned short rta_type;  2     2   IFLA_*, IFA_*, NDA_*, RTA_*; the top two bits are the
 *                                         NLA_F_NESTED / NLA_F_NET_BYTEORDER flags, masked off here
 * };                                4   payload at 4; the next attribute at NLMSG_ALIGN(rta_len)
 * </pre>
 *
 * <p>Contract: {@link #validate} walks a list once against its end; after it returned 0, {@link #find} and
 * the getters never read outside the list. Getters do not check the payload size: each family view checks the
 * sizes of the attributes it reads ({@link #hasPayloadSize}) in its own {@code check} before decoding.
 *
 * <p>Stateless; safe from any thread.
 */
public final class RtAttributes {
    public static final int HEADER_LENGTH = 4;
    public static final int LENGTH_OFFSET = 0;
    public static final int TYPE_OFFSET = 2;
    /** rta_type bits that are flags, not type. */
    public static final int TYPE_MASK = 0x3FFF;

    private RtAttributes() {
    }

    /**
     * Walks the attributes in {@code [start, end)}.
     *
     * @return 0 if every attribute has a length of at least 4 that stays inside the list and nothing but whole
     *         attributes (and their padding) is left; otherwise {@link Malformed#ATTRIBUTE_TRUNCATED},
     *         {@link Malformed#ATTRIBUTE_LENGTH_TOO_SMALL} or {@link Malformed#ATTRIBUTE_PAST_END}
     */
    public static int validate(DirectBuffer buffer, int start, int end) {
        int offset = start;
        while (offset < end) {
            if (end - offset < HEADER_LENGTH) {
                return Malformed.ATTRIBUTE_TRUNCATED;
            }
            final int length = buffer.getShort(offset + LENGTH_OFFSET) & 0xFFFF;
            if (length < HEADER_LENGTH) {
                return Malformed.ATTRIBUTE_LENGTH_TOO_SMALL;
            }
            if (length > end - offset) {
                return Malformed.ATTRIBUTE_PAST_END;
            }
            offset = next(offset, length, end);
        }
        return 0;
    }

    private static int next(int offset, int length, int end) {
        final int next = offset + Netlink.align(length);
        return next > end ? end : next;
    }

    /**
     * The offset of the first attribute of {@code type} in a list that passed {@link #validate}, or -1.
     */
    public static int find(DirectBuffer buffer, int start, int end, int type) {
        int offset = start;
        while (offset < end) {
            final int length = buffer.getShort(offset + LENGTH_OFFSET) & 0xFFFF;
            if ((buffer.getShort(offset + TYPE_OFFSET) & TYPE_MASK) == type) {
                return offset;
            }
            offset = next(offset, length, end);
        }
        return -1;
    }

    /**
     * True if the first attribute of {@code type} in a validated list is absent or has exactly {@code size}
     * payload bytes — what a family view's check demands of every fixed-size attribute it reads.
     */
    public static boolean hasPayloadSize(DirectBuffer buffer, int start, int end, int type, int size) {
        final int attribute = find(buffer, start, end, type);
        return attribute < 0 || payloadLength(buffer, attribute) == size;
    }

    public static int payloadLength(DirectBuffer buffer, int attribute) {
        return (buffer.getShort(attribute + LENGTH_OFFSET) & 0xFFFF) - HEADER_LENGTH;
    }

    /** A host-order 32-bit payload (caller checked the size). */
    public static int getInt(DirectBuffer buffer, int attribute) {
        return buffer.getInt(attribute + HEADER_LENGTH);
    }

    /** A 4-byte network-order IPv4 address payload, as an int with the first octet in the high byte. */
    public static int getIpv4(DirectBuffer buffer, int attribute) {
        return buffer.getInt(attribute + HEADER_LENGTH, ByteOrder.BIG_ENDIAN);
    }

    public static int getByte(DirectBuffer buffer, int attribute) {
        return buffer.getByte(attribute + HEADER_LENGTH) & 0xFF;
    }

    /** A 6-byte hardware address payload as a 48-bit value (first octet highest), or -1 if it is not 6 bytes. */
    public static long getMac(DirectBuffer buffer, int attribute) {
        if (payloadLength(buffer, attribute) != 6) {
            return -1L;
        }
        long mac = 0;
        for (int i = 0; i < 6; i++) {
            mac = (mac << 8) | (buffer.getByte(attribute + HEADER_LENGTH + i) & 0xFF);
        }
        return mac;
    }

    /** A string payload up to its first NUL or the payload end (ASCII; control path, allocates). */
    public static String getString(DirectBuffer buffer, int attribute) {
        final int start = attribute + HEADER_LENGTH;
        final int limit = start + payloadLength(buffer, attribute);
        int end = start;
        while (end < limit && buffer.getByte(end) != 0) {
            end++;
        }
        final byte[] bytes = new byte[end - start];
        buffer.getBytes(start, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    // ---- encoding: each put returns the offset after the attribute and its padding (zeroed) ----

    public static int putInt(MutableDirectBuffer buffer, int offset, int type, int value) {
        putHeader(buffer, offset, type, 4);
        buffer.putInt(offset + HEADER_LENGTH, value);
        return offset + HEADER_LENGTH + 4;
    }

    public static int putIpv4(MutableDirectBuffer buffer, int offset, int type, int address) {
        putHeader(buffer, offset, type, 4);
        buffer.putInt(offset + HEADER_LENGTH, address, ByteOrder.BIG_ENDIAN);
        return offset + HEADER_LENGTH + 4;
    }

    /** One byte (rta_len 5), padded with zeros to a multiple of 4. */
    public static int putByte(MutableDirectBuffer buffer, int offset, int type, int value) {
        putHeader(buffer, offset, type, 1);
        buffer.putInt(offset + HEADER_LENGTH, 0);
        buffer.putByte(offset + HEADER_LENGTH, (byte) value);
        return offset + HEADER_LENGTH + 4;
    }

    /** A NUL-terminated ASCII string, padded with zeros to a multiple of 4. */
    public static int putString(MutableDirectBuffer buffer, int offset, int type, String value) {
        final int payload = value.length() + 1;
        putHeader(buffer, offset, type, payload);
        for (int i = 0; i < value.length(); i++) {
            buffer.putByte(offset + HEADER_LENGTH + i, (byte) value.charAt(i));
        }
        final int end = offset + HEADER_LENGTH + payload;
        final int padded = offset + Netlink.align(HEADER_LENGTH + payload);
        buffer.setMemory(end - 1, padded - end + 1, (byte) 0);
        return padded;
    }

    private static void putHeader(MutableDirectBuffer buffer, int offset, int type, int payload) {
        buffer.putShort(offset + LENGTH_OFFSET, (short) (HEADER_LENGTH + payload));
        buffer.putShort(offset + TYPE_OFFSET, (short) type);
    }
}
