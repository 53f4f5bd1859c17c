package org.egressgw.control.policy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.junit.jupiter.api.Test;

class PolicyTableTest {
    private record Rule(int src, Ipv4Cidr dst, int value) {
    }

    /** The slow reference: scan every rule, keep the best by the documented precedence. */
    private static int reference(List<Rule> rules, int src, int dst) {
        Rule best = null;
        for (Rule r : rules) {
            if (r.src != src || !r.dst.contains(dst)) {
                continue;
            }
            if (best == null || better(r, best)) {
                best = r;
            }
        }
        return best == null ? PolicyTable.NO_POLICY : best.value;
    }

    private static boolean better(Rule a, Rule b) {
        if (a.dst.prefixLength() != b.dst.prefixLength()) {
            return a.dst.prefixLength() > b.dst.prefixLength();
        }
        if ((a.value == PolicyTable.EXCLUDED) != (b.value == PolicyTable.EXCLUDED)) {
            return a.value == PolicyTable.EXCLUDED;
        }
        return a.value < b.value;
    }

    private static Ipv4Cidr randomCidr(Random rnd, int[] bases) {
        int len = rnd.nextInt(10) == 0 ? rnd.nextInt(33) : 8 + rnd.nextInt(25);
        int addr = bases[rnd.nextInt(bases.length)] ^ (rnd.nextInt() >>> (8 + rnd.nextInt(24)));
        return new Ipv4Cidr(addr & Ipv4Cidr.mask(len), len);
    }

    @Test
    void matchesSlowReferenceOnRandomData() {
        Random rnd = new Random(0x5eed_2024L);
        int[] bases = {Ipv4Address.parse("203.0.113.0"), Ipv4Address.parse("198.51.100.0"),
            Ipv4Address.parse("10.0.0.0"), Ipv4Address.parse("192.0.2.0"), 0x80000000};
        for (int round = 0; round < 20; round++) {
            int policies = 1 + rnd.nextInt(20);
            PolicyTable.Builder b = new PolicyTable.Builder();
            for (int p = 0; p < policies; p++) {
                b.addPolicy("p" + p, rnd.nextInt());
            }
            int[] sources = new int[1 + rnd.nextInt(60)];
            for (int i = 0; i < sources.length; i++) {
                sources[i] = rnd.nextInt(8) == 0 ? rnd.nextInt() : Ipv4Address.parse("10.244.0.0") + rnd.nextInt(4096);
            }
            List<Rule> rules = new ArrayList<>();
            int n = rnd.nextInt(3000);
            for (int i = 0; i < n; i++) {
                int src = sources[rnd.nextInt(sources.length)];
                Ipv4Cidr dst = randomCidr(rnd, bases);
                int policy = rnd.nextInt(policies);
                if (rnd.nextInt(4) == 0) {
                    b.addExclusion(src, dst, policy);
                    rules.add(new Rule(src, dst, PolicyTable.EXCLUDED));
                } else {
                    b.addRule(src, dst, policy);
                    rules.add(new Rule(src, dst, policy));
                }
            }
            PolicyTable t = b.build();
            assertEquals(policies, t.policyCount());
            for (int i = 0; i < 20_000; i++) {
                int src = rnd.nextInt(10) == 0 ? rnd.nextInt() : sources[rnd.nextInt(sources.length)];
                int dst;
                if (!rules.isEmpty() && rnd.nextBoolean()) {
                    Ipv4Cidr c = rules.get(rnd.nextInt(rules.size())).dst;
                    dst = c.network() | (rnd.nextInt() & ~Ipv4Cidr.mask(c.prefixLength()));
                } else {
                    dst = bases[rnd.nextInt(bases.length)] ^ (rnd.nextInt() >>> rnd.nextInt(32));
                }
                int expected = reference(rules, src, dst);
                assertEquals(expected, t.lookup(src, dst), () -> "round, src " + Ipv4Address.toString(src)
                        + " dst " + Ipv4Address.toString(dst));
            }
        }
    }

    @Test
    void precedence() {
        PolicyTable.Builder b = new PolicyTable.Builder();
        int a = b.addPolicy("a", Ipv4Address.parse("192.0.2.1"));
        int z = b.addPolicy("z", Ipv4Address.parse("192.0.2.2"));
        int src = Ipv4Address.parse("10.0.0.1");
        b.addRule(src, Ipv4Cidr.parse("0.0.0.0/0"), z);
        b.addRule(src, Ipv4Cidr.parse("0.0.0.0/0"), a);
        b.addExclusion(src, Ipv4Cidr.parse("203.0.113.0/24"), z);
        b.addRule(src, Ipv4Cidr.parse("203.0.113.0/24"), a);
        b.addRule(src, Ipv4Cidr.parse("203.0.113.128/25"), z);
        PolicyTable t = b.build();
        assertEquals(a, t.lookup(src, Ipv4Address.parse("8.8.8.8")), "equal prefix: lower id");
        assertEquals(PolicyTable.EXCLUDED, t.lookup(src, Ipv4Address.parse("203.0.113.5")), "equal prefix: EXCLUDED first");
        assertEquals(z, t.lookup(src, Ipv4Address.parse("203.0.113.200")), "longest prefix first");
        assertEquals(PolicyTable.NO_POLICY, t.lookup(Ipv4Address.parse("10.0.0.2"), Ipv4Address.parse("8.8.8.8")));
        assertEquals(Ipv4Address.parse("192.0.2.2"), t.egressIp(z));
        assertEquals("z", t.policyName(z));
        assertEquals(1, t.sourceCount());
        List<String[]> rows = t.rows();
        assertEquals(5, rows.size());
        assertArrayEquals(new String[] {"10.0.0.1", "203.0.113.128/25", "192.0.2.2", "z"}, rows.get(0));
        assertArrayEquals(new String[] {"10.0.0.1", "203.0.113.0/24", "excluded", "z"}, rows.get(1));
        assertArrayEquals(new String[] {"10.0.0.1", "0.0.0.0/0", "192.0.2.1", "a"}, rows.get(3));
        assertThrows(IllegalArgumentException.class, () -> b.addRule(src, Ipv4Cidr.parse("0.0.0.0/0"), 7));
        assertEquals(PolicyTable.NO_POLICY, PolicyTable.EMPTY.lookup(src, src));
    }

    @Test
    void lookupDoesNotAllocate() {
        PolicyTable.Builder b = new PolicyTable.Builder();
        int p = b.addPolicy("p", 1);
        Random rnd = new Random(7);
        for (int i = 0; i < 1000; i++) {
            b.addRule(i, new Ipv4Cidr(rnd.nextInt() & 0xffff0000, 16), p);
        }
        PolicyTable t = b.build();
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long sink = 0;
        for (int i = 0; i < 200_000; i++) {
            sink += t.lookup(i & 2047, rnd.nextInt());
        }
        long before = mx.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 1_000_000; i++) {
            sink += t.lookup(i & 2047, i * 0x9e3779b9);
        }
        long allocated = mx.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < 4096, "lookup allocated " + allocated + " bytes (sink " + sink + ")");
    }

    private record Ranked(int src, Ipv4Cidr dst, int result, int rank) {
    }

    /** Ranked rules with every result kind against a scan of all rules by the documented precedence. */
    @Test
    void rankedBuilderMatchesSlowReference() {
        Random rnd = new Random(0x7ab1e_2026L);
        int[] bases = {Ipv4Address.parse("203.0.113.0"), Ipv4Address.parse("10.0.0.0"), 0};
        for (int round = 0; round < 20; round++) {
            PolicyTable.Builder b = new PolicyTable.Builder();
            int ranks = 1 + rnd.nextInt(30);
            for (int r = 0; r < ranks; r++) {
                b.addRank("policy-" + r);
            }
            int served = rnd.nextInt(5);
            for (int p = 0; p < served; p++) {
                b.addPolicy("policy-" + rnd.nextInt(ranks), rnd.nextInt());
            }
            int[] specials = {PolicyTable.EXCLUDED, PolicyTable.NOT_SERVED_HERE, PolicyTable.NO_EGRESS_IP};
            List<Ranked> rules = new ArrayList<>();
            for (int i = 0; i < rnd.nextInt(2000); i++) {
                int src = Ipv4Address.parse("10.244.0.0") + rnd.nextInt(40);
                Ipv4Cidr dst = randomCidr(rnd, bases);
                int result = served > 0 && rnd.nextBoolean() ? rnd.nextInt(served) : specials[rnd.nextInt(3)];
                int rank = rnd.nextInt(ranks);
                b.add(src, dst, result, rank);
                rules.add(new Ranked(src, dst, result, rank));
            }
            PolicyTable t = b.build();
            for (int i = 0; i < 20_000; i++) {
                int src = Ipv4Address.parse("10.244.0.0") + rnd.nextInt(45);
                int dst = rules.isEmpty() || rnd.nextInt(4) == 0 ? rnd.nextInt()
                        : rules.get(rnd.nextInt(rules.size())).dst.network() ^ (rnd.nextInt() >>> (8 + rnd.nextInt(24)));
                Ranked best = null;
                for (Ranked r : rules) {
                    if (r.src != src || !r.dst.contains(dst)) {
                        continue;
                    }
                    if (best == null || r.dst.prefixLength() > best.dst.prefixLength()
                            || r.dst.prefixLength() == best.dst.prefixLength()
                            && (r.result == PolicyTable.EXCLUDED && best.result != PolicyTable.EXCLUDED
                            || (r.result == PolicyTable.EXCLUDED) == (best.result == PolicyTable.EXCLUDED)
                            && (r.rank < best.rank || r.rank == best.rank && r.result < best.result))) {
                        best = r;
                    }
                }
                assertEquals(best == null ? PolicyTable.NO_POLICY : best.result, t.lookup(src, dst));
            }
        }
        PolicyTable.Builder mixed = new PolicyTable.Builder();
        mixed.addPolicy("a", 1);
        mixed.addRule(1, Ipv4Cidr.parse("0.0.0.0/0"), 0);
        assertThrows(IllegalStateException.class, () -> mixed.addRank("a"));
        PolicyTable.Builder ranked = new PolicyTable.Builder();
        ranked.addRank("a");
        assertThrows(IllegalArgumentException.class, () -> ranked.add(1, Ipv4Cidr.parse("0.0.0.0/0"), 0, 0), "no served id 0");
        assertThrows(IllegalArgumentException.class, () -> ranked.add(1, Ipv4Cidr.parse("0.0.0.0/0"), PolicyTable.NO_POLICY, 0));
        assertThrows(IllegalArgumentException.class, () -> ranked.add(1, Ipv4Cidr.parse("0.0.0.0/0"), PolicyTable.EXCLUDED, 1));
        assertThrows(IllegalStateException.class, () -> ranked.addRule(1, Ipv4Cidr.parse("0.0.0.0/0"), 0));
    }
}
