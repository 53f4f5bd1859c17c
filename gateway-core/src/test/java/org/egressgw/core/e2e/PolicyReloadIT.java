package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * Issue 4's hot reload through the real kernel: policy files edited while traffic flows. Changes
 * that do not concern a flow lose none of its packets; removing its policy stops new connections
 * while the existing flow drains (keeps its translation until idle); restoring it serves new
 * connections again; a broken edit is refused with file and line while the last good version of
 * the policy stays in force. Also the CLI's online views (list, explain, status, validate --admin).
 */
class PolicyReloadIT extends EndToEndBase {
    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    private Path policyDir() {
        return topo.workDir().resolve("gateway/policies");
    }

    private static String otherPolicy(int i) {
        return """
                apiVersion: cilium.io/v2
                kind: CiliumEgressGatewayPolicy
                metadata:
                  name: unrelated-%d
                spec:
                  selectors:
                  - podSelector:
                      matchLabels:
                        app: frontend
                  destinationCIDRs: ["198.18.%d.0/24"]
                  egressGateway:
                    nodeSelector:
                      matchLabels:
                        node-role.kubernetes.io/egress-gateway: "true"
                    egressIP: "192.0.2.10"
                """.formatted(i, i % 200);
    }

    private long appliedChanges() throws Exception {
        return gateway.log().lines().filter(l -> l.startsWith("cluster: applied change")).count();
    }

    @Test
    void twentyUnrelatedReloadsLoseNoPacket() throws Exception {
        Path ping = topo.workDir().resolve("ping-reload.log");
        Process p = topo.start(topo.pod1(), List.of("ping", "-n", "-i", "0.01", "-c", "1500", "-W", "1", Topology.SERVER_IP), ping);
        long before = appliedChanges();
        for (int i = 0; i < 20; i++) {
            Files.writeString(policyDir().resolve("unrelated.yaml"), otherPolicy(i));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (appliedChanges() < before + i + 1 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
        }
        assertTrue(appliedChanges() >= before + 20, () -> "20 changes applied, each within 1 s:\n" + log());
        assertTrue(p.waitFor(40, TimeUnit.SECONDS), "ping finished");
        String out = Files.readString(ping);
        assertTrue(out.contains(" 0% packet loss"), out);
        Files.delete(policyDir().resolve("unrelated.yaml"));
    }

    @Test
    void removingThePolicyStopsNewConnectionsAndDrainsTheExistingFlow() throws Exception {
        Path ping = topo.workDir().resolve("ping-drain.log");
        // an existing flow: one ICMP echo "connection" that keeps its identifier
        Process p = topo.start(topo.pod1(), List.of("ping", "-n", "-i", "0.2", "-c", "30", "-W", "1", Topology.SERVER_IP), ping);
        Thread.sleep(1000);
        Path policy = policyDir().resolve("payment.yaml");
        String saved = Files.readString(policy);
        long before = appliedChanges();
        Files.delete(policy);
        waitForChange(before);
        assertTrue(gateway.log().contains("policy: no longer serving payment-processor-egress"), this::log);
        double noPolicy = metric(metrics(), "egw_drops_total{direction=\"request\",reason=\"no_policy\"}");
        ExecResult refused = topo.probes().httpGetResult(topo.pod1(), "http://" + Topology.SERVER_IP + "/", Duration.ofSeconds(2));
        assertNotEquals(0, refused.exitCode(), "a new connection is no longer served: " + refused);
        assertTrue(metric(metrics(), "egw_drops_total{direction=\"request\",reason=\"no_policy\"}") > noPolicy);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        String out = Files.readString(ping);
        assertTrue(out.contains(" 0% packet loss"), "the existing flow drained without loss: " + out);

        before = appliedChanges();
        Files.writeString(policy, saved);
        waitForChange(before);
        assertTrue(topo.probes().httpGet(topo.pod1(), "http://" + Topology.SERVER_IP + "/").contains("you are " + Topology.EGRESS_IP));
    }

    @Test
    void onlineViewsOfTheRunningGateway() {
        ExecResult list = cli("list", "--admin", Topology.ADMIN_LISTEN);
        assertTrue(list.ok() && list.stdout().contains("10.244.1.10") && list.stdout().contains("192.0.2.10")
                && list.stdout().contains("payment-processor-egress"), list::toString);
        ExecResult explain = cli("explain", "--pod", "default/pod2", "--dst", "203.0.113.5:80", "--admin", Topology.ADMIN_LISTEN);
        assertEquals(3, explain.exitCode(), explain::toString);
        assertTrue(explain.stdout().contains("NO_POLICY") && explain.stdout().contains("frontend"), explain::toString);
        ExecResult served = cli("explain", "--pod", "default/pod1", "--dst", "203.0.113.5", "--admin", Topology.ADMIN_LISTEN);
        assertEquals(0, served.exitCode(), served::toString);
        assertTrue(served.stdout().contains("SERVED_HERE") && served.stdout().contains("192.0.2.10"), served::toString);
        ExecResult status = cli("status", "--admin", Topology.ADMIN_LISTEN, "-o", "json");
        assertTrue(status.ok() && status.stdout().contains("payment-processor-egress"), status::toString);
        ExecResult validate = cli("validate", "--admin", Topology.ADMIN_LISTEN);
        assertEquals(0, validate.exitCode(), validate::toString);
    }

    @Test
    void aBrokenEditIsRefusedWithFileAndLineAndTheLastGoodStateKept() throws Exception {
        Path policy = policyDir().resolve("payment.yaml");
        String saved = Files.readString(policy);
        long before = appliedChanges();
        Files.writeString(policy, saved.replace("203.0.113.0/24", "203.0.113.0/33"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (!gateway.log().contains("refused: ") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(gateway.log().lines().anyMatch(l -> l.startsWith("refused: ") && l.contains("payment.yaml:")
                && l.contains("203.0.113.0/33")), this::log);
        assertTrue(gateway.log().contains("its last good version stays in force"), this::log);
        assertTrue(topo.probes().httpGet(topo.pod1(), "http://" + Topology.SERVER_IP + "/").contains("you are " + Topology.EGRESS_IP),
                "the last good policy is still served");
        ExecResult v = cli("validate", policy.toString());
        assertEquals(1, v.exitCode(), v::toString);
        assertTrue(v.stdout().contains("payment.yaml:") && v.stdout().contains("/33"), v::toString);
        Files.writeString(policy, saved);
        waitForChange(before);
        assertTrue(topo.probes().httpGet(topo.pod1(), "http://" + Topology.SERVER_IP + "/").contains("you are " + Topology.EGRESS_IP));
    }

    private void waitForChange(long before) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (appliedChanges() <= before && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(appliedChanges() > before, this::log);
    }

    private String log() {
        try {
            return gateway.log();
        } catch (Exception e) {
            return e.toString();
        }
    }
}
