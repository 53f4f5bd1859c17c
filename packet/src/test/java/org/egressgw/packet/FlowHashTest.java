package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class FlowHashTest {
    @Test
    void deterministicAndDirectional() {
        int a = FlowHash.hash(TestBytes.ip(10, 244, 1, 23), TestBytes.ip(203, 0, 113, 10), 43512, 443, 6);
        assertEquals(a, FlowHash.hash(TestBytes.ip(10, 244, 1, 23), TestBytes.ip(203, 0, 113, 10), 43512, 443, 6));
        assertNotEquals(a, FlowHash.hash(TestBytes.ip(203, 0, 113, 10), TestBytes.ip(10, 244, 1, 23), 443, 43512, 6));
        assertNotEquals(a, FlowHash.hash(TestBytes.ip(10, 244, 1, 23), TestBytes.ip(203, 0, 113, 10), 43512, 443, 17));
        assertNotEquals(a, FlowHash.hash(TestBytes.ip(10, 244, 1, 23), TestBytes.ip(203, 0, 113, 10), 43513, 443, 6));
    }

    @Test
    void sourcePortStaysInRangeAndCoversTheEnds() {
        assertEquals(32768, FlowHash.sourcePort(0, 32768, 60999));
        assertEquals(60999, FlowHash.sourcePort(-1, 32768, 60999));
        assertEquals(5, FlowHash.sourcePort(12345, 5, 5));
        assertEquals(0, FlowHash.sourcePort(0, 0, 65535));
        assertEquals(65535, FlowHash.sourcePort(-1, 0, 65535));
        Random rnd = new Random(5);
        for (int i = 0; i < 100_000; i++) {
            int p = FlowHash.sourcePort(rnd.nextInt(), FlowHash.DEFAULT_MIN_PORT, FlowHash.DEFAULT_MAX_PORT);
            assertTrue(p >= 32768 && p <= 60999);
        }
    }

    @Test
    void sequentialFlowsSpreadUniformlyOverPortBuckets() {
        // Similar tuples (one client, sequential ports) are the hard case for a weak hash.
        int buckets = 64;
        int[] counts = new int[buckets];
        int n = 256_000;
        int min = FlowHash.DEFAULT_MIN_PORT;
        int max = FlowHash.DEFAULT_MAX_PORT;
        int range = max - min + 1;
        for (int i = 0; i < n; i++) {
            int h = FlowHash.hash(TestBytes.ip(10, 244, 1, 23 + (i >>> 16)), TestBytes.ip(203, 0, 113, 10), i & 0xffff, 443, 6);
            int port = FlowHash.sourcePort(h, min, max);
            counts[(int) ((long) (port - min) * buckets / range)]++;
        }
        double expected = (double) n / buckets;
        double chi2 = 0;
        for (int c : counts) {
            chi2 += (c - expected) * (c - expected) / expected;
        }
        // 63 degrees of freedom: p = 0.001 at about 103.4.
        assertTrue(chi2 < 103.4, "chi-square " + chi2);
    }

    @Test
    void singleBitChangesFlipAboutHalfTheOutputBits() {
        Random rnd = new Random(3);
        long flipped = 0;
        int trials = 0;
        for (int i = 0; i < 2_000; i++) {
            int s = rnd.nextInt();
            int d = rnd.nextInt();
            int sp = rnd.nextInt(65536);
            int dp = rnd.nextInt(65536);
            int h = FlowHash.hash(s, d, sp, dp, 6);
            for (int bit = 0; bit < 32; bit++) {
                flipped += Integer.bitCount(h ^ FlowHash.hash(s ^ (1 << bit), d, sp, dp, 6));
                flipped += Integer.bitCount(h ^ FlowHash.hash(s, d ^ (1 << bit), sp, dp, 6));
                trials += 2;
            }
            for (int bit = 0; bit < 16; bit++) {
                flipped += Integer.bitCount(h ^ FlowHash.hash(s, d, sp ^ (1 << bit), dp, 6));
                flipped += Integer.bitCount(h ^ FlowHash.hash(s, d, sp, dp ^ (1 << bit), 6));
                trials += 2;
            }
        }
        double mean = (double) flipped / trials;
        assertTrue(mean > 15.5 && mean < 16.5, "mean flipped bits " + mean);
    }
}
