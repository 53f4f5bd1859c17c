package org.egressgw.tunio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The steering programs, run by the kernel ({@code BPF_PROG_TEST_RUN}), against their Java reference on
 * well-formed, fragmented, truncated and random packets; plus the properties the sharded pipeline relies on.
 */
class FlowSteeringIT {
    private static final int SHARDS = 3;
    private static final int LOW = 32768;
    private static final int SPAN = 32768 / SHARDS;
    private final Random random = new Random(7);

    // ---- packet builders (IPv4 header without options unless asked) ----

    private static byte[] ipv4(int ihlWords, int proto, int src, int dst, int id, int fragField, byte[] l4) {
        int hl = ihlWords * 4;
        byte[] p = new byte[hl + l4.length];
        p[0] = (byte) (0x40 | ihlWords);
        int total = p.length;
        p[2] = (byte) (total >> 8);
        p[3] = (byte) total;
        p[4] = (byte) (id >> 8);
        p[5] = (byte) id;
        p[6] = (byte) (fragField >> 8);
        p[7] = (byte) fragField;
        p[8] = 64;
        p[9] = (byte) proto;
        put32(p, 12, src);
        put32(p, 16, dst);
        System.arraycopy(l4, 0, p, hl, l4.length);
        return p;
    }

    private static void put32(byte[] p, int at, int v) {
        p[at] = (byte) (v >> 24);
        p[at + 1] = (byte) (v >> 16);
        p[at + 2] = (byte) (v >> 8);
        p[at + 3] = (byte) v;
    }

    private static byte[] ports(int sport, int dport, int length) {
        byte[] l4 = new byte[Math.max(8, length)];
        l4[0] = (byte) (sport >> 8);
        l4[1] = (byte) sport;
        l4[2] = (byte) (dport >> 8);
        l4[3] = (byte) dport;
        return l4;
    }

    private static byte[] icmp(int type, int id, byte[] quoted) {
        byte[] l4 = new byte[8 + (quoted == null ? 8 : quoted.length)];
        l4[0] = (byte) type;
        l4[4] = (byte) (id >> 8);
        l4[5] = (byte) id;
        if (quoted != null) {
            System.arraycopy(quoted, 0, l4, 8, quoted.length);
        }
        return l4;
    }

    /** VXLAN header + inner Ethernet header (IPv4) + {@code ip}. */
    private static byte[] vxlan(byte[] ip) {
        byte[] p = new byte[FlowSteering.INNER_IP + ip.length];
        p[0] = 0x08;
        p[20] = 0x08;
        System.arraycopy(ip, 0, p, FlowSteering.INNER_IP, ip.length);
        return p;
    }

    private static int run(FlowSteering s, byte[] data, int len) throws Exception {
        // EtherType 0: with 0x0800 the test harness itself rejects short IPv4 headers (EINVAL), and the
        // programs read the data, not the skb's protocol
        byte[] frame = new byte[14 + len];
        System.arraycopy(data, 0, frame, 14, len);
        return Bpf.testRun(s.programFd(), frame);
    }

    /** Headers (src, dst, id, protocol) of first fragments generated so far: later fragments reuse them. */
    private final java.util.List<int[]> firstFragments = new java.util.ArrayList<>();
    private int reusedFirsts;

    private byte[] randomPacket(boolean request) {
        if (!firstFragments.isEmpty() && random.nextInt(4) == 0) {
            // a later fragment of an earlier datagram: the map must hold its first fragment's choice
            reusedFirsts++;
            int[] f = firstFragments.get(random.nextInt(firstFragments.size()));
            byte[] ip = ipv4(5, f[3], f[0], f[1], f[2], (random.nextBoolean() ? 0x2000 : 0) | (1 + random.nextInt(100)),
                    new byte[8 + random.nextInt(40)]);
            return request ? vxlan(ip) : ip;
        }
        int proto = new int[] {6, 17, 1, 47}[random.nextInt(4)];
        int src = random.nextInt();
        int dst = random.nextInt();
        int ihl = random.nextInt(8) == 0 ? 5 + random.nextInt(3) : 5;
        int frag = switch (random.nextInt(6)) {
            case 0 -> 0x2000; // first fragment
            case 1 -> 0x2000 | (1 + random.nextInt(100)); // middle
            case 2 -> 1 + random.nextInt(100); // last
            default -> random.nextBoolean() ? 0x4000 : 0;
        };
        int id = random.nextInt(65536);
        if (frag == 0x2000) {
            firstFragments.add(new int[] {src, dst, id, proto});
        }
        byte[] l4;
        if (proto == 1) {
            int type = new int[] {0, 8, 3, 11, 12, 5}[random.nextInt(6)];
            byte[] quoted = type == 3 || type == 11 || type == 12
                    ? Arrays.copyOf(ipv4(5, new int[] {6, 17, 1, 2}[random.nextInt(4)], random.nextInt(), random.nextInt(), 0, 0,
                            ports(random.nextInt(65536), random.nextInt(65536), 8)), 28)
                    : null;
            l4 = icmp(type, random.nextInt(65536), quoted);
        } else {
            l4 = ports(LOW - 100 + random.nextInt(32868), random.nextInt(65536), 8 + random.nextInt(20));
        }
        byte[] ip = ipv4(ihl, proto, src, dst, id, frag, l4);
        return request ? vxlan(ip) : ip;
    }

    private void compare(boolean request) throws Exception {
        Map<FlowSteering.FragmentKey, Integer> fragments = new HashMap<>();
        Set<Integer> seen = new HashSet<>();
        try (FlowSteering s = request ? FlowSteering.requests(SHARDS) : FlowSteering.replies(SHARDS, LOW, SPAN)) {
            for (int i = 0; i < 3000; i++) {
                byte[] p = randomPacket(request);
                int len = p.length;
                int mode = random.nextInt(10);
                if (mode == 0) {
                    len = random.nextInt(p.length + 1); // truncated anywhere
                } else if (mode == 1) {
                    p[random.nextInt(p.length)] ^= (byte) (1 << random.nextInt(8)); // one bit flipped
                } else if (mode == 2) {
                    random.nextBytes(p); // garbage
                }
                int expected = request ? FlowSteering.requestShard(p, len, SHARDS, fragments)
                        : FlowSteering.replyQueue(p, len, SHARDS, LOW, SPAN, fragments);
                int got = run(s, p, len);
                int length = len;
                assertEquals(expected, got, () -> "packet " + Arrays.toString(p) + " length " + length);
                seen.add(got);
            }
        }
        assertTrue(reusedFirsts > 300 && fragments.size() > 200, reusedFirsts + " later fragments of "
                + fragments.size() + " remembered first fragments");
        // every shard was chosen
        for (int k = 0; k < SHARDS; k++) {
            assertTrue(seen.contains(k), "shard " + k + " never chosen: " + seen);
        }
    }

    @Test
    void requestProgramMatchesItsReference() throws Exception {
        compare(true);
    }

    @Test
    void replyProgramMatchesItsReference() throws Exception {
        compare(false);
    }

    @Test
    void aFlowsPacketsItsQuotesAndItsFragmentsShareAShard() throws Exception {
        try (FlowSteering s = FlowSteering.requests(SHARDS)) {
            int[] count = new int[SHARDS];
            for (int i = 0; i < 200; i++) {
                int pod = 0x0a000000 | random.nextInt(1 << 16);
                int ext = 0xcb007100 | random.nextInt(256);
                int sport = random.nextInt(65536);
                int proto = random.nextBoolean() ? 6 : 17;
                byte[] out = ipv4(5, proto, pod, ext, 1, 0, ports(sport, 443, 20));
                int shard = run(s, vxlan(out), vxlan(out).length);
                count[shard]++;
                // the pod's ICMP error about the flow's reply quotes ext -> pod
                byte[] back = Arrays.copyOf(ipv4(5, proto, ext, pod, 9, 0, ports(443, sport, 8)), 28);
                byte[] error = ipv4(5, 1, pod, ext, 2, 0, icmp(3, 0, back));
                assertEquals(shard, run(s, vxlan(error), vxlan(error).length), "ICMP error about the flow");
                // a fragmented datagram of the same flow: first fragment, then a later one without ports
                int id = 1000 + i;
                byte[] first = ipv4(5, proto, pod, ext, id, 0x2000, ports(sport, 443, 64));
                byte[] later = ipv4(5, proto, pod, ext, id, 8, new byte[64]);
                assertEquals(shard, run(s, vxlan(first), vxlan(first).length), "first fragment");
                assertEquals(shard, run(s, vxlan(later), vxlan(later).length), "later fragment");
            }
            for (int c : count) {
                assertTrue(c > 30, "flows per shard " + Arrays.toString(count));
            }
        }
        try (FlowSteering s = FlowSteering.replies(SHARDS, LOW, SPAN)) {
            for (int port = LOW; port < 65536; port += 97) {
                int owner = Math.min((port - LOW) / SPAN, SHARDS - 1);
                byte[] reply = ipv4(5, 6, 0xcb007105, 0xc000020a, 3, 0, ports(443, port, 20));
                assertEquals(owner, run(s, reply, reply.length), "reply to port " + port);
                byte[] quoted = Arrays.copyOf(ipv4(5, 17, 0xc000020a, 0xcb007105, 4, 0, ports(port, 53, 8)), 28);
                byte[] error = ipv4(5, 1, 0xc6336401, 0xc000020a, 5, 0, icmp(3, 0, quoted));
                assertEquals(owner, run(s, error, error.length), "ICMP error quoting port " + port);
                byte[] echo = ipv4(5, 1, 0xcb007105, 0xc000020a, 6, 0, icmp(0, port, null));
                assertEquals(owner, run(s, echo, echo.length), "echo reply to id " + port);
            }
        }
    }
}
