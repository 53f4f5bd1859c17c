package org.egressgw.core.cli;

/**
 * A subcommand that lives outside gateway-core (e.g. {@code demo}, which needs the test bed a gateway node
 * does not ship): an implementation annotated with picocli's {@code @Command} and listed in
 * {@code META-INF/services/org.egressgw.core.cli.CommandExtension} is added to the command line when its jar
 * is on the class path. It needs a public no-argument constructor.
 */
public interface CommandExtension {
}
