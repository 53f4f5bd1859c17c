package org.egressgw.core.cluster;

import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.OptionalInt;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.policy.InterfaceAddresses;
import org.egressgw.control.policy.EgressPolicy;
import org.egressgw.control.policy.PolicyCompiler;
import org.egressgw.control.policy.RefusedPolicy;
import org.egressgw.control.policy.ServedPolicy;
import org.egressgw.control.source.ClusterSource;
import org.egressgw.packet.Ipv4Address;

/**
 * Keeps the gateway's policies in step with the cluster: compiles every state the
 * {@link ClusterSource} delivers, recompiles when an interface the policies take their egress IP
 * from changes its address (checked every second; Cilium does not follow such changes,
 * cilium#47761), prints what changed, and hands each new compilation to the gateway.
 *
 * <p>Threading: {@link #apply} is synchronized, so compilations from the source's thread and from
 * the interface poller never interleave; the latest snapshot is published through a volatile field
 * for the admin endpoint.
 */
public final class PolicyController implements AutoCloseable {
    private final ClusterSource source;
    private final String nodeName;
    private final String defaultInterface;
    private final InterfaceAddresses addresses;
    private final Consumer<CompiledPolicies> onCompiled;
    private final PrintStream out;
    private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "egw-interfaces");
        t.setDaemon(true);
        return t;
    });
    private volatile PolicySnapshot snapshot;
    private Set<String> lastProblems = Set.of();

    public PolicyController(ClusterSource source, String nodeName, String defaultInterface,
            Function<String, OptionalInt> interfaceResolver, Consumer<CompiledPolicies> onCompiled, PrintStream out) {
        this.source = source;
        this.nodeName = nodeName;
        this.defaultInterface = defaultInterface;
        this.addresses = new InterfaceAddresses(interfaceResolver);
        this.onCompiled = onCompiled;
        this.out = out;
    }

    /** Compiles and applies the current state (before returning), then follows changes. */
    public void start() throws Exception {
        out.println("cluster: " + source.describe());
        source.start(this::apply);
        poller.scheduleWithFixedDelay(this::refreshInterfaces, 1, 1, TimeUnit.SECONDS);
    }

    private void refreshInterfaces() {
        PolicySnapshot s = snapshot;
        if (s == null) {
            return;
        }
        synchronized (this) {
            if (addresses.refresh(InterfaceAddresses.needed(s.state(), defaultInterface))) {
                out.println("cluster: an egress interface's address changed; recompiling");
                apply(snapshot.state());
            }
        }
    }

    /** Compiles {@code state} and applies it; called by the source for every change. */
    public synchronized void apply(ClusterState delivered) {
        ClusterState state = keepLastGood(delivered, snapshot);
        addresses.refresh(InterfaceAddresses.needed(state, defaultInterface));
        CompiledPolicies compiled = PolicyCompiler.compile(state, nodeName, addresses::get, defaultInterface);
        PolicySnapshot previous = snapshot;
        long generation = previous == null ? 1 : previous.generation() + 1;
        report(state, compiled, previous);
        onCompiled.accept(compiled);
        snapshot = new PolicySnapshot(state, compiled, generation, Instant.now());
        out.flush();
    }

    private void report(ClusterState state, CompiledPolicies compiled, PolicySnapshot previous) {
        Set<String> problems = new LinkedHashSet<>(state.problems());
        problems.addAll(compiled.problems());
        for (String p : problems) {
            if (!lastProblems.contains(p)) {
                out.println("refused: " + p);
            }
        }
        for (String p : lastProblems) {
            if (!problems.contains(p)) {
                out.println("resolved: " + p);
            }
        }
        lastProblems = problems;
        List<String> served = compiled.served().stream()
                .map(s -> s.name() + " via egress IP " + Ipv4Address.toString(s.egressIp())).toList();
        List<String> before = previous == null ? List.of() : previous.compiled().served().stream()
                .map(s -> s.name() + " via egress IP " + Ipv4Address.toString(s.egressIp())).toList();
        for (String s : served) {
            if (!before.contains(s)) {
                out.println("policy: serving " + s);
            }
        }
        for (String s : before) {
            if (!served.contains(s)) {
                out.println("policy: no longer serving " + s + " (its existing connections drain)");
            }
        }
        if (compiled.served().isEmpty()) {
            out.println("policy: this gateway (node " + nodeName + ") serves no policy; all tunnelled traffic is dropped");
        }
        if (previous != null) {
            out.println("cluster: applied change " + (previous.generation() + 1) + ": " + compiled.served().size()
                    + " served, " + state.pods().size() + " pods, " + problems.size() + " problems");
        }
    }

    /**
     * A policy that was valid and is now refused (a bad edit of its file, an object our validation
     * rejects) keeps its last good version: the gateway keeps serving what it served, and says so.
     * A policy that is deleted, or refused from the start, is not served.
     */
    static ClusterState keepLastGood(ClusterState state, PolicySnapshot previous) {
        if (previous == null || state.refusedPolicies().isEmpty()) {
            return state;
        }
        Set<String> present = new java.util.HashSet<>();
        state.policies().forEach(p -> present.add(p.name()));
        List<EgressPolicy> policies = new ArrayList<>(state.policies());
        List<String> problems = new ArrayList<>(state.problems());
        for (RefusedPolicy r : state.refusedPolicies()) {
            if (!present.add(r.name())) {
                continue;
            }
            for (EgressPolicy old : previous.state().policies()) {
                if (old.name().equals(r.name())) {
                    policies.add(old);
                    problems.add(r.source() + ": policy " + r.name() + " is refused; its last good version stays in force");
                    break;
                }
            }
        }
        return new ClusterState(state.pods(), state.namespaces(), state.nodes(), policies, problems, state.refusedPolicies());
    }

    /** The state and compilation being served (null before start). */
    public PolicySnapshot snapshot() {
        return snapshot;
    }

    /** Distinct egress IPs of the served policies. */
    public static int[] egressIps(CompiledPolicies compiled) {
        return compiled.served().stream().mapToInt(ServedPolicy::egressIp).distinct().toArray();
    }

    @Override
    public void close() {
        poller.shutdownNow();
        source.close();
    }
}
