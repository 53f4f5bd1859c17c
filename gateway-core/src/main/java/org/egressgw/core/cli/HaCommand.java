package org.egressgw.core.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ha status|handover}: a gateway group member, via its admin endpoint. */
@Command(name = "ha", description = "The gateway group: this member's role and sync, and planned handover.",
        subcommands = {HaCommand.StatusCommand.class, HaCommand.HandoverCommand.class})
final class HaCommand {

    @Command(name = "status", description = "This member: role, priority, whether it holds the virtual IP, the active"
            + " member, and per peer the state sync (sending, lag, table received).")
    static final class StatusCommand implements Callable<Integer> {
        @Mixin
        AdminClient admin;

        @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "text (default) or json.")
        String output = "text";

        @Override
        public Integer call() throws Exception {
            return ConntrackCommand.print(() -> admin.get("json".equals(output) ? "/ha" : "/ha?format=text"));
        }
    }

    @Command(name = "handover", description = "Moves the active role to a peer that holds this member's whole table; this"
            + " member keeps serving what still reaches it for ha.releaseDelayMillis (no packet lost). Run on the"
            + " active member's host (the endpoint takes it only from there).")
    static final class HandoverCommand implements Callable<Integer> {
        @Mixin
        AdminClient admin;

        @Override
        public Integer call() throws Exception {
            return ConntrackCommand.print(() -> admin.post("/ha/handover"));
        }
    }
}
