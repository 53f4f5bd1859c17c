package org.egressgw.tunio.netlink;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.egressgw.tunio.LibC;

/**
 * Address messages ({@code RTM_NEWADDR}, {@code RTM_DELADDR}, {@code RTM_GETADDR}) for IPv4: the family header
 * and attributes from {@code <linux/if_addr.h>}.
 *
 * <pre>
 * struct ifaddrmsg {           offset size (from the end of the nlmsghdr)
 *     __u8  ifa_family;           0    1   AF_INET
 *     __u8  ifa_prefixlen;        1    1
 *     __u8  ifa_flags;            2    1   IFA_F_* (low 8 bits; IFA_FLAGS has all 32)
 *     __u8  ifa_scope;            3    1   RT_SCOPE_*
 *     __u32 ifa_index;            4    4   interface index
 * };                                   8   attributes follow
 *
 * IFA_ADDRESS   1  4 bytes, network order: the peer on point-to-point links, else the same as IFA_LOCAL
 * IFA_LOCAL     2  4 bytes, network order: the address itself
 * IFA_LABEL     3  NUL-terminated label
 * IFA_PROTO    11  1 byte: who added the address (as a route's rtm_protocol; Linux 6.1+), 0 when absent
 * IFA_BROADCAST 4  4 bytes
 * IFA_FLAGS     8  u32
 * </pre>
 *
 * <p>Stateless; safe from any thread.
 */
public final class IfAddrMsg {
    public static final int LENGTH = 8;
    public static final int FAMILY_OFFSET = 0;
    public static final int PREFIXLEN_OFFSET = 1;
    public static final int FLAGS_OFFSET = 2;
    public static final int SCOPE_OFFSET = 3;
    public static final int INDEX_OFFSET = 4;

    public static final int IFA_ADDRESS = 1;
    public static final int IFA_LOCAL = 2;
    public static final int IFA_LABEL = 3;
    public static final int IFA_PROTO = 11;
    public static final int IFA_BROADCAST = 4;
    public static final int IFA_FLAGS = 8;

    public static final int IFA_F_SECONDARY = 0x01;
    public static final int IFA_F_PERMANENT = 0x80;

    /** The only family decoded and built here: {@link LibC#AF_INET}. */
    public static final int AF_INET = LibC.AF_INET;

    private IfAddrMsg() {
    }

    /**
     * Checks an address message of {@code length} bytes (a valid {@code nlmsg_len}) at {@code offset}. For
     * AF_INET also: prefix length at most 32, IPv4 attributes of 4 bytes, and IFA_LOCAL or IFA_ADDRESS present.
     * Other families are only checked for framing; callers skip them by {@link #family}.
     *
     * @return 0 or a negative {@link Malformed} code
     */
    public static int check(DirectBuffer buffer, int offset, int length) {
        final int start = Netlink.checkFamilyMessage(buffer, offset, length, LENGTH);
        if (start < 0) {
            return start;
        }
        final int end = offset + length;
        if (!RtAttributes.hasPayloadSize(buffer, start, end, IFA_FLAGS, 4)) {
            return Malformed.ATTRIBUTE_SIZE;
        }
        if (family(buffer, offset) != AF_INET) {
            return 0;
        }
        if ((buffer.getByte(offset + Netlink.HEADER_LENGTH + PREFIXLEN_OFFSET) & 0xFF) > 32) {
            return Malformed.INVALID_FIELD;
        }
        if (!RtAttributes.hasPayloadSize(buffer, start, end, IFA_LOCAL, 4)
            || !RtAttributes.hasPayloadSize(buffer, start, end, IFA_ADDRESS, 4)) {
            return Malformed.ATTRIBUTE_SIZE;
        }
        if (RtAttributes.find(buffer, start, end, IFA_LOCAL) < 0 && RtAttributes.find(buffer, start, end, IFA_ADDRESS) < 0) {
            return Malformed.MISSING_ATTRIBUTE;
        }
        return 0;
    }

    /** ifa_family of a checked message. */
    public static int family(DirectBuffer buffer, int offset) {
        return Netlink.family(buffer, offset);
    }

    /** Decodes an AF_INET message that passed {@link #check}. */
    public static AddressInfo decode(DirectBuffer buffer, int offset, int length) {
        final int body = offset + Netlink.HEADER_LENGTH;
        final int start = body + LENGTH;
        final int end = offset + length;
        int addressAttribute = RtAttributes.find(buffer, start, end, IFA_LOCAL);
        if (addressAttribute < 0) {
            addressAttribute = RtAttributes.find(buffer, start, end, IFA_ADDRESS);
        }
        final int labelAttribute = RtAttributes.find(buffer, start, end, IFA_LABEL);
        final int flagsAttribute = RtAttributes.find(buffer, start, end, IFA_FLAGS);
        final int protoAttribute = RtAttributes.find(buffer, start, end, IFA_PROTO);
        return new AddressInfo(
            buffer.getInt(body + INDEX_OFFSET),
            RtAttributes.getIpv4(buffer, addressAttribute),
            buffer.getByte(body + PREFIXLEN_OFFSET) & 0xFF,
            buffer.getByte(body + SCOPE_OFFSET) & 0xFF,
            flagsAttribute < 0 ? buffer.getByte(body + FLAGS_OFFSET) & 0xFF : RtAttributes.getInt(buffer, flagsAttribute),
            labelAttribute < 0 ? "" : RtAttributes.getString(buffer, labelAttribute),
            protoAttribute < 0 || RtAttributes.payloadLength(buffer, protoAttribute) < 1 ? 0
                : RtAttributes.getByte(buffer, protoAttribute));
    }

    /** {@code RTM_GETADDR}, {@code NLM_F_REQUEST | NLM_F_DUMP}, family AF_INET: every IPv4 address. */
    public static int encodeDump(MutableDirectBuffer buffer, int offset, int seq) {
        final int body = Netlink.putHeader(buffer, offset, Netlink.RTM_GETADDR, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP,
            seq);
        buffer.setMemory(body, LENGTH, (byte) 0);
        buffer.putByte(body + FAMILY_OFFSET, (byte) AF_INET);
        return Netlink.finish(buffer, offset, body + LENGTH);
    }

    /**
     * {@code RTM_NEWADDR}, {@code NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL} (EEXIST if the address
     * with this prefix length is already on the interface): IFA_LOCAL and IFA_ADDRESS both the address, as
     * {@code ip addr add A/N dev X scope S} sends it (no broadcast address).
     */
    public static int encodeAdd(MutableDirectBuffer buffer, int offset, int seq, int ifindex, int address,
            int prefixLength, int scope) {
        return encodeAdd(buffer, offset, seq, ifindex, address, prefixLength, scope, 0);
    }

    /** As the method above, the address marked with IFA_PROTO {@code protocol} unless it is 0. */
    public static int encodeAdd(MutableDirectBuffer buffer, int offset, int seq, int ifindex, int address,
            int prefixLength, int scope, int protocol) {
        final int end = encodeWrite(buffer, offset, seq, Netlink.RTM_NEWADDR,
            Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK | Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, ifindex, address,
            prefixLength, scope);
        if (protocol == 0) {
            return end;
        }
        return Netlink.finish(buffer, offset, RtAttributes.putByte(buffer, end, IFA_PROTO, protocol));
    }

    /**
     * {@code RTM_DELADDR}, {@code NLM_F_REQUEST | NLM_F_ACK}: deletes the address with this prefix length
     * (EADDRNOTAVAIL if there is none).
     */
    public static int encodeDelete(MutableDirectBuffer buffer, int offset, int seq, int ifindex, int address,
            int prefixLength) {
        return encodeWrite(buffer, offset, seq, Netlink.RTM_DELADDR, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, ifindex,
            address, prefixLength, 0);
    }

    private static int encodeWrite(MutableDirectBuffer buffer, int offset, int seq, int type, int flags, int ifindex,
            int address, int prefixLength, int scope) {
        final int body = Netlink.putHeader(buffer, offset, type, flags, seq);
        buffer.putByte(body + FAMILY_OFFSET, (byte) AF_INET);
        buffer.putByte(body + PREFIXLEN_OFFSET, (byte) prefixLength);
        buffer.putByte(body + FLAGS_OFFSET, (byte) 0);
        buffer.putByte(body + SCOPE_OFFSET, (byte) scope);
        buffer.putInt(body + INDEX_OFFSET, ifindex);
        int end = body + LENGTH;
        end = RtAttributes.putIpv4(buffer, end, IFA_LOCAL, address);
        end = RtAttributes.putIpv4(buffer, end, IFA_ADDRESS, address);
        return Netlink.finish(buffer, offset, end);
    }
}
