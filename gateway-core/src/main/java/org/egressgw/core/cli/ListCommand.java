package org.egressgw.core.cli;

import java.util.concurrent.Callable;
import org.egressgw.control.explain.PolicyRows;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code list}: one row per (source IP, destination CIDR), as Cilium's {@code cilium-dbg bpf egress list}. */
@Command(name = "list", description = "Source IP | Destination CIDR | Egress IP | Gateway | Policy, for every selected endpoint.")
final class ListCommand implements Callable<Integer> {
    @Mixin
    PolicySourceOptions source;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "text (default) or json.")
    String output = "text";

    @Override
    public Integer call() {
        boolean json = "json".equals(output);
        try {
            if (source.online()) {
                System.out.print(source.adminClient().get("/policies" + (json ? "?format=json" : "")));
            } else {
                PolicySourceOptions.Offline o = source.load();
                PolicyRows rows = PolicyRows.rows(o.state(), o.compiled());
                System.out.print(json ? rows.toJson() + "\n" : rows.toTable());
            }
            return 0;
        } catch (Exception e) {
            return PolicySourceOptions.fail(e);
        }
    }
}
