package org.egressgw.tunio.netlink;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.egressgw.tunio.NetNs;

/**
 * A network namespace owned by one test, {@code egwnl-<random>}, holding a veth pair {@code v0}
 * (MAC {@link #V0_MAC}) / {@code v1} (MAC {@link #V1_MAC}), both up, with IPv6 disabled so that no
 * router solicitations, MLD reports or IPv6 notifications appear. {@link #delete} removes it with everything in
 * it; call it from {@code @AfterEach} so it goes even when the test fails.
 */
final class NetlinkNamespace {
    static final long V0_MAC = 0x020000000001L;
    static final long V1_MAC = 0x020000000002L;

    final String name;
    private boolean deleted;

    NetlinkNamespace() throws IOException, InterruptedException {
        name = String.format("egwnl-%08x", ThreadLocalRandom.current().nextInt());
        run("ip", "netns", "add", name);
        try {
            exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1");
            ip("link", "add", "v0", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "v1", "address",
                "02:00:00:00:00:02");
            ip("link", "set", "v0", "up");
            ip("link", "set", "v1", "up");
        } catch (IOException | InterruptedException | RuntimeException e) {
            delete();
            throw e;
        }
    }

    /** Runs {@code body} on a thread inside the namespace (sockets it opens stay in the namespace). */
    <T> T call(Callable<T> body) throws Exception {
        return NetNs.call(name, body);
    }

    /** Runs {@code ip -n <this> args...}, returning its output. */
    String ip(String... args) throws IOException, InterruptedException {
        final List<String> command = new ArrayList<>(List.of("ip", "-n", name));
        command.addAll(List.of(args));
        return run(command.toArray(new String[0]));
    }

    /** Runs {@code ip netns exec <this> args...}. */
    String exec(String... args) throws IOException, InterruptedException {
        final List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", name));
        command.addAll(List.of(args));
        return run(command.toArray(new String[0]));
    }

    /** The ifindex {@code ip} reports for an interface ("3: v0@v1: ..."). */
    int ifindex(String interfaceName) throws IOException, InterruptedException {
        final String line = ip("-o", "link", "show", "dev", interfaceName);
        return Integer.parseInt(line.substring(0, line.indexOf(':')).trim());
    }

    void delete() throws IOException, InterruptedException {
        if (!deleted) {
            deleted = true;
            run("ip", "netns", "del", name);
        }
    }

    /** Runs a command with a 10 s limit; throws naming the command and its output if it fails. */
    static String run(String... command) throws IOException, InterruptedException {
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
