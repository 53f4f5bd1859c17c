package org.egressgw.core.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.core.Gateway;
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
        Gateway gateway;
        try {
            gateway = Gateway.start(cfg, System.out);
        } catch (Exception e) {
            System.err.println("egress-gateway: could not start: " + e.getMessage());
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "egw-shutdown"));
        while (!stop.await(500, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            if (!gateway.healthy()) {
                System.err.println("egress-gateway: datapath stopped unexpectedly");
                gateway.close();
                return 1;
            }
        }
        gateway.close();
        return 0;
    }
}
