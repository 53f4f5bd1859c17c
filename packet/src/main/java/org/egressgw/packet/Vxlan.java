package org.egressgw.packet;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight accessors for a VXLAN header (RFC 7348).
 *
 * <p>Layout, RFC 7348 section 5. Bit numbers on top, byte offsets from {@code off} on the left:
 *
 * <pre>
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    0  |R|R|R|R|I|R|R|R|                    Reserved                   |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |         VXLAN Network Identifier (VNI)        |    Reserved   |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   FLAGS_OFFSET   0   FLAG_I 0x08 (I: the VNI is valid); R bits are reserved
 *   VNI_OFFSET     4   24-bit VNI in bytes 4..6 (at most MAX_VNI 0xffffff); byte 7 reserved
 *   HEADER_LENGTH  8   the inner Ethernet frame (without its FCS) starts here
 * </pre>
 *
 * <p>{@code off} is the first byte of the VXLAN header (after the outer UDP header); the inner
 * Ethernet frame starts at {@code off + HEADER_LENGTH}. After {@link #check} returns
 * {@link PacketError#NONE} the header and an inner Ethernet header lie within the {@code len}
 * given.
 */
public final class Vxlan {
    public static final int HEADER_LENGTH = 8;
    public static final int FLAGS_OFFSET = 0;
    public static final int VNI_OFFSET = 4;
    /** The "valid VNI" flag in the first byte. */
    public static final int FLAG_I = 0x08;
    /** The Linux kernel's default VXLAN port, which Cilium uses (the IANA port is 4789). */
    public static final int DEFAULT_PORT = 8472;
    /** Largest VNI (24 bits). */
    public static final int MAX_VNI = 0xff_ffff;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    private Vxlan() {
    }

    /**
     * Validates {@code len} bytes (the UDP payload): VXLAN header plus an inner Ethernet header
     * ({@link PacketError#VXLAN_TRUNCATED}), and the I flag set ({@link PacketError#VXLAN_BAD_FLAGS}).
     * Reserved bits are ignored, as RFC 7348 requires of receivers.
     */
    public static int check(DirectBuffer b, int off, int len) {
        if (len < HEADER_LENGTH + Ethernet.HEADER_LENGTH) {
            return PacketError.VXLAN_TRUNCATED;
        }
        if ((b.getByte(off + FLAGS_OFFSET) & FLAG_I) == 0) {
            return PacketError.VXLAN_BAD_FLAGS;
        }
        return PacketError.NONE;
    }

    /** The 24-bit VNI. */
    public static int vni(DirectBuffer b, int off) {
        return b.getInt(off + VNI_OFFSET, BE) >>> 8;
    }

    /** Writes a complete header: flags {@link #FLAG_I}, reserved bits zero, the low 24 bits of {@code vni}. */
    public static void write(MutableDirectBuffer b, int off, int vni) {
        b.putInt(off + FLAGS_OFFSET, FLAG_I << 24, BE);
        b.putInt(off + VNI_OFFSET, (vni & MAX_VNI) << 8, BE);
    }
}
