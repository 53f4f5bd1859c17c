package org.egressgw.conntrack;

/**
 * Packs an IPv4 5-tuple plus a direction flag into two longs, the key format of {@link ConnTable}.
 *
 * <pre>
 * hi: bits 63..32 source IPv4 address, bits 31..0 destination IPv4 address (network order as an int)
 * lo: bit 40 reply flag, bits 39..32 protocol, bits 31..16 source port, bits 15..0 destination port,
 *     bits 63..41 zero
 * </pre>
 *
 * The reply flag keeps the two keys of one connection distinct even if the tuples coincide, and lets
 * a dump tell them apart. For ICMP echo, put the identifier in the ports (for example both ports =
 * identifier). Stateless, allocation-free (except {@link #toString(long, long)}), thread-safe.
 */
public final class FlowKey {
    /** Bit of {@code lo} set for the reply-direction key of a connection. */
    public static final long REPLY_BIT = 1L << 40;

    private FlowKey() {
    }

    /** High word: source address in the upper 32 bits, destination in the lower 32. */
    public static long hi(int srcIp, int dstIp) {
        return ((long) srcIp << 32) | (dstIp & 0xffff_ffffL);
    }

    /** Low word; only the low 8 bits of {@code protocol} and low 16 bits of each port are used. */
    public static long lo(int protocol, int srcPort, int dstPort, boolean reply) {
        return (reply ? REPLY_BIT : 0L)
                | ((long) (protocol & 0xff) << 32)
                | ((long) (srcPort & 0xffff) << 16)
                | (dstPort & 0xffff);
    }

    public static int srcIp(long hi) {
        return (int) (hi >>> 32);
    }

    public static int dstIp(long hi) {
        return (int) hi;
    }

    public static int protocol(long lo) {
        return (int) (lo >>> 32) & 0xff;
    }

    public static int srcPort(long lo) {
        return (int) (lo >>> 16) & 0xffff;
    }

    public static int dstPort(long lo) {
        return (int) lo & 0xffff;
    }

    public static boolean isReply(long lo) {
        return (lo & REPLY_BIT) != 0;
    }

    /**
     * Control-path rendering, e.g. {@code "tcp 10.244.1.10:40000 -> 203.0.113.5:80"}; a reply key gets
     * a {@code " reply"} suffix, unknown protocols print as {@code "proto 47"}.
     */
    public static String toString(long hi, long lo) {
        StringBuilder sb = new StringBuilder(64);
        int protocol = protocol(lo);
        switch (protocol) {
            case 6 -> sb.append("tcp");
            case 17 -> sb.append("udp");
            case 1 -> sb.append("icmp");
            default -> sb.append("proto ").append(protocol);
        }
        sb.append(' ');
        appendIp(sb, srcIp(hi)).append(':').append(srcPort(lo)).append(" -> ");
        appendIp(sb, dstIp(hi)).append(':').append(dstPort(lo));
        if (isReply(lo)) {
            sb.append(" reply");
        }
        return sb.toString();
    }

    private static StringBuilder appendIp(StringBuilder sb, int ip) {
        return sb.append(ip >>> 24).append('.').append((ip >>> 16) & 0xff).append('.')
                .append((ip >>> 8) & 0xff).append('.').append(ip & 0xff);
    }
}
