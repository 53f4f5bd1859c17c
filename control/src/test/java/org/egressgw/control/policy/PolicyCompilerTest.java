package org.egressgw.control.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.function.Function;
import org.egressgw.control.k8s.LabelSelector;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.yaml.YamlFiles;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.junit.jupiter.api.Test;

class PolicyCompilerTest {
    private static final Map<String, String> GW = Map.of("node-role.kubernetes.io/egress-gateway", "true");
    private static final Function<String, OptionalInt> IFACES = name -> switch (name) {
        case "ext0" -> OptionalInt.of(ip("192.0.2.100"));
        case "ext1" -> OptionalInt.of(ip("192.0.2.101"));
        default -> OptionalInt.empty();
    };

    private final List<Pod> pods = new ArrayList<>();
    private final List<NamespaceObj> namespaces = new ArrayList<>();
    private final List<NodeObj> nodes = new ArrayList<>();
    private final List<EgressPolicy> policies = new ArrayList<>();

    private static int ip(String s) {
        return Ipv4Address.parse(s);
    }

    private void node(String name, Map<String, String> labels) {
        nodes.add(new NodeObj(name, labels, OptionalInt.empty(), "nodes.yaml:1"));
    }

    private void pod(String ns, String name, Map<String, String> labels, String node, String... ips) {
        List<Integer> list = new ArrayList<>();
        for (String s : ips) {
            list.add(ip(s));
        }
        pods.add(new Pod(ns, name, "", labels, node, list, "pods.yaml:1"));
    }

    private void policy(String yaml) throws Exception {
        List<String> warnings = new ArrayList<>();
        policies.add(EgressPolicy.parse(YamlFiles.parse("p.yaml", yaml).get(0), warnings));
        assertEquals(List.of(), warnings);
    }

    private static String policyYaml(String name, String selectors, String dests, String excluded, String gateway) {
        return "apiVersion: cilium.io/v2\nkind: CiliumEgressGatewayPolicy\nmetadata: {name: " + name + "}\n"
                + "spec:\n  selectors: " + selectors + "\n  destinationCIDRs: " + dests + "\n"
                + (excluded == null ? "" : "  excludedCIDRs: " + excluded + "\n") + gateway;
    }

    private static final String GATEWAY_EXAMPLE =
            "  egressGateway:\n    nodeSelector: {matchLabels: {node-role.kubernetes.io/egress-gateway: \"true\"}}\n";

    private CompiledPolicies compile(String gatewayNode) {
        ClusterState state = new ClusterState(pods, namespaces, nodes, policies, List.of());
        return PolicyCompiler.compile(state, gatewayNode, IFACES, "ext0");
    }

    @Test
    void ciliumExampleIsServedByFirstMatchingNodeByName() throws Exception {
        node("node-c", GW);
        node("node-b", GW);
        node("node-a", Map.of());
        pod("default", "pay-1", Map.of("app", "payment-processor"), "node-a", "10.0.1.5");
        pod("default", "other", Map.of("app", "web"), "node-a", "10.0.1.6");
        policy(EgressPolicyTest.CILIUM_EXAMPLE);

        CompiledPolicies onB = compile("node-b");
        assertEquals(List.of(new ServedPolicy(0, "payment-processor-egress", ip("192.0.2.10"))), onB.served());
        assertEquals(List.of(), onB.problems());
        PolicyTable t = onB.table();
        assertEquals(0, t.lookup(ip("10.0.1.5"), ip("203.0.113.77")));
        assertEquals(PolicyTable.NO_POLICY, t.lookup(ip("10.0.1.5"), ip("198.51.100.1")));
        assertEquals(PolicyTable.NO_POLICY, t.lookup(ip("10.0.1.6"), ip("203.0.113.77")));
        assertEquals(ip("192.0.2.10"), t.egressIp(0));
        assertEquals(1, t.sourceCount());

        CompiledPolicies onC = compile("node-c");
        assertEquals(List.of(), onC.served(), "node-b sorts before node-c");
        assertEquals(0, onC.table().policyCount());
        assertEquals(PolicyTable.NOT_SERVED_HERE, onC.table().lookup(ip("10.0.1.5"), ip("203.0.113.77")),
                "node-b serves it: node-c drops instead of translating");
        assertEquals(PolicyTable.NO_POLICY, onC.table().lookup(ip("10.0.1.6"), ip("203.0.113.77")));
    }

    @Test
    void noMatchingNodeIsAProblem() throws Exception {
        node("node-a", Map.of());
        policy(EgressPolicyTest.CILIUM_EXAMPLE);
        CompiledPolicies c = compile("node-a");
        assertEquals(List.of(), c.served());
        assertEquals(List.of("p.yaml:1: CiliumEgressGatewayPolicy 'payment-processor-egress': no Node matches "
                + "the gateway nodeSelector, no gateway serves it"), c.problems());
    }

    @Test
    void egressIpFromInterfaceOrDefaultInterface() throws Exception {
        node("gw", GW);
        pod("default", "p", Map.of(), "gw", "10.0.0.1");
        policy(policyYaml("b-default", "[{podSelector: {}}]", "[203.0.113.0/24]", null, GATEWAY_EXAMPLE));
        policy(policyYaml("a-iface", "[{podSelector: {}}]", "[198.51.100.0/24]", null,
                GATEWAY_EXAMPLE + "    interface: ext1\n"));
        policy(policyYaml("c-missing", "[{podSelector: {}}]", "[192.0.2.0/24]", null,
                GATEWAY_EXAMPLE + "    interface: ext9\n"));
        CompiledPolicies c = compile("gw");
        assertEquals(List.of(new ServedPolicy(0, "a-iface", ip("192.0.2.101")),
                new ServedPolicy(1, "b-default", ip("192.0.2.100"))), c.served());
        assertEquals(List.of("p.yaml:1: CiliumEgressGatewayPolicy 'c-missing': interface 'ext9' has no IPv4 "
                + "address: not served"), c.problems());
        assertEquals(0, c.table().lookup(ip("10.0.0.1"), ip("198.51.100.1")));
        assertEquals(1, c.table().lookup(ip("10.0.0.1"), ip("203.0.113.1")));
        assertEquals(PolicyTable.NO_EGRESS_IP, c.table().lookup(ip("10.0.0.1"), ip("192.0.2.1")),
                "c-missing is this node's but ext9 has no address");

        CompiledPolicies noDefault = PolicyCompiler.compile(new ClusterState(pods, namespaces, nodes, policies,
                List.of()), "gw", IFACES, null);
        assertEquals(List.of("a-iface"), noDefault.served().stream().map(ServedPolicy::name).toList());
        assertTrue(noDefault.problems().contains("p.yaml:1: CiliumEgressGatewayPolicy 'b-default': no egressIP, "
                + "no interface and no default interface: not served"), noDefault.problems().toString());
    }

    @Test
    void exclusionsAndOverlapsAreDeterministic() throws Exception {
        node("gw", GW);
        pod("default", "p", Map.of("app", "x"), "gw", "10.0.0.1", "10.0.0.2");
        // Declared out of name order on purpose: ids follow names.
        policy(policyYaml("z-all", "[{podSelector: {}}]", "[0.0.0.0/0]", "[10.0.0.0/8, 203.0.113.0/24]",
                GATEWAY_EXAMPLE + "    egressIP: 192.0.2.26\n"));
        policy(policyYaml("a-web", "[{podSelector: {matchLabels: {app: x}}}]", "[10.1.0.0/16, 203.0.113.0/24, 0.0.0.0/0]",
                null, GATEWAY_EXAMPLE + "    egressIP: 192.0.2.1\n"));
        CompiledPolicies c = compile("gw");
        assertEquals(List.of("a-web", "z-all"), c.served().stream().map(ServedPolicy::name).toList());
        PolicyTable t = c.table();
        for (String src : List.of("10.0.0.1", "10.0.0.2")) {
            assertEquals(0, t.lookup(ip(src), ip("8.8.8.8")), "same /0 in both: lower id (name order)");
            assertEquals(0, t.lookup(ip(src), ip("10.1.2.3")), "/16 beats z's /8 exclusion");
            assertEquals(PolicyTable.EXCLUDED, t.lookup(ip(src), ip("10.2.2.3")), "z's /8 exclusion beats /0");
            assertEquals(PolicyTable.EXCLUDED, t.lookup(ip(src), ip("203.0.113.9")), "equal /24: exclusion wins");
        }
        assertEquals(2, t.sourceCount());
        assertEquals(List.of("10.0.0.1", "203.0.113.0/24", "excluded", "z-all"),
                t.rows().stream().filter(r -> r[1].equals("203.0.113.0/24")).map(List::of).findFirst().orElseThrow());
    }

    @Test
    void namespaceSelectorAndNamespaceLabels() throws Exception {
        node("gw", GW);
        namespaces.add(new NamespaceObj("pay", Map.of("team", "payments"), "ns.yaml:1"));
        namespaces.add(new NamespaceObj("web", Map.of("team", "web"), "ns.yaml:5"));
        pod("pay", "a", Map.of("app", "api"), "gw", "10.0.0.1");
        pod("web", "b", Map.of("app", "api"), "gw", "10.0.0.2");
        pod("ghost", "c", Map.of("app", "api"), "gw", "10.0.0.3"); // no Namespace object
        policy(policyYaml("by-team", "[{namespaceSelector: {matchLabels: {team: payments}}}]", "[203.0.113.0/24]",
                null, GATEWAY_EXAMPLE));
        policy(policyYaml("by-ns-name", "[{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: web}}, "
                + "podSelector: {matchLabels: {app: api}}}]", "[198.51.100.0/24]", null, GATEWAY_EXAMPLE));
        policy(policyYaml("by-pod-ns-label", "[{podSelector: {matchLabels: {io.kubernetes.pod.namespace: ghost}}}]",
                "[192.0.2.0/24]", null, GATEWAY_EXAMPLE));
        policy(policyYaml("any-ns", "[{namespaceSelector: {}}]", "[10.9.0.0/16]", null, GATEWAY_EXAMPLE));
        CompiledPolicies c = compile("gw");
        PolicyTable t = c.table();
        int anyNs = 0;
        int byNsName = 1;
        int byPodNsLabel = 2;
        int byTeam = 3;
        assertEquals(List.of("any-ns", "by-ns-name", "by-pod-ns-label", "by-team"),
                c.served().stream().map(ServedPolicy::name).toList());
        assertEquals(byTeam, t.lookup(ip("10.0.0.1"), ip("203.0.113.1")));
        assertEquals(PolicyTable.NO_POLICY, t.lookup(ip("10.0.0.2"), ip("203.0.113.1")));
        assertEquals(byNsName, t.lookup(ip("10.0.0.2"), ip("198.51.100.1")));
        assertEquals(PolicyTable.NO_POLICY, t.lookup(ip("10.0.0.1"), ip("198.51.100.1")));
        assertEquals(byPodNsLabel, t.lookup(ip("10.0.0.3"), ip("192.0.2.1")));
        assertEquals(PolicyTable.NO_POLICY, t.lookup(ip("10.0.0.1"), ip("192.0.2.1")));
        for (String src : List.of("10.0.0.1", "10.0.0.2", "10.0.0.3")) {
            assertEquals(anyNs, t.lookup(ip(src), ip("10.9.1.1")));
        }
    }

    @Test
    void nodeSelectorOfTheSelector() throws Exception {
        node("gw", GW);
        node("worker-a", Map.of("zone", "a"));
        node("worker-b", Map.of("zone", "b"));
        pod("default", "in-a", Map.of("app", "x"), "worker-a", "10.0.0.1");
        pod("default", "in-b", Map.of("app", "x"), "worker-b", "10.0.0.2");
        pod("default", "unscheduled", Map.of("app", "x"), null, "10.0.0.3");
        pod("default", "unknown-node", Map.of("app", "x"), "worker-z", "10.0.0.4");
        policy(policyYaml("zone-a", "[{podSelector: {matchLabels: {app: x}}, nodeSelector: {matchLabels: {zone: a}}}]",
                "[203.0.113.0/24]", null, GATEWAY_EXAMPLE));
        PolicyTable t = compile("gw").table();
        assertEquals(0, t.lookup(ip("10.0.0.1"), ip("203.0.113.1")));
        for (String src : List.of("10.0.0.2", "10.0.0.3", "10.0.0.4")) {
            assertEquals(PolicyTable.NO_POLICY, t.lookup(ip(src), ip("203.0.113.1")), src);
        }
    }

    @Test
    void egressGatewaysServedWhenAnyEntryPicksThisNode() throws Exception {
        node("gw-1", Map.of("gw", "one"));
        node("gw-2", Map.of("gw", "two"));
        pod("default", "p", Map.of(), "gw-1", "10.0.0.1");
        policy(policyYaml("multi", "[{podSelector: {}}]", "[203.0.113.0/24]", null, """
                  egressGateways:
                  - nodeSelector: {matchLabels: {gw: one}}
                    egressIP: 192.0.2.1
                  - nodeSelector: {matchLabels: {gw: two}}
                    egressIP: 192.0.2.2
                """));
        assertEquals(List.of(new ServedPolicy(0, "multi", ip("192.0.2.1"))), compile("gw-1").served());
        assertEquals(List.of(new ServedPolicy(0, "multi", ip("192.0.2.2"))), compile("gw-2").served());
        assertEquals(List.of(), compile("gw-3").served());
        assertEquals(0, compile("gw-2").table().lookup(ip("10.0.0.1"), ip("203.0.113.1")));
    }

    @Test
    void selectorEntriesAreOred() throws Exception {
        node("gw", GW);
        pod("default", "a", Map.of("app", "a"), "gw", "10.0.0.1");
        pod("default", "b", Map.of("app", "b"), "gw", "10.0.0.2");
        pod("default", "c", Map.of("app", "c"), "gw", "10.0.0.3");
        policy(policyYaml("two", "[{podSelector: {matchLabels: {app: a}}}, {podSelector: {matchExpressions: "
                + "[{key: app, operator: In, values: [b]}]}}]", "[203.0.113.0/24]", null, GATEWAY_EXAMPLE));
        PolicyTable t = compile("gw").table();
        assertEquals(0, t.lookup(ip("10.0.0.1"), ip("203.0.113.1")));
        assertEquals(0, t.lookup(ip("10.0.0.2"), ip("203.0.113.1")));
        assertEquals(PolicyTable.NO_POLICY, t.lookup(ip("10.0.0.3"), ip("203.0.113.1")));
        assertEquals(LabelSelector.EVERYTHING, LabelSelector.of(Map.of()));
        assertEquals(List.of(Ipv4Cidr.parse("203.0.113.0/24")), policies.get(0).destinationCidrs());
    }
}
