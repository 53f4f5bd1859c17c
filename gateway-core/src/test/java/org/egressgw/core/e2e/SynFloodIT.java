package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Topology;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 3 acceptance: "a SYN flood that fills the table while one established TCP stream keeps
 * sending: the stream delivers every byte; the flood is counted".
 *
 * <p>The table holds {@code conntrack.maxEntries: 2048}. pod1 uploads 8 MB at about 1 MB/s to a
 * byte-counting sink on 203.0.113.5:5001 ({@code tcp_source.py} → {@code tcp_sink.py}, SHA-256 on
 * both ends). Once the upload runs, pod1 also sends 20000 SYNs through a raw socket (IP_HDRINCL),
 * each from a different source port, to 203.0.113.99:80, which ext blackholes so that nothing ever
 * answers and every flood entry stays unreplied (TCP_SYN_SENT, 60 s default timeout). The flood is
 * sent within about 3 s, well before the upload ends, which the test checks. The gateway must keep
 * the established stream (never evicted, its packets need no new entry) and count what it did with
 * the flood: unreplied entries evicted early ({@code egw_connections_evicted_total}) and/or new
 * flows refused ({@code egw_drops_total{reason="conntrack_full"}}).
 */
class SynFloodIT extends ConntrackEndToEndBase {
    private static final int SINK_PORT = 5001;
    private static final long STREAM_BYTES = 8L * 1024 * 1024;
    private static final int FLOOD = 20000;
    private static final String FLOOD_DST = "203.0.113.99";
    private static final String FULL = "egw_drops_total{direction=\"request\",reason=\"conntrack_full\"}";
    private static final String RING_FULL = "egw_drops_total{direction=\"request\",reason=\"ring_full\"}";

    @Override
    String config(String yaml) {
        return yaml + "conntrack: {maxEntries: 2048}\n";
    }

    @Override
    void prepare() {
        // nothing ever answers the flood: not even an ICMP unreachable
        must(topo.ext(), "ip", "route", "add", "blackhole", FLOOD_DST + "/32");
    }

    @Test
    @Timeout(90)
    void establishedStreamSurvivesAFloodThatFillsTheTable() throws Exception {
        Path ready = topo.workDir().resolve("sink.ready");
        Background sink = startPython(topo.ext(), "sink", "tcp_sink.py", Topology.SERVER_IP, Integer.toString(SINK_PORT),
                ready.toString());
        awaitFile(ready, sink, Duration.ofSeconds(10));
        String before = metrics();
        double capacity = metric(before, "egw_conntrack_capacity");

        Background stream = startPython(topo.pod1(), "stream", "tcp_source.py", Topology.SERVER_IP,
                Integer.toString(SINK_PORT), Long.toString(STREAM_BYTES), Integer.toString(1024 * 1024));
        String connected = stream.await("connected localport=", Duration.ofSeconds(10));
        String podPort = connected.substring(connected.indexOf('=') + 1).strip();
        Thread.sleep(1000);

        ExecResult flood = python(topo.pod1(), Duration.ofSeconds(30), "syn_flood.py", Topology.POD1_IP, FLOOD_DST, "80",
                Integer.toString(FLOOD), "3", "7");
        assertTrue(flood.ok(), flood::toString);
        Thread.sleep(300);
        String atFloodEnd = metrics();
        String list = cli("conntrack", "list").stdout();
        String stats = cli("conntrack", "stats").stdout();
        boolean streamStillRunning = stream.line("sent ").isEmpty();
        System.out.println("flood: " + flood.stdout() + nonZeroDrops(atFloodEnd) + stats);

        String done = stream.await("sink ", Duration.ofSeconds(60));
        assertEquals(0, stream.process().waitFor() , stream::output);
        String sent = stream.line("sent ").orElseThrow();
        // "sent N SHA in Ts" and "sink received N SHA"
        String mine = sent.split(" ")[1] + " " + sent.split(" ")[2];
        assertEquals("sink received " + mine, done, "the stream delivered every byte");
        assertEquals(Long.toString(STREAM_BYTES), sent.split(" ")[1]);
        assertTrue(streamStillRunning, () -> "the flood must end while the stream is still sending: " + stream.output());

        // the table really was full, and the stream's entry was there, established, throughout
        assertEquals(capacity, metric(atFloodEnd, "egw_conntrack_entries"), () -> "the flood filled the table: "
                + nonZeroDrops(atFloodEnd));
        assertTrue(list.lines().anyMatch(l -> l.startsWith("tcp") && l.contains(Topology.POD1_IP + ":" + podPort + " ")
                && l.contains("TCP_ESTABLISHED")), () -> "stream entry at the flood's end:\n"
                + list.lines().filter(l -> !l.contains(FLOOD_DST)).reduce("", (a, b) -> a + b + "\n"));

        // the flood is counted: every SYN either got an entry or was evicted/refused under a counted reason
        double evicted = metric(atFloodEnd, "egw_connections_evicted_total") - metric(before, "egw_connections_evicted_total");
        double refused = metric(atFloodEnd, FULL) - metric(before, FULL);
        double ringFull = metric(atFloodEnd, RING_FULL) - metric(before, RING_FULL);
        assertTrue(evicted + refused > 0, () -> "flood counted: " + nonZeroDrops(atFloodEnd) + stats);
        assertTrue(evicted + refused + ringFull >= FLOOD - capacity,
                () -> "every SYN beyond the table's capacity was evicted or refused, and counted: evicted " + evicted
                        + " refused " + refused + " ring_full " + ringFull + "\n" + nonZeroDrops(atFloodEnd) + stats);
        assertFalse(gatewayLog().contains("datapath stopped"), this::gatewayLog);
    }
}
