package org.egressgw.nat;

import org.agrona.MutableDirectBuffer;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Tcp;

/**
 * Lowers the MSS option of a SYN or SYN-ACK so that the peer never sends segments that would not
 * fit in the tunnel once the 50 bytes of VXLAN encapsulation are added. This is what keeps
 * full-size replies from being black-holed when ICMP is filtered somewhere on the path.
 */
public final class MssClamp {
    private MssClamp() {
    }

    /**
     * Clamps the MSS option of the TCP header at {@code tcpOff} to at most {@code maxMss}, fixing the
     * checksum incrementally. A SYN without an MSS option is left alone (RFC 9293 then implies 536,
     * which already fits). The header must have passed {@code Tcp.check}.
     *
     * @return true if the option was lowered
     */
    public static boolean clamp(MutableDirectBuffer b, int tcpOff, int maxMss) {
        return clamp(b, tcpOff, maxMss, false);
    }

    /**
     * As {@link #clamp(MutableDirectBuffer, int, int)}; with {@code partialChecksum} the checksum field holds only
     * the started pseudo-header sum ({@code CHECKSUM_PARTIAL}, finished later over the segment as it is then),
     * so it is left alone.
     */
    public static boolean clamp(MutableDirectBuffer b, int tcpOff, int maxMss, boolean partialChecksum) {
        int opt = Tcp.findOption(b, tcpOff, Tcp.OPTION_MSS);
        if (opt < 0 || opt + 4 > tcpOff + Tcp.headerLength(b, tcpOff) || (b.getByte(opt + 1) & 0xff) != 4) {
            return false;
        }
        int mss = ((b.getByte(opt + 2) & 0xff) << 8) | (b.getByte(opt + 3) & 0xff);
        if (mss <= maxMss) {
            return false;
        }
        b.putByte(opt + 2, (byte) (maxMss >>> 8));
        b.putByte(opt + 3, (byte) maxMss);
        if (partialChecksum) {
            return true;
        }
        // The checksum sums 16-bit words at even offsets from the TCP header. The MSS value either is
        // one such word, or straddles two; bytes that did not change cancel out of RFC 1624's
        // update, so they can be taken as zero.
        int c = Tcp.checksum(b, tcpOff);
        if (((opt + 2 - tcpOff) & 1) == 0) {
            c = Checksum.update16(c, mss, maxMss);
        } else {
            c = Checksum.update16(c, mss >>> 8, maxMss >>> 8);
            c = Checksum.update16(c, (mss & 0xff) << 8, (maxMss & 0xff) << 8);
        }
        Tcp.checksum(b, tcpOff, c);
        return true;
    }
}
