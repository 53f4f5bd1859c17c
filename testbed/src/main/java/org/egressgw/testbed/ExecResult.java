package org.egressgw.testbed;

import java.io.IOException;

/**
 * What a finished (or timed-out) command left behind.
 *
 * @param exitCode the process exit code; {@link #TIMED_OUT} when it was killed for running too long
 * @param stdout   everything it wrote to standard output (UTF-8)
 * @param stderr   everything it wrote to standard error (UTF-8), plus a note when it timed out
 */
public record ExecResult(int exitCode, String stdout, String stderr) {

    /** The exit code reported for a command killed on timeout (the same as coreutils' {@code timeout}). */
    public static final int TIMED_OUT = 124;

    /** True when the command exited with status 0. */
    public boolean ok() {
        return exitCode == 0;
    }

    /**
     * Returns this result if it is {@link #ok()}, otherwise throws.
     *
     * @param what a description of the command for the exception message
     * @throws IOException naming the command, its exit code and its standard error
     */
    public ExecResult orThrow(String what) throws IOException {
        if (!ok()) {
            throw new IOException(what + " failed with exit code " + exitCode + ": " + stderr.strip()
                    + (stdout.isBlank() ? "" : " (stdout: " + stdout.strip() + ")"));
        }
        return this;
    }
}
