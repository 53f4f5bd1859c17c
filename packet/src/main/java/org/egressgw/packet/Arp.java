package org.egressgw.packet;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight accessors for an ARP packet for Ethernet/IPv4 (RFC 826), the only kind the gateway
 * answers.
 *
 * <p>Layout: RFC 826 lists the fields in order (ar$hrd .. ar$tpa) with lengths that depend on
 * ar$hln and ar$pln; drawn here in 32-bit rows for 6-octet hardware and 4-octet protocol addresses.
 * Bit numbers on top, byte offsets from {@code off} on the left:
 *
 * <pre>
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    0  |         Hardware Type         |         Protocol Type         |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |  HW Addr Len  | Proto Addr Len|             Opcode            |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    8  |              Sender Hardware Address (octets 0-3)             |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   12  |      Sender HW Addr (4-5)     |    Sender Proto Addr (0-1)    |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   16  |    Sender Proto Addr (2-3)    |      Target HW Addr (0-1)     |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   20  |              Target Hardware Address (octets 2-5)             |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   24  |                    Target Protocol Address                    |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   HTYPE_OFFSET        0   ar$hrd, HTYPE_ETHERNET 1
 *   PTYPE_OFFSET        2   ar$pro, Ethernet.TYPE_IPV4 0x0800
 *   HLEN_OFFSET         4   ar$hln, 6
 *   PLEN_OFFSET         5   ar$pln, 4
 *   OP_OFFSET           6   ar$op, OP_REQUEST 1, OP_REPLY 2
 *   SENDER_MAC_OFFSET   8   ar$sha, 6 octets
 *   SENDER_IP_OFFSET   14   ar$spa, 4 octets
 *   TARGET_MAC_OFFSET  18   ar$tha, 6 octets
 *   TARGET_IP_OFFSET   24   ar$tpa, 4 octets
 *   LENGTH             28
 * </pre>
 *
 * <p>{@code off} is the first byte of the ARP payload (after the Ethernet header). After
 * {@link #check} returns {@link PacketError#NONE} every accessor stays within {@link #LENGTH} bytes.
 */
public final class Arp {
    public static final int LENGTH = 28;
    public static final int HTYPE_OFFSET = 0;
    public static final int PTYPE_OFFSET = 2;
    public static final int HLEN_OFFSET = 4;
    public static final int PLEN_OFFSET = 5;
    public static final int OP_OFFSET = 6;
    public static final int SENDER_MAC_OFFSET = 8;
    public static final int SENDER_IP_OFFSET = 14;
    public static final int TARGET_MAC_OFFSET = 18;
    public static final int TARGET_IP_OFFSET = 24;

    public static final int HTYPE_ETHERNET = 1;
    public static final int OP_REQUEST = 1;
    public static final int OP_REPLY = 2;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;

    private Arp() {
    }

    /**
     * {@link PacketError#NONE} for an Ethernet/IPv4 request or reply of at least {@link #LENGTH}
     * bytes, otherwise {@link PacketError#ARP_MALFORMED}.
     */
    public static int check(DirectBuffer b, int off, int len) {
        if (len < LENGTH
                || (b.getShort(off + HTYPE_OFFSET, BE) & 0xffff) != HTYPE_ETHERNET
                || (b.getShort(off + PTYPE_OFFSET, BE) & 0xffff) != Ethernet.TYPE_IPV4
                || (b.getByte(off + HLEN_OFFSET) & 0xff) != 6
                || (b.getByte(off + PLEN_OFFSET) & 0xff) != 4) {
            return PacketError.ARP_MALFORMED;
        }
        int op = op(b, off);
        return op == OP_REQUEST || op == OP_REPLY ? PacketError.NONE : PacketError.ARP_MALFORMED;
    }

    public static int op(DirectBuffer b, int off) {
        return b.getShort(off + OP_OFFSET, BE) & 0xffff;
    }

    public static void op(MutableDirectBuffer b, int off, int op) {
        b.putShort(off + OP_OFFSET, (short) op, BE);
    }

    public static long senderMac(DirectBuffer b, int off) {
        return Ethernet.readMac(b, off + SENDER_MAC_OFFSET);
    }

    public static void senderMac(MutableDirectBuffer b, int off, long mac) {
        Ethernet.writeMac(b, off + SENDER_MAC_OFFSET, mac);
    }

    public static int senderIp(DirectBuffer b, int off) {
        return b.getInt(off + SENDER_IP_OFFSET, BE);
    }

    public static void senderIp(MutableDirectBuffer b, int off, int ip) {
        b.putInt(off + SENDER_IP_OFFSET, ip, BE);
    }

    public static long targetMac(DirectBuffer b, int off) {
        return Ethernet.readMac(b, off + TARGET_MAC_OFFSET);
    }

    public static void targetMac(MutableDirectBuffer b, int off, long mac) {
        Ethernet.writeMac(b, off + TARGET_MAC_OFFSET, mac);
    }

    public static int targetIp(DirectBuffer b, int off) {
        return b.getInt(off + TARGET_IP_OFFSET, BE);
    }

    public static void targetIp(MutableDirectBuffer b, int off, int ip) {
        b.putInt(off + TARGET_IP_OFFSET, ip, BE);
    }

    /**
     * Writes a complete {@link #LENGTH}-byte Ethernet/IPv4 ARP reply at {@code off}. The buffer may
     * be the request itself: nothing is read.
     */
    public static void writeReply(MutableDirectBuffer b, int off, long senderMac, int senderIp, long targetMac, int targetIp) {
        b.putShort(off + HTYPE_OFFSET, (short) HTYPE_ETHERNET, BE);
        b.putShort(off + PTYPE_OFFSET, (short) Ethernet.TYPE_IPV4, BE);
        b.putByte(off + HLEN_OFFSET, (byte) 6);
        b.putByte(off + PLEN_OFFSET, (byte) 4);
        op(b, off, OP_REPLY);
        senderMac(b, off, senderMac);
        senderIp(b, off, senderIp);
        targetMac(b, off, targetMac);
        targetIp(b, off, targetIp);
    }
}
