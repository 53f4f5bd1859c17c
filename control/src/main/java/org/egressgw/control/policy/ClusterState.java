package org.egressgw.control.policy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;

/**
 * A snapshot of the cluster objects the gateway acts on, with the problems met while reading them.
 * Immutable and safe to share; a reload builds a new snapshot.
 */
public final class ClusterState {
    private final List<Pod> pods;
    private final List<NamespaceObj> namespaces;
    private final List<NodeObj> nodes;
    private final List<EgressPolicy> policies;
    private final List<String> problems;
    private final List<RefusedPolicy> refusedPolicies;
    private final Map<String, NamespaceObj> namespaceByName = new LinkedHashMap<>();
    private final Map<String, NodeObj> nodeByName = new LinkedHashMap<>();

    /** Objects as given (the loader has already dropped duplicates); the first of a name wins in lookups. */
    public ClusterState(List<Pod> pods, List<NamespaceObj> namespaces, List<NodeObj> nodes,
                        List<EgressPolicy> policies, List<String> problems) {
        this(pods, namespaces, nodes, policies, problems, List.of());
    }

    /**
     * @param refusedPolicies policies refused as a whole (their problem is also in {@code problems}),
     *     so that explain and status can name them
     */
    public ClusterState(List<Pod> pods, List<NamespaceObj> namespaces, List<NodeObj> nodes,
                        List<EgressPolicy> policies, List<String> problems, List<RefusedPolicy> refusedPolicies) {
        this.refusedPolicies = List.copyOf(refusedPolicies);
        this.pods = List.copyOf(pods);
        this.namespaces = List.copyOf(namespaces);
        this.nodes = List.copyOf(nodes);
        this.policies = List.copyOf(policies);
        this.problems = List.copyOf(problems);
        for (NamespaceObj n : this.namespaces) {
            namespaceByName.putIfAbsent(n.name(), n);
        }
        for (NodeObj n : this.nodes) {
            nodeByName.putIfAbsent(n.name(), n);
        }
    }

    /**
     * Reads every path with {@link ClusterLoader#load}: bad content becomes {@link #problems()},
     * missing paths too.
     *
     * @throws IOException only when an existing file or directory cannot be read
     */
    public static ClusterState load(List<Path> paths) throws IOException {
        return ClusterLoader.load(paths);
    }

    public List<Pod> pods() {
        return pods;
    }

    public List<NamespaceObj> namespaces() {
        return namespaces;
    }

    public List<NodeObj> nodes() {
        return nodes;
    }

    public List<EgressPolicy> policies() {
        return policies;
    }

    /** {@code file:line: reason} for every file, object or part of an object that was skipped. */
    public List<String> problems() {
        return problems;
    }

    /** Policies refused as a whole, in reading order. */
    public List<RefusedPolicy> refusedPolicies() {
        return refusedPolicies;
    }

    /** The Pod of that namespace and name, or null (linear scan: control path only). */
    public Pod pod(String namespace, String name) {
        for (Pod p : pods) {
            if (p.namespace().equals(namespace) && p.name().equals(name)) {
                return p;
            }
        }
        return null;
    }

    /** The Namespace object of that name, or null. */
    public NamespaceObj namespace(String name) {
        return namespaceByName.get(name);
    }

    /** The Node object of that name, or null. */
    public NodeObj node(String name) {
        return name == null ? null : nodeByName.get(name);
    }
}
