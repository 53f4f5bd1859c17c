package org.egressgw.testbed;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one command to completion with a deadline and captures its output.
 *
 * <p>Output goes to temporary files rather than pipes so that a command that writes a lot can never
 * block on a full pipe while we wait for it. Stateless; safe to use from any thread.
 */
final class CommandRunner {

    private static final File DEV_NULL = new File("/dev/null");

    private CommandRunner() {
    }

    /**
     * Runs {@code cmd} with standard input from {@code /dev/null}.
     *
     * @param cmd     the program and its arguments
     * @param timeout how long it may run; then it and its descendants are killed and the result's exit code
     *                is {@link ExecResult#TIMED_OUT}
     * @param scratch a directory for the capture files
     */
    static ExecResult run(List<String> cmd, Duration timeout, Path scratch) throws IOException, InterruptedException {
        Path out = Files.createTempFile(scratch, "exec", ".out");
        Path err = Files.createTempFile(scratch, "exec", ".err");
        try {
            Process p = new ProcessBuilder(cmd)
                    .redirectInput(DEV_NULL)
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            boolean finished;
            try {
                finished = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                kill(p);
                throw e;
            }
            if (!finished) {
                kill(p);
            }
            String stdout = Files.readString(out, StandardCharsets.UTF_8);
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            if (!finished) {
                return new ExecResult(ExecResult.TIMED_OUT, stdout,
                        stderr + "[killed: " + String.join(" ", cmd) + " ran longer than " + timeout + "]");
            }
            return new ExecResult(p.exitValue(), stdout, stderr);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Kills a process and everything it started, and reaps it (bounded). */
    static void kill(Process p) throws InterruptedException {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
    }
}
