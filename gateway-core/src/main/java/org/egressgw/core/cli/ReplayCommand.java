package org.egressgw.core.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.core.replay.DropCapture;
import org.egressgw.core.replay.Replay;
import org.egressgw.core.replay.ReplaySummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code replay}: runs captures through the gateway's pipeline with pcap files as its ports — no
 * kernel plumbing, no privileges — and prints what went where and what was dropped why.
 */
@Command(name = "replay", description = {
    "Replay captures through the gateway's datapath (no root, no interfaces touched).",
    "tunnel-in: frames captured on the underlay (VXLAN to the tunnel address:port; the rest is skipped);",
    "egress-in: packets to the egress IP(s) captured on the egress side (Ethernet, TUN/raw or Linux cooked);",
    "outputs are raw-IPv4 pcaps: egress-out = what goes to the TUN device, tunnel-out = VXLAN to the nodes."})
final class ReplayCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "Gateway configuration (YAML).")
    Path config;

    @Option(names = "--tunnel-in", required = true, paramLabel = "IN.pcap", description = "Capture from the gateway's underlay.")
    Path tunnelIn;

    @Option(names = "--egress-in", paramLabel = "REPLIES.pcap", description = "Capture from the egress side (replies), merged by time.")
    Path egressIn;

    @Option(names = "--tunnel-out", required = true, paramLabel = "OUT.pcap", description = "Where encapsulated packets to the nodes go.")
    Path tunnelOut;

    @Option(names = "--egress-out", required = true, paramLabel = "OUT.pcap", description = "Where translated packets to the egress side go.")
    Path egressOut;

    @Option(names = "--capture-drops", paramLabel = "DIR", description = "Also write dropped packets and their reasons to DIR (drops-N.pcap + drops-N.log).")
    Path captureDrops;

    @Option(names = "--conntrack-entries", paramLabel = "N", defaultValue = "65536",
            description = "Connection table size for the replay (default ${DEFAULT-VALUE}; 0 = the configuration's).")
    int conntrackEntries;

    @Override
    public Integer call() {
        // pcap4j reports every handle it opens and closes at INFO; the summary is what the user wants to read
        System.setProperty("org.slf4j.simpleLogger.log.org.pcap4j", "warn");
        GatewayConfig cfg;
        try {
            cfg = GatewayConfig.load(config);
        } catch (SourceException e) {
            System.err.println("egress-gateway: refused configuration: " + e.getMessage());
            return 2;
        }
        try (Replay replay = Replay.open(cfg, System.out, tunnelOut, egressOut, conntrackEntries)) {
            DropCapture drops = null;
            if (captureDrops != null) {
                // a replay is not a flood: every drop is wanted, stamped with the capture's time
                drops = DropCapture.startLossless(captureDrops, cfg.tunnel().listenIp(), cfg.tunnel().listenPort(),
                        replay::currentMicros);
                replay.dropObserver(drops);
            }
            ReplaySummary summary;
            try {
                summary = replay.run(tunnelIn, egressIn);
            } finally {
                if (drops != null) {
                    drops.close();
                }
            }
            summary.print(System.out);
            if (drops != null) {
                System.out.println(drops.summary());
            }
            return 0;
        } catch (IOException e) {
            System.err.println("egress-gateway: replay failed: " + e.getMessage());
            return 1;
        }
    }
}
