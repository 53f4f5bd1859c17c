package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.egressgw.testbed.Topology;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 3 acceptance: "a TCP connection idle for most of its timeout then used again works", with
 * {@code conntrack.timeouts.tcpEstablished} shortened to 6 s so the test stays short.
 *
 * <p>pod1 opens a TCP connection to an echo server on 203.0.113.5:7007 ({@code tcp_line_client.py}
 * → {@code tcp_echo_server.py}), exchanges a line (and another right after listing the table, so the
 * CLI's start-up time does not count as idle), stays idle for 5.4 s (90 % of the timeout; the
 * gateway expires entries every 100 ms, so this leaves a margin of several expiry rounds) and
 * exchanges another. The line must come back, and {@code conntrack list} must show the same entry —
 * the same original and reply tuples, ESTABLISHED — before and after the idle period, i.e. the
 * connection kept its translation rather than being picked up again as a new one. As the control,
 * a second connection left idle past its timeout is removed from the table.
 */
class IdleConnectionIT extends ConntrackEndToEndBase {
    private static final int ECHO_PORT = 7007;
    private static final long TIMEOUT_MILLIS = 6000;

    @Override
    String config(String yaml) {
        return yaml + "conntrack: {timeouts: {tcpEstablished: 6s}}\n";
    }

    @BeforeAll
    void echoServer() throws Exception {
        Path ready = topo.workDir().resolve("echo.ready");
        Background server = startPython(topo.ext(), "echo-server", "tcp_echo_server.py", Topology.SERVER_IP,
                Integer.toString(ECHO_PORT), ready.toString());
        awaitFile(ready, server, Duration.ofSeconds(10));
    }

    @Test
    @Timeout(60)
    void connectionIdleForNinetyPercentOfItsTimeoutKeepsWorking() throws Exception {
        Path listed = trigger("idle-listed");
        long idle = TIMEOUT_MILLIS * 9 / 10;
        Background client = startPython(topo.pod1(), "idle-client", "tcp_line_client.py", Topology.SERVER_IP,
                Integer.toString(ECHO_PORT), "echo:one", "wait:" + listed, "echo:two", "sleep:" + idle / 1000.0, "echo:three", "hold:2");
        String port = client.await("connected localport=", Duration.ofSeconds(10)).split("=")[1].strip();
        client.await("echo one ok", Duration.ofSeconds(10));
        String before = entry(port).orElseThrow(() -> new AssertionError("no entry for port " + port + ":\n" + list()));
        fire(listed);
        client.await("echo two ok", Duration.ofSeconds(10));
        client.await("echo three", Duration.ofSeconds(idle / 1000 + 10));
        assertTrue(client.output().contains("echo three ok"), () -> "after " + idle + " ms idle: " + client.output()
                + nonZeroDrops(metrics()));
        String after = entry(port).orElseThrow(() -> new AssertionError("entry gone after the idle period:\n" + list()));
        assertEquals(tuples(before), tuples(after), "same translation before and after the idle period");
        assertTrue(before.contains("TCP_ESTABLISHED") && after.contains("TCP_ESTABLISHED"), before + "\n" + after);
    }

    @Test
    @Timeout(60)
    void connectionIdlePastItsTimeoutIsRemoved() throws Exception {
        Path done = trigger("past-done");
        Background client = startPython(topo.pod1(), "past-client", "tcp_line_client.py", Topology.SERVER_IP,
                Integer.toString(ECHO_PORT), "echo:one", "wait:" + done);
        String port = client.await("connected localport=", Duration.ofSeconds(10)).split("=")[1].strip();
        client.await("echo one ok", Duration.ofSeconds(10));
        assertTrue(entry(port).isPresent(), this::list);
        double expiredBefore = metric(metrics(), "egw_connections_expired_total");
        Thread.sleep(TIMEOUT_MILLIS * 13 / 10);
        Optional<String> still = entry(port);
        fire(done);
        assertTrue(still.isEmpty(), () -> "idle past tcpEstablished (6 s) but still listed: " + still.orElse(""));
        assertTrue(metric(metrics(), "egw_connections_expired_total") > expiredBefore);
    }

    private String list() {
        return cli("conntrack", "list").stdout();
    }

    /** The conntrack list line of pod1's connection from {@code port}. */
    private Optional<String> entry(String port) {
        String needle = Topology.POD1_IP + ":" + port + " -> " + Topology.SERVER_IP + ":" + ECHO_PORT;
        return list().lines().filter(l -> l.startsWith("tcp") && l.contains(needle)).findFirst();
    }

    /** "orig -> dst reply src -> egress:port" without the state, time left and counters. */
    private static String tuples(String line) {
        String[] f = line.trim().split("\\s+");
        // tcp ORIG -> DST reply SRC -> EGRESS STATE ...
        return String.join(" ", f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
    }
}
