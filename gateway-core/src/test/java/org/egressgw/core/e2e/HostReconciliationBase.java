package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.GatewayProcess;
import org.egressgw.testbed.Topology;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The gateway follows the host (issue 13), against the real kernel, with HTTP and a long-lived TCP connection
 * (a line echoed every 100 ms) running through it: a second gateway is refused; the egress IP is assigned to the
 * egress interface and removed again while it runs; the egress link flaps (carrier lost, and administratively down,
 * which flushes the proxy-ARP entries and the host's routes); the gateway is killed with SIGKILL and started again.
 * Served throughout (the long-lived connection never breaks, the kernel never answers a reply with a RST) and after
 * each event within the bounds; after the final SIGTERM nothing of the gateway is left. Subclasses run it
 * with the egress IP assigned to the host and not.
 */
@TestMethodOrder(MethodOrderer.MethodName.class)
@Timeout(120)
abstract class HostReconciliationBase extends ConntrackEndToEndBase {
    static final int ECHO_PORT = 7007;
    /** The ext namespace's end of the gateway's egress link. */
    static final String EXT_PEER = Topology.EXT_IFACE;

    private Background stream;
    private Path stop;
    private int starts;

    @Override
    String config(String yaml) {
        return yaml;
    }

    abstract boolean assigned();

    @BeforeAll
    void echoServerAndStream() throws Exception {
        Path ready = topo.workDir().resolve("echo.ready");
        Background server = startPython(topo.ext(), "echo-server", "tcp_echo_server.py", Topology.SERVER_IP,
                Integer.toString(ECHO_PORT), ready.toString());
        awaitFile(ready, server, Duration.ofSeconds(10));
        stop = trigger("stream-stop");
        stream = startPython(topo.pod1(), "stream", "tcp_stream_client.py", Topology.SERVER_IP, Integer.toString(ECHO_PORT),
                "1", "100", stop.toString());
        stream.await("connected 1", Duration.ofSeconds(10));
    }

    @Test
    void a_secondGatewayOnTheHostIsRefused() throws Exception {
        Process second = topo.start(topo.gw(), List.of(GatewayCli.launcher().toString(), "run", "--config",
                configFile.toString()), topo.workDir().resolve("second-gateway.log"));
        assertTrue(second.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "the second gateway exits");
        String log = java.nio.file.Files.readString(topo.workDir().resolve("second-gateway.log"));
        assertEquals(1, second.exitValue(), log);
        assertTrue(log.contains("another egress gateway (pid ") && log.contains("already runs in this network namespace"), log);
        assertFalse(log.contains("plumbing: +"), "refused before it touched anything:\n" + log);
        assertServed(Duration.ofSeconds(2));
    }

    @Test
    void b_egressIpAssignedAndRemovedWhileServing() throws Exception {
        long rsts = outRsts();
        for (int i = 0; i < 2; i++) {
            boolean add = assigned() == (i == 1);
            must(topo.gw(), "ip", "addr", add ? "add" : "del", Topology.EGRESS_IP + "/24", "dev", Topology.GW_EXT_IFACE);
            String said = add ? "egress IP " + Topology.EGRESS_IP + " is now assigned to this host"
                    : "egress IP " + Topology.EGRESS_IP + " is no longer assigned to this host";
            assertTrue(eventually(Duration.ofSeconds(3), () -> gatewayLog().contains(said)), gatewayLog());
            assertServed(Duration.ofSeconds(2));
            Thread.sleep(500);
        }
        assertEquals(rsts, outRsts(), "the gateway's kernel answered a reply for the egress IP with a RST");
        assertStreamAlive();
    }

    @Test
    void c_egressLinkLosesCarrierForOneSecond() throws Exception {
        must(topo.ext(), "ip", "link", "set", EXT_PEER, "down");
        assertTrue(eventually(Duration.ofSeconds(3), () -> readyz().contains("the egress interface ext0 is down")), readyz());
        assertTrue(healthz().startsWith("ok"), "healthy while the link is down: " + healthz());
        Thread.sleep(1000);
        must(topo.ext(), "ip", "link", "set", EXT_PEER, "up");
        assertServed(Duration.ofSeconds(2));
        assertTrue(eventually(Duration.ofSeconds(2), () -> readyz().startsWith("ok")), readyz());
        assertStreamAlive();
    }

    @Test
    void d_egressLinkAdministrativelyDownForOneSecond() throws Exception {
        double proxyRepairs = metric(metrics(), "egw_plumbing_repairs_total{what=\"proxy_arp\"}");
        must(topo.gw(), "ip", "link", "set", Topology.GW_EXT_IFACE, "down");
        Thread.sleep(1000);
        must(topo.gw(), "ip", "link", "set", Topology.GW_EXT_IFACE, "up");
        // the kernel flushed every route through ext0 at link down; the host's network manager puts its own back,
        // the gateway its proxy ARP entry (and announces it)
        restoreHostRoutes();
        assertServed(Duration.ofSeconds(2));
        assertTrue(metric(metrics(), "egw_plumbing_repairs_total{what=\"proxy_arp\"}") > proxyRepairs, metrics());
        assertTrue(gatewayLog().contains("plumbing: repaired the proxy ARP entry of " + Topology.EGRESS_IP), gatewayLog());
        assertStreamAlive();
    }

    @Test
    void e_killedWithSigkillAndStartedAgain() throws Exception {
        gateway.kill();
        // what the dead gateway left: its filters keep redirecting replies into a TUN device that is gone
        assertTrue(tcShow().contains("cookie 656777"), "the dead gateway's tc filters are still there:\n" + tcShow());
        assertTrue(topo.exec(topo.gw(), Duration.ofSeconds(5), "nft", "list", "table", "ip", "egress_gateway").ok());
        assertTrue(proxyShow().contains("proto 101"), proxyShow());
        Path log = topo.workDir().resolve("gateway-" + (++starts) + ".log");
        gateway = GatewayProcess.start(topo, List.of(GatewayCli.launcher().toString(), "run", "--config",
                configFile.toString()), Duration.ofSeconds(60), log);
        long ready = System.nanoTime();
        String text = gateway.log();
        assertTrue(text.contains("plumbing: removed leftover nftables table ip egress_gateway"), text);
        assertTrue(text.contains("plumbing: removed leftover proxy ARP entry " + Topology.EGRESS_IP), text);
        assertServed(Duration.ofSeconds(5));
        System.out.println("served again " + (System.nanoTime() - ready) / 1_000_000 + " ms after ready");
        assertTrue(eventually(Duration.ofSeconds(3), () -> gatewayLogContains("removed leftover tc filters")), text);
        String tc = tcShow();
        int filters = tc.split("cookie 656777", -1).length - 1;
        assertEquals(6, filters, "one set of filters (TCP, UDP, echo reply, 3 ICMP errors), not the dead one's too:\n" + tc);
        assertEquals(1, proxyShow().lines().filter(l -> l.contains(Topology.EGRESS_IP)).count(), proxyShow());
        assertStreamAlive();
    }

    private boolean gatewayLogContains(String s) {
        return gatewayLog().contains(s);
    }

    @Override
    @AfterAll
    void down() throws Exception {
        try {
            if (stream != null) {
                fire(stop);
                stream.await("summary", Duration.ofSeconds(70));
                String out = stream.output();
                System.out.println("---- stream ----\n" + out);
                assertTrue(out.contains("failures=0"), "the long-lived connection broke:\n" + out);
            }
            if (gateway != null && topo != null) {
                int exit = gateway.stop();
                System.out.println("---- gateway log ----\n" + tail(gatewayLog(), 150));
                assertEquals(0, exit, "SIGTERM: exit 0\n" + gatewayLog());
                gateway = null;
                assertNothingLeft();
            }
        } finally {
            super.down();
        }
    }

    private void assertNothingLeft() {
        assertFalse(tcShow().contains("cookie 656777"), tcShow());
        assertFalse(topo.exec(topo.gw(), Duration.ofSeconds(5), "nft", "list", "table", "ip", "egress_gateway").ok(),
                "nftables table left");
        assertEquals("", topo.exec(topo.gw(), Duration.ofSeconds(5), "ip", "route", "show", "table", "all", "proto", "101")
                .stdout().trim(), "routes left");
        assertFalse(proxyShow().contains(Topology.EGRESS_IP), "proxy ARP entry left: " + proxyShow());
        String links = topo.exec(topo.gw(), Duration.ofSeconds(5), "ip", "-o", "link", "show").stdout();
        assertFalse(java.util.regex.Pattern.compile("(?m)^\\d+: (egw0|egwtx0)[@:]").matcher(links).find(),
                "devices left: " + links);
        String qdiscs = topo.exec(topo.gw(), Duration.ofSeconds(5), "tc", "qdisc", "show", "dev", Topology.GW_EXT_IFACE).stdout();
        assertFalse(qdiscs.contains("ingress"), "the ingress qdisc the gateway created is left: " + qdiscs);
    }

    /** A new HTTP request from the selected pod leaves through the egress IP, within {@code within}. */
    private void assertServed(Duration within) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            ExecResult r = topo.probes().httpGetResult(topo.pod1(), "http://" + Topology.SERVER_IP + "/", Duration.ofSeconds(1));
            last = r.stdout() + r.stderr();
            if (r.ok() && last.contains("you are " + Topology.EGRESS_IP)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not served within " + within + ": " + last + "\n" + nonZeroDrops(metrics())
                + "\n" + tail(gatewayLog(), 40));
    }

    private void assertStreamAlive() {
        assertTrue(stream.process().isAlive(), "the long-lived connection ended:\n" + stream.output());
    }

    private void restoreHostRoutes() {
        for (String net : List.of(Topology.DESTINATION_CIDR, "198.18.0.0/24")) {
            topo.exec(topo.gw(), Duration.ofSeconds(5), "ip", "route", "replace", net, "via", Topology.EXT_IP);
        }
    }

    private String tcShow() {
        return topo.exec(topo.gw(), Duration.ofSeconds(5), "tc", "filter", "show", "dev", Topology.GW_EXT_IFACE, "ingress")
                .stdout();
    }

    private String proxyShow() {
        return topo.exec(topo.gw(), Duration.ofSeconds(5), "ip", "neigh", "show", "proxy").stdout();
    }

    private String healthz() {
        return topo.exec(topo.gw(), Duration.ofSeconds(5), "curl", "-sS", "http://" + Topology.ADMIN_LISTEN + "/healthz").stdout();
    }

    private String readyz() {
        return topo.exec(topo.gw(), Duration.ofSeconds(5), "curl", "-sS", "http://" + Topology.ADMIN_LISTEN + "/readyz").stdout();
    }

    private long outRsts() {
        ExecResult r = topo.exec(topo.gw(), Duration.ofSeconds(5), "nstat", "-asz", "TcpOutRsts");
        assertTrue(r.ok(), r::toString);
        return r.stdout().lines().filter(l -> l.startsWith("TcpOutRsts")).mapToLong(l -> Long.parseLong(l.split("\\s+")[1]))
                .findFirst().orElseThrow();
    }
}
