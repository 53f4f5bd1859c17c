package org.egressgw.core.host;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The host commands the gateway runs where no kernel API is at hand from Java ({@code tc}, {@code nft}, and
 * {@code ip link} for the rare device change): each run is bounded in time, and what changes the host is printed
 * ({@code plumbing: + ...}, {@code plumbing: - ...}) so an operator can see and replay it.
 */
final class Commands {
    private static final long TIMEOUT_SECONDS = 10;
    private final PrintStream log;

    Commands(PrintStream log) {
        this.log = log;
    }

    /** Runs a command that adds something, printed as {@code plumbing: + ...}; throws naming it if it fails. */
    void add(List<String> cmd) throws IOException {
        log.println("plumbing: + " + String.join(" ", cmd));
        String out = exec(cmd);
        if (out != null) {
            throw new IOException("host plumbing failed: '" + String.join(" ", cmd) + "': " + out.trim());
        }
    }

    /** Runs a command that removes something, printed as {@code plumbing: - ...}; a failure is printed, not thrown. */
    void remove(List<String> cmd) {
        log.println("plumbing: - " + String.join(" ", cmd));
        try {
            String out = exec(cmd);
            if (out != null) {
                log.println("plumbing: ! " + out.trim());
            }
        } catch (IOException e) {
            log.println("plumbing: ! " + e.getMessage());
        }
    }

    /** Runs a command quietly (a check, or a removal that may find nothing); true if it exited 0. */
    static boolean quietly(List<String> cmd) {
        try {
            return exec(cmd) == null;
        } catch (IOException e) {
            return false;
        }
    }

    /** A command's output (stdout and stderr), whatever its exit code; empty if it could not run. */
    static String output(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return out;
        } catch (IOException e) {
            return "";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        }
    }

    /** Runs a command; returns null on success, or its output on failure. */
    static String exec(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "timed out";
            }
            return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + cmd, e);
        }
    }
}
