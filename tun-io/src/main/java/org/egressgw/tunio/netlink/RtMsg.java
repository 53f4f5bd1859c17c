package org.egressgw.tunio.netlink;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.egressgw.tunio.LibC;

/**
 * Route messages ({@code RTM_NEWROUTE}, {@code RTM_DELROUTE}, {@code RTM_GETROUTE}) for IPv4: the family header
 * and attributes from {@code <linux/rtnetlink.h>}.
 *
 * <pre>
 * struct rtmsg {               offset size (from the end of the nlmsghdr)
 *     unsigned char rtm_family;   0    1   AF_INET
 *     unsigned char rtm_dst_len;  1    1   prefix length
 *     unsigned char rtm_src_len;  2    1
 *     unsigned char rtm_tos;      3    1
 *     unsigned char rtm_table;    4    1   table id if below 256, else RT_TABLE_UNSPEC and RTA_TABLE
 *     unsigned char rtm_protocol; 5    1   RTPROT_*: who installed the route
 *     unsigned char rtm_scope;    6    1   RT_SCOPE_*
 *     unsigned char rtm_type;     7    1   RTN_*
 *     unsigned      rtm_flags;    8    4   RTM_F_*
 * };                                  12   attributes follow
 *
 * RTA_DST       1  4 bytes, network order (absent for 0.0.0.0/0)
 * RTA_OIF       4  u32 output interface
 * RTA_GATEWAY   5  4 bytes, network order
 * RTA_PRIORITY  6  u32 metric
 * RTA_PREFSRC   7  4 bytes, network order
 * RTA_TABLE    15  u32 table id (any value)
 * </pre>
 *
 * <p>Stateless; safe from any thread.
 */
public final class RtMsg {
    public static final int LENGTH = 12;
    public static final int FAMILY_OFFSET = 0;
    public static final int DST_LEN_OFFSET = 1;
    public static final int SRC_LEN_OFFSET = 2;
    public static final int TOS_OFFSET = 3;
    public static final int TABLE_OFFSET = 4;
    public static final int PROTOCOL_OFFSET = 5;
    public static final int SCOPE_OFFSET = 6;
    public static final int TYPE_OFFSET = 7;
    public static final int FLAGS_OFFSET = 8;

    public static final int RTA_DST = 1;
    public static final int RTA_OIF = 4;
    public static final int RTA_GATEWAY = 5;
    public static final int RTA_PRIORITY = 6;
    public static final int RTA_PREFSRC = 7;
    public static final int RTA_TABLE = 15;

    public static final int RT_TABLE_UNSPEC = 0;
    public static final int RT_TABLE_MAIN = 254;
    public static final int RT_TABLE_LOCAL = 255;

    public static final int RTPROT_KERNEL = 2;
    /** What {@code ip route add} uses unless told otherwise. */
    public static final int RTPROT_BOOT = 3;
    public static final int RTPROT_STATIC = 4;

    public static final int RT_SCOPE_UNIVERSE = 0;
    public static final int RT_SCOPE_LINK = 253;
    public static final int RT_SCOPE_HOST = 254;
    /** In a delete request: match any scope. */
    public static final int RT_SCOPE_NOWHERE = 255;

    /** In a delete request: match any type. */
    public static final int RTN_UNSPEC = 0;
    public static final int RTN_UNICAST = 1;
    public static final int RTN_LOCAL = 2;
    public static final int RTN_BROADCAST = 3;

    /** The only family decoded and built here: {@link LibC#AF_INET}. */
    public static final int AF_INET = LibC.AF_INET;

    private RtMsg() {
    }

    /**
     * Checks a route message of {@code length} bytes (a valid {@code nlmsg_len}) at {@code offset}. For AF_INET
     * also: prefix length at most 32 and the attributes decoded here of 4 bytes. Other families are only
     * checked for framing.
     *
     * @return 0 or a negative {@link Malformed} code
     */
    public static int check(DirectBuffer buffer, int offset, int length) {
        final int start = Netlink.checkFamilyMessage(buffer, offset, length, LENGTH, AF_INET);
        if (start <= 0) {
            return start; // malformed, or of another family
        }
        final int end = offset + length;
        if ((buffer.getByte(offset + Netlink.HEADER_LENGTH + DST_LEN_OFFSET) & 0xFF) > 32) {
            return Malformed.INVALID_FIELD;
        }
        if (!RtAttributes.hasPayloadSize(buffer, start, end, RTA_DST, 4)
            || !RtAttributes.hasPayloadSize(buffer, start, end, RTA_OIF, 4)
            || !RtAttributes.hasPayloadSize(buffer, start, end, RTA_GATEWAY, 4)
            || !RtAttributes.hasPayloadSize(buffer, start, end, RTA_PRIORITY, 4)
            || !RtAttributes.hasPayloadSize(buffer, start, end, RTA_PREFSRC, 4)
            || !RtAttributes.hasPayloadSize(buffer, start, end, RTA_TABLE, 4)) {
            return Malformed.ATTRIBUTE_SIZE;
        }
        return 0;
    }

    /** rtm_family of a checked message. */
    public static int family(DirectBuffer buffer, int offset) {
        return Netlink.family(buffer, offset);
    }

    /** Decodes an AF_INET message that passed {@link #check}. */
    public static RouteInfo decode(DirectBuffer buffer, int offset, int length) {
        final int body = offset + Netlink.HEADER_LENGTH;
        final int start = body + LENGTH;
        final int end = offset + length;
        final int table = RtAttributes.find(buffer, start, end, RTA_TABLE);
        return new RouteInfo(
            table < 0 ? buffer.getByte(body + TABLE_OFFSET) & 0xFF : RtAttributes.getInt(buffer, table),
            ipv4OrZero(buffer, start, end, RTA_DST),
            buffer.getByte(body + DST_LEN_OFFSET) & 0xFF,
            intOrZero(buffer, start, end, RTA_OIF),
            ipv4OrZero(buffer, start, end, RTA_GATEWAY),
            buffer.getByte(body + PROTOCOL_OFFSET) & 0xFF,
            buffer.getByte(body + SCOPE_OFFSET) & 0xFF,
            buffer.getByte(body + TYPE_OFFSET) & 0xFF,
            intOrZero(buffer, start, end, RTA_PRIORITY),
            ipv4OrZero(buffer, start, end, RTA_PREFSRC));
    }

    private static int ipv4OrZero(DirectBuffer buffer, int start, int end, int type) {
        final int attribute = RtAttributes.find(buffer, start, end, type);
        return attribute < 0 ? 0 : RtAttributes.getIpv4(buffer, attribute);
    }

    private static int intOrZero(DirectBuffer buffer, int start, int end, int type) {
        final int attribute = RtAttributes.find(buffer, start, end, type);
        return attribute < 0 ? 0 : RtAttributes.getInt(buffer, attribute);
    }

    /** {@code RTM_GETROUTE}, {@code NLM_F_REQUEST | NLM_F_DUMP}, family AF_INET: IPv4 routes of every table. */
    public static int encodeDump(MutableDirectBuffer buffer, int offset, int seq) {
        final int body = Netlink.putHeader(buffer, offset, Netlink.RTM_GETROUTE, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP,
            seq);
        buffer.setMemory(body, LENGTH, (byte) 0);
        buffer.putByte(body + FAMILY_OFFSET, (byte) AF_INET);
        return Netlink.finish(buffer, offset, body + LENGTH);
    }

    /**
     * {@code RTM_NEWROUTE} for a unicast route {@code destination/prefixLength dev oif} of link scope (what
     * {@code ip route add D/N dev X proto P table T} sends). {@code nlmsgFlags} adds to NLM_F_REQUEST|NLM_F_ACK:
     * {@code NLM_F_CREATE | NLM_F_EXCL} to add (EEXIST if the table has a route for this prefix, whatever its
     * device or protocol), {@code NLM_F_CREATE | NLM_F_REPLACE} to add or replace. The table always goes in
     * RTA_TABLE; rtm_table carries it too when below 256.
     */
    public static int encodeNew(MutableDirectBuffer buffer, int offset, int seq, int nlmsgFlags, int table,
            int destination, int prefixLength, int oif, int protocol) {
        return encodeRoute(buffer, offset, seq, Netlink.RTM_NEWROUTE, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK | nlmsgFlags,
            table, destination, prefixLength, oif, protocol, RT_SCOPE_LINK, RTN_UNICAST);
    }

    /**
     * {@code RTM_DELROUTE} for {@code destination/prefixLength} in {@code table}, any scope and type; {@code oif}
     * and {@code protocol} restrict the match unless 0. ESRCH if nothing matches (or the table does not exist).
     */
    public static int encodeDelete(MutableDirectBuffer buffer, int offset, int seq, int table, int destination,
            int prefixLength, int oif, int protocol) {
        return encodeRoute(buffer, offset, seq, Netlink.RTM_DELROUTE, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, table,
            destination, prefixLength, oif, protocol, RT_SCOPE_NOWHERE, RTN_UNSPEC);
    }

    private static int encodeRoute(MutableDirectBuffer buffer, int offset, int seq, int type, int flags, int table,
            int destination, int prefixLength, int oif, int protocol, int scope, int routeType) {
        final int body = Netlink.putHeader(buffer, offset, type, flags, seq);
        buffer.setMemory(body, LENGTH, (byte) 0);
        buffer.putByte(body + FAMILY_OFFSET, (byte) AF_INET);
        buffer.putByte(body + DST_LEN_OFFSET, (byte) prefixLength);
        buffer.putByte(body + TABLE_OFFSET, (byte) (Integer.compareUnsigned(table, 256) < 0 ? table : RT_TABLE_UNSPEC));
        buffer.putByte(body + PROTOCOL_OFFSET, (byte) protocol);
        buffer.putByte(body + SCOPE_OFFSET, (byte) scope);
        buffer.putByte(body + TYPE_OFFSET, (byte) routeType);
        int end = body + LENGTH;
        end = RtAttributes.putInt(buffer, end, RTA_TABLE, table);
        end = RtAttributes.putIpv4(buffer, end, RTA_DST, destination);
        if (oif != 0) {
            end = RtAttributes.putInt(buffer, end, RTA_OIF, oif);
        }
        return Netlink.finish(buffer, offset, end);
    }
}
