package org.egressgw.tunio.netlink;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.egressgw.tunio.LibC;

/**
 * Neighbour messages ({@code RTM_NEWNEIGH}, {@code RTM_DELNEIGH}, {@code RTM_GETNEIGH}) for IPv4: the family
 * header and attributes from {@code <linux/neighbour.h>}. The same messages address the proxy table when
 * {@code ndm_flags} has {@link #NTF_PROXY}.
 *
 * <pre>
 * struct ndmsg {               offset size (from the end of the nlmsghdr)
 *     __u8  ndm_family;           0    1   AF_INET
 *     __u8  ndm_pad1;             1    1
 *     __u16 ndm_pad2;             2    2
 *     __s32 ndm_ifindex;          4    4
 *     __u16 ndm_state;            8    2   NUD_*
 *     __u8  ndm_flags;           10    1   NTF_*
 *     __u8  ndm_type;            11    1
 * };                                  12   attributes follow
 *
 * NDA_DST     1  4 bytes, network order
 * NDA_LLADDR  2  hardware address
 * NDA_PROTOCOL 12 1 byte: who added the entry (as a route's rtm_protocol), kept by the kernel, proxy entries too
 * </pre>
 *
 * <p>Stateless; safe from any thread.
 */
public final class NdMsg {
    public static final int LENGTH = 12;
    public static final int FAMILY_OFFSET = 0;
    public static final int IFINDEX_OFFSET = 4;
    public static final int STATE_OFFSET = 8;
    public static final int FLAGS_OFFSET = 10;
    public static final int TYPE_OFFSET = 11;

    public static final int NDA_DST = 1;
    public static final int NDA_LLADDR = 2;
    public static final int NDA_PROTOCOL = 12;

    /** A proxy-ARP entry (requests and dumps with this flag address the proxy table). */
    public static final int NTF_PROXY = 0x08;
    public static final int NTF_ROUTER = 0x80;

    public static final int NUD_INCOMPLETE = 0x01;
    public static final int NUD_REACHABLE = 0x02;
    public static final int NUD_STALE = 0x04;
    public static final int NUD_FAILED = 0x20;
    public static final int NUD_NOARP = 0x40;
    public static final int NUD_PERMANENT = 0x80;

    /** The only family decoded and built here: {@link LibC#AF_INET}. */
    public static final int AF_INET = LibC.AF_INET;

    private NdMsg() {
    }

    /**
     * Checks a neighbour message of {@code length} bytes (a valid {@code nlmsg_len}) at {@code offset}. For
     * AF_INET also: NDA_DST present with 4 bytes. Other families are only checked for framing.
     *
     * @return 0 or a negative {@link Malformed} code
     */
    public static int check(DirectBuffer buffer, int offset, int length) {
        final int start = Netlink.checkFamilyMessage(buffer, offset, length, LENGTH, AF_INET);
        if (start <= 0) {
            return start; // malformed, or of another family
        }
        final int end = offset + length;
        final int dst = RtAttributes.find(buffer, start, end, NDA_DST);
        if (dst < 0) {
            return Malformed.MISSING_ATTRIBUTE;
        }
        return RtAttributes.payloadLength(buffer, dst) == 4 ? 0 : Malformed.ATTRIBUTE_SIZE;
    }

    /** ndm_family of a checked message. */
    public static int family(DirectBuffer buffer, int offset) {
        return Netlink.family(buffer, offset);
    }

    /** Decodes an AF_INET message that passed {@link #check}. */
    public static NeighbourInfo decode(DirectBuffer buffer, int offset, int length) {
        final int body = offset + Netlink.HEADER_LENGTH;
        final int start = body + LENGTH;
        final int end = offset + length;
        final int lladdr = RtAttributes.find(buffer, start, end, NDA_LLADDR);
        final int protocol = RtAttributes.find(buffer, start, end, NDA_PROTOCOL);
        return new NeighbourInfo(
            buffer.getInt(body + IFINDEX_OFFSET),
            RtAttributes.getIpv4(buffer, RtAttributes.find(buffer, start, end, NDA_DST)),
            buffer.getShort(body + STATE_OFFSET) & 0xFFFF,
            buffer.getByte(body + FLAGS_OFFSET) & 0xFF,
            lladdr < 0 ? LinkInfo.NO_MAC : RtAttributes.getMac(buffer, lladdr),
            protocol < 0 || RtAttributes.payloadLength(buffer, protocol) < 1 ? 0 : RtAttributes.getByte(buffer, protocol));
    }

    /**
     * {@code RTM_GETNEIGH}, {@code NLM_F_REQUEST | NLM_F_DUMP}, family AF_INET: the ARP cache, or with
     * {@code proxy} ({@code ndm_flags = NTF_PROXY}) the proxy table.
     */
    public static int encodeDump(MutableDirectBuffer buffer, int offset, int seq, boolean proxy) {
        final int body = Netlink.putHeader(buffer, offset, Netlink.RTM_GETNEIGH, Netlink.NLM_F_REQUEST | Netlink.NLM_F_DUMP,
            seq);
        putHeader(buffer, body, 0, 0, proxy ? NTF_PROXY : 0);
        return Netlink.finish(buffer, offset, body + LENGTH);
    }

    /**
     * {@code RTM_GETNEIGH} for one proxy entry, {@code NLM_F_REQUEST | NLM_F_ACK}: {@code ndm_flags = NTF_PROXY},
     * state and type 0 (the kernel insists), NDA_DST. ENOENT if there is none.
     */
    public static int encodeGetProxy(MutableDirectBuffer buffer, int offset, int seq, int ifindex, int address) {
        return encodeProxy(buffer, offset, seq, Netlink.RTM_GETNEIGH, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, ifindex,
            0, address);
    }

    /**
     * {@code RTM_NEWNEIGH}, {@code NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL}, {@code ndm_flags =
     * NTF_PROXY}, {@code ndm_state = NUD_PERMANENT}, NDA_DST: {@code ip neigh add proxy A dev X}. The kernel
     * accepts it silently when the entry exists (no EEXIST for proxy entries).
     */
    public static int encodeAddProxy(MutableDirectBuffer buffer, int offset, int seq, int ifindex, int address) {
        return encodeAddProxy(buffer, offset, seq, ifindex, address, 0);
    }

    /** As {@link #encodeAddProxy(MutableDirectBuffer, int, int, int, int)}, marked with NDA_PROTOCOL unless 0. */
    public static int encodeAddProxy(MutableDirectBuffer buffer, int offset, int seq, int ifindex, int address,
            int protocol) {
        final int end = encodeProxy(buffer, offset, seq, Netlink.RTM_NEWNEIGH,
            Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK | Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, ifindex, NUD_PERMANENT,
            address);
        if (protocol == 0) {
            return end;
        }
        return Netlink.finish(buffer, offset, RtAttributes.putByte(buffer, end, NDA_PROTOCOL, protocol));
    }

    /** {@code RTM_DELNEIGH}, {@code NLM_F_REQUEST | NLM_F_ACK}, {@code NTF_PROXY}, NDA_DST; ENOENT if absent. */
    public static int encodeDeleteProxy(MutableDirectBuffer buffer, int offset, int seq, int ifindex, int address) {
        return encodeProxy(buffer, offset, seq, Netlink.RTM_DELNEIGH, Netlink.NLM_F_REQUEST | Netlink.NLM_F_ACK, ifindex,
            0, address);
    }

    private static int encodeProxy(MutableDirectBuffer buffer, int offset, int seq, int type, int flags, int ifindex,
            int state, int address) {
        final int body = Netlink.putHeader(buffer, offset, type, flags, seq);
        putHeader(buffer, body, ifindex, state, NTF_PROXY);
        final int end = RtAttributes.putIpv4(buffer, body + LENGTH, NDA_DST, address);
        return Netlink.finish(buffer, offset, end);
    }

    private static void putHeader(MutableDirectBuffer buffer, int body, int ifindex, int state, int flags) {
        buffer.setMemory(body, LENGTH, (byte) 0);
        buffer.putByte(body + FAMILY_OFFSET, (byte) AF_INET);
        buffer.putInt(body + IFINDEX_OFFSET, ifindex);
        buffer.putShort(body + STATE_OFFSET, (short) state);
        buffer.putByte(body + FLAGS_OFFSET, (byte) flags);
    }
}
