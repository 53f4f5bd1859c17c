package org.egressgw.control.explain;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Function;
import org.egressgw.control.explain.Explanation.Verdict;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.policy.EgressPolicy;
import org.egressgw.control.policy.Fnv1a;
import org.egressgw.control.policy.PolicyCompiler;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.control.policy.RefusedPolicy;
import org.egressgw.control.policy.ResolvedPolicy;
import org.egressgw.control.policy.ServedPolicy;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;

/**
 * Answers "what happens to this pod's traffic to that address, and why". The verdict is the
 * compiled {@link PolicyTable}'s answer (what the data path does); the reasons come from a slow,
 * independent re-evaluation of every policy with the same precedence (longest destination prefix,
 * exclusion first, then policy name), which also names the selectors that failed. Deterministic:
 * policies are walked in name order. Control path only; stateless.
 */
public final class Explainer {
    private Explainer() {
    }

    /** Compiles {@code state} as gateway {@code gatewayNodeName} would, then explains a pod's traffic. */
    public static Explanation explain(ClusterState state, String gatewayNodeName,
                                      Function<String, OptionalInt> ifaceResolver, String defaultIface,
                                      PodRef pod, int dstIp, int dstPort) {
        return explain(state, PolicyCompiler.compile(state, gatewayNodeName, ifaceResolver, defaultIface),
                pod, dstIp, dstPort);
    }

    /** Compiles {@code state} as gateway {@code gatewayNodeName} would, then explains traffic from an address. */
    public static Explanation explain(ClusterState state, String gatewayNodeName,
                                      Function<String, OptionalInt> ifaceResolver, String defaultIface,
                                      int srcIp, int dstIp, int dstPort) {
        return explain(state, PolicyCompiler.compile(state, gatewayNodeName, ifaceResolver, defaultIface),
                srcIp, dstIp, dstPort);
    }

    /**
     * Explains a pod's traffic against an already compiled state (e.g. the running gateway's).
     *
     * @param compiled compiled from {@code state}
     * @param dstPort shown only (policies have no ports), -1 for none
     */
    public static Explanation explain(ClusterState state, CompiledPolicies compiled, PodRef ref, int dstIp,
                                      int dstPort) {
        String dst = destination(dstIp, dstPort);
        Pod pod = state.pod(ref.namespace(), ref.name());
        if (pod == null) {
            return new Explanation(Verdict.ERROR, ref.toString(), dst, null, null, OptionalInt.empty(),
                    List.of("pod " + ref + " not found"));
        }
        if (pod.ipv4Addresses().isEmpty()) {
            return new Explanation(Verdict.ERROR, ref.toString(), dst, null, null, OptionalInt.empty(),
                    List.of("pod " + ref + " has no IPv4 address (not running yet, finished, host network "
                            + "or IPv6 only), so no policy can match its traffic"));
        }
        int src = pod.ipv4Addresses().get(0);
        List<String> reasons = new ArrayList<>();
        reasons.add("pod " + ref + " has IPv4 " + Ipv4Address.toString(src)
                + (pod.ipv4Addresses().size() > 1 ? " (its first of " + pod.ipv4Addresses().size() + ")" : "")
                + (pod.nodeName() != null ? " and runs on node " + pod.nodeName() : " and is not scheduled"));
        return evaluate(state, compiled, ref + " (" + Ipv4Address.toString(src) + ")", src, pod, dstIp, dst, reasons);
    }

    /** Explains traffic from a source address against an already compiled state. */
    public static Explanation explain(ClusterState state, CompiledPolicies compiled, int srcIp, int dstIp,
                                      int dstPort) {
        String dst = destination(dstIp, dstPort);
        List<String> reasons = new ArrayList<>();
        Pod owner = null;
        List<String> owners = new ArrayList<>();
        for (Pod p : state.pods()) {
            if (p.ipv4Addresses().contains(srcIp)) {
                owners.add(p.namespace() + "/" + p.name());
                if (owner == null) {
                    owner = p;
                }
            }
        }
        owners.sort(null);
        String src = Ipv4Address.toString(srcIp);
        if (owners.isEmpty()) {
            reasons.add("no pod has IP " + src + "; policies select pods, so their rules never name it");
        } else {
            reasons.add(src + " is pod " + String.join(", pod ", owners));
        }
        return evaluate(state, compiled, src, srcIp, owner, dstIp, dst, reasons);
    }

    private record Candidate(ResolvedPolicy policy, ResolvedPolicy.Endpoint endpoint, Ipv4Cidr cidr,
                             boolean excluded, int result) {
    }

    private static Explanation evaluate(ClusterState state, CompiledPolicies compiled, String source, int src,
                                        Pod pod, int dstIp, String dst, List<String> reasons) {
        String here = compiled.gatewayNodeName();
        List<Candidate> candidates = new ArrayList<>();
        boolean anyCovers = false;
        for (ResolvedPolicy r : compiled.resolvedPolicies()) {
            EgressPolicy p = r.policy();
            Ipv4Cidr covering = longest(p.destinationCidrs(), dstIp);
            ResolvedPolicy.Endpoint endpoint = null;
            for (ResolvedPolicy.Endpoint e : r.endpoints()) {
                if (e.pod().ipv4Addresses().contains(src)) {
                    endpoint = e;
                    break;
                }
            }
            anyCovers |= covering != null;
            if (endpoint == null) {
                if (covering != null && pod != null) {
                    reasons.add("policy " + p.name() + " covers " + Ipv4Address.toString(dstIp) + " (" + covering
                            + ") but does not select the pod: " + whyNot(p, pod, state));
                }
                continue;
            }
            if (covering == null) {
                reasons.add("policy " + p.name() + " selects the pod (selectors[" + endpoint.selector()
                        + "]) but its destinationCIDRs " + p.destinationCidrs() + " do not cover "
                        + Ipv4Address.toString(dstIp));
            }
            for (Ipv4Cidr c : p.destinationCidrs()) {
                if (c.contains(dstIp)) {
                    candidates.add(new Candidate(r, endpoint, c, false, result(compiled, r, endpoint)));
                }
            }
            for (Ipv4Cidr c : p.excludedCidrs()) {
                if (c.contains(dstIp)) {
                    candidates.add(new Candidate(r, endpoint, c, true, PolicyTable.EXCLUDED));
                }
            }
        }
        candidates.sort(Comparator.comparingInt((Candidate c) -> -c.cidr.prefixLength())
                .thenComparing(c -> !c.excluded)
                .thenComparingInt(c -> c.policy.rank())
                .thenComparingInt(Candidate::result));
        int verdictCode = compiled.table().lookup(src, dstIp);
        if (candidates.isEmpty()) {
            if (!anyCovers) {
                reasons.add("no CiliumEgressGatewayPolicy has a destinationCIDR covering " + Ipv4Address.toString(dstIp));
            }
            for (RefusedPolicy rp : state.refusedPolicies()) {
                reasons.add("policy " + (rp.name() == null ? "at " + rp.source() : rp.name())
                        + " was refused and is not applied: " + rp.problem());
            }
            if (verdictCode != PolicyTable.NO_POLICY) {
                reasons.add("internal: the compiled table answers " + compiled.table().describe(verdictCode));
            }
            return new Explanation(Verdict.NO_POLICY, source, dst, null, null, OptionalInt.empty(), reasons);
        }
        Candidate win = candidates.get(0);
        ResolvedPolicy r = win.policy;
        String name = r.name();
        if (win.result != verdictCode) {
            reasons.add("internal: the compiled table answers " + compiled.table().describe(verdictCode)
                    + ", this explanation " + compiled.table().describe(win.result));
        }
        for (int i = 1; i < candidates.size(); i++) {
            Candidate c = candidates.get(i);
            reasons.add("lower precedence: " + (c.excluded ? "excludedCIDRs " : "destinationCIDRs ") + c.cidr
                    + " of policy " + c.policy.name());
        }
        if (win.excluded) {
            reasons.add("destination " + Ipv4Address.toString(dstIp) + " excluded by excludedCIDRs " + win.cidr
                    + " of policy " + name + ": it takes the normal path, not the gateway");
            return new Explanation(Verdict.EXCLUDED, source, dst, name, null, OptionalInt.empty(), reasons);
        }
        ResolvedPolicy.Gateway gw = r.gateways().get(win.endpoint.gateway());
        reasons.add("policy " + name + " selects the pod (selectors[" + win.endpoint.selector() + "]) and covers "
                + Ipv4Address.toString(dstIp) + " with " + win.cidr + " (longest prefix wins, then exclusions, "
                + "then policy name)");
        String entry = r.policy().gateways().size() > 1 ? "spec.egressGateways[" + gw.specIndex() + "]" : "spec.egressGateway";
        if (r.gateways().size() > 1) {
            String uid = win.endpoint.pod().uid();
            reasons.add("pinned to gateway " + win.endpoint.gateway() + " of " + r.gateways().size()
                    + " (sorted by node IP): FNV-1a-32(uid '" + uid + "') = 0x"
                    + String.format("%08x", Fnv1a.hash32(uid)) + ", mod " + r.gateways().size() + " = "
                    + win.endpoint.gateway() + " (" + entry + ")");
        }
        if (!gw.found()) {
            reasons.add("no node matches the gateway nodeSelector {" + gw.spec().nodeSelector() + "} of " + entry
                    + " of policy " + name + ": no gateway (Cilium drops: gateway Not Found)");
            return new Explanation(Verdict.ERROR, source, dst, name, null, gw.egressIp(), reasons);
        }
        String node = gw.nodeName() + gw.nodeIp().stream().mapToObj(ip -> " (" + Ipv4Address.toString(ip) + ")")
                .findFirst().orElse("");
        if (!gw.local()) {
            reasons.add("gateway node " + node + " (first node by name matching {" + gw.spec().nodeSelector()
                    + "}) serves it, not " + (here == null ? "this view (no local gateway)" : "this gateway (" + here + ")"));
            return new Explanation(Verdict.SERVED_ELSEWHERE, source, dst, name, gw.nodeName(), gw.egressIp(), reasons);
        }
        if (gw.egressIp().isEmpty()) {
            reasons.add("egress IP not present on gateway " + node + ": " + gw.egressProblem());
            return new Explanation(Verdict.ERROR, source, dst, name, gw.nodeName(), OptionalInt.empty(), reasons);
        }
        int egress = gw.egressIp().getAsInt();
        String iface = gw.interfaceName(null);
        reasons.add("this gateway " + node + " serves it with egress IP " + Ipv4Address.toString(egress)
                + (gw.spec().egressIp() != null ? " (egressIP)" : " (first IPv4 of interface "
                + (iface != null ? "'" + iface + "'" : "default") + ")"));
        return new Explanation(Verdict.SERVED_HERE, source, dst, name, gw.nodeName(), OptionalInt.of(egress), reasons);
    }

    private static int result(CompiledPolicies compiled, ResolvedPolicy r, ResolvedPolicy.Endpoint e) {
        ResolvedPolicy.Gateway gw = r.gateways().get(e.gateway());
        if (!gw.local()) {
            return PolicyTable.NOT_SERVED_HERE;
        }
        if (gw.egressIp().isEmpty()) {
            return PolicyTable.NO_EGRESS_IP;
        }
        for (ServedPolicy s : compiled.served()) {
            if (s.name().equals(r.name()) && s.egressIp() == gw.egressIp().getAsInt()) {
                return s.id();
            }
        }
        throw new IllegalStateException("served policy " + r.name() + " missing");
    }

    private static String whyNot(EgressPolicy p, Pod pod, ClusterState state) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < p.selectors().size(); i++) {
            String why = PolicyCompiler.whyNotSelected(p.selectors().get(i), pod, state);
            parts.add("selectors[" + i + "]: " + (why == null ? "matches, yet the pod is not selected" : why));
        }
        return String.join("; ", parts);
    }

    private static Ipv4Cidr longest(List<Ipv4Cidr> cidrs, int ip) {
        Ipv4Cidr best = null;
        for (Ipv4Cidr c : cidrs) {
            if (c.contains(ip) && (best == null || c.prefixLength() > best.prefixLength())) {
                best = c;
            }
        }
        return best;
    }

    private static String destination(int ip, int port) {
        return Ipv4Address.toString(ip) + (port >= 0 ? ":" + port : "");
    }
}
