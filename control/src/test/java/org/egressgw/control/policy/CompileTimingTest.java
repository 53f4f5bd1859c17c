package org.egressgw.control.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.yaml.YamlFiles;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;

/**
 * Compile time of 10 000 pods x 100 policies (the goal is under a second). Prints its timings and
 * asserts only a generous bound, so that a slow CI machine does not fail it; the benchmarks module
 * is the place for a JMH measurement.
 */
class CompileTimingTest {
    private static ClusterState cluster(boolean everyPolicySelectsEveryPod) throws Exception {
        List<NodeObj> nodes = List.of(new NodeObj("gw", Map.of("egress", "true"), OptionalInt.of(Ipv4Address.parse("198.51.100.2")), "n:1"));
        List<NamespaceObj> namespaces = new ArrayList<>();
        for (int n = 0; n < 50; n++) {
            namespaces.add(new NamespaceObj("ns" + n, Map.of("team", "t" + (n % 10)), "ns:1"));
        }
        List<Pod> pods = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            pods.add(new Pod("ns" + (i % 50), "pod-" + i, "uid-" + i, Map.of("app", "app" + (i % 100), "tier", "t" + (i % 3)),
                    "gw", List.of(Ipv4Address.parse("10.244.0.0") + i + 1), "p:1"));
        }
        List<EgressPolicy> policies = new ArrayList<>();
        for (int q = 0; q < 100; q++) {
            String selector = everyPolicySelectsEveryPod ? "{namespaceSelector: {}}"
                    : q % 2 == 0 ? "{podSelector: {matchLabels: {app: app" + q + "}}}"
                    : "{namespaceSelector: {matchLabels: {team: t" + (q % 10) + "}}, podSelector: {matchExpressions: "
                    + "[{key: tier, operator: In, values: [t1]}]}}";
            String yaml = "apiVersion: cilium.io/v2\nkind: CiliumEgressGatewayPolicy\nmetadata: {name: q" + q + "}\n"
                    + "spec:\n  selectors: [" + selector + "]\n  destinationCIDRs: [203.0." + (q % 256) + ".0/24]\n"
                    + "  excludedCIDRs: [203.0." + (q % 256) + ".128/25]\n"
                    + "  egressGateway: {nodeSelector: {matchLabels: {egress: \"true\"}}, egressIP: 192.0.2." + (q + 1) + "}\n";
            policies.add(EgressPolicy.parse(YamlFiles.parse("q.yaml", yaml).get(0), new ArrayList<>()));
        }
        return new ClusterState(pods, namespaces, nodes, policies, List.of());
    }

    @Test
    void tenThousandPodsTimesHundredPolicies() throws Exception {
        for (boolean all : new boolean[] {false, true}) {
            ClusterState s = cluster(all);
            long best = Long.MAX_VALUE;
            CompiledPolicies c = null;
            for (int i = 0; i < 3; i++) {
                long t0 = System.nanoTime();
                c = PolicyCompiler.compile(s, "gw", name -> OptionalInt.empty(), null);
                best = Math.min(best, System.nanoTime() - t0);
            }
            System.out.printf("compile 10000 pods x 100 policies (%s): %d ms, %d rules%n",
                    all ? "every policy selects every pod" : "~1-3% of pods per policy", best / 1_000_000,
                    c.table().ruleCount());
            assertEquals(100, c.served().size());
            assertTrue(best < 10_000_000_000L, "sanity bound only");
        }
    }
}
