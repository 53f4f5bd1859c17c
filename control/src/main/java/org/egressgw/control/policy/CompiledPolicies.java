package org.egressgw.control.policy;

import java.util.List;

/**
 * The result of {@link PolicyCompiler#compile}: the lookup table for the packet path, the policies
 * it serves (index = served id), the problems met ({@code file:line: reason}) and the resolution
 * of every policy it was built from.
 */
public record CompiledPolicies(PolicyTable table, List<ServedPolicy> served, List<String> problems,
                               String gatewayNodeName, List<ResolvedPolicy> resolvedPolicies) implements CompiledView {
    public CompiledPolicies {
        served = List.copyOf(served);
        problems = List.copyOf(problems);
        resolvedPolicies = List.copyOf(resolvedPolicies);
    }

    /** A result without resolution details (tests, hand-built tables). */
    public CompiledPolicies(PolicyTable table, List<ServedPolicy> served, List<String> problems) {
        this(table, served, problems, null, List.of());
    }
}
