package org.egressgw.tunio.netlink;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The netlink message header and framing ({@code <linux/netlink.h>}): offsets, message types, flags, the
 * rtnetlink multicast groups, and one validation step that every parser in this package starts with.
 *
 * <pre>
 * struct nlmsghdr {           offset size
 *     __u32 nlmsg_len;          0     4   length of the message including this header
 *     __u16 nlmsg_type;         4     2   NLMSG_* or RTM_*
 *     __u16 nlmsg_flags;        6     2   NLM_F_*
 *     __u32 nlmsg_seq;          8     4   echoed by the kernel in replies; 0 in notifications
 *     __u32 nlmsg_pid;         12     4   port id of the sender (requests) or of the requester (replies)
 * };                                 16
 *
 * struct nlmsgerr {           offset (from the payload, i.e. header + 16)
 *     int error;                0     4   0 = ack, otherwise -errno
 *     struct nlmsghdr msg;      4    16   the request's header (followed by its payload unless
 *                                         NETLINK_CAP_ACK was set or error == 0)
 * };                                 20   then, with NETLINK_EXT_ACK and NLM_F_ACK_TLVS, attributes
 *                                         (NLMSGERR_ATTR_MSG = 1: the kernel's error text)
 * </pre>
 *
 * <p>Messages follow each other in a datagram, each starting at a multiple of 4 ({@code NLMSG_ALIGN}).
 * Integers are in host byte order (little-endian on x86_64, which is what {@link DirectBuffer}'s default
 * accessors use); IPv4 addresses inside attributes are in network order.
 *
 * <p>Stateless; safe from any thread.
 */
public final class Netlink {
    public static final int HEADER_LENGTH = 16;
    public static final int LENGTH_OFFSET = 0;
    public static final int TYPE_OFFSET = 4;
    public static final int FLAGS_OFFSET = 6;
    public static final int SEQ_OFFSET = 8;
    public static final int PID_OFFSET = 12;
    /** Messages and attributes start at multiples of this. */
    public static final int ALIGNTO = 4;

    // ---- control message types ----
    public static final int NLMSG_NOOP = 1;
    public static final int NLMSG_ERROR = 2;
    public static final int NLMSG_DONE = 3;
    public static final int NLMSG_OVERRUN = 4;

    // ---- rtnetlink message types (linux/rtnetlink.h) ----
    public static final int RTM_NEWLINK = 16;
    public static final int RTM_DELLINK = 17;
    public static final int RTM_GETLINK = 18;
    public static final int RTM_NEWADDR = 20;
    public static final int RTM_DELADDR = 21;
    public static final int RTM_GETADDR = 22;
    public static final int RTM_NEWROUTE = 24;
    public static final int RTM_DELROUTE = 25;
    public static final int RTM_GETROUTE = 26;
    public static final int RTM_NEWNEIGH = 28;
    public static final int RTM_DELNEIGH = 29;
    public static final int RTM_GETNEIGH = 30;

    // ---- flags ----
    public static final int NLM_F_REQUEST = 0x1;
    /** Part of a multi-part reply (a dump); the last part is NLMSG_DONE. */
    public static final int NLM_F_MULTI = 0x2;
    /** Ask for an NLMSG_ERROR with error 0 on success. */
    public static final int NLM_F_ACK = 0x4;
    /** The dump was interrupted by a change and may be inconsistent: dump again. */
    public static final int NLM_F_DUMP_INTR = 0x10;
    /** NLM_F_ROOT | NLM_F_MATCH. */
    public static final int NLM_F_DUMP = 0x300;
    /** On a new-request: replace an existing object. */
    public static final int NLM_F_REPLACE = 0x100;
    /** On a new-request: fail with EEXIST if the object exists. */
    public static final int NLM_F_EXCL = 0x200;
    /** On a new-request: create the object if it does not exist. */
    public static final int NLM_F_CREATE = 0x400;
    /** On an NLMSG_ERROR: the request's payload was not echoed (NETLINK_CAP_ACK). */
    public static final int NLM_F_CAPPED = 0x100;
    /** On an NLMSG_ERROR: extended-ack attributes follow. */
    public static final int NLM_F_ACK_TLVS = 0x200;

    // ---- nlmsgerr ----
    public static final int ERROR_CODE_OFFSET = HEADER_LENGTH;
    public static final int ERROR_REQUEST_OFFSET = HEADER_LENGTH + 4;
    /** Header plus struct nlmsgerr without the echoed payload. */
    public static final int ERROR_MIN_LENGTH = HEADER_LENGTH + 20;
    public static final int NLMSGERR_ATTR_MSG = 1;

    // ---- rtnetlink multicast groups for sockaddr_nl.nl_groups (linux/rtnetlink.h, RTMGRP_*) ----
    /** Link changes: RTM_NEWLINK/RTM_DELLINK (flags, operstate, name, MTU, address). */
    public static final int RTMGRP_LINK = 0x1;
    /** Neighbour changes of every family; proxy entries are not notified (see {@link RtNetlink}). */
    public static final int RTMGRP_NEIGH = 0x4;
    public static final int RTMGRP_IPV4_IFADDR = 0x10;
    public static final int RTMGRP_IPV4_ROUTE = 0x40;

    private Netlink() {
    }

    /** {@code NLMSG_ALIGN}: rounds up to a multiple of 4. */
    public static int align(int length) {
        return (length + ALIGNTO - 1) & ~(ALIGNTO - 1);
    }

    /**
     * Checks the message starting at {@code offset} against the {@code limit} of received bytes.
     *
     * @return its {@code nlmsg_len} (at least {@link #HEADER_LENGTH}, ending at or before {@code limit}), or a
     *         negative {@link Malformed} code: {@link Malformed#TRUNCATED_HEADER},
     *         {@link Malformed#LENGTH_TOO_SMALL} or {@link Malformed#LENGTH_PAST_END}
     */
    public static int validate(DirectBuffer buffer, int offset, int limit) {
        if (offset < 0 || limit - offset < HEADER_LENGTH) {
            return Malformed.TRUNCATED_HEADER;
        }
        final long length = buffer.getInt(offset + LENGTH_OFFSET) & 0xFFFFFFFFL;
        if (length < HEADER_LENGTH) {
            return Malformed.LENGTH_TOO_SMALL;
        }
        if (length > limit - offset) {
            return Malformed.LENGTH_PAST_END;
        }
        return (int) length;
    }

    /**
     * Where the message after a valid one of {@code length} bytes at {@code offset} starts: the aligned end,
     * but never beyond {@code limit}. Always greater than {@code offset} since a valid length is at least 16.
     */
    public static int next(int offset, int length, int limit) {
        final long next = (long) offset + align(length);
        return next > limit ? limit : (int) next;
    }

    /**
     * The checks every rtnetlink family view's {@code check} starts with, for a message of {@code length} bytes (a
     * valid {@code nlmsg_len}) at {@code offset} whose family header ({@code ifinfomsg}, {@code ifaddrmsg}, ...) is
     * {@code familyHeaderLength} bytes: the family header fits, and the attributes after it, up to
     * {@code offset + length}, pass {@link RtAttributes#validate}.
     *
     * @return the offset of the first attribute, or a negative {@link Malformed} code
     */
    static int checkFamilyMessage(DirectBuffer buffer, int offset, int length, int familyHeaderLength) {
        if (length < HEADER_LENGTH + familyHeaderLength) {
            return Malformed.TRUNCATED_BODY;
        }
        final int start = offset + HEADER_LENGTH + familyHeaderLength;
        final int attributes = RtAttributes.validate(buffer, start, offset + length);
        return attributes < 0 ? attributes : start;
    }

    /**
     * As {@link #checkFamilyMessage(DirectBuffer, int, int, int)} for a family view that decodes only messages of
     * {@code family}: a message of another family is only checked for framing.
     *
     * @return the offset of the first attribute of a message of {@code family}; 0 for a well-framed message of
     *         another family (nothing more to check; no attribute starts at 0, they follow two headers); or a negative {@link Malformed} code
     */
    static int checkFamilyMessage(DirectBuffer buffer, int offset, int length, int familyHeaderLength, int family) {
        final int start = checkFamilyMessage(buffer, offset, length, familyHeaderLength);
        return start < 0 || family(buffer, offset) == family ? start : 0;
    }

    /**
     * The address family of the message at {@code offset}: the byte every rtnetlink family header starts with
     * ({@code ifi_family}, {@code ifa_family}, {@code ndm_family}, {@code rtm_family}).
     */
    static int family(DirectBuffer buffer, int offset) {
        return buffer.getByte(offset + HEADER_LENGTH) & 0xFF;
    }

    public static int type(DirectBuffer buffer, int offset) {
        return buffer.getShort(offset + TYPE_OFFSET) & 0xFFFF;
    }

    public static int flags(DirectBuffer buffer, int offset) {
        return buffer.getShort(offset + FLAGS_OFFSET) & 0xFFFF;
    }

    public static int seq(DirectBuffer buffer, int offset) {
        return buffer.getInt(offset + SEQ_OFFSET);
    }

    /**
     * Writes a header with {@code nlmsg_len} 0 and pid 0 (the kernel fills in the sender's port id); finish
     * the message with {@link #finish}.
     *
     * @return the offset of the payload
     */
    public static int putHeader(MutableDirectBuffer buffer, int offset, int type, int flags, int seq) {
        buffer.putInt(offset + LENGTH_OFFSET, 0);
        buffer.putShort(offset + TYPE_OFFSET, (short) type);
        buffer.putShort(offset + FLAGS_OFFSET, (short) flags);
        buffer.putInt(offset + SEQ_OFFSET, seq);
        buffer.putInt(offset + PID_OFFSET, 0);
        return offset + HEADER_LENGTH;
    }

    /** Sets {@code nlmsg_len} of the message at {@code offset} that ends at {@code end}; returns the length. */
    public static int finish(MutableDirectBuffer buffer, int offset, int end) {
        final int length = end - offset;
        buffer.putInt(offset + LENGTH_OFFSET, length);
        return length;
    }

    /** The error of a message already known to be a valid NLMSG_ERROR of at least {@link #ERROR_MIN_LENGTH} bytes. */
    public static int errorCode(DirectBuffer buffer, int offset) {
        return buffer.getInt(offset + ERROR_CODE_OFFSET);
    }

    /**
     * The kernel's error text (NLMSGERR_ATTR_MSG) in the NLMSG_ERROR of {@code length} bytes at {@code offset},
     * or null if there is none or the attributes are malformed. Control path (allocates the String).
     */
    public static String errorMessage(DirectBuffer buffer, int offset, int length) {
        if (length < ERROR_MIN_LENGTH || (flags(buffer, offset) & NLM_F_ACK_TLVS) == 0) {
            return null;
        }
        final int end = offset + length;
        final int attributes;
        if ((flags(buffer, offset) & NLM_F_CAPPED) != 0 || errorCode(buffer, offset) == 0) {
            attributes = offset + ERROR_MIN_LENGTH;
        } else {
            // the request's payload was echoed after its header: skip the whole request
            final long echoed = buffer.getInt(offset + ERROR_REQUEST_OFFSET + LENGTH_OFFSET) & 0xFFFFFFFFL;
            final long start = (long) offset + ERROR_REQUEST_OFFSET + align((int) Math.min(echoed, Integer.MAX_VALUE - 3));
            if (echoed < HEADER_LENGTH || start > end) {
                return null;
            }
            attributes = (int) start;
        }
        if (RtAttributes.validate(buffer, attributes, end) < 0) {
            return null;
        }
        final int attribute = RtAttributes.find(buffer, attributes, end, NLMSGERR_ATTR_MSG);
        return attribute < 0 ? null : RtAttributes.getString(buffer, attribute);
    }

    /** A name for a message type, for exception messages (control path). */
    public static String typeName(int type) {
        switch (type) {
            case NLMSG_NOOP: return "NLMSG_NOOP";
            case NLMSG_ERROR: return "NLMSG_ERROR";
            case NLMSG_DONE: return "NLMSG_DONE";
            case NLMSG_OVERRUN: return "NLMSG_OVERRUN";
            case RTM_NEWLINK: return "RTM_NEWLINK";
            case RTM_DELLINK: return "RTM_DELLINK";
            case RTM_GETLINK: return "RTM_GETLINK";
            case RTM_NEWADDR: return "RTM_NEWADDR";
            case RTM_DELADDR: return "RTM_DELADDR";
            case RTM_GETADDR: return "RTM_GETADDR";
            case RTM_NEWROUTE: return "RTM_NEWROUTE";
            case RTM_DELROUTE: return "RTM_DELROUTE";
            case RTM_GETROUTE: return "RTM_GETROUTE";
            case RTM_NEWNEIGH: return "RTM_NEWNEIGH";
            case RTM_DELNEIGH: return "RTM_DELNEIGH";
            case RTM_GETNEIGH: return "RTM_GETNEIGH";
            default: return "type " + type;
        }
    }
}
