package org.egressgw.core.replay;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.DropReason;

/**
 * The replay pipeline of the corpus configuration, offered one packet at a time, with what each
 * packet caused: drops (counted over every reason, datapath and ports) and outputs.
 */
final class Harness implements AutoCloseable {
    /** One input: a VXLAN payload from {@code peer}, or an IPv4 packet from the egress side. */
    record Input(boolean reply, byte[] bytes, int peer, long timeMillis) {
        Input withBytes(byte[] b) {
            return new Input(reply, b, peer, timeMillis);
        }
    }

    /** What one offered packet caused. */
    record Effect(long drops, List<byte[]> outputs) {
    }

    final ReplayPipeline pipeline;
    private final List<byte[]> out = new ArrayList<>();
    private final UnsafeBuffer view = new UnsafeBuffer(new byte[0]);
    long offered;

    Harness(int tableEntries) throws IOException {
        GatewayConfig cfg = config();
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        this.pipeline = ReplayPipeline.fromConfig(cfg, quiet, tableEntries, out::add, out::add);
    }

    static GatewayConfig config() {
        try {
            return GatewayConfig.load(CorpusReplayTest.corpus().resolve("gateway/config.yaml"));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    Effect offer(Input in) {
        long before = drops();
        out.clear();
        offered++;
        view.wrap(in.bytes());
        if (in.reply()) {
            pipeline.reply(view, 0, in.bytes().length, in.timeMillis());
        } else {
            pipeline.request(view, 0, in.bytes().length, in.peer(), in.timeMillis());
        }
        return new Effect(drops() - before, List.copyOf(out));
    }

    long drops() {
        long n = 0;
        for (int r = 0; r < DropReason.COUNT; r++) {
            n += pipeline.requestCounters().drops(r) + pipeline.replyCounters().drops(r)
                    + pipeline.tunnelPortCounters().drops(r) + pipeline.egressPortCounters().drops(r);
        }
        return n;
    }

    long received() {
        long portDrops = 0;
        for (int r = 0; r < DropReason.COUNT; r++) {
            portDrops += pipeline.tunnelPortCounters().drops(r) + pipeline.egressPortCounters().drops(r);
        }
        return pipeline.requestCounters().get(Counters.RX_PACKETS) + pipeline.replyCounters().get(Counters.RX_PACKETS) + portDrops;
    }

    long connectionsCreated() {
        return pipeline.requestCounters().get(Counters.CONN_CREATED);
    }

    /** Every input of a capture pair, in time order (the replay's own merge). */
    static List<Input> load(String name) throws IOException {
        Path c = CorpusReplayTest.corpus();
        GatewayConfig cfg = config();
        List<Input> all = new ArrayList<>();
        try (CaptureReader t = CaptureReader.open(c.resolve(name + ".tunnel.pcap"));
                CaptureReader e = CaptureReader.open(c.resolve(name + ".egress.pcap"))) {
            boolean mt = t.next();
            boolean me = e.next();
            while (mt || me) {
                boolean takeT = mt && (!me || t.timeMicros() <= e.timeMicros());
                CaptureReader r = takeT ? t : e;
                byte[] f = r.frame();
                int ip = LinkLayer.ipv4Offset(r.dlt(), f, f.length);
                UnsafeBuffer b = new UnsafeBuffer(f);
                long ms = r.timeMicros() / 1000;
                if (ip >= 0 && takeT && org.egressgw.packet.Ipv4.dstAddress(b, ip) == cfg.tunnel().listenIp()) {
                    int hl = (f[ip] & 0x0f) * 4;
                    int udpLen = org.egressgw.packet.Udp.length(b, ip + hl);
                    byte[] payload = java.util.Arrays.copyOfRange(f, ip + hl + 8, ip + hl + udpLen);
                    all.add(new Input(false, payload, org.egressgw.packet.Ipv4.srcAddress(b, ip), ms));
                } else if (ip >= 0 && !takeT && org.egressgw.packet.Ipv4.dstAddress(b, ip) == org.egressgw.packet.Ipv4Address.parse(CorpusReplayTest.EGRESS_IP)) {
                    all.add(new Input(true, java.util.Arrays.copyOfRange(f, ip, ip + org.egressgw.packet.Ipv4.totalLength(b, ip)), 0, ms));
                }
                if (takeT) {
                    mt = t.next();
                } else {
                    me = e.next();
                }
            }
        }
        return all;
    }

    static final String[] CAPTURES = {"arp-icmp-echo", "tcp-http", "udp-echo", "ttl-expires-at-gateway",
        "icmp-time-exceeded-outside", "icmp-frag-needed-outside", "fragments", "tcp-download"};

    static List<Input> loadAll() throws IOException {
        List<Input> all = new ArrayList<>();
        for (String n : CAPTURES) {
            all.addAll(load(n));
        }
        return all;
    }

    @Override
    public void close() {
        pipeline.close();
    }
}
