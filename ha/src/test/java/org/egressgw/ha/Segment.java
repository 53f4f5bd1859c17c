package org.egressgw.ha;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.egressgw.packet.Ipv4Address;

/**
 * One underlay segment for namespace tests: a switch namespace holding bridge {@code br0}, and {@code n} member
 * namespaces, each with {@code eth0} (a veth into the bridge) addressed 198.51.100.{i+1}/24. IPv6 is off so no
 * router solicitations or MLD reports appear. Names are {@code egwha<random>-sw} and {@code egwha<random>-m<i>};
 * {@link #delete} deletes every namespace created, even after a partial setup.
 */
final class Segment {
    final String prefix = String.format("egwha%06x", ThreadLocalRandom.current().nextInt(1 << 24));
    final String switchNs = prefix + "-sw";
    private final List<String> created = new ArrayList<>();
    private final int members;

    Segment(int members) throws IOException, InterruptedException {
        this.members = members;
        try {
            addNamespace(switchNs);
            run("ip", "-n", switchNs, "link", "add", "br0", "type", "bridge");
            run("ip", "-n", switchNs, "link", "set", "br0", "up");
            for (int i = 0; i < members; i++) {
                final String ns = member(i);
                addNamespace(ns);
                run("ip", "-n", switchNs, "link", "add", "p" + i, "type", "veth", "peer", "name", "eth0", "netns", ns);
                run("ip", "-n", switchNs, "link", "set", "p" + i, "master", "br0", "up");
                run("ip", "-n", ns, "addr", "add", Ipv4Address.toString(address(i)) + "/24", "dev", "eth0");
                run("ip", "-n", ns, "link", "set", "eth0", "up");
                run("ip", "-n", ns, "link", "set", "lo", "up");
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            delete();
            throw e;
        }
    }

    private void addNamespace(String name) throws IOException, InterruptedException {
        run("ip", "netns", "add", name);
        created.add(name);
        run("ip", "netns", "exec", name, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1");
    }

    int size() {
        return members;
    }

    /** Namespace of member {@code i}. */
    String member(int i) {
        return prefix + "-m" + i;
    }

    /** Address of member {@code i}: 198.51.100.{i+1}. */
    static int address(int i) {
        return Ipv4Address.parse("198.51.100." + (i + 1));
    }

    /** Deletes every namespace created; the first failure is thrown after trying all. */
    void delete() throws IOException, InterruptedException {
        IOException first = null;
        for (int i = created.size() - 1; i >= 0; i--) {
            try {
                run("ip", "netns", "del", created.get(i));
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        created.clear();
        if (first != null) {
            throw first;
        }
    }

    /** Runs a command, bounded to 10 s; returns its output; throws naming the command and output if it fails. */
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
