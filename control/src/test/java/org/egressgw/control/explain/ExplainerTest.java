package org.egressgw.control.explain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;
import org.egressgw.control.explain.Explanation.Verdict;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.policy.EgressPolicy;
import org.egressgw.control.policy.PolicyCompiler;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.control.yaml.YamlFiles;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ExplainerTest {
    @TempDir
    Path dir;

    private Explanation explain(String pod, String dst) throws Exception {
        ClusterState s = Fixture.load(dir);
        int port = dst.contains(":") ? Integer.parseInt(dst.substring(dst.indexOf(':') + 1)) : -1;
        int ip = Ipv4Address.parse(dst.contains(":") ? dst.substring(0, dst.indexOf(':')) : dst);
        if (Ipv4Address.isValid(pod)) {
            return Explainer.explain(s, "gw-1", Fixture.IFACES, "ext0", Ipv4Address.parse(pod), ip, port);
        }
        return Explainer.explain(s, "gw-1", Fixture.IFACES, "ext0", PodRef.parse(pod), ip, port);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        // source        | destination     | verdict          | policy             | gateway | egress IP   | a reason contains
        "pay/pay-1       | 203.0.113.5:443 | SERVED_HERE      | payment-egress     | gw-1    | 192.0.2.10  | this gateway gw-1 (198.51.100.2) serves it with egress IP 192.0.2.10 (egressIP)",
        "10.244.1.10     | 203.0.113.5     | SERVED_HERE      | payment-egress     | gw-1    | 192.0.2.10  | 10.244.1.10 is pod pay/pay-1",
        "pay/pay-1       | 203.0.113.200   | EXCLUDED         | payment-egress     | -       | -           | destination 203.0.113.200 excluded by excludedCIDRs 203.0.113.128/25 of policy payment-egress",
        "web/front       | 198.18.0.1      | SERVED_ELSEWHERE | frontend-elsewhere | gw-2    | 192.0.2.20  | gateway node gw-2 (198.51.100.3) (first node by name matching {role=gw2}) serves it, not this gateway (gw-1)",
        "web/front       | 192.0.2.1       | ERROR            | nogw               | -       | -           | no node matches the gateway nodeSelector {role=missing} of spec.egressGateway of policy nogw",
        "pay/pay-1       | 198.51.100.7    | ERROR            | iface-policy       | gw-1    | -           | egress IP not present on gateway gw-1 (198.51.100.2): interface 'eth9' has no IPv4 address",
        "web/front       | 203.0.113.5     | NO_POLICY        | -                  | -       | -           | policy payment-egress covers 203.0.113.5 (203.0.113.0/24) but does not select the pod: selectors[0]: podSelector {app=payment-processor}: label app is 'frontend', wants 'payment-processor'",
        "web/front       | 203.0.113.5     | NO_POLICY        | -                  | -       | -           | policy frontend-elsewhere selects the pod (selectors[0]) but its destinationCIDRs [198.18.0.0/15] do not cover 203.0.113.5",
        "web/impostor    | 203.0.113.5     | NO_POLICY        | -                  | -       | -           | selectors[0]: namespaceSelector {team=payments}: namespace 'web' label team is 'web', wants 'payments'",
        "pay/pay-1       | 8.8.8.8         | NO_POLICY        | -                  | -       | -           | selectors[0]: nodeSelector {zone=b}: node 'worker-a' label zone is 'a', wants 'b'",
        "web/front       | 203.0.113.5     | NO_POLICY        | -                  | -       | -           | policy broken was refused and is not applied: ",
        "pay/pay-1       | 1.1.1.1         | NO_POLICY        | -                  | -       | -           | no CiliumEgressGatewayPolicy has a destinationCIDR covering 1.1.1.1",
        "10.9.9.9        | 203.0.113.5     | NO_POLICY        | -                  | -       | -           | no pod has IP 10.9.9.9",
        "pay/missing     | 203.0.113.5     | ERROR            | -                  | -       | -           | pod pay/missing not found",
        "pay/pending     | 203.0.113.5     | ERROR            | -                  | -       | -           | pod pay/pending has no IPv4 address",
    })
    void verdictsAndReasons(String pod, String dst, Verdict verdict, String policy, String gateway, String egress,
                            String reason) throws Exception {
        Explanation e = explain(pod, dst);
        String all = e.toText();
        assertEquals(verdict, e.verdict(), all);
        assertEquals(policy, e.policy(), all);
        assertEquals(gateway, e.gatewayNode(), all);
        assertEquals(egress == null ? OptionalInt.empty() : OptionalInt.of(Ipv4Address.parse(egress)), e.egressIp(), all);
        assertTrue(e.reasons().stream().anyMatch(r -> r.contains(reason)), all);
        assertTrue(e.reasons().stream().noneMatch(r -> r.startsWith("internal:")), all);
        assertEquals(all, explain(pod, dst).toText(), "deterministic");
    }

    @Test
    void textAndJson() throws Exception {
        Explanation e = explain("pay/pay-1", "203.0.113.5:443");
        assertTrue(e.toText().startsWith("pay/pay-1 (10.244.1.10) -> 203.0.113.5:443: SERVED_HERE, policy payment-egress, "
                + "gateway gw-1, egress IP 192.0.2.10\n  - pod pay/pay-1 has IPv4 10.244.1.10 and runs on node worker-a\n"), e.toText());
        assertTrue(e.toJson().startsWith("{\"verdict\":\"SERVED_HERE\",\"source\":\"pay/pay-1 (10.244.1.10)\","
                + "\"destination\":\"203.0.113.5:443\",\"policy\":\"payment-egress\",\"gatewayNode\":\"gw-1\","
                + "\"egressIP\":\"192.0.2.10\",\"reasons\":[\"pod pay/pay-1"), e.toJson());
    }

    @Test
    void podRefParsing() {
        assertEquals(new PodRef("pay", "pay-1"), PodRef.parse("pay/pay-1"));
        assertEquals(new PodRef("default", "x"), PodRef.parse("x"));
        for (String bad : List.of("", "/x", "x/", "a/b/c", " ")) {
            assertThrowsIae(bad);
        }
    }

    private static void assertThrowsIae(String s) {
        try {
            PodRef.parse(s);
        } catch (IllegalArgumentException e) {
            return;
        }
        throw new AssertionError("accepted '" + s + "'");
    }

    /**
     * The explainer re-evaluates policies independently of the compiled table: on random clusters
     * both must agree (the explainer flags disagreement with an "internal:" reason).
     */
    @Test
    void explainerAgreesWithTheTableOnRandomClusters() throws Exception {
        Random rnd = new Random(0xe9_2026L);
        String[] apps = {"a", "b", "c"};
        String[] dests = {"203.0.113.0/24", "203.0.113.0/25", "203.0.113.64/26", "0.0.0.0/0", "198.51.100.0/24"};
        for (int round = 0; round < 40; round++) {
            List<NodeObj> nodes = new ArrayList<>();
            for (int n = 0; n < 4; n++) {
                nodes.add(new NodeObj("gw-" + n, Map.of("gw", "g" + rnd.nextInt(3)),
                        OptionalInt.of(Ipv4Address.parse("198.51.100." + (10 + rnd.nextInt(50)))), "n:1"));
            }
            List<Pod> pods = new ArrayList<>();
            for (int p = 0; p < 12; p++) {
                pods.add(new Pod("ns" + rnd.nextInt(2), "p" + p, "uid-" + rnd.nextInt(1000),
                        Map.of("app", apps[rnd.nextInt(apps.length)]), "gw-" + rnd.nextInt(4),
                        List.of(Ipv4Address.parse("10.0.0." + (p + 1))), "p:1"));
            }
            List<EgressPolicy> policies = new ArrayList<>();
            for (int q = 0; q < 1 + rnd.nextInt(5); q++) {
                StringBuilder gws = new StringBuilder("  egressGateways:\n");
                for (int g = 0; g < 1 + rnd.nextInt(3); g++) {
                    gws.append("  - nodeSelector: {matchLabels: {gw: g").append(rnd.nextInt(4)).append("}}\n");
                    gws.append(rnd.nextBoolean() ? "    egressIP: 192.0.2." + (1 + rnd.nextInt(9)) + "\n"
                            : rnd.nextBoolean() ? "    interface: eth9\n" : "");
                }
                String yaml = "apiVersion: cilium.io/v2\nkind: CiliumEgressGatewayPolicy\nmetadata: {name: q" + q + "}\n"
                        + "spec:\n  selectors: [{podSelector: {matchLabels: {app: " + apps[rnd.nextInt(3)] + "}}}]\n"
                        + "  destinationCIDRs: [" + dests[rnd.nextInt(dests.length)] + ", " + dests[rnd.nextInt(dests.length)] + "]\n"
                        + (rnd.nextBoolean() ? "  excludedCIDRs: [" + dests[rnd.nextInt(dests.length)] + "]\n" : "") + gws;
                policies.add(EgressPolicy.parse(YamlFiles.parse("q.yaml", yaml).get(0), new ArrayList<>()));
            }
            ClusterState s = new ClusterState(pods, List.of(), nodes, policies, List.of());
            CompiledPolicies c = PolicyCompiler.compile(s, "gw-" + rnd.nextInt(4), Fixture.IFACES, "ext0");
            for (Pod p : pods) {
                for (int i = 0; i < 5; i++) {
                    int dst = Ipv4Address.parse(rnd.nextBoolean() ? "203.0.113.0" : "198.51.100.0") + rnd.nextInt(256);
                    Explanation e = Explainer.explain(s, c, new PodRef(p.namespace(), p.name()), dst, -1);
                    assertFalse(e.reasons().stream().anyMatch(r -> r.startsWith("internal:")), e.toText());
                    int code = c.table().lookup(p.ipv4Addresses().get(0), dst);
                    Verdict expected = code >= 0 ? Verdict.SERVED_HERE : switch (code) {
                        case PolicyTable.EXCLUDED -> Verdict.EXCLUDED;
                        case PolicyTable.NO_POLICY -> Verdict.NO_POLICY;
                        case PolicyTable.NO_EGRESS_IP -> Verdict.ERROR;
                        default -> e.gatewayNode() == null ? Verdict.ERROR : Verdict.SERVED_ELSEWHERE;
                    };
                    assertEquals(expected, e.verdict(), e.toText());
                }
            }
        }
    }
}
