package org.egressgw.core.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.core.Gateway;
import org.egressgw.core.replay.DropCapture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code run --config FILE}: starts the gateway and serves until SIGTERM or SIGINT, then removes
 * its host plumbing and exits 0.
 */
@Command(name = "run", description = "Run the gateway with a configuration file.")
final class RunCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "Gateway configuration (YAML).")
    Path config;

    @Option(names = "--capture-drops", paramLabel = "DIR",
            description = "Write dropped packets and their reasons to rotating pcaps in DIR (10 x 10 MB, at most 1000 packets/s).")
    Path captureDrops;

    @Override
    public Integer call() throws Exception {
        GatewayConfig cfg;
        try {
            cfg = GatewayConfig.load(config);
        } catch (SourceException e) {
            System.err.println("egress-gateway: refused configuration: " + e.getMessage());
            return 2;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        DropCapture drops = null;
        Gateway gateway;
        try {
            if (captureDrops != null) {
                drops = DropCapture.start(captureDrops, cfg.tunnel().listenIp(), cfg.tunnel().listenPort(), DropCapture.Limits.defaults());
                System.out.println("capture-drops: writing dropped packets to " + captureDrops.toAbsolutePath());
            }
            gateway = Gateway.start(cfg, System.out, drops);
        } catch (Exception e) {
            System.err.println("egress-gateway: could not start: " + e.getMessage());
            if (drops != null) {
                drops.close();
            }
            return 1;
        }
        DropCapture capture = drops;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(gateway, capture), "egw-shutdown"));
        while (!stop.await(500, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            if (!gateway.datapathRunning()) {
                System.err.println("egress-gateway: datapath stopped unexpectedly");
                stop(gateway, capture);
                return 1;
            }
        }
        stop(gateway, capture);
        return 0;
    }

    /** The datapath first, then the capture it feeds; both idempotent. */
    private static synchronized void stop(Gateway gateway, DropCapture drops) {
        gateway.close();
        if (drops != null && drops.isOpen()) {
            drops.close();
            System.out.println(drops.summary());
            System.out.flush();
        }
    }
}
