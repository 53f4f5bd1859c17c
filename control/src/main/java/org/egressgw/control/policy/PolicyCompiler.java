package org.egressgw.control.policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Function;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.packet.Ipv4Cidr;

/**
 * Turns a {@link ClusterState} into the {@link PolicyTable} this gateway enforces, following
 * Cilium's egress gateway semantics.
 *
 * <ul>
 *   <li>The gateway of an {@code egressGateway} is the first Node, by name, whose labels match its
 *       nodeSelector. A policy is served here iff that node is {@code gatewayNodeName}.</li>
 *   <li>With {@code egressGateways[]}, Cilium pins each endpoint to one of the gateways. Pinning is
 *       not implemented yet: the policy is served here, for all its pods, if any entry's first
 *       matching node is this node; the first such entry gives the egress IP.</li>
 *   <li>Egress IP: {@code egressIP}, else the first IPv4 of {@code interface}, else of the default
 *       interface. When it cannot be resolved the policy is not served and a problem is reported.</li>
 *   <li>A pod is selected by a selector entry iff podSelector matches its labels plus
 *       {@code io.kubernetes.pod.namespace=<namespace>} (absent = every pod), namespaceSelector
 *       matches its Namespace's labels plus {@code kubernetes.io/metadata.name} (absent = every
 *       namespace) and nodeSelector, if present, matches the labels of the Node named by its
 *       {@code spec.nodeName} (a pod without a known node is then not selected).</li>
 *   <li>For each selected pod IPv4: a rule per destination CIDR and an exclusion per excluded CIDR;
 *       {@link PolicyTable} documents the precedence.</li>
 * </ul>
 * Stateless; call from the control thread on every change.
 */
public final class PolicyCompiler {
    /** The pseudo-label Cilium gives every pod for its namespace. */
    public static final String POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";

    private PolicyCompiler() {
    }

    /**
     * @param gatewayNodeName this gateway's node name ({@code node.name} in its configuration)
     * @param interfaceAddress first IPv4 address of an interface by name, empty when it has none
     * @param defaultInterface the interface whose address is used when a policy names neither
     *     egressIP nor interface (the egress interface); may be null
     */
    public static CompiledPolicies compile(ClusterState state, String gatewayNodeName,
                                           Function<String, OptionalInt> interfaceAddress,
                                           String defaultInterface) {
        Objects.requireNonNull(gatewayNodeName, "gatewayNodeName");
        List<String> problems = new ArrayList<>();
        List<NodeObj> nodes = new ArrayList<>(state.nodes());
        nodes.sort(Comparator.comparing(NodeObj::name));
        List<EgressPolicy> policies = new ArrayList<>(state.policies());
        policies.sort(Comparator.comparing(EgressPolicy::name));
        Map<String, OptionalInt> addresses = new HashMap<>();

        List<ServedPolicy> served = new ArrayList<>();
        List<EgressPolicy> servedPolicies = new ArrayList<>();
        for (EgressPolicy policy : policies) {
            GatewaySpec mine = null;
            boolean anyNode = false;
            for (GatewaySpec g : policy.gateways()) {
                NodeObj first = null;
                for (NodeObj n : nodes) {
                    if (g.nodeSelector().matches(n.labels())) {
                        first = n;
                        break;
                    }
                }
                anyNode |= first != null;
                if (first != null && first.name().equals(gatewayNodeName)) {
                    mine = g;
                    break;
                }
            }
            if (!anyNode) {
                problems.add(problem(policy, "no Node matches the gateway nodeSelector, no gateway serves it"));
            }
            if (mine == null) {
                continue;
            }
            int egressIp;
            if (mine.egressIp() != null) {
                egressIp = mine.egressIp();
            } else {
                String iface = mine.interfaceName() != null ? mine.interfaceName() : defaultInterface;
                OptionalInt a = iface == null ? OptionalInt.empty()
                        : addresses.computeIfAbsent(iface, k -> {
                            OptionalInt r = interfaceAddress.apply(k);
                            return r == null ? OptionalInt.empty() : r;
                        });
                if (a.isEmpty()) {
                    problems.add(problem(policy, iface == null
                            ? "no egressIP, no interface and no default interface: not served"
                            : "interface '" + iface + "' has no IPv4 address: not served"));
                    continue;
                }
                egressIp = a.getAsInt();
            }
            served.add(new ServedPolicy(served.size(), policy.name(), egressIp));
            servedPolicies.add(policy);
        }

        PolicyTable.Builder table = new PolicyTable.Builder();
        for (ServedPolicy s : served) {
            table.addPolicy(s.name(), s.egressIp());
        }
        Map<String, Map<String, String>> nsLabels = new HashMap<>();
        for (NamespaceObj ns : state.namespaces()) {
            nsLabels.putIfAbsent(ns.name(), ns.effectiveLabels());
        }
        List<Map<String, String>> podLabels = new ArrayList<>(state.pods().size());
        for (Pod p : state.pods()) {
            Map<String, String> m = new HashMap<>(p.labels());
            m.put(POD_NAMESPACE_LABEL, p.namespace());
            podLabels.add(m);
        }
        for (int id = 0; id < servedPolicies.size(); id++) {
            EgressPolicy policy = servedPolicies.get(id);
            Set<Integer> sources = new LinkedHashSet<>();
            for (int i = 0; i < state.pods().size(); i++) {
                Pod pod = state.pods().get(i);
                if (pod.ipv4Addresses().isEmpty()) {
                    continue;
                }
                Map<String, String> ns = nsLabels.computeIfAbsent(pod.namespace(),
                        n -> NamespaceObj.withNameLabel(n, Map.of()));
                for (Selector sel : policy.selectors()) {
                    if (selects(sel, podLabels.get(i), ns, state.node(pod.nodeName()))) {
                        sources.addAll(pod.ipv4Addresses());
                        break;
                    }
                }
            }
            for (int src : sources) {
                for (Ipv4Cidr d : policy.destinationCidrs()) {
                    table.addRule(src, d, id);
                }
                for (Ipv4Cidr x : policy.excludedCidrs()) {
                    table.addExclusion(src, x, id);
                }
            }
        }
        return new CompiledPolicies(table.build(), served, problems);
    }

    private static boolean selects(Selector sel, Map<String, String> podLabels, Map<String, String> nsLabels,
                                   NodeObj node) {
        if (sel.podSelector() != null && !sel.podSelector().matches(podLabels)) {
            return false;
        }
        if (sel.namespaceSelector() != null && !sel.namespaceSelector().matches(nsLabels)) {
            return false;
        }
        return sel.nodeSelector() == null || (node != null && sel.nodeSelector().matches(node.labels()));
    }

    private static String problem(EgressPolicy policy, String reason) {
        // policy.source() is already "file:line"
        return policy.source() + ": " + EgressPolicy.KIND + " '" + policy.name() + "': " + reason;
    }
}
