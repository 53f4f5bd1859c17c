package org.egressgw.core.cli;

import java.util.concurrent.Callable;
import org.egressgw.control.yaml.SourceException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code conntrack list|stats}: the live connection table of a running gateway, via its admin endpoint. */
@Command(name = "conntrack", description = "Inspect a running gateway's connection table.",
        subcommands = {ConntrackCommand.ListCommand.class, ConntrackCommand.StatsCommand.class})
final class ConntrackCommand {

    @Command(name = "list", description = "One line per connection: original tuple, reply tuple, state, time left, policy, originating node, counters.")
    static final class ListCommand implements Callable<Integer> {
        @Mixin
        AdminClient admin;

        @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", description = "text (default) or json (one object per line).")
        String output = "text";

        @Override
        public Integer call() throws Exception {
            return print(() -> admin.get("/conntrack" + ("json".equals(output) ? "?format=json" : "")));
        }
    }

    @Command(name = "stats", description = "Connections by state, and drops by reason.")
    static final class StatsCommand implements Callable<Integer> {
        @Mixin
        AdminClient admin;

        @Override
        public Integer call() throws Exception {
            return print(() -> admin.get("/conntrack/stats"));
        }
    }

    interface Fetch {
        String get() throws Exception;
    }

    static int print(Fetch fetch) {
        try {
            System.out.print(fetch.get());
            return 0;
        } catch (SourceException e) {
            System.err.println("egress-gateway: refused configuration: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            System.err.println("egress-gateway: " + e.getMessage());
            return 1;
        }
    }
}
