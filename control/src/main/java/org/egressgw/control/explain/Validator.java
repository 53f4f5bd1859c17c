package org.egressgw.control.explain;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.egressgw.control.policy.ClusterLoader;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.policy.PolicyCompiler;

/**
 * Lints cluster files offline ({@code egress-gateway validate PATH...}): everything the loader
 * refuses or warns about, then what the compiler reports without a local gateway node. "No Node
 * matches the gateway nodeSelector" is only reported when the files contain Nodes at all (linting
 * a policies directory alone is normal). Interface addresses are not checked (they are the
 * gateway host's). Stateless.
 */
public final class Validator {
    private Validator() {
    }

    /** {@code file:line: reason} lines; empty means valid. */
    public static List<String> validate(List<Path> paths) {
        ClusterState state;
        try {
            state = ClusterLoader.load(paths);
        } catch (IOException e) {
            return List.of(e.getMessage() == null ? e.toString() : "cannot read: " + e.getMessage());
        }
        List<String> out = new ArrayList<>(state.problems());
        CompiledPolicies neutral = PolicyCompiler.neutral(state);
        for (String p : neutral.problems()) {
            if (state.nodes().isEmpty() && p.contains("no Node matches")) {
                continue;
            }
            out.add(p);
        }
        return out;
    }
}
