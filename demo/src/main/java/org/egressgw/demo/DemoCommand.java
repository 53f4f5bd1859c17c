package org.egressgw.demo;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.egressgw.core.cli.CommandExtension;
import org.egressgw.testbed.GatewayProcess;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code demo}: builds a small cluster out of network namespaces (two pods on a node whose kernel
 * VXLAN device tunnels to this gateway, an external server), runs the gateway on it, shows which
 * source address the server saw for each pod, and tears everything down.
 *
 * <p>Lives in its own module with the test bed it needs, so a gateway node's jar carries neither; the
 * launcher puts this module on the class path when it was built, and {@code Main} finds the command
 * through {@link java.util.ServiceLoader}.
 */
@Command(name = "demo", description = "Self-contained demo in network namespaces (needs root, iproute2, iptables, curl, python3).")
public final class DemoCommand implements Callable<Integer>, CommandExtension {
    @Option(names = "--assigned-egress-ip", description = "Also assign the egress IP to the gateway's egress interface.")
    boolean assigned;

    @Option(names = "--keep", description = "Keep the work directory (configs, logs) after the demo.")
    boolean keep;

    @Override
    public Integer call() throws Exception {
        Topology.cleanupStale();
        System.out.println("""
                == topology (network namespaces) ==
                  pod1 10.244.1.10 (app=payment-processor)   pod2 10.244.1.11 (app=frontend)
                        \\                                        /
                  node-a: bridge 10.244.1.1, kernel vxlan0 (VNI 2, UDP 8472) -> gateway; only pod1 -> 203.0.113.0/24 is tunnelled
                        | underlay 198.51.100.0/24
                  gw-1:  egress-gateway (this program) on 198.51.100.2:8472, egress ext0 192.0.2.2, egress IP 192.0.2.10
                        | 192.0.2.0/24
                  ext:   server 203.0.113.5 and 198.18.0.5 (HTTP :80, UDP echo :7, ping)
                """);
        try (Topology topo = Topology.create(assigned ? TopologyOptions.userspaceWithAssignedEgressIp() : TopologyOptions.userspace())) {
            topo.keepWorkDir(keep);
            java.nio.file.Path config = topo.writeGatewayFiles();
            System.out.println("== starting the gateway: ip netns exec " + topo.gw() + " egress-gateway run --config " + config + " ==");
            GatewayProcess gw = GatewayProcess.start(topo, GatewayProcess.command("run", "--config", config.toString()), Duration.ofSeconds(60));
            int exit;
            try {
                print(gw.log());
                System.out.println("== traffic ==");
                String http1 = step("pod1 (payment-processor) -> http://203.0.113.5/", topo.probes().httpGetResult(topo.pod1(), "http://" + Topology.SERVER_IP + "/"));
                String http2 = step("pod2 (frontend)          -> http://203.0.113.5/", topo.probes().httpGetResult(topo.pod2(), "http://" + Topology.SERVER_IP + "/"));
                String http3 = step("pod1 (payment-processor) -> http://198.18.0.5/ (not in destinationCIDRs)", topo.probes().httpGetResult(topo.pod1(), "http://" + Topology.OTHER_SERVER_IP + "/"));
                step("pod1 UDP echo            -> 203.0.113.5:7", topo.probes().udpEchoResult(topo.pod1(), Topology.SERVER_IP, Topology.UDP_ECHO_PORT, "hello over udp"));
                step("pod1 ping                -> 203.0.113.5", topo.probes().pingResult(topo.pod1(), Topology.SERVER_IP, 3));
                System.out.println("== what the external server saw (source address of each request) ==");
                System.out.println("  payment-processor -> " + seenAs(http1) + "   (to 203.0.113.5, covered by the policy: the egress IP)");
                System.out.println("  frontend -> " + seenAs(http2) + "   (to 203.0.113.5, pod not selected: the node's address)");
                System.out.println("  payment-processor -> " + seenAs(http3) + "   (to 198.18.0.5, not a policy destination: the node's address)");
                System.out.println("  server log:");
                for (String line : topo.serverLog()) {
                    System.out.println("    " + line);
                }
                ExecResult m = topo.exec(topo.gw(), Duration.ofSeconds(5), "curl", "-sS", "http://" + Topology.ADMIN_LISTEN + "/metrics");
                System.out.println("== gateway metrics (non-zero) ==");
                m.stdout().lines().filter(l -> !l.startsWith("#") && !l.endsWith(" 0.0") && !l.endsWith(" 0")).forEach(l -> System.out.println("  " + l));
            } finally {
                exit = gw.stop();
            }
            System.out.println("== gateway stopped (exit code " + exit + ") ==");
            List<String> tail = gw.log().lines().filter(l -> l.startsWith("plumbing: -") || l.contains("stopped")).toList();
            tail.forEach(l -> System.out.println("  " + l));
            if (keep) {
                System.out.println("work directory kept: " + topo.workDir());
            }
        }
        System.out.println("== topology removed ==");
        return 0;
    }

    private static void print(String log) {
        log.lines().forEach(l -> System.out.println("  " + l));
    }

    private static String step(String what, ExecResult r) {
        String summary = r.stdout().lines().filter(l -> l.contains("transmitted")).findFirst().orElse(r.stdout());
        String result = r.ok() ? summary.strip().replace('\n', ' ') : "FAILED (" + r.exitCode() + ") " + r.stderr().strip();
        if (result.length() > 160) {
            result = result.substring(0, 160) + "...";
        }
        System.out.println("  " + what + ": " + result);
        return r.ok() ? r.stdout() : "";
    }

    /** The client address in the server's answer "you are 192.0.2.10". */
    private static String seenAs(String body) {
        int i = body.indexOf("you are ");
        return i < 0 ? "(no answer)" : body.substring(i + 8).strip();
    }
}
