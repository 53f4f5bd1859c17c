package org.egressgw.testbed;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What every throw-away network of namespaces in the testbed shares ({@link Topology}, {@link HaTopology}): a
 * per-run prefix on every namespace name, a work directory with the setup log, the processes started inside, the
 * probes, and a {@link #close()} that kills those processes, deletes the namespaces and forgets the run — also from
 * a JVM shutdown hook if the caller forgets.
 *
 * <p>Thread safety: all methods may be called from any thread; {@link #close()} is idempotent.
 */
public abstract class NamespaceRun implements AutoCloseable, Probes.Rig {
    private final String prefix;
    private final List<String> roles;
    private final Path workDir;
    /** Every setup command and its output, for the failure message of a run that could not be built. */
    final Path setupLog;
    private final Thread shutdownHook;
    private final Probes probes;
    /** Guarded by {@code this}. */
    private final List<Process> processes = new ArrayList<>();
    /** Guarded by {@code this}. */
    private boolean closed;
    private volatile boolean keepWorkDir = Topology.keepWorkDirByDefault();

    /** @param roles the namespaces' names without the prefix, in the order {@link #namespaces()} lists them */
    NamespaceRun(String prefix, Path workDir, List<String> roles) {
        this.prefix = prefix;
        this.roles = List.copyOf(roles);
        this.workDir = workDir;
        this.setupLog = workDir.resolve("setup.log");
        this.shutdownHook = new Thread(this::close, "egw-testbed-cleanup-" + prefix);
        this.probes = new Probes(this);
    }

    /** A step of building the run. */
    @FunctionalInterface
    interface Step {
        void run() throws IOException, InterruptedException;
    }

    /**
     * Registers the shutdown hook, then builds; on failure everything created so far is removed again before the
     * exception propagates.
     */
    final void setUp(Step build) throws IOException, InterruptedException {
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        try {
            build.run();
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /** This run's namespace prefix, e.g. {@code egw3fa0}. */
    public String prefix() {
        return prefix;
    }

    /** The namespace of {@code role} in this run. */
    final String ns(String role) {
        return prefix + "-" + role;
    }

    /** All the run's namespace names. */
    public List<String> namespaces() {
        List<String> all = new ArrayList<>();
        for (String role : roles) {
            all.add(ns(role));
        }
        return all;
    }

    /** A temporary directory for this run: configs, logs, captures. Deleted by {@link #close()} unless kept. */
    @Override
    public Path workDir() {
        return workDir;
    }

    /**
     * Keeps {@link #workDir()} after {@link #close()} (also on with {@code -Degw.testbed.keep=true} or the
     * environment variable {@code EGW_TESTBED_KEEP}).
     */
    public void keepWorkDir(boolean keep) {
        this.keepWorkDir = keep;
    }

    /** Reachability helpers (HTTP, download, UDP echo, ping, capture) that run inside the namespaces. */
    public Probes probes() {
        return probes;
    }

    /**
     * Lines the ext servers recorded so far, oldest first: {@code http <server> <client> <method> <path>} and
     * {@code udp <server> <client> <length>}. A request's line is written before it is answered.
     */
    public List<String> serverLog() {
        return Topology.readLines(Topology.serverLogPath(workDir()));
    }

    /**
     * Runs {@code cmd} inside namespace {@code ns} via {@code ip netns exec}, capturing its output.
     *
     * @param timeout how long it may run; then it is killed and the result's exit code is
     *                {@link ExecResult#TIMED_OUT}
     * @throws java.io.UncheckedIOException when the command cannot be started, or the calling thread is interrupted
     *                                      (the interrupt flag is set again)
     */
    @Override
    public ExecResult exec(String ns, Duration timeout, String... cmd) {
        return Topology.execIn(ns, timeout, cmd);
    }

    /**
     * Starts {@code cmd} in the background inside namespace {@code ns}, standard output and error appended to
     * {@code log}, standard input from {@code /dev/null}. The process is killed by {@link #close()}.
     *
     * @throws java.io.UncheckedIOException when it cannot be started
     * @throws IllegalStateException after {@link #close()}
     */
    @Override
    public Process start(String ns, List<String> cmd, Path log) {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("topology " + prefix + " is closed; cannot start " + cmd);
            }
            Process p = Topology.launch(ns, cmd, log);
            processes.add(p);
            return p;
        }
    }

    /**
     * Kills every process started in the namespaces (tracked ones first, gently, then anything
     * {@code ip netns pids} still finds), deletes the namespaces, forgets the run and deletes the work
     * directory unless it is kept. Never throws; problems are reported on standard error.
     */
    @Override
    public void close() {
        List<Process> toStop;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toStop = new ArrayList<>(processes);
            processes.clear();
        }
        Topology.teardown(prefix, shutdownHook, toStop, namespaces(), keepWorkDir ? null : workDir);
    }
}
