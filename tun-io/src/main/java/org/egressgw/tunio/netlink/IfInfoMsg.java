package org.egressgw.tunio.netlink;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Link messages ({@code RTM_NEWLINK}, {@code RTM_DELLINK}, {@code RTM_GETLINK}): the family header from
 * {@code <linux/rtnetlink.h>} and the attributes from {@code <linux/if_link.h>} that {@link LinkInfo} needs.
 *
 * <pre>
 * struct ifinfomsg {           offset size (from the end of the nlmsghdr)
 *     unsigned char  ifi_family;  0    1   AF_UNSPEC; AF_BRIDGE for bridge-port notifications
 *     unsigned char  __ifi_pad;   1    1
 *     unsigned short ifi_type;    2    2   ARPHRD_*
 *     int            ifi_index;   4    4
 *     unsigned       ifi_flags;   8    4   IFF_*
 *     unsigned       ifi_change; 12    4   which flags changed (notifications); 0 or ~0 in requests
 * };                                  16   attributes follow
 *
 * IFLA_ADDRESS    1  hardware address (6 bytes on Ethernet)
 * IFLA_IFNAME     3  NUL-terminated name
 * IFLA_MTU        4  u32
 * IFLA_OPERSTATE 16  u8, IF_OPER_*
 * IFLA_EXT_MASK  29  u32 in requests, RTEXT_FILTER_*
 * </pre>
 *
 * <p>Stateless; safe from any thread.
 */
public final class IfInfoMsg {
    public static final int LENGTH = 16;
    public static final int FAMILY_OFFSET = 0;
    public static final int TYPE_OFFSET = 2;
    public static final int INDEX_OFFSET = 4;
    public static final int FLAGS_OFFSET = 8;
    public static final int CHANGE_OFFSET = 12;

    public static final int IFLA_ADDRESS = 1;
    public static final int IFLA_IFNAME = 3;
    public static final int IFLA_MTU = 4;
    public static final int IFLA_OPERSTATE = 16;
    public static final int IFLA_EXT_MASK = 29;
    /** IFLA_EXT_MASK bit: leave the statistics out of replies (they are large and unused here). */
    public static final int RTEXT_FILTER_SKIP_STATS = 1 << 3;

    // ---- ifi_flags (linux/if.h) ----
    public static final int IFF_UP = 0x1;
    public static final int IFF_BROADCAST = 0x2;
    public static final int IFF_LOOPBACK = 0x8;
    public static final int IFF_RUNNING = 0x40;
    public static final int IFF_NOARP = 0x80;
    public static final int IFF_LOWER_UP = 0x10000;

    // ---- IFLA_OPERSTATE (linux/if.h, RFC 2863) ----
    public static final int IF_OPER_UNKNOWN = 0;
    public static final int IF_OPER_NOTPRESENT = 1;
    public static final int IF_OPER_DOWN = 2;
    public static final int IF_OPER_LOWERLAYERDOWN = 3;
    public static final int IF_OPER_TESTING = 4;
    public static final int IF_OPER_DORMANT = 5;
    public static final int IF_OPER_UP = 6;

    /** ifi_family of ordinary link messages. */
    public static final int AF_UNSPEC = 0;

    private IfInfoMsg() {
    }

    /**
     * Checks a link message of {@code length} bytes (a valid {@code nlmsg_len}) at {@code offset}: the family
     * header fits, the attributes are well formed, MTU and operstate have their sizes.
     *
     * @return 0 or a negative {@link Malformed} code
     */
    public static int check(DirectBuffer buffer, int offset, int length) {
        final int start = Netlink.checkFamilyMessage(buffer, offset, length, LENGTH);
        if (start < 0) {
            return start;
        }
        final int end = offset + length;
        if (!RtAttributes.hasPayloadSize(buffer, start, end, IFLA_MTU, 4)
            || !RtAttributes.hasPayloadSize(buffer, start, end, IFLA_OPERSTATE, 1)) {
            return Malformed.ATTRIBUTE_SIZE;
        }
        return 0;
    }

    /** ifi_family of a checked message. */
    public static int family(DirectBuffer buffer, int offset) {
        return Netlink.family(buffer, offset);
    }

    /** Decodes a message that passed {@link #check}. */
    public static LinkInfo decode(DirectBuffer buffer, int offset, int length) {
        final int body = offset + Netlink.HEADER_LENGTH;
        final int start = body + LENGTH;
        final int end = offset + length;
        final int nameAttribute = RtAttributes.find(buffer, start, end, IFLA_IFNAME);
        final int mtuAttribute = RtAttributes.find(buffer, start, end, IFLA_MTU);
        final int operAttribute = RtAttributes.find(buffer, start, end, IFLA_OPERSTATE);
        final int addressAttribute = RtAttributes.find(buffer, start, end, IFLA_ADDRESS);
        return new LinkInfo(
            buffer.getInt(body + INDEX_OFFSET),
            nameAttribute < 0 ? "" : RtAttributes.getString(buffer, nameAttribute),
            buffer.getInt(body + FLAGS_OFFSET),
            operAttribute < 0 ? IF_OPER_UNKNOWN : RtAttributes.getByte(buffer, operAttribute),
            buffer.getShort(body + TYPE_OFFSET) & 0xFFFF,
            mtuAttribute < 0 ? 0 : RtAttributes.getInt(buffer, mtuAttribute),
            addressAttribute < 0 ? LinkInfo.NO_MAC : RtAttributes.getMac(buffer, addressAttribute));
    }

    /** {@code RTM_GETLINK}, {@code NLM_F_REQUEST | NLM_F_DUMP}, every link, statistics skipped. */
    public static int encodeDump(MutableDirectBuffer buffer, int offset, int seq) {
        return encodeGet(buffer, offset, seq, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP, 0, null);
    }

    /** {@code RTM_GETLINK} for one link by index, {@code NLM_F_REQUEST | NLM_F_ACK}; ENODEV if absent. */
    public static int encodeGetByIndex(MutableDirectBuffer buffer, int offset, int seq, int ifindex) {
        return encodeGet(buffer, offset, seq, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, ifindex, null);
    }

    /** {@code RTM_GETLINK} for one link by name ({@code IFLA_IFNAME}), {@code NLM_F_REQUEST | NLM_F_ACK}. */
    public static int encodeGetByName(MutableDirectBuffer buffer, int offset, int seq, String name) {
        return encodeGet(buffer, offset, seq, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, 0, name);
    }

    private static int encodeGet(MutableDirectBuffer buffer, int offset, int seq, int flags, int ifindex, String name) {
        final int body = Netlink.putHeader(buffer, offset, Netlink.RTM_GETLINK, flags, seq);
        buffer.setMemory(body, LENGTH, (byte) 0);
        buffer.putByte(body + FAMILY_OFFSET, (byte) AF_UNSPEC);
        buffer.putInt(body + INDEX_OFFSET, ifindex);
        int end = body + LENGTH;
        if (name != null) {
            end = RtAttributes.putString(buffer, end, IFLA_IFNAME, name);
        }
        end = RtAttributes.putInt(buffer, end, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        return Netlink.finish(buffer, offset, end);
    }

    /** The name {@code ip link} prints for an operational state. */
    public static String operstateName(int operstate) {
        switch (operstate) {
            case IF_OPER_UNKNOWN: return "UNKNOWN";
            case IF_OPER_NOTPRESENT: return "NOTPRESENT";
            case IF_OPER_DOWN: return "DOWN";
            case IF_OPER_LOWERLAYERDOWN: return "LOWERLAYERDOWN";
            case IF_OPER_TESTING: return "TESTING";
            case IF_OPER_DORMANT: return "DORMANT";
            case IF_OPER_UP: return "UP";
            default: return "operstate " + operstate;
        }
    }
}
