package org.egressgw.packet;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Flyweight accessors for an ARP packet for Ethernet/IPv4 (RFC 826), the only kind the gateway
 * answers. {@code off} is the first byte of the ARP payload (after the Ethernet header). After
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
