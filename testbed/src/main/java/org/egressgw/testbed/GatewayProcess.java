package org.egressgw.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A gateway started as its own process inside the topology's gateway namespace, as an operator
 * would run it ({@code ip netns exec GW egress-gateway run --config FILE}). Used by the demo, the
 * end-to-end tests and the benchmarks.
 */
public final class GatewayProcess implements AutoCloseable {
    private final Process process;
    private final Path log;

    private GatewayProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** The gateway's command-line entry point (gateway-core), started by name: the test bed does not link it. */
    public static final String MAIN_CLASS = "org.egressgw.core.cli.Main";

    /** The command that runs this same build's CLI in a new JVM (the caller's class path must hold gateway-core). */
    public static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("--add-exports");
        cmd.add("java.base/jdk.internal.misc=ALL-UNNAMED");
        cmd.add("-Xms128m");
        cmd.add("-Xmx512m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(MAIN_CLASS);
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Starts {@code cmd} in the gateway namespace and waits until it prints its ready line. */
    public static GatewayProcess start(Topology topo, List<String> cmd, Duration timeout) throws IOException, InterruptedException {
        return start(topo, cmd, timeout, topo.workDir().resolve("gateway.log"));
    }

    /** As {@link #start(Topology, List, Duration)}, its output appended to {@code log} (a new file for each start). */
    public static GatewayProcess start(Topology topo, List<String> cmd, Duration timeout, Path log)
            throws IOException, InterruptedException {
        return awaitReady(topo.start(topo.gw(), cmd, log), log, timeout);
    }

    /** Starts {@code cmd} in member {@code member}'s namespace of a gateway group and waits for its ready line. */
    public static GatewayProcess start(HaTopology topo, int member, List<String> cmd, Duration timeout, Path log)
            throws IOException, InterruptedException {
        return awaitReady(topo.start(topo.member(member), cmd, log), log, timeout);
    }

    private static GatewayProcess awaitReady(Process p, Path log, Duration timeout) throws IOException, InterruptedException {
        GatewayProcess g = new GatewayProcess(p, log);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            String text = g.log();
            if (text.contains("egress-gateway ready")) {
                return g;
            }
            if (!p.isAlive()) {
                throw new IOException("gateway exited with " + p.exitValue() + " before it was ready:\n" + text);
            }
            Thread.sleep(100);
        }
        g.close();
        throw new IOException("gateway not ready within " + timeout + ":\n" + g.log());
    }

    /** Everything the gateway printed so far. */
    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    public Path logFile() {
        return log;
    }

    /** The process started (the launcher script may have exec'd the JVM into it). */
    public ProcessHandle handle() {
        return process.toHandle();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Kills the process with SIGKILL (as the OOM killer or a container runtime does) and waits for it to go. */
    public void kill() throws InterruptedException {
        process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Sends SIGTERM and waits for the exit code (SIGKILL after 15 s). */
    public int stop() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(15, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
            return -1;
        }
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            stop();
        }
    }
}
