package org.egressgw.core.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.explain.Validator;
import org.egressgw.control.yaml.SourceException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code validate PATH...}: lints policy and inventory files (and, with {@code --config}, the
 * gateway configuration), one line per problem, exit 1 if there is any. With {@code --admin} it
 * reports the problems of what a running gateway serves.
 */
@Command(name = "validate", description = "Lint files: one line per problem (file:line: reason); exit 0 when clean, 1 otherwise.")
final class ValidateCommand implements Callable<Integer> {
    @Option(names = "--config", paramLabel = "FILE", description = "Also validate this gateway configuration and its cluster paths.")
    Path config;

    @Option(names = "--admin", paramLabel = "HOST:PORT", description = "Report the problems of a running gateway instead.")
    String admin;

    @Parameters(paramLabel = "PATH", arity = "0..*")
    List<Path> paths = new ArrayList<>();

    @Override
    public Integer call() {
        try {
            List<String> problems = new ArrayList<>();
            if (admin != null) {
                AdminClient c = new AdminClient();
                c.admin = admin;
                c.get("/problems").lines().filter(l -> !l.isBlank()).forEach(problems::add);
            } else {
                List<Path> all = new ArrayList<>(paths);
                if (config != null) {
                    try {
                        all.addAll(GatewayConfig.load(config).cluster().paths());
                    } catch (SourceException e) {
                        problems.add(e.getMessage());
                    }
                }
                if (all.isEmpty() && problems.isEmpty()) {
                    System.err.println("egress-gateway: validate needs PATH..., --config FILE or --admin HOST:PORT");
                    return 2;
                }
                problems.addAll(Validator.validate(all));
            }
            problems.forEach(System.out::println);
            return problems.isEmpty() ? 0 : 1;
        } catch (Exception e) {
            return PolicySourceOptions.fail(e);
        }
    }
}
