package org.egressgw.ha;

import java.nio.ByteOrder;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.egressgw.packet.Checksum;

/**
 * Flyweight accessors for a VRRP version 3 message over IPv4 (RFC 5798 section 5.1). {@code off} is the first
 * byte of the VRRP header, i.e. the IPv4 payload.
 *
 * <p>Layout, RFC 5798 section 5.1 (IPv4 addresses only). Bit numbers on top, byte offsets from {@code off} on
 * the left:
 *
 * <pre>
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    0  |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |(rsvd) |     Max Adver Int     |          Checksum             |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    8  |                       IPv4 Address 1                          |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *       ...                                                           ...
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  4+4n |                       IPv4 Address n                          |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   VERSION_TYPE_OFFSET    0   version (high 4 bits, VERSION 3), type (low 4 bits, TYPE_ADVERTISEMENT 1)
 *   VRID_OFFSET            1   virtual router id, 1..255
 *   PRIORITY_OFFSET        2   0 = the master gives up, 1..254 backups, 255 = the address owner
 *   COUNT_OFFSET           3   number of IPv4 addresses, at least 1
 *   MAX_ADVER_INT_OFFSET   4   16-bit word: 4 reserved bits (sent 0, ignored), then the advertisement
 *                              interval in centiseconds (MAX_ADVER_INT_MASK 0x0fff)
 *   CHECKSUM_OFFSET        6   over the VRRP message with the IPv4 pseudo-header (protocol 112)
 *   ADDRESSES_OFFSET       8   the virtual IPv4 addresses, 4 bytes each
 *   HEADER_LENGTH          8   the message is HEADER_LENGTH + 4 * count bytes ({@link #messageLength})
 * </pre>
 *
 * <p>The IPv4 header around it (sent by the kernel): protocol {@link #IP_PROTOCOL} 112, TTL {@link #TTL} 255; a
 * receiver drops any other TTL because the packet crossed a router (section 7.1). RFC 5798 sends to the multicast
 * group 224.0.0.18; this gateway sends unicast to each configured peer, as keepalived's {@code unicast_peer} does.
 *
 * <p><b>Checksum.</b> RFC 5798 section 5.2.8 computes it over "the entire VRRP message" with a pseudo-header; for
 * IPv4 that is the pseudo-header of RFC 768/793 (source, destination, zero, protocol 112, length), as keepalived
 * and tcpdump compute it. {@link #checksum} and {@link #check} sum the message alone ({@link #messageLength}
 * bytes). Bytes after the message (the authentication trailer, {@link VrrpAuth}) are not part of it; the trailer
 * is built so that a receiver summing the whole IP payload instead (as tcpdump does) gets the same verdict.
 *
 * <p>Validate once with {@link #check}; after it returns {@link VrrpError#NONE} every getter, including
 * {@link #address} for {@code 0 <= i < count}, stays within the {@code len} given to it. Setters never touch the
 * checksum; {@link #encode} writes a complete message including it.
 *
 * <p>All methods are static, allocation-free and thread-safe. {@link #check} never throws on packet data.
 */
public final class Vrrp {
    /** IP protocol number of VRRP. */
    public static final int IP_PROTOCOL = 112;
    /** The only TTL a sender may use and a receiver may accept. */
    public static final int TTL = 255;
    public static final int VERSION = 3;
    public static final int TYPE_ADVERTISEMENT = 1;

    public static final int VERSION_TYPE_OFFSET = 0;
    public static final int VRID_OFFSET = 1;
    public static final int PRIORITY_OFFSET = 2;
    public static final int COUNT_OFFSET = 3;
    public static final int MAX_ADVER_INT_OFFSET = 4;
    public static final int CHECKSUM_OFFSET = 6;
    public static final int ADDRESSES_OFFSET = 8;
    public static final int HEADER_LENGTH = 8;
    public static final int ADDRESS_LENGTH = 4;

    /** The 12 interval bits of the Max Adver Int word. */
    public static final int MAX_ADVER_INT_MASK = 0x0fff;
    /** The largest interval the 12 bits hold, in centiseconds (40.95 s). */
    public static final int MAX_ADVER_INT_CENTIS = 0x0fff;
    /** Priority of a master that is giving up (shutdown, handover): backups take over after Skew_Time. */
    public static final int PRIORITY_SHUTDOWN = 0;
    /** Priority of the router that owns the virtual addresses. */
    public static final int PRIORITY_OWNER = 255;
    /** The count field is one byte. */
    public static final int MAX_ADDRESSES = 255;
    /** The longest message: 255 addresses. */
    public static final int MAX_MESSAGE_LENGTH = HEADER_LENGTH + MAX_ADDRESSES * ADDRESS_LENGTH;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    private Vrrp() {
    }

    /**
     * Validates the message at {@code off} against the {@code len} bytes there (the IPv4 payload), with the
     * addresses of the IPv4 header around it for the pseudo-header. Returns {@link VrrpError#NONE} or the first
     * failing reason, in this order: {@link VrrpError#TRUNCATED}, {@link VrrpError#BAD_VERSION},
     * {@link VrrpError#BAD_TYPE}, {@link VrrpError#BAD_COUNT}, {@link VrrpError#BAD_LENGTH},
     * {@link VrrpError#BAD_INTERVAL}, {@link VrrpError#BAD_CHECKSUM}. Bytes after the message are allowed (RFC 5798
     * only requires the message to be complete) and not looked at.
     */
    public static int check(DirectBuffer b, int off, int len, int srcIp, int dstIp) {
        if (len < HEADER_LENGTH) {
            return VrrpError.TRUNCATED;
        }
        if (version(b, off) != VERSION) {
            return VrrpError.BAD_VERSION;
        }
        if (type(b, off) != TYPE_ADVERTISEMENT) {
            return VrrpError.BAD_TYPE;
        }
        final int count = count(b, off);
        if (count == 0) {
            return VrrpError.BAD_COUNT;
        }
        final int messageLength = messageLength(count);
        if (messageLength > len) {
            return VrrpError.BAD_LENGTH;
        }
        if (maxAdverIntervalCentis(b, off) == 0) {
            return VrrpError.BAD_INTERVAL;
        }
        if (!verifyChecksum(b, off, messageLength, srcIp, dstIp)) {
            return VrrpError.BAD_CHECKSUM;
        }
        return VrrpError.NONE;
    }

    /** The length of a message carrying {@code count} addresses: {@code 8 + 4 * count}. */
    public static int messageLength(int count) {
        return HEADER_LENGTH + count * ADDRESS_LENGTH;
    }

    /** The length of the message at {@code off}, from its count field. */
    public static int messageLength(DirectBuffer b, int off) {
        return messageLength(count(b, off));
    }

    public static int version(DirectBuffer b, int off) {
        return (b.getByte(off + VERSION_TYPE_OFFSET) & 0xff) >>> 4;
    }

    public static int type(DirectBuffer b, int off) {
        return b.getByte(off + VERSION_TYPE_OFFSET) & 0x0f;
    }

    /** Writes the version and type nibbles. */
    public static void versionAndType(MutableDirectBuffer b, int off, int version, int type) {
        b.putByte(off + VERSION_TYPE_OFFSET, (byte) (((version & 0x0f) << 4) | (type & 0x0f)));
    }

    public static int vrid(DirectBuffer b, int off) {
        return b.getByte(off + VRID_OFFSET) & 0xff;
    }

    public static void vrid(MutableDirectBuffer b, int off, int vrid) {
        b.putByte(off + VRID_OFFSET, (byte) vrid);
    }

    public static int priority(DirectBuffer b, int off) {
        return b.getByte(off + PRIORITY_OFFSET) & 0xff;
    }

    public static void priority(MutableDirectBuffer b, int off, int priority) {
        b.putByte(off + PRIORITY_OFFSET, (byte) priority);
    }

    public static int count(DirectBuffer b, int off) {
        return b.getByte(off + COUNT_OFFSET) & 0xff;
    }

    /** Writes the count field. Changes {@link #messageLength}: a later {@link #check} must cover the new length. */
    public static void count(MutableDirectBuffer b, int off, int count) {
        b.putByte(off + COUNT_OFFSET, (byte) count);
    }

    /** The advertisement interval in centiseconds (the 12 low bits; the reserved bits are ignored). */
    public static int maxAdverIntervalCentis(DirectBuffer b, int off) {
        return b.getShort(off + MAX_ADVER_INT_OFFSET, BE) & MAX_ADVER_INT_MASK;
    }

    /** Writes the interval with the reserved bits zero. */
    public static void maxAdverIntervalCentis(MutableDirectBuffer b, int off, int centis) {
        b.putShort(off + MAX_ADVER_INT_OFFSET, (short) (centis & MAX_ADVER_INT_MASK), BE);
    }

    /** The 4 reserved bits (sent as 0, ignored on receipt). */
    public static int reserved(DirectBuffer b, int off) {
        return (b.getByte(off + MAX_ADVER_INT_OFFSET) & 0xf0) >>> 4;
    }

    public static int checksum(DirectBuffer b, int off) {
        return b.getShort(off + CHECKSUM_OFFSET, BE) & 0xffff;
    }

    public static void checksum(MutableDirectBuffer b, int off, int checksum) {
        b.putShort(off + CHECKSUM_OFFSET, (short) checksum, BE);
    }

    /** Virtual IPv4 address {@code i} (0-based), as an int whose high byte is the first octet. */
    public static int address(DirectBuffer b, int off, int i) {
        return b.getInt(off + ADDRESSES_OFFSET + i * ADDRESS_LENGTH, BE);
    }

    public static void address(MutableDirectBuffer b, int off, int i, int address) {
        b.putInt(off + ADDRESSES_OFFSET + i * ADDRESS_LENGTH, address, BE);
    }

    /**
     * The checksum value to store for the message {@code [off, off+messageLength)} sent from {@code srcIp} to
     * {@code dstIp}, computed as if the checksum field were zero.
     */
    public static int checksum(DirectBuffer b, int off, int messageLength, int srcIp, int dstIp) {
        long sum = Checksum.pseudoHeader(srcIp, dstIp, IP_PROTOCOL, messageLength);
        sum = Checksum.sum(b, off, CHECKSUM_OFFSET, sum);
        sum = Checksum.sum(b, off + HEADER_LENGTH, messageLength - HEADER_LENGTH, sum);
        return Checksum.finish(sum);
    }

    /** True if the message {@code [off, off+messageLength)} carries a correct checksum. */
    public static boolean verifyChecksum(DirectBuffer b, int off, int messageLength, int srcIp, int dstIp) {
        final long pseudo = Checksum.pseudoHeader(srcIp, dstIp, IP_PROTOCOL, messageLength);
        return Checksum.fold(Checksum.sum(b, off, messageLength, pseudo)) == 0xffff;
    }

    /**
     * Writes a complete advertisement (version 3, type 1, reserved bits 0, checksum) at {@code off}.
     *
     * @param vrid virtual router id, 1..255
     * @param priority 0..255
     * @param maxAdverIntervalCentis the sender's advertisement interval, 1..4095 centiseconds
     * @param addresses the virtual IPv4 addresses, 1..255 of them
     * @param srcIp the source the IPv4 header will carry (for the pseudo-header)
     * @param dstIp the destination the IPv4 header will carry
     * @return the message length, {@code 8 + 4 * addresses.length}
     * @throws IllegalArgumentException naming the offending value if a field is out of range
     */
    public static int encode(MutableDirectBuffer b, int off, int vrid, int priority, int maxAdverIntervalCentis,
            int[] addresses, int srcIp, int dstIp) {
        checkVrid(vrid);
        if (priority < 0 || priority > 255) {
            throw new IllegalArgumentException("priority " + priority + " is not in 0..255");
        }
        if (maxAdverIntervalCentis < 1 || maxAdverIntervalCentis > MAX_ADVER_INT_CENTIS) {
            throw new IllegalArgumentException("advertisement interval " + maxAdverIntervalCentis
                + " cs is not in 1.." + MAX_ADVER_INT_CENTIS);
        }
        if (addresses.length < 1 || addresses.length > MAX_ADDRESSES) {
            throw new IllegalArgumentException(addresses.length + " virtual addresses is not 1.." + MAX_ADDRESSES);
        }
        versionAndType(b, off, VERSION, TYPE_ADVERTISEMENT);
        vrid(b, off, vrid);
        priority(b, off, priority);
        count(b, off, addresses.length);
        maxAdverIntervalCentis(b, off, maxAdverIntervalCentis);
        checksum(b, off, 0);
        for (int i = 0; i < addresses.length; i++) {
            address(b, off, i, addresses[i]);
        }
        final int length = messageLength(addresses.length);
        checksum(b, off, checksum(b, off, length, srcIp, dstIp));
        return length;
    }

    /**
     * Refuses a virtual router id outside 1..255.
     *
     * @throws IllegalArgumentException naming it
     */
    static void checkVrid(int vrid) {
        if (vrid < 1 || vrid > 255) {
            throw new IllegalArgumentException("VRID " + vrid + " is not in 1..255");
        }
    }
}
