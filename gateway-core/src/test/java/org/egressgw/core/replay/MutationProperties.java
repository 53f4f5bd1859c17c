package org.egressgw.core.replay;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.egressgw.core.datapath.Counters;

/**
 * Random mutation of the corpus's real packets through the real pipeline, one million cases.
 *
 * <p>Shape: a single jqwik property with 100 tries at a fixed seed; each try gets a jqwik-generated
 * {@code long} that seeds a loop of {@value #PER_TRY} mutations on a fresh pipeline (a jqwik try
 * costs tens of microseconds of framework overhead, a packet a microsecond, so one try per packet
 * would not fit the time budget). A failing try reports its seed, and the loop is deterministic in
 * it, so the failure replays exactly.
 *
 * <p>Each try interleaves the corpus's TCP exchange (unmutated) with the mutated packets of the
 * other captures and checks, besides "nothing throws": every packet is dropped at most once and a
 * packet not dropped was forwarded; rx = tx + drops per run; and the TCP exchange's outputs are
 * byte for byte those of a clean run.
 */
class MutationProperties {
    static final int PER_TRY = 10_000;
    static List<Harness.Input> others;
    static List<Harness.Input> flow;
    static List<byte[]> cleanOutputs;

    @BeforeContainer
    static void load() throws Exception {
        flow = Harness.load("tcp-http");
        others = new ArrayList<>();
        for (String n : Harness.CAPTURES) {
            if (!n.equals("tcp-http")) {
                others.addAll(Harness.load(n));
            }
        }
        cleanOutputs = new ArrayList<>();
        try (Harness h = new Harness(4096)) {
            for (Harness.Input in : flow) {
                cleanOutputs.addAll(h.offer(in).outputs());
            }
        }
    }

    @Property(tries = 100, seed = "20261126")
    void mutatedPacketsAreCountedAndHarmless(@ForAll long seed) throws Exception {
        Random rnd = new Random(seed);
        List<byte[]> flowOut = new ArrayList<>();
        try (Harness h = new Harness(4096)) {
            int next = 0;
            for (int i = 0; i < PER_TRY; i++) {
                if (next < flow.size() && rnd.nextInt(PER_TRY / flow.size()) == 0) {
                    flowOut.addAll(h.offer(flow.get(next++)).outputs());
                }
                Harness.Input in = others.get(rnd.nextInt(others.size()));
                long time = next < flow.size() ? flow.get(next).timeMillis() : flow.get(flow.size() - 1).timeMillis();
                Harness.Input m = new Harness.Input(in.reply(), mutate(in.bytes(), in.reply(), rnd), in.peer(), time);
                Harness.Effect e = h.offer(m);
                assertTrue(e.drops() <= 1, "seed " + seed + " case " + i + ": counted more than once");
                assertTrue(e.drops() == 1 || !e.outputs().isEmpty(), "seed " + seed + " case " + i + ": neither forwarded nor counted: "
                        + Arrays.toString(m.bytes()));
            }
            while (next < flow.size()) {
                flowOut.addAll(h.offer(flow.get(next++)).outputs());
            }
            long tx = h.pipeline.requestCounters().get(Counters.TX_PACKETS) + h.pipeline.replyCounters().get(Counters.TX_PACKETS);
            assertEquals(h.received(), tx + h.drops(), "seed " + seed + ": rx = tx + drops");
        }
        assertEquals(cleanOutputs.size(), flowOut.size(), "seed " + seed + ": the TCP exchange's packets out");
        for (int i = 0; i < cleanOutputs.size(); i++) {
            assertTrue(Arrays.equals(cleanOutputs.get(i), flowOut.get(i)), "seed " + seed + ": output #" + (i + 1) + " of the TCP exchange changed");
        }
    }

    static final int[] INTERESTING = {0, 1, 0x7f, 0x80, 0xff};

    /** One to four mutations; then, half of the time, the IPv4 header checksum made right again so deeper layers are reached. */
    static byte[] mutate(byte[] original, boolean reply, Random rnd) {
        byte[] b = original.clone();
        int ip = reply ? 0 : HostileInputTest.IP;
        int n = 1 + rnd.nextInt(4);
        for (int k = 0; k < n && b.length > 0; k++) {
            switch (rnd.nextInt(7)) {
                case 0 -> b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
                case 2 -> b[headerOffset(b, ip, rnd)] = (byte) INTERESTING[rnd.nextInt(INTERESTING.length)];
                case 3 -> {
                    int off = headerOffset(b, ip, rnd);
                    if (off + 1 < b.length) {
                        int v = switch (rnd.nextInt(4)) {
                            case 0 -> 0;
                            case 1 -> 0xffff;
                            case 2 -> b.length - ip;
                            default -> b.length - ip + rnd.nextInt(5) - 2;
                        };
                        HostileInputTest.put16(b, off, v);
                    }
                }
                // at least one byte: the empty datagram is HostileInputTest.emptyDatagramIsCounted
                case 4 -> b = Arrays.copyOf(b, 1 + rnd.nextInt(b.length));
                case 5 -> {
                    byte[] longer = Arrays.copyOf(b, b.length + 1 + rnd.nextInt(64));
                    for (int i = b.length; i < longer.length; i++) {
                        longer[i] = (byte) rnd.nextInt(256);
                    }
                    b = longer;
                }
                default -> {
                    // another packet's header over this one's: plausible fields in the wrong places
                    byte[] other = others.get(rnd.nextInt(others.size())).bytes();
                    int at = Math.min(b.length, ip + rnd.nextInt(40));
                    int len = Math.min(8 + rnd.nextInt(40), Math.min(b.length - at, other.length - Math.min(at, other.length)));
                    if (len > 0) {
                        System.arraycopy(other, at, b, at, len);
                    }
                }
            }
        }
        if (rnd.nextBoolean() && b.length >= ip + 20) {
            HostileInputTest.fixIpChecksum(b, ip);
        }
        return b;
    }

    /** Mostly the first 60 bytes of the IPv4 packet (headers), sometimes anywhere. */
    static int headerOffset(byte[] b, int ip, Random rnd) {
        if (b.length > ip && rnd.nextInt(4) != 0) {
            return ip + rnd.nextInt(Math.min(60, b.length - ip));
        }
        return rnd.nextInt(b.length);
    }
}
