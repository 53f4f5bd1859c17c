package org.egressgw.conntrack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

class FlowKeyTest {
    private static int ip(int a, int b, int c, int d) {
        return (a << 24) | (b << 16) | (c << 8) | d;
    }

    @Test
    void packsAndUnpacksRandomTuples() {
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < 100_000; i++) {
            int src = random.nextInt();
            int dst = random.nextInt();
            int proto = random.nextInt(256);
            int sport = random.nextInt(65536);
            int dport = random.nextInt(65536);
            boolean reply = random.nextBoolean();
            long hi = FlowKey.hi(src, dst);
            long lo = FlowKey.lo(proto, sport, dport, reply);
            assertEquals(((long) src << 32) | (dst & 0xffffffffL), hi);
            assertEquals(src, FlowKey.srcIp(hi));
            assertEquals(dst, FlowKey.dstIp(hi));
            assertEquals(proto, FlowKey.protocol(lo));
            assertEquals(sport, FlowKey.srcPort(lo));
            assertEquals(dport, FlowKey.dstPort(lo));
            assertEquals(reply, FlowKey.isReply(lo));
            assertEquals(0, lo >>> 41, "bits above the reply flag stay clear");
        }
    }

    @Test
    void outOfRangeInputsAreMaskedNotSpilledIntoNeighbours() {
        long lo = FlowKey.lo(0x1_06, 0xF_FFFF, -1, false);
        assertEquals(6, FlowKey.protocol(lo));
        assertEquals(0xffff, FlowKey.srcPort(lo));
        assertEquals(0xffff, FlowKey.dstPort(lo));
        assertFalse(FlowKey.isReply(lo));
        assertEquals(-1L, FlowKey.hi(-1, -1));
        assertEquals(-1, FlowKey.dstIp(FlowKey.hi(0, -1)));
        assertEquals(0, FlowKey.srcIp(FlowKey.hi(0, -1)));
    }

    @Test
    void rendersForHumans() {
        long hi = FlowKey.hi(ip(10, 244, 1, 10), ip(203, 0, 113, 5));
        assertEquals("tcp 10.244.1.10:40000 -> 203.0.113.5:80", FlowKey.toString(hi, FlowKey.lo(6, 40000, 80, false)));
        assertEquals("udp 10.244.1.10:53 -> 203.0.113.5:53 reply",
                FlowKey.toString(hi, FlowKey.lo(17, 53, 53, true)));
        assertEquals("icmp 255.255.255.255:7 -> 0.0.0.0:7",
                FlowKey.toString(FlowKey.hi(-1, 0), FlowKey.lo(1, 7, 7, false)));
        assertTrue(FlowKey.toString(hi, FlowKey.lo(47, 0, 0, false)).startsWith("proto 47 "));
    }
}
