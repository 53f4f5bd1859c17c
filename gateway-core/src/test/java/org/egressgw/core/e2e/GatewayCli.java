package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Topology;

/** How the end-to-end tests reach a running gateway: its launcher, its CLI and its metrics. */
final class GatewayCli {
    private GatewayCli() {
    }

    /** bin/egress-gateway of this build (failsafe sets egw.home to the repository). */
    static Path launcher() {
        return Path.of(System.getProperty("egw.home", "..")).toAbsolutePath().normalize().resolve("bin/egress-gateway");
    }

    /** Runs the CLI (bin/egress-gateway ARGS) inside the gateway's namespace. */
    static ExecResult cli(Topology topo, String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = launcher().toString();
        System.arraycopy(args, 0, cmd, 1, args.length);
        return topo.exec(topo.gw(), Duration.ofSeconds(30), cmd);
    }

    /** The gateway's /metrics page, fetched inside its namespace. */
    static String metrics(Topology topo, Duration timeout) {
        ExecResult r = topo.exec(topo.gw(), timeout, "curl", "-sS", "http://" + Topology.ADMIN_LISTEN + "/metrics");
        assertTrue(r.ok(), () -> "metrics: " + r);
        return r.stdout();
    }

    /** The value of one sample ({@code name{labels}}) on a metrics page, 0 when absent. */
    static double metric(String metrics, String nameAndLabels) {
        return metrics.lines().filter(l -> l.startsWith(nameAndLabels + " ")).findFirst()
                .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).orElse(0.0);
    }
}
