package org.egressgw.core.cli;

import java.util.ServiceLoader;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code bin/egress-gateway}: the gateway's command line. */
@Command(name = "egress-gateway", mixinStandardHelpOptions = true, version = "egress-gateway 0.1.0",
        description = "Userspace egress gateway for Kubernetes: VXLAN in, SNAT to a stable egress IP out.",
        subcommands = {RunCommand.class, ConntrackCommand.class, ReplayCommand.class,
            ListCommand.class, ExplainCommand.class, ValidateCommand.class, StatusCommand.class, HaCommand.class,
            CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with every {@link CommandExtension} found on the class path (e.g. {@code demo}). */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        for (CommandExtension extension : ServiceLoader.load(CommandExtension.class)) {
            cl.addSubcommand(extension);
        }
        return cl;
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
