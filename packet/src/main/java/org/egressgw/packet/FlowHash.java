package org.egressgw.packet;

/**
 * A well-mixed 32-bit hash of a flow's 5-tuple, and the mapping of such a hash to a port range, used
 * to pick outer VXLAN source ports per inner flow as Linux does (so ECMP/RSS on the path spread
 * flows while keeping each flow on one path). Stateless, allocation-free, thread-safe.
 */
public final class FlowHash {
    /** Linux's default ephemeral range (net.ipv4.ip_local_port_range), which VXLAN source ports use. */
    public static final int DEFAULT_MIN_PORT = 32768;
    public static final int DEFAULT_MAX_PORT = 60999;

    private static final int C1 = 0xcc9e2d51;
    private static final int C2 = 0x1b873593;

    private FlowHash() {
    }

    /**
     * Hashes the 5-tuple (addresses in network order, ports 0..65535, protocol 0..255) with the
     * MurmurHash3 32-bit mixing steps and finaliser. Direction matters: a flow and its reply hash
     * differently.
     */
    public static int hash(int srcIp, int dstIp, int srcPort, int dstPort, int protocol) {
        int h = 0x9747b28c;
        h = mix(h, srcIp);
        h = mix(h, dstIp);
        h = mix(h, (srcPort << 16) | (dstPort & 0xffff));
        h = mix(h, protocol & 0xff);
        h ^= 16;
        return fmix(h);
    }

    /**
     * Maps a hash uniformly onto {@code [min, max]} with a multiply-shift (no modulo bias worth
     * mentioning, no division). Requires {@code 0 <= min <= max <= 65535}; not checked here because
     * it runs per packet, so validate the range once at configuration time.
     */
    public static int sourcePort(int hash, int min, int max) {
        return min + (int) (((hash & 0xffff_ffffL) * (max - min + 1)) >>> 32);
    }

    private static int mix(int h, int k) {
        k *= C1;
        k = Integer.rotateLeft(k, 15);
        k *= C2;
        h ^= k;
        h = Integer.rotateLeft(h, 13);
        return h * 5 + 0xe6546b64;
    }

    private static int fmix(int h) {
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }
}
