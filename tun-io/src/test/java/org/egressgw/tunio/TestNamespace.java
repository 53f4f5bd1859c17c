package org.egressgw.tunio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace owned by one test: created with a unique {@code <prefix>-<random>} name ({@code egwtun-}
 * unless a subclass chooses another prefix), deleted by {@link #delete} (call it from finally/@AfterEach so it
 * goes even when the test fails).
 */
public class TestNamespace {
    public final String name;

    TestNamespace() throws IOException, InterruptedException {
        this("egwtun");
    }

    /** Creates namespace {@code <prefix>-<8 random hex digits>}. */
    protected TestNamespace(String prefix) throws IOException, InterruptedException {
        name = String.format("%s-%08x", prefix, ThreadLocalRandom.current().nextInt());
        run("ip", "netns", "add", name);
    }

    /** Runs {@code ip -n <this> args...}, returning its output. */
    public String ip(String... args) throws IOException, InterruptedException {
        final List<String> command = new ArrayList<>(List.of("ip", "-n", name));
        command.addAll(List.of(args));
        return run(command.toArray(new String[0]));
    }

    /** Runs {@code ip netns exec <this> args...}. */
    public String exec(String... args) throws IOException, InterruptedException {
        final List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", name));
        command.addAll(List.of(args));
        return run(command.toArray(new String[0]));
    }

    /** Disables IPv6 so no router solicitations or MLD reports appear on the interfaces. */
    public void disableIpv6() throws IOException, InterruptedException {
        exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
    }

    /** Deletes each namespace that was created (nulls: not created), in the order given. */
    static void deleteAll(TestNamespace... namespaces) throws IOException, InterruptedException {
        for (TestNamespace ns : namespaces) {
            if (ns != null) {
                ns.delete();
            }
        }
    }

    public void delete() throws IOException, InterruptedException {
        run("ip", "netns", "del", name);
    }

    /** Runs a command with a 10 s limit, returning its output; throws naming the command and its output if it fails. */
    public static String run(String... command) throws IOException, InterruptedException {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException("timed out: " + String.join(" ", command));
        }
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IOException("'" + String.join(" ", command) + "' exited " + process.exitValue() + ": " + output);
        }
        return output;
    }
}
