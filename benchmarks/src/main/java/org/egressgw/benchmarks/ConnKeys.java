package org.egressgw.benchmarks;

import java.util.SplittableRandom;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.packet.Ipv4;

/**
 * The synthetic connections of the connection-table benchmarks. Connection {@code i}: pod
 * 10.0.0.0 + i :40000 → 198.18.0.0 + (i >>> 16) :443, translated to the egress IP with port
 * {@code i & 0xffff}; distinct for every {@code i} below 2^32, both keys.
 */
final class ConnKeys {
    private ConnKeys() {
    }

    static int dst(int i) {
        return 0xC612_0000 + (i >>> 16);
    }

    static long origHi(int i) {
        return FlowKey.hi(0x0A00_0000 + i, dst(i));
    }

    static long origLo() {
        return FlowKey.lo(Ipv4.PROTO_TCP, 40000, 443, false);
    }

    static long replyHi(int i) {
        return FlowKey.hi(dst(i), Fixtures.EGRESS_IP);
    }

    static long replyLo(int i) {
        return FlowKey.lo(Ipv4.PROTO_TCP, 443, i & 0xffff, true);
    }

    /** Shuffles two parallel arrays the same way (Fisher-Yates). */
    static void shuffle(long[] a, long[] b, SplittableRandom rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            long t = a[i];
            a[i] = a[j];
            a[j] = t;
            t = b[i];
            b[i] = b[j];
            b[j] = t;
        }
    }
}
