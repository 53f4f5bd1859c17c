package org.egressgw.control.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.Function;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.yaml.YamlFiles;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Foreign policies (NOT_SERVED_HERE) and multi-gateway pinning. */
class ForeignAndPinningTest {
    static final Function<String, OptionalInt> IFACES = name -> switch (name) {
        case "ext0" -> OptionalInt.of(ip("192.0.2.100"));
        default -> OptionalInt.empty();
    };

    final List<Pod> pods = new ArrayList<>();
    final List<NodeObj> nodes = new ArrayList<>();
    final List<EgressPolicy> policies = new ArrayList<>();

    static int ip(String s) {
        return Ipv4Address.parse(s);
    }

    void node(String name, String ip, Map<String, String> labels) {
        nodes.add(new NodeObj(name, labels, ip == null ? OptionalInt.empty() : OptionalInt.of(ip(ip)), "n.yaml:1"));
    }

    void pod(String name, String uid, String ip, Map<String, String> labels) {
        pods.add(new Pod("default", name, uid, labels, "worker", List.of(ip(ip)), "p.yaml:1"));
    }

    void policy(String name, String selector, String dests, String gateways) throws Exception {
        String yaml = "apiVersion: cilium.io/v2\nkind: CiliumEgressGatewayPolicy\nmetadata: {name: " + name + "}\n"
                + "spec:\n  selectors: [{podSelector: " + selector + "}]\n  destinationCIDRs: " + dests + "\n" + gateways;
        List<String> warnings = new ArrayList<>();
        policies.add(EgressPolicy.parse(YamlFiles.parse(name + ".yaml", yaml).get(0), warnings));
        assertEquals(List.of(), warnings);
    }

    CompiledPolicies compile(String node) {
        return PolicyCompiler.compile(state(), node, IFACES, "ext0");
    }

    ClusterState state() {
        return new ClusterState(pods, List.<NamespaceObj>of(), nodes, policies, List.of());
    }

    static String single(String label, String egressIp) {
        return "  egressGateway:\n    nodeSelector: {matchLabels: {" + label + ": \"true\"}}\n"
                + (egressIp == null ? "" : "    egressIP: " + egressIp + "\n");
    }

    /**
     * a-wide (served here, 0.0.0.0/0) and b-narrow (served by gw-2, 203.0.113.0/24) both select
     * the pod. On gw-1 traffic to 203.0.113.0/24 must be dropped, not SNATed with a-wide's IP.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        // node | dst            | expected
        "gw-1   | 203.0.113.9    | NOT_SERVED_HERE",
        "gw-1   | 198.51.100.9   | a-wide",
        "gw-2   | 203.0.113.9    | b-narrow",
        "gw-2   | 198.51.100.9   | NOT_SERVED_HERE",
        "gw-3   | 203.0.113.9    | NOT_SERVED_HERE",
        "gw-1   | 192.0.2.200    | EXCLUDED",
    })
    void bestMatchServedElsewhereIsDropped(String node, String dst, String expected) throws Exception {
        node("gw-1", "198.51.100.1", Map.of("one", "true"));
        node("gw-2", "198.51.100.2", Map.of("two", "true"));
        node("gw-3", "198.51.100.3", Map.of());
        pod("p", "u1", "10.0.0.1", Map.of("app", "x"));
        pod("other", "u2", "10.0.0.2", Map.of("app", "y"));
        policy("a-wide", "{matchLabels: {app: x}}", "[0.0.0.0/0]", single("one", "192.0.2.1"));
        policy("b-narrow", "{matchLabels: {app: x}}", "[203.0.113.0/24]", single("two", "192.0.2.2"));
        policy("c-excl", "{matchLabels: {app: x}}", "[192.0.2.0/24]", single("two", "192.0.2.3")
                .replace("  egressGateway:", "  excludedCIDRs: [192.0.2.128/25]\n  egressGateway:"));
        CompiledPolicies c = compile(node);
        int r = c.table().lookup(ip("10.0.0.1"), ip(dst));
        assertEquals(expected, r >= 0 ? c.table().policyName(r) : c.table().describe(r).toUpperCase().replace(' ', '_'));
        assertEquals(PolicyTable.NO_POLICY, c.table().lookup(ip("10.0.0.2"), ip(dst)), "unselected pod");
        assertEquals(3, c.resolvedPolicies().size(), "every policy is resolved");
    }

    /**
     * Three gateways listed out of IP order; sorted they are [gw-b .10, gw-c .20, gw-a .30]. Pins
     * from FNV-1a-32(uid) mod 3 (see Fnv1aTest): pod-1 -> 0, pod-2 -> 1, pod-3 -> 2, '' -> 1.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        // uid   | gateway node | egress IP
        "pod-1   | gw-b         | 192.0.2.2",
        "pod-2   | gw-c         | 192.0.2.3",
        "pod-3   | gw-a         | 192.0.2.1",
        "''      | gw-c         | 192.0.2.3",
        "foobar  | gw-c         | 192.0.2.3",
    })
    void endpointsArePinnedByFnvOfUidOverGatewaysSortedByIp(String uid, String gateway, String egress) throws Exception {
        node("gw-a", "198.51.100.30", Map.of("gw", "a"));
        node("gw-b", "198.51.100.10", Map.of("gw", "b"));
        node("gw-c", "198.51.100.20", Map.of("gw", "c"));
        pod("p", uid == null ? "" : uid, "10.0.0.1", Map.of());
        policy("multi", "{}", "[203.0.113.0/24]", """
                  egressGateways:
                  - nodeSelector: {matchLabels: {gw: a}}
                    egressIP: 192.0.2.1
                  - nodeSelector: {matchLabels: {gw: b}}
                    egressIP: 192.0.2.2
                  - nodeSelector: {matchLabels: {gw: c}}
                    egressIP: 192.0.2.3
                """);
        for (String node : List.of("gw-a", "gw-b", "gw-c")) {
            CompiledPolicies c = compile(node);
            int r = c.table().lookup(ip("10.0.0.1"), ip("203.0.113.7"));
            if (node.equals(gateway)) {
                assertTrue(r >= 0, node);
                assertEquals(ip(egress), c.table().egressIp(r));
            } else {
                assertEquals(PolicyTable.NOT_SERVED_HERE, r, node);
            }
            assertEquals(List.of("gw-b", "gw-c", "gw-a"),
                    c.resolvedPolicies().get(0).gateways().stream().map(ResolvedPolicy.Gateway::nodeName).toList());
        }
    }

    @Test
    void gatewayEntryWithoutNodeSortsFirstAndIsReported() throws Exception {
        node("gw-a", "198.51.100.30", Map.of("gw", "a"));
        pod("p1", "pod-1", "10.0.0.1", Map.of()); // pin 0 of 2 -> the entry no node matches
        pod("p3", "pod-2", "10.0.0.3", Map.of()); // pin 1 of 2 -> gw-a
        policy("multi", "{}", "[203.0.113.0/24]", """
                  egressGateways:
                  - nodeSelector: {matchLabels: {gw: a}}
                  - nodeSelector: {matchLabels: {gw: gone}}
                """);
        CompiledPolicies c = compile("gw-a");
        assertEquals(PolicyTable.NOT_SERVED_HERE, c.table().lookup(ip("10.0.0.1"), ip("203.0.113.1")));
        int r = c.table().lookup(ip("10.0.0.3"), ip("203.0.113.1"));
        assertEquals(ip("192.0.2.100"), c.table().egressIp(r), "default interface ext0");
        assertEquals(List.of("multi.yaml:1: CiliumEgressGatewayPolicy 'multi': spec.egressGateways[1]: no Node "
                + "matches its nodeSelector gw=gone; endpoints pinned to it have no gateway"), c.problems());
    }

    @Test
    void singleGatewayTakesFirstMatchingNodeByNameWhateverItsIp() throws Exception {
        node("gw-b", "198.51.100.1", Map.of("egress", "true"));
        node("gw-a", "198.51.100.9", Map.of("egress", "true"));
        pod("p", "pod-1", "10.0.0.1", Map.of());
        policy("one", "{}", "[203.0.113.0/24]", single("egress", null));
        assertTrue(compile("gw-a").table().lookup(ip("10.0.0.1"), ip("203.0.113.1")) >= 0);
        assertEquals(PolicyTable.NOT_SERVED_HERE, compile("gw-b").table().lookup(ip("10.0.0.1"), ip("203.0.113.1")));
    }

    @Test
    void twoEntriesOnThisNodeWithDifferentIpsAreTwoServedIds() throws Exception {
        node("gw", "198.51.100.1", Map.of("gw", "x"));
        pod("p1", "pod-1", "10.0.0.1", Map.of());
        pod("p2", "pod-2", "10.0.0.2", Map.of());
        policy("twice", "{}", "[203.0.113.0/24]", """
                  egressGateways:
                  - nodeSelector: {matchLabels: {gw: x}}
                    egressIP: 192.0.2.1
                  - nodeSelector: {matchLabels: {gw: x}}
                    egressIP: 192.0.2.2
                """);
        CompiledPolicies c = compile("gw");
        assertEquals(List.of(new ServedPolicy(0, "twice", ip("192.0.2.1")), new ServedPolicy(1, "twice", ip("192.0.2.2"))),
                c.served());
        assertEquals(ip("192.0.2.1"), c.table().egressIp(c.table().lookup(ip("10.0.0.1"), ip("203.0.113.1"))));
        assertEquals(ip("192.0.2.2"), c.table().egressIp(c.table().lookup(ip("10.0.0.2"), ip("203.0.113.1"))));
    }
}
