package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import org.egressgw.testbed.GatewayProcess;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * Namespace topology plus a running gateway whose configuration a subclass adjusts (shortened
 * timeouts, a small table, another port range), for the connection-tracking acceptance tests of
 * issue 3. Unlike {@link EndToEndBase} it carries no tests of its own.
 *
 * <p>Helper scripts come from the test resources under {@code /conntrack/} and are copied into the
 * run's work directory; background processes are started with {@link Topology#start} so that
 * {@link Topology#close()} kills them whatever happens.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ConntrackEndToEndBase {
    protected Topology topo;
    protected GatewayProcess gateway;
    /** The gateway's config.yaml, as it was started. */
    protected Path configFile;

    /** The topology; the userspace gateway with an unassigned egress IP unless overridden. */
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    /**
     * Adjusts the gateway's {@code config.yaml} as written by {@link Topology#writeGatewayFiles()}.
     *
     * @param yaml the generated configuration
     * @return the configuration to run with
     */
    abstract String config(String yaml);

    /** Runs after the topology exists and before the gateway starts (sysctls, extra addresses). */
    void prepare() throws Exception {
    }

    @BeforeAll
    void up() throws Exception {
        Topology.cleanupStale();
        topo = Topology.create(options());
        try {
            prepare();
            Path config = topo.writeGatewayFiles();
            String yaml = config(Files.readString(config, StandardCharsets.UTF_8));
            Files.writeString(config, yaml, StandardCharsets.UTF_8);
            configFile = config;
            System.out.println("---- gateway config ----\n" + yaml);
            gateway = GatewayProcess.start(topo, List.of(GatewayCli.launcher().toString(), "run", "--config", config.toString()),
                    Duration.ofSeconds(60));
        } catch (Exception | Error e) {
            down();
            throw e;
        }
    }

    @AfterAll
    void down() throws Exception {
        try {
            if (gateway != null) {
                int exit = gateway.stop();
                String log = gateway.log();
                System.out.println("---- gateway log ----\n" + tail(log, 200));
                gateway = null;
                assertEquals(0, exit, "gateway exits 0 on SIGTERM");
            }
        } finally {
            if (topo != null) {
                topo.close();
                topo = null;
            }
        }
    }

    /** Replaces the generated {@code egress:} line with one that also sets {@code extra} (e.g. {@code portRange: 32768-65535}). */
    static String withEgress(String yaml, String extra) {
        String out = yaml.replaceFirst("egress: \\{(.*)}", "egress: {$1, " + extra.replace("$", "\\$") + "}");
        if (out.equals(yaml)) {
            throw new IllegalStateException("no egress line in generated config:\n" + yaml);
        }
        return out;
    }

    /** Runs the CLI (bin/egress-gateway ARGS) inside the gateway's namespace. */
    protected ExecResult cli(String... args) {
        return GatewayCli.cli(topo, args);
    }

    /** The gateway's /metrics page. */
    protected String metrics() {
        return GatewayCli.metrics(topo, Duration.ofSeconds(10));
    }

    protected static double metric(String metrics, String nameAndLabels) {
        return GatewayCli.metric(metrics, nameAndLabels);
    }

    /** The {@code egw_drops_total} lines that are not zero, for failure messages. */
    protected static String nonZeroDrops(String metrics) {
        StringBuilder sb = new StringBuilder();
        metrics.lines().filter(l -> l.startsWith("egw_drops_total{") && !l.endsWith(" 0.0") && !l.endsWith(" 0"))
                .forEach(l -> sb.append(l).append('\n'));
        metrics.lines().filter(l -> l.startsWith("egw_connections_") || l.startsWith("egw_conntrack_")
                || l.startsWith("egw_nat_ports_in_use")).forEach(l -> sb.append(l).append('\n'));
        return sb.toString();
    }

    /** Copies test resource {@code /conntrack/NAME} into the work directory and returns its path. */
    protected Path script(String name) {
        Path dir = topo.workDir().resolve("scripts");
        Path target = dir.resolve(name);
        try {
            Files.createDirectories(dir);
            if (!Files.exists(target)) {
                // this module's test scripts, else the testbed's (tcp_echo_server.py serves the HA topology too)
                InputStream own = getClass().getResourceAsStream("/conntrack/" + name);
                try (InputStream in = own != null ? own : Topology.class.getResourceAsStream(name)) {
                    if (in == null) {
                        throw new IOException("test resource /conntrack/" + name + " (or the testbed's " + name + ") missing");
                    }
                    Files.copy(in, target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return target;
    }

    /** Runs {@code python3 SCRIPT ARGS} in {@code ns} to completion. */
    protected ExecResult python(String ns, Duration timeout, String scriptName, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Topology.PYTHON, script(scriptName).toString()));
        cmd.addAll(List.of(args));
        return topo.exec(ns, timeout, cmd.toArray(String[]::new));
    }

    /** A background helper script and the file its output goes to. */
    protected record Background(Process process, Path log) {
        String output() {
            try {
                return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The first output line starting with {@code prefix}, if it has appeared. */
        Optional<String> line(String prefix) {
            return output().lines().filter(l -> l.startsWith(prefix)).findFirst();
        }

        /** Waits for a line starting with {@code prefix}; fails with the output if the process ends first or time runs out. */
        String await(String prefix, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                Optional<String> l = line(prefix);
                if (l.isPresent()) {
                    return l.get();
                }
                if (!process.isAlive()) {
                    // the line may have been written just before exit
                    l = line(prefix);
                    if (l.isPresent()) {
                        return l.get();
                    }
                    throw new AssertionError("'" + prefix + "' never printed; process exited " + process.exitValue()
                            + " with:\n" + output());
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("'" + prefix + "' not printed within " + timeout + "; output so far:\n" + output());
                }
                Thread.sleep(50);
            }
        }
    }

    /** Starts {@code python3 SCRIPT ARGS} in {@code ns} in the background; its output goes to {@code workDir/logs/TAG.log}. */
    protected Background startPython(String ns, String tag, String scriptName, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Topology.PYTHON, "-u", script(scriptName).toString()));
        cmd.addAll(List.of(args));
        Path log = topo.workDir().resolve("logs").resolve(tag + ".log");
        return new Background(topo.start(ns, cmd, log), log);
    }

    /** Waits until {@code ready} exists (a server's ready file), failing with its log otherwise. */
    protected static void awaitFile(Path ready, Background server, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!Files.exists(ready)) {
            if (!server.process().isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("server did not become ready: " + server.output());
            }
            Thread.sleep(20);
        }
    }

    /** Polls {@code condition} every 200 ms until it holds or {@code timeout} passes; returns the last answer. */
    protected static boolean eventually(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(200);
        }
    }

    /** The path of a trigger file under the work directory (not created yet), for scripts that wait for it. */
    protected Path trigger(String name) {
        return topo.workDir().resolve("triggers").resolve(name);
    }

    /** Creates a trigger file, releasing whatever waits for it. */
    protected static void fire(Path trigger) {
        try {
            Files.createDirectories(trigger.getParent());
            Files.writeString(trigger, "go");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs a setup command in {@code ns} and fails loudly. */
    protected void must(String ns, String... cmd) {
        ExecResult r = topo.exec(ns, Duration.ofSeconds(15), cmd);
        assertTrue(r.ok(), () -> String.join(" ", cmd) + " in " + ns + ": " + r);
    }

    protected String gatewayLog() {
        try {
            return gateway == null ? "" : gateway.log();
        } catch (IOException e) {
            return "(gateway log unreadable: " + e + ")";
        }
    }

    static String tail(String text, int lines) {
        String[] all = text.split("\n");
        int from = Math.max(0, all.length - lines);
        return String.join("\n", java.util.Arrays.copyOfRange(all, from, all.length));
    }
}
