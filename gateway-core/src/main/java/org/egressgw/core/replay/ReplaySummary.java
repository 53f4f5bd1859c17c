package org.egressgw.core.replay;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.DropReason;

/**
 * What a replay did: frames read and skipped per input (with reasons), packets in and out and
 * drops by reason per direction, connections created. {@link #print} writes the text the CLI shows,
 * which is stable for a given input, so tests can compare it.
 */
public final class ReplaySummary {
    private final Path tunnelIn;
    private final Path egressIn;
    long tunnelFrames;
    long tunnelReplayed;
    long egressFrames;
    long egressReplayed;
    private final Map<String, Long> tunnelSkipped = new LinkedHashMap<>();
    private final Map<String, Long> egressSkipped = new LinkedHashMap<>();
    private final long[] request = new long[Counters.SIZE];
    private final long[] reply = new long[Counters.SIZE];
    private final long[] tunnelPort = new long[Counters.SIZE];
    private final long[] egressPort = new long[Counters.SIZE];
    private long tunnelOut;
    private long egressOut;
    private long liveConnections;

    ReplaySummary(Path tunnelIn, Path egressIn) {
        this.tunnelIn = tunnelIn;
        this.egressIn = egressIn;
    }

    void skipTunnel(String reason) {
        tunnelSkipped.merge(reason, 1L, Long::sum);
    }

    void skipEgress(String reason) {
        egressSkipped.merge(reason, 1L, Long::sum);
    }

    void finish(ReplayPipeline p, long tunnelOutPackets, long egressOutPackets) {
        for (int i = 0; i < Counters.SIZE; i++) {
            request[i] = p.requestCounters().get(i);
            reply[i] = p.replyCounters().get(i);
            tunnelPort[i] = p.tunnelPortCounters().get(i);
            egressPort[i] = p.egressPortCounters().get(i);
        }
        tunnelOut = tunnelOutPackets;
        egressOut = egressOutPackets;
        liveConnections = p.table().size();
    }

    /** Datagrams from the tunnel capture handed to the pipeline. */
    public long tunnelReplayed() {
        return tunnelReplayed;
    }

    /** Packets from the egress capture handed to the pipeline. */
    public long egressReplayed() {
        return egressReplayed;
    }

    /** Packets written to tunnel-out. */
    public long tunnelOut() {
        return tunnelOut;
    }

    /** Packets written to egress-out. */
    public long egressOut() {
        return egressOut;
    }

    /** Request-direction drops for {@code reason} (datapath and tunnel port together). */
    public long requestDrops(int reason) {
        return request[Counters.DROPS + reason] + tunnelPort[Counters.DROPS + reason];
    }

    /** Reply-direction drops for {@code reason} (datapath and egress port together). */
    public long replyDrops(int reason) {
        return reply[Counters.DROPS + reason] + egressPort[Counters.DROPS + reason];
    }

    /** Writes the summary as the CLI shows it. */
    public void print(PrintStream out) {
        out.println("tunnel-in  " + tunnelIn.getFileName() + ": " + tunnelFrames + " frames, " + tunnelReplayed
                + " datagrams to the tunnel port replayed" + skipped(tunnelSkipped));
        if (egressIn != null) {
            out.println("egress-in  " + egressIn.getFileName() + ": " + egressFrames + " frames, " + egressReplayed
                    + " packets to an egress IP replayed" + skipped(egressSkipped));
        }
        direction(out, "request (tunnel -> egress)", request, tunnelPort);
        direction(out, "reply   (egress -> tunnel)", reply, egressPort);
        out.println("written: egress-out " + egressOut + " packets, tunnel-out " + tunnelOut + " packets");
        out.println("connections: " + request[Counters.CONN_CREATED] + " created, " + request[Counters.CONN_EXPIRED]
                + " expired, " + request[Counters.CONN_EVICTED] + " evicted, " + liveConnections + " live at the end");
    }

    private static String skipped(Map<String, Long> m) {
        if (m.isEmpty()) {
            return "";
        }
        StringBuilder b = new StringBuilder("; skipped:");
        String sep = " ";
        for (Map.Entry<String, Long> e : m.entrySet()) {
            b.append(sep).append(e.getValue()).append(' ').append(e.getKey());
            sep = ", ";
        }
        return b.toString();
    }

    private static void direction(PrintStream out, String name, long[] c, long[] port) {
        long drops = 0;
        StringBuilder reasons = new StringBuilder();
        for (int r = 0; r < DropReason.COUNT; r++) {
            long n = c[Counters.DROPS + r] + port[Counters.DROPS + r];
            if (n > 0) {
                drops += n;
                reasons.append(reasons.length() == 0 ? ": " : ", ").append(DropReason.name(r)).append(' ').append(n);
            }
        }
        long portDrops = 0;
        for (int r = 0; r < DropReason.COUNT; r++) {
            portDrops += port[Counters.DROPS + r];
        }
        StringBuilder extra = new StringBuilder();
        appendIf(extra, "ARP replies", c[Counters.ARP_REPLIES]);
        appendIf(extra, "ICMP errors sent", c[Counters.ICMP_ERRORS_SENT]);
        appendIf(extra, "frag-needed sent", c[Counters.FRAG_NEEDED_SENT]);
        appendIf(extra, "MSS clamped", c[Counters.MSS_CLAMPED]);
        out.println(name + ": in " + (c[Counters.RX_PACKETS] + portDrops) + " packets / " + c[Counters.RX_BYTES]
                + " bytes, out " + c[Counters.TX_PACKETS] + " packets / " + c[Counters.TX_BYTES] + " bytes, dropped "
                + drops + reasons + extra);
    }

    private static void appendIf(StringBuilder b, String what, long n) {
        if (n > 0) {
            b.append("; ").append(what).append(' ').append(n);
        }
    }
}
