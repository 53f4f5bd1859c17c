package org.egressgw.control.policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.function.Function;
import org.agrona.collections.IntArrayList;
import org.egressgw.control.k8s.LabelSelector;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;

/**
 * Turns a {@link ClusterState} into the {@link PolicyTable} this gateway enforces, following
 * Cilium's egress gateway semantics.
 *
 * <ul>
 *   <li>Every policy is compiled, served here or not, so that the table can answer
 *       {@link PolicyTable#NOT_SERVED_HERE} when the best policy for a packet belongs to another
 *       gateway (this gateway then drops instead of translating with a weaker policy's IP).</li>
 *   <li>Each {@code egressGateway} / {@code egressGateways[]} entry resolves to the first Node, by
 *       name, whose labels match its nodeSelector (none: "Not Found", gateway 0.0.0.0). Cilium also
 *       skips nodes without a Kubernetes node IP; we do not, since hand-written inventories often
 *       omit addresses (such a node sorts as 0.0.0.0).</li>
 *   <li>The entries are sorted by gateway node IP (stable; not found and unknown sort as 0.0.0.0)
 *       and each selected endpoint is pinned to entry {@code FNV-1a-32(pod UID) mod N}, per
 *       endpoint, as Cilium does, so a mixed fleet agrees on which gateway owns which pod. A pod
 *       pinned to this node is served with that entry's egress IP; pinned elsewhere (or to an entry
 *       no node matches) its rules read {@link PolicyTable#NOT_SERVED_HERE}.</li>
 *   <li>Egress IP of an entry on this node: {@code egressIP}, else the first IPv4 of
 *       {@code interface}, else of the default interface (resolved through the caller's function,
 *       once per interface per compile). When it cannot be resolved, a problem is reported and
 *       pods pinned there read {@link PolicyTable#NO_EGRESS_IP}.</li>
 *   <li>A pod is selected by a selector entry iff podSelector matches its labels plus
 *       {@code io.kubernetes.pod.namespace=<namespace>} (absent = every pod), namespaceSelector
 *       matches its Namespace's labels plus {@code kubernetes.io/metadata.name} (absent = every
 *       namespace) and nodeSelector, if present, matches the labels of the Node named by its
 *       {@code spec.nodeName} (a pod without a known node is then not selected). Only pods with an
 *       IPv4 address are endpoints.</li>
 *   <li>For each endpoint IPv4: a rule per destination CIDR and an exclusion per excluded CIDR;
 *       {@link PolicyTable} documents the precedence.</li>
 * </ul>
 *
 * <p>Cost: selectors are evaluated once per (selector, namespace) and (selector, node); pods are
 * indexed by label so that a podSelector with matchLabels only looks at pods carrying its rarest
 * pair. 10 000 pods x 100 policies compile well under a second. Stateless; call from the control
 * thread on every change.
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
        return build(state, gatewayNodeName, interfaceAddress, defaultInterface);
    }

    /**
     * A view resolved without a local node ({@link CompiledView#gatewayNodeName()} null): only
     * explicit egressIPs are known. For listings and validation off the gateway.
     */
    public static CompiledPolicies neutral(ClusterState state) {
        return build(state, null, name -> OptionalInt.empty(), null);
    }

    private static CompiledPolicies build(ClusterState state, String gatewayNodeName,
                                          Function<String, OptionalInt> interfaceAddress, String defaultInterface) {
        Objects.requireNonNull(interfaceAddress, "interfaceAddress");
        List<NodeObj> nodes = new ArrayList<>(state.nodes());
        nodes.sort(Comparator.comparing(NodeObj::name));
        List<EgressPolicy> policies = new ArrayList<>(state.policies());
        policies.sort(Comparator.comparing(EgressPolicy::name));
        Map<String, OptionalInt> addresses = new HashMap<>();
        Pods pods = new Pods(state);

        List<ResolvedPolicy> resolved = new ArrayList<>(policies.size());
        List<String> problems = new ArrayList<>();
        for (int rank = 0; rank < policies.size(); rank++) {
            EgressPolicy policy = policies.get(rank);
            List<String> policyProblems = new ArrayList<>();
            List<ResolvedPolicy.Gateway> gateways = gateways(policy, nodes, gatewayNodeName, addresses,
                    interfaceAddress, defaultInterface, policyProblems);
            List<ResolvedPolicy.Endpoint> endpoints = new ArrayList<>();
            pods.select(policy, (podIndex, selector) -> {
                Pod pod = pods.pod(podIndex);
                int g = gateways.size() == 1 ? 0 : Fnv1a.pick(pod.uid(), gateways.size());
                endpoints.add(new ResolvedPolicy.Endpoint(pod, g, selector));
            });
            ResolvedPolicy r = new ResolvedPolicy(policy, rank, gateways, endpoints, policyProblems);
            resolved.add(r);
            problems.addAll(policyProblems);
        }

        PolicyTable.Builder table = new PolicyTable.Builder();
        List<ServedPolicy> served = new ArrayList<>();
        for (ResolvedPolicy r : resolved) {
            table.addRank(r.name());
        }
        for (ResolvedPolicy r : resolved) {
            int[] gatewayResult = new int[r.gateways().size()];
            Map<Integer, Integer> idByIp = new LinkedHashMap<>();
            for (int g = 0; g < gatewayResult.length; g++) {
                ResolvedPolicy.Gateway gw = r.gateways().get(g);
                if (!gw.local()) {
                    gatewayResult[g] = PolicyTable.NOT_SERVED_HERE;
                } else if (gw.egressIp().isEmpty()) {
                    gatewayResult[g] = PolicyTable.NO_EGRESS_IP;
                } else {
                    int ip = gw.egressIp().getAsInt();
                    Integer id = idByIp.get(ip);
                    if (id == null) {
                        id = table.addPolicy(r.name(), ip);
                        idByIp.put(ip, id);
                        served.add(new ServedPolicy(id, r.name(), ip));
                    }
                    gatewayResult[g] = id;
                }
            }
            for (ResolvedPolicy.Endpoint e : r.endpoints()) {
                int result = gatewayResult[e.gateway()];
                for (int src : e.pod().ipv4Addresses()) {
                    for (Ipv4Cidr d : r.policy().destinationCidrs()) {
                        table.add(src, d, result, r.rank());
                    }
                    for (Ipv4Cidr x : r.policy().excludedCidrs()) {
                        table.add(src, x, PolicyTable.EXCLUDED, r.rank());
                    }
                }
            }
        }
        return new CompiledPolicies(table.build(), served, problems, gatewayNodeName, resolved);
    }

    private static List<ResolvedPolicy.Gateway> gateways(EgressPolicy policy, List<NodeObj> nodes, String local,
                                                          Map<String, OptionalInt> addresses,
                                                          Function<String, OptionalInt> interfaceAddress,
                                                          String defaultInterface, List<String> problems) {
        List<ResolvedPolicy.Gateway> out = new ArrayList<>();
        boolean multi = policy.gateways().size() > 1;
        for (int i = 0; i < policy.gateways().size(); i++) {
            GatewaySpec spec = policy.gateways().get(i);
            NodeObj first = null;
            for (NodeObj n : nodes) {
                if (spec.nodeSelector().matches(n.labels())) {
                    first = n;
                    break;
                }
            }
            boolean isLocal = first != null && first.name().equals(local);
            OptionalInt egress = OptionalInt.empty();
            String egressProblem = null;
            if (spec.egressIp() != null) {
                egress = OptionalInt.of(spec.egressIp());
            } else if (isLocal) {
                String iface = spec.interfaceName() != null ? spec.interfaceName() : defaultInterface;
                OptionalInt a = iface == null ? OptionalInt.empty() : addresses.computeIfAbsent(iface, k -> {
                    OptionalInt r = interfaceAddress.apply(k);
                    return r == null ? OptionalInt.empty() : r;
                });
                if (a.isPresent()) {
                    egress = a;
                } else {
                    egressProblem = iface == null
                            ? "no egressIP, no interface and no default interface"
                            : "interface '" + iface + "' has no IPv4 address";
                    problems.add(problem(policy, (multi ? "spec.egressGateways[" + i + "]: " : "")
                            + egressProblem + ": not served"));
                }
            }
            if (first == null && multi) {
                problems.add(problem(policy, "spec.egressGateways[" + i + "]: no Node matches its nodeSelector "
                        + spec.nodeSelector() + "; endpoints pinned to it have no gateway"));
            }
            out.add(new ResolvedPolicy.Gateway(i, spec, first == null ? null : first.name(),
                    first == null ? OptionalInt.empty() : first.internalIp(), isLocal, egress, egressProblem));
        }
        if (out.stream().noneMatch(ResolvedPolicy.Gateway::found)) {
            problems.removeIf(p -> p.contains("no Node matches its nodeSelector"));
            problems.add(0, problem(policy, "no Node matches the gateway nodeSelector, no gateway serves it"));
        }
        out.sort(Comparator.comparingLong(g -> Ipv4Address.unsigned(g.nodeIp().orElse(0))));
        return out;
    }

    /** Labels as a podSelector sees them: the pod's labels plus {@link #POD_NAMESPACE_LABEL}. */
    public static Map<String, String> podSelectorLabels(Pod pod) {
        Map<String, String> m = new HashMap<>(pod.labels());
        m.put(POD_NAMESPACE_LABEL, pod.namespace());
        return m;
    }

    /** Labels as a namespaceSelector sees the namespace of {@code pod} (no Namespace object: name label only). */
    public static Map<String, String> namespaceLabels(ClusterState state, String namespace) {
        NamespaceObj ns = state.namespace(namespace);
        return ns != null ? ns.effectiveLabels() : NamespaceObj.withNameLabel(namespace, Map.of());
    }

    /**
     * Why {@code selector} does not select {@code pod}, or null when it does: names the selector
     * (podSelector, namespaceSelector, nodeSelector) and the label requirement that failed.
     */
    public static String whyNotSelected(Selector selector, Pod pod, ClusterState state) {
        if (selector.podSelector() != null) {
            String m = selector.podSelector().mismatch(podSelectorLabels(pod));
            if (m != null) {
                return "podSelector {" + selector.podSelector() + "}: " + m;
            }
        }
        if (selector.namespaceSelector() != null) {
            String m = selector.namespaceSelector().mismatch(namespaceLabels(state, pod.namespace()));
            if (m != null) {
                return "namespaceSelector {" + selector.namespaceSelector() + "}: namespace '" + pod.namespace()
                        + "' " + m;
            }
        }
        if (selector.nodeSelector() != null) {
            if (pod.nodeName() == null) {
                return "nodeSelector {" + selector.nodeSelector() + "}: pod is not scheduled on a node";
            }
            NodeObj node = state.node(pod.nodeName());
            if (node == null) {
                return "nodeSelector {" + selector.nodeSelector() + "}: pod's node '" + pod.nodeName()
                        + "' is not known";
            }
            String m = selector.nodeSelector().mismatch(node.labels());
            if (m != null) {
                return "nodeSelector {" + selector.nodeSelector() + "}: node '" + node.name() + "' " + m;
            }
        }
        return null;
    }

    static String problem(EgressPolicy policy, String reason) {
        // policy.source() is already "file:line"
        return policy.source() + ": " + EgressPolicy.KIND + " '" + policy.name() + "': " + reason;
    }

    /** The pods of a state, sorted, with the caches that keep selection linear. */
    private static final class Pods {
        private final ClusterState state;
        private final List<Pod> pods = new ArrayList<>();
        private final List<Map<String, String>> labels = new ArrayList<>();
        private final List<NodeObj> nodeOf = new ArrayList<>();
        private final Map<String, Map<String, String>> nsLabels = new HashMap<>();
        private Map<String, Map<String, IntArrayList>> index;
        private final IntArrayList all = new IntArrayList();
        private int[] stamp;
        private int epoch;

        interface Sink {
            void selected(int podIndex, int selector);
        }

        Pods(ClusterState state) {
            this.state = state;
            for (Pod p : state.pods()) {
                if (!p.ipv4Addresses().isEmpty()) {
                    pods.add(p);
                }
            }
            pods.sort(Comparator.comparing(Pod::namespace).thenComparing(Pod::name));
            for (int i = 0; i < pods.size(); i++) {
                Pod p = pods.get(i);
                labels.add(podSelectorLabels(p));
                nodeOf.add(state.node(p.nodeName()));
                all.addInt(i);
            }
            stamp = new int[pods.size()];
        }

        Pod pod(int i) {
            return pods.get(i);
        }

        /** Calls {@code sink} for every pod a selector of {@code policy} selects, once, in pod order. */
        void select(EgressPolicy policy, Sink sink) {
            epoch++;
            int[] selectorOf = null;
            IntArrayList hits = new IntArrayList();
            for (int s = 0; s < policy.selectors().size(); s++) {
                Selector sel = policy.selectors().get(s);
                Map<String, Boolean> nsCache = new HashMap<>();
                Map<String, Boolean> nodeCache = new HashMap<>();
                IntArrayList candidates = candidates(sel.podSelector());
                for (int c = 0; c < candidates.size(); c++) {
                    int i = candidates.getInt(c);
                    if (stamp[i] == epoch) {
                        continue;
                    }
                    if (sel.podSelector() != null && !sel.podSelector().matches(labels.get(i))) {
                        continue;
                    }
                    Pod pod = pods.get(i);
                    if (sel.namespaceSelector() != null && !nsCache.computeIfAbsent(pod.namespace(),
                            ns -> sel.namespaceSelector().matches(nsLabels.computeIfAbsent(ns,
                                    n -> namespaceLabels(state, n))))) {
                        continue;
                    }
                    if (sel.nodeSelector() != null) {
                        NodeObj node = nodeOf.get(i);
                        if (node == null || !nodeCache.computeIfAbsent(node.name(),
                                n -> sel.nodeSelector().matches(node.labels()))) {
                            continue;
                        }
                    }
                    stamp[i] = epoch;
                    hits.addInt(i);
                    if (selectorOf == null) {
                        selectorOf = new int[pods.size()];
                    }
                    selectorOf[i] = s;
                }
            }
            int[] sorted = hits.toIntArray();
            java.util.Arrays.sort(sorted);
            for (int i : sorted) {
                sink.selected(i, selectorOf[i]);
            }
        }

        /** Pods that may match: those carrying the rarest matchLabels pair, or all. */
        private IntArrayList candidates(LabelSelector podSelector) {
            if (podSelector == null || podSelector.matchLabels().isEmpty()) {
                return all;
            }
            if (index == null) {
                index = new HashMap<>();
                for (int i = 0; i < pods.size(); i++) {
                    for (Map.Entry<String, String> e : labels.get(i).entrySet()) {
                        index.computeIfAbsent(e.getKey(), k -> new HashMap<>())
                                .computeIfAbsent(e.getValue(), v -> new IntArrayList()).addInt(i);
                    }
                }
            }
            IntArrayList best = null;
            for (Map.Entry<String, String> e : podSelector.matchLabels().entrySet()) {
                Map<String, IntArrayList> byValue = index.get(e.getKey());
                IntArrayList l = byValue == null ? null : byValue.get(e.getValue());
                if (l == null) {
                    return new IntArrayList();
                }
                if (best == null || l.size() < best.size()) {
                    best = l;
                }
            }
            return best;
        }
    }
}
