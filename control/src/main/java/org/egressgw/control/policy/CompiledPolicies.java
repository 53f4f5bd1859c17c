package org.egressgw.control.policy;

import java.util.List;

/**
 * The result of {@link PolicyCompiler#compile}: the lookup table for the packet path, the policies
 * it serves (index = policy id) and the problems met ({@code file:line: reason}).
 */
public record CompiledPolicies(PolicyTable table, List<ServedPolicy> served, List<String> problems) {
    public CompiledPolicies {
        served = List.copyOf(served);
        problems = List.copyOf(problems);
    }
}
