package org.egressgw.packet;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * Cuts an IPv4 packet that is too big for the next hop into fragments (RFC 791 section 3.2, "Fragmentation and
 * reassembly"), as a router does with a packet that does not carry DF: every fragment but the last carries a
 * multiple of 8 payload bytes and MF; offsets count from the packet's own offset (a fragment is cut again the same
 * way, and the last piece keeps the original MF); the first fragment keeps all IP options, later ones only those
 * whose copied flag is set (padded to a 4-byte boundary with end-of-options).
 *
 * <pre>
 *   original:   | header (hl) | payload .................................................. |
 *   fragment 0: | header (hl)        | payload[0, n0)          |   MF, offset = o
 *   fragment 1: | header (hl1 &le; hl) | payload[n0, n0 + n1)    |   MF, offset = o + n0
 *   ...
 *   last:       | header (hl1)       | payload[.., end)        |   MF as the original, offset = o + ...
 * </pre>
 *
 * <p>The packet must have passed {@link Ipv4#check}; nothing here allocates. Stateless, safe from any thread.
 */
public final class Ipv4Fragments {
    private static final int COPIED = 0x80;
    private static final int END_OF_OPTIONS = 0;
    private static final int NO_OPERATION = 1;

    private Ipv4Fragments() {
    }

    /** The header length of the fragments after the first: 20 plus the options that are copied, padded. */
    public static int laterHeaderLength(DirectBuffer b, int ip) {
        int hl = Ipv4.headerLength(b, ip);
        int copied = 0;
        for (int o = ip + Ipv4.MIN_HEADER_LENGTH; o < ip + hl;) {
            int type = b.getByte(o) & 0xff;
            if (type == END_OF_OPTIONS) {
                break;
            }
            int len = optionLength(b, o, ip + hl);
            if ((type & COPIED) != 0) {
                copied += len;
            }
            o += len;
        }
        return Ipv4.MIN_HEADER_LENGTH + ((copied + 3) & ~3);
    }

    /**
     * How many fragments the packet needs for {@code mtu}, or 0 if it cannot be cut: its header alone leaves fewer
     * than 8 payload bytes per fragment.
     */
    public static int count(DirectBuffer b, int ip, int mtu) {
        int hl = Ipv4.headerLength(b, ip);
        int total = Ipv4.totalLength(b, ip);
        if (total <= mtu) {
            return 1;
        }
        int first = (mtu - hl) & ~7;
        int later = (mtu - laterHeaderLength(b, ip)) & ~7;
        if (first < 8 || later < 8) {
            return 0;
        }
        int rest = total - hl - first;
        return 1 + (rest + later - 1) / later;
    }

    /**
     * Writes fragment {@code k} (0-based, below {@link #count}) of the packet at {@code ip} in {@code src} to
     * {@code dst} at {@code off}, with its header checksum, and returns its length.
     */
    public static int write(DirectBuffer src, int ip, int mtu, int k, MutableDirectBuffer dst, int off) {
        int hl = Ipv4.headerLength(src, ip);
        int total = Ipv4.totalLength(src, ip);
        int first = (mtu - hl) & ~7;
        int laterHl = laterHeaderLength(src, ip);
        int later = (mtu - laterHl) & ~7;
        int start = k == 0 ? 0 : first + (k - 1) * later;
        int payload = Math.min(k == 0 ? first : later, total - hl - start);
        boolean last = start + payload == total - hl;
        int fragHl;
        if (k == 0) {
            dst.putBytes(off, src, ip, hl);
            fragHl = hl;
        } else {
            dst.putBytes(off, src, ip, Ipv4.MIN_HEADER_LENGTH);
            int w = off + Ipv4.MIN_HEADER_LENGTH;
            for (int o = ip + Ipv4.MIN_HEADER_LENGTH; o < ip + hl;) {
                int type = src.getByte(o) & 0xff;
                if (type == END_OF_OPTIONS) {
                    break;
                }
                int len = optionLength(src, o, ip + hl);
                if ((type & COPIED) != 0) {
                    dst.putBytes(w, src, o, len);
                    w += len;
                }
                o += len;
            }
            while (w < off + laterHl) {
                dst.putByte(w++, (byte) END_OF_OPTIONS);
            }
            fragHl = laterHl;
            Ipv4.versionAndHeaderLength(dst, off, laterHl);
        }
        dst.putBytes(off + fragHl, src, ip + hl + start, payload);
        int flags = Ipv4.flagsAndFragment(src, ip);
        int offset8 = (flags & Ipv4.FRAGMENT_OFFSET_MASK) + start / 8;
        boolean mf = !last || (flags & Ipv4.FLAG_MF) != 0;
        Ipv4.flagsAndFragment(dst, off, (flags & Ipv4.FLAG_DF) | (mf ? Ipv4.FLAG_MF : 0) | offset8);
        Ipv4.totalLength(dst, off, fragHl + payload);
        Ipv4.updateHeaderChecksum(dst, off);
        return fragHl + payload;
    }

    /** The length of the option at {@code o} (1 for no-operation; a length byte that runs past the header: the rest). */
    private static int optionLength(DirectBuffer b, int o, int end) {
        int type = b.getByte(o) & 0xff;
        if (type == NO_OPERATION || o + 1 >= end) {
            return 1;
        }
        int len = b.getByte(o + 1) & 0xff;
        return len < 2 || o + len > end ? end - o : len;
    }
}
