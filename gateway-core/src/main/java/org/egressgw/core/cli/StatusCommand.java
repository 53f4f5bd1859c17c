package org.egressgw.core.cli;

import java.util.List;
import java.util.concurrent.Callable;
import org.egressgw.control.explain.PolicyStatus;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code status}: per policy, the gateways serving it, the egress IP, selected endpoints, errors; from a running
 * member of a gateway group also its role (as {@code ha status}).
 */
@Command(name = "status", description = "Per policy: gateway(s) serving it, egress IP, selected endpoint count, errors.")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    PolicySourceOptions source;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "text (default) or json.")
    String output = "text";

    @Override
    public Integer call() {
        boolean json = "json".equals(output);
        try {
            if (source.online()) {
                AdminClient admin = source.adminClient();
                System.out.print(admin.get("/status" + (json ? "?format=json" : "")));
                if (!json) {
                    // a member of a gateway group also says its role (the whole picture: ha status)
                    admin.getIfServed("/ha?format=text").ifPresent(ha -> System.out.print("\nGateway group:\n" + ha));
                }
            } else {
                PolicySourceOptions.Offline o = source.load();
                List<PolicyStatus> st = PolicyStatus.of(o.state(), o.compiled());
                System.out.print(json ? PolicyStatus.toJson(st) + "\n" : PolicyStatus.toTable(st));
            }
            return 0;
        } catch (Exception e) {
            return PolicySourceOptions.fail(e);
        }
    }
}
