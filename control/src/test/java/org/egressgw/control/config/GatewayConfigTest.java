package org.egressgw.control.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.egressgw.packet.MacAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GatewayConfigTest {
    @TempDir
    Path dir;

    private static final String MINIMAL = """
            node:
              name: gw-1
            tunnel:
              listen: 198.51.100.2
              allowedPeers: [198.51.100.0/24]
            egress:
              interface: ext0
            cluster:
              paths: [policies]
            """;

    private Path write(String yaml) throws IOException {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, yaml, StandardCharsets.UTF_8);
        return f;
    }

    private SourceException fails(String yaml) throws IOException {
        Path f = write(yaml);
        return assertThrows(SourceException.class, () -> GatewayConfig.load(f));
    }

    @Test
    void fullConfiguration() throws Exception {
        Path f = write("""
                node:
                  name: gw-1
                tunnel:
                  listen: 198.51.100.2:4789
                  vni: 7
                  allowedPeers: [198.51.100.0/24, 192.0.2.7]
                  overlayIP: 10.99.0.2
                  mac: 02:00:0a:63:00:09
                  mtu: 9000
                  port: 8472
                egress:
                  interface: ext0
                  device: tun-egress
                  portRange: 40000-50000
                  mss: 1400
                cluster:
                  paths: [/etc/egress-gateway/policies, inventory]
                admin:
                  listen: 0.0.0.0:9000
                conntrack:
                  maxEntries: 1024
                  timeouts: {tcpSyn: 500ms, tcpEstablished: 2h, tcpClosing: 10s, udp: 5m, icmp: 1s}
                pipeline:
                  ringSize: 1024
                """);
        GatewayConfig c = GatewayConfig.load(f);
        assertEquals("gw-1", c.node().name());
        assertEquals(Ipv4Address.parse("198.51.100.2"), c.tunnel().listenIp());
        assertEquals(4789, c.tunnel().listenPort());
        assertEquals(7, c.tunnel().vni());
        assertEquals(List.of(Ipv4Cidr.parse("198.51.100.0/24"), Ipv4Cidr.parse("192.0.2.7/32")), c.tunnel().allowedPeers());
        assertEquals(Ipv4Address.parse("10.99.0.2"), c.tunnel().overlayIp().getAsInt());
        assertEquals(MacAddress.parse("02:00:0a:63:00:09"), c.tunnel().mac());
        assertEquals(9000, c.tunnel().mtu());
        assertEquals(8950, c.tunnel().innerMtu());
        assertEquals(8472, c.tunnel().dstPort());
        assertEquals("ext0", c.egress().interfaceName());
        assertEquals("tun-egress", c.egress().device());
        assertEquals(40000, c.egress().portLow());
        assertEquals(50000, c.egress().portHigh());
        assertEquals(1400, c.egress().mssClamp());
        assertEquals(List.of(Path.of("/etc/egress-gateway/policies"), dir.toAbsolutePath().resolve("inventory")),
                c.cluster().paths());
        assertEquals("0.0.0.0", c.admin().host());
        assertEquals(9000, c.admin().port());
        assertEquals(1024, c.conntrack().maxEntries());
        assertEquals(500, c.conntrack().timeouts().tcpSynMillis());
        assertEquals(7_200_000, c.conntrack().timeouts().tcpEstablishedMillis());
        assertEquals(10_000, c.conntrack().timeouts().tcpClosingMillis());
        assertEquals(300_000, c.conntrack().timeouts().udpMillis());
        assertEquals(1_000, c.conntrack().timeouts().icmpMillis());
        assertEquals(1024, c.pipeline().ringSize());
        assertEquals(f, c.source());
    }

    @Test
    void defaults() throws Exception {
        GatewayConfig c = GatewayConfig.load(write(MINIMAL));
        assertEquals(8472, c.tunnel().listenPort());
        assertEquals(8472, c.tunnel().dstPort());
        assertEquals(2, c.tunnel().vni());
        assertTrue(c.tunnel().overlayIp().isEmpty());
        assertEquals(MacAddress.parse("02:00:c6:33:64:02"), c.tunnel().mac(), "02:00 + listen IP");
        assertEquals(1500, c.tunnel().mtu());
        assertEquals("egw0", c.egress().device());
        assertEquals(32768, c.egress().portLow());
        assertEquals(65535, c.egress().portHigh());
        assertEquals(1500 - 50 - 40, c.egress().mssClamp());
        assertEquals(List.of(dir.toAbsolutePath().resolve("policies")), c.cluster().paths());
        assertEquals("127.0.0.1", c.admin().host());
        assertEquals(9464, c.admin().port());
        assertEquals(524288, c.conntrack().maxEntries());
        assertEquals(60_000, c.conntrack().timeouts().tcpSynMillis());
        assertEquals(8_000_000, c.conntrack().timeouts().tcpEstablishedMillis());
        assertEquals(10_000, c.conntrack().timeouts().tcpClosingMillis());
        assertEquals(60_000, c.conntrack().timeouts().udpMillis());
        assertEquals(60_000, c.conntrack().timeouts().icmpMillis());
        assertEquals(16384, c.pipeline().ringSize());
        assertTrue(c.egress().offload());
        assertFalse(c.tunnel().gro());
        assertTrue(c.tunnel().directReader());
        assertTrue(c.pipeline().inline());
        assertFalse(c.pipeline().spinWhenIdle());
    }

    @Test
    void shards() throws Exception {
        assertEquals(1, GatewayConfig.load(write(MINIMAL)).pipeline().shards());
        assertEquals(4, GatewayConfig.load(write(MINIMAL + "pipeline:\n  shards: 4\n")).pipeline().shards());
        String[][] refused = {
            {"pipeline:\n  shards: 0\n", "not within 1..64"},
            {"pipeline:\n  shards: 65\n", "not within 1..64"},
            {"pipeline:\n  mode: handoff\n  shards: 2\n", "need pipeline.mode: inline"},
        };
        for (String[] r : refused) {
            SourceException e = assertThrows(SourceException.class, () -> GatewayConfig.load(write(MINIMAL + r[0])));
            assertTrue(e.getMessage().contains("pipeline.shards") && e.getMessage().contains(r[1]), e.getMessage());
        }
        String small = MINIMAL.replace("  interface: ext0", "  interface: ext0\n  portRange: 40000-40100")
                + "pipeline:\n  shards: 2\n";
        SourceException tooSmall = assertThrows(SourceException.class, () -> GatewayConfig.load(write(small)));
        assertTrue(tooSmall.getMessage().contains("pipeline.shards")
                && tooSmall.getMessage().contains("too small for 2 shards"), tooSmall.getMessage());
        SourceException e = assertThrows(SourceException.class, () -> GatewayConfig.load(write(
                MINIMAL.replace("  allowedPeers:", "  reader: channel\n  allowedPeers:") + "pipeline:\n  shards: 2\n")));
        assertTrue(e.getMessage().contains("pipeline.shards") && e.getMessage().contains("tunnel.reader: direct")
                && e.getMessage().contains(":12"), e.getMessage());
    }

    @Test
    void pipelineModesAndTunnelReaders() throws Exception {
        assertFalse(GatewayConfig.load(write(MINIMAL + "pipeline:\n  mode: handoff\n")).pipeline().inline());
        assertTrue(GatewayConfig.load(write(MINIMAL + "pipeline:\n  mode: inline\n")).pipeline().inline());
        assertTrue(GatewayConfig.load(write(MINIMAL)).pipeline().pinCpu().isEmpty());
        assertEquals(PipelineConfig.DEFAULT_POLL_MICROS, GatewayConfig.load(write(MINIMAL)).pipeline().pollMicros());
        assertEquals(20_000, GatewayConfig.load(write(MINIMAL + "pipeline:\n  pollMillis: 20\n")).pipeline().pollMicros());
        assertEquals(250, GatewayConfig.load(write(MINIMAL + "pipeline:\n  pollMillis: 0.25\n")).pipeline().pollMicros());
        for (String bad : new String[] {"0.0001", "-1", "soon", "60000.001"}) {
            SourceException e = assertThrows(SourceException.class,
                    () -> GatewayConfig.load(write(MINIMAL + "pipeline:\n  pollMillis: " + bad + "\n")));
            assertTrue(e.getMessage().contains("pipeline.pollMillis") && e.getMessage().contains(":11"), e.getMessage());
        }
        assertEquals(1, GatewayConfig.load(write(MINIMAL + "pipeline:\n  cpu: 1\n")).pipeline().pinCpu().getAsInt());
        assertFalse(GatewayConfig.load(write(MINIMAL.replace("  allowedPeers:", "  reader: channel\n  allowedPeers:"))).tunnel().directReader());
        // GRO needs the channel reader: it becomes the default with gro, and 'direct' with gro is refused
        assertFalse(GatewayConfig.load(write(MINIMAL.replace("  allowedPeers:", "  gro: true\n  allowedPeers:"))).tunnel().directReader());
        SourceException e = assertThrows(SourceException.class, () -> GatewayConfig.load(write(
                MINIMAL.replace("  allowedPeers:", "  gro: true\n  reader: direct\n  allowedPeers:"))));
        assertTrue(e.getMessage().contains("tunnel.reader") && e.getMessage().contains("gro"), e.getMessage());
    }

    @Test
    void tunnelGroCanBeTurnedOn() throws Exception {
        assertTrue(GatewayConfig.load(write(MINIMAL.replace("  allowedPeers:", "  gro: true\n  allowedPeers:"))).tunnel().gro());
    }

    @Test
    void pipelineIdleModes() throws Exception {
        assertFalse(GatewayConfig.load(write(MINIMAL)).pipeline().spinWhenIdle());
        assertTrue(GatewayConfig.load(write(MINIMAL + "pipeline:\n  idle: spin\n")).pipeline().spinWhenIdle());
        SourceException e = assertThrows(SourceException.class,
                () -> GatewayConfig.load(write(MINIMAL + "pipeline:\n  idle: nap\n")));
        assertTrue(e.getMessage().contains("idle") && e.getMessage().contains("'nap'"), e.getMessage());
    }

    @Test
    void tunnelOffloadIsAutoByDefaultOffWithoutEgressOffloadAndValidated() throws Exception {
        GatewayConfig c = GatewayConfig.load(write(MINIMAL));
        assertEquals(TunnelConfig.Offload.AUTO, c.tunnel().offload());
        assertEquals("egwtx0", c.tunnel().offloadDevice());
        String noEgressOffload = MINIMAL.replace("  interface: ext0", "  interface: ext0\n  offload: false");
        assertEquals(TunnelConfig.Offload.OFF, GatewayConfig.load(write(noEgressOffload)).tunnel().offload());
        String on = MINIMAL.replace("tunnel:\n", "tunnel:\n  offload: on\n  offloadDevice: tx7\n");
        GatewayConfig c2 = GatewayConfig.load(write(on));
        assertEquals(TunnelConfig.Offload.ON, c2.tunnel().offload());
        assertEquals("tx7", c2.tunnel().offloadDevice());
        assertEquals(TunnelConfig.Offload.OFF,
                GatewayConfig.load(write(MINIMAL.replace("tunnel:\n", "tunnel:\n  offload: off\n"))).tunnel().offload());

        SourceException bad = assertThrows(SourceException.class,
                () -> GatewayConfig.load(write(MINIMAL.replace("tunnel:\n", "tunnel:\n  offload: maybe\n"))));
        assertTrue(bad.getMessage().contains("'auto', 'on' or 'off'") && bad.getMessage().contains(":4"), bad.getMessage());
        SourceException needs = assertThrows(SourceException.class, () -> GatewayConfig.load(write(
                noEgressOffload.replace("tunnel:\n", "tunnel:\n  offload: on\n"))));
        assertTrue(needs.getMessage().contains("egress.offload: true"), needs.getMessage());
        SourceException anyAddress = assertThrows(SourceException.class, () -> GatewayConfig.load(write(
                MINIMAL.replace("listen: 198.51.100.2", "listen: 0.0.0.0").replace("tunnel:\n", "tunnel:\n  offload: on\n"))));
        assertTrue(anyAddress.getMessage().contains("other than 0.0.0.0") && anyAddress.getMessage().contains(":4"),
                anyAddress.getMessage());
        SourceException same = assertThrows(SourceException.class, () -> GatewayConfig.load(write(
                MINIMAL.replace("tunnel:\n", "tunnel:\n  offloadDevice: egw0\n"))));
        assertTrue(same.getMessage().contains("must differ from egress.device"), same.getMessage());
    }

    @Test
    void offloadCanBeTurnedOffAndMustBeABoolean() throws Exception {
        GatewayConfig c = GatewayConfig.load(write(MINIMAL.replace("  interface: ext0", "  interface: ext0\n  offload: false")));
        assertFalse(c.egress().offload());
        SourceException e = assertThrows(SourceException.class,
                () -> GatewayConfig.load(write(MINIMAL.replace("  interface: ext0", "  interface: ext0\n  offload: maybe"))));
        assertTrue(e.getMessage().contains("offload"), e.getMessage());
    }

    @Test
    void macDerivedFromOverlayIpAndMssOff() throws Exception {
        GatewayConfig c = GatewayConfig.load(write(MINIMAL.replace("  allowedPeers:",
                "  overlayIP: 10.99.0.2\n  allowedPeers:") + "  mss: off\n".replace("  mss", "egress_mss")
                .replace("egress_mss: off\n", "")
                + ""));
        assertEquals(MacAddress.parse("02:00:0a:63:00:02"), c.tunnel().mac());
        GatewayConfig off = GatewayConfig.load(write(MINIMAL.replace("  interface: ext0",
                "  interface: ext0\n  mss: off")));
        assertEquals(0, off.egress().mssClamp());
        GatewayConfig auto = GatewayConfig.load(write(MINIMAL.replace("  interface: ext0",
                "  interface: ext0\n  mss: auto").replace("  allowedPeers", "  mtu: 9000\n  allowedPeers")));
        assertEquals(9000 - 90, auto.egress().mssClamp());
    }

    /**
     * Each row replaces one line of {@link #MINIMAL} (or appends to it) and names the expected
     * message, line included.
     */
    @ParameterizedTest(name = "{0} -> {2}")
    @CsvSource(delimiter = '|', quoteCharacter = '"', textBlock = """
            "  name: gw-1"              | "  nome: gw-1"                  | 2: node.nome: unknown field (allowed: name)
            "  name: gw-1"              | "  name:"                       | 2: node.name: must not be empty
            "  name: gw-1"              | "  name: [a]"                   | 2: node.name: expected a string, got a list
            "  listen: 198.51.100.2"    | "  listen: 198.51.100.256"      | 4: tunnel.listen: not an IPv4 address with optional port: '198.51.100.256'
            "  listen: 198.51.100.2"    | "  listen: 198.51.100.2:0"      | 4: tunnel.listen: port 0 is not within 1..65535
            "  listen: 198.51.100.2"    | "  listen: 198.51.100.2:x"      | 4: tunnel.listen: bad port in '198.51.100.2:x'
            "  listen: 198.51.100.2"    | "  vni: 2"                      | 3: tunnel.listen: missing required field
            "  listen: 198.51.100.2"    | "  listen: 198.51.100.2\n  vni: 16777216" | 5: tunnel.vni: 16777216 is not within 0..16777215
            "  listen: 198.51.100.2"    | "  listen: 198.51.100.2\n  vni: two" | 5: tunnel.vni: not an integer: 'two'
            "  listen: 198.51.100.2"    | "  listen: 198.51.100.2\n  vni: {a: 1}" | 5: tunnel.vni: expected an integer, got a mapping
            "  allowedPeers: [198.51.100.0/24]" | "  allowedPeers: []"      | 5: tunnel.allowedPeers: must list at least one CIDR
            "  allowedPeers: [198.51.100.0/24]" | "  allowedPeers: 198.51.100.0/24" | 5: tunnel.allowedPeers: expected a list, got a scalar
            "  allowedPeers: [198.51.100.0/24]" | "  allowedPeers:\n  - 198.51.100.0/24\n  - 203.0.113.0/33" | 7: tunnel.allowedPeers[1]: not an IPv4 CIDR: '203.0.113.0/33'
            "  allowedPeers: [198.51.100.0/24]" | "  allowedPeers: [198.51.100.1/24]" | 5: tunnel.allowedPeers[0]: not an IPv4 CIDR: '198.51.100.1/24' (host bits set, did you mean 198.51.100.0/24?)
            "  allowedPeers: [198.51.100.0/24]" | "  allowedPeers: [198.51.100.0/24]\n  overlayIP: 10.99.0" | 6: tunnel.overlayIP: not an IPv4 address: '10.99.0'
            "  allowedPeers: [198.51.100.0/24]" | "  allowedPeers: [198.51.100.0/24]\n  mac: 02:00:0a:63:00" | 6: tunnel.mac: not a MAC address: '02:00:0a:63:00'
            "  allowedPeers: [198.51.100.0/24]" | "  allowedPeers: [198.51.100.0/24]\n  mac: 01:00:5e:00:00:01" | 6: tunnel.mac: not a unicast MAC address: '01:00:5e:00:00:01'
            "  allowedPeers: [198.51.100.0/24]" | "  allowedPeers: [198.51.100.0/24]\n  mtu: 600" | 6: tunnel.mtu: 600 is not within 626..65535
            "  allowedPeers: [198.51.100.0/24]" | "  allowedPeers: [198.51.100.0/24]\n  port: 65536" | 6: tunnel.port: 65536 is not within 1..65535
            "  allowedPeers: [198.51.100.0/24]" | "  allowedPeers: [198.51.100.0/24]\n  vnid: 3" | 6: tunnel.vnid: unknown field (allowed: listen, vni, allowedPeers, overlayIP, mac, mtu, port, gro, reader, offload, offloadDevice)
            "  interface: ext0"         | "  interface: an-interface-name-too-long" | 7: egress.interface: interface name 'an-interface-name-too-long' is longer than 15 characters
            "  interface: ext0"         | "  device: egw0"                | 6: egress.interface: missing required field
            "  interface: ext0"         | "  interface: ext0\n  device: 'a b'" | 8: egress.device: not a valid interface name: 'a b'
            "  interface: ext0"         | "  interface: ext0\n  portRange: 40000-30000" | 8: egress.portRange: port range 40000-30000 must satisfy 1 <= low <= high <= 65535
            "  interface: ext0"         | "  interface: ext0\n  portRange: 0-100" | 8: egress.portRange: port range 0-100 must satisfy 1 <= low <= high <= 65535
            "  interface: ext0"         | "  interface: ext0\n  portRange: low-high" | 8: egress.portRange: expected a port range like 32768-65535, got 'low-high'
            "  interface: ext0"         | "  interface: ext0\n  mss: 100" | 8: egress.mss: 100 is not within 536..65495
            "  interface: ext0"         | "  interface: ext0\n  mss: maybe" | 8: egress.mss: expected auto, off or a number 536..65495, got 'maybe'
            "  paths: [policies]"       | "  paths: []"                   | 9: cluster.paths: must list at least one file or directory
            "  paths: [policies]"       | "  paths: ['']"                 | 9: cluster.paths[0]: must not be empty
            "  paths: [policies]"       | "  paths: [policies]\nadmin:\n  listen: localhost" | 11: admin.listen: expected host:port, got 'localhost'
            "  paths: [policies]"       | "  paths: [policies]\nadmin:\n  listen: '[::1]:99999'" | 11: admin.listen: port 99999 is not within 0..65535
            "  paths: [policies]"       | "  paths: [policies]\nadmin:\n  port: 1" | 11: admin.port: unknown field (allowed: listen)
            "  paths: [policies]"       | "  paths: [policies]\nconntrack:\n  maxEntries: 1023" | 11: conntrack.maxEntries: 1023 is not within 1024..16777216
            "  paths: [policies]"       | "  paths: [policies]\nconntrack:\n  timeouts:\n    udp: 60" | 12: conntrack.timeouts.udp: expected a duration such as 500ms, 60s, 5m or 2h, got '60'
            "  paths: [policies]"       | "  paths: [policies]\nconntrack:\n  timeouts:\n    udp: 0s" | 12: conntrack.timeouts.udp: duration must be positive
            "  paths: [policies]"       | "  paths: [policies]\nconntrack:\n  timeouts:\n    tcp: 1s" | 12: conntrack.timeouts.tcp: unknown field (allowed: tcpSyn, tcpEstablished, tcpClosing, udp, icmp)
            "  paths: [policies]"       | "  paths: [policies]\npipeline:\n  ringSize: 1000" | 11: pipeline.ringSize: 1000 is not a power of two
            "  paths: [policies]"       | "  paths: [policies]\npipeline:\n  ringSize: 2097152" | 11: pipeline.ringSize: 2097152 is not within 64..1048576
            "  paths: [policies]"       | "  paths: [policies]\npipeline:\n  mode: turbo" | 11: pipeline.mode: must be 'inline' or 'handoff', not 'turbo'
            "  paths: [policies]"       | "  paths: [policies]\npipeline:\n  cpu: -1" | 11: pipeline.cpu: -1 is not within 0..1023
            "  paths: [policies]"       | "  paths: [policies]\npipeline:\n  pollMillis: 60001" | 11: pipeline.pollMillis: 60001 is not within 0..60000
            "  paths: [policies]"       | "  paths: [policies]\nextra: 1" | 10: extra: unknown field (allowed: node, tunnel, egress, cluster, admin, conntrack, pipeline, ha)
            "cluster:"                  | "clusters:"                     | 8: clusters: unknown field (allowed: node, tunnel, egress, cluster, admin, conntrack, pipeline, ha)
            "  name: gw-1"              | "  name: gw-1\n  name: gw-2"    | 3: node: duplicate key 'name'
            """)
    void invalid(String line, String replacement, String expected) throws IOException {
        String yaml = MINIMAL.replace(line + "\n", replacement.replace("\\n", "\n") + "\n");
        assertTrue(!yaml.equals(MINIMAL), "test row does not apply: " + line);
        SourceException e = fails(yaml);
        assertEquals(dir.resolve("gateway.yaml") + ":" + expected, e.getMessage());
        assertEquals(Integer.parseInt(expected.substring(0, expected.indexOf(':'))), e.line());
    }

    @Test
    void missingSections() throws IOException {
        SourceException e = fails("node:\n  name: gw-1\n");
        assertEquals(1, e.line());
        assertEquals("tunnel: missing required field", e.reason());
        assertEquals("configuration is empty", fails("").reason());
        assertEquals("configuration is empty", fails("# only a comment\n").reason());
        SourceException two = fails(MINIMAL + "---\nnode: {name: x}\n");
        assertEquals(11, two.line());
        assertEquals("expected a single YAML document", two.reason());
        SourceException scalar = fails("just text\n");
        assertEquals("expected a mapping, got a scalar", scalar.reason());
    }

    @Test
    void syntaxErrorNamesLine() throws IOException {
        SourceException e = fails("node:\n  name: gw-1\ntunnel:\n  listen: [unclosed\n");
        assertTrue(e.reason().startsWith("invalid YAML: "), e.getMessage());
        assertTrue(e.line() >= 4, e.getMessage());
    }

    @Test
    void unreadableFile() {
        Path missing = dir.resolve("nope.yaml");
        SourceException e = assertThrows(SourceException.class, () -> GatewayConfig.load(missing));
        assertEquals(0, e.line());
        assertTrue(e.getMessage().startsWith(missing + ": cannot read"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        // cluster section                                                | kubeconfig        | context | resync
        "'  kubernetes: {}'                                                | -                 | -       | 300",
        "'  kubernetes:'                                                   | -                 | -       | 300",
        "'  kubernetes: {kubeconfig: kc.yaml, context: prod, resyncSeconds: 30}' | kc.yaml     | prod    | 30",
        "'  kubernetes: {kubeconfig: /etc/kube/config, resyncSeconds: 0}'  | /etc/kube/config  | -       | 0",
    })
    void clusterKubernetes(String section, String kubeconfig, String context, int resync) throws Exception {
        GatewayConfig c = GatewayConfig.load(write(MINIMAL.replace("  paths: [policies]", section)));
        assertEquals(List.of(), c.cluster().paths());
        KubernetesSettings k = c.cluster().kubernetes().orElseThrow();
        assertEquals(kubeconfig.equals("-") ? null : dir.toAbsolutePath().resolve(kubeconfig), k.kubeconfig());
        assertEquals(context.equals("-") ? null : context, k.context());
        assertEquals(resync, k.resyncSeconds());
        assertTrue(GatewayConfig.load(write(MINIMAL)).cluster().kubernetes().isEmpty());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "'  paths: [p]\n  kubernetes: {}'              | 8: cluster: give either paths or kubernetes, not both",
        "'  {}'                                           | 8: cluster: missing required field: paths (files and directories) or kubernetes (the API server)",
        "'  kubernetes: {resyncSeconds: -1}'              | 9: cluster.kubernetes.resyncSeconds: -1 is not within 0..86400",
        "'  kubernetes: {resyncSeconds: 1d}'              | 9: cluster.kubernetes.resyncSeconds: not an integer: '1d'",
        "'  kubernetes: {context: ''''}'                | 9: cluster.kubernetes.context: must not be empty",
        "'  kubernetes: {kubeConfig: x}'                  | 9: cluster.kubernetes.kubeConfig: unknown field (allowed: kubeconfig, context, resyncSeconds)",
        "'  kubernetes: [a]'                              | 9: cluster.kubernetes: expected a mapping, got a list",
    })
    void badClusterSections(String section, String message) throws Exception {
        String yaml = MINIMAL.replace("  paths: [policies]", section.replace("\\n", "\n"));
        if (section.equals("  {}")) {
            yaml = MINIMAL.replace("cluster:\n  paths: [policies]", "cluster: {}");
        }
        SourceException e = fails(yaml);
        assertEquals(dir.resolve("gateway.yaml") + ":" + message, e.getMessage());
    }

    private static final String GROUP = MINIMAL.replace("listen: 198.51.100.2", "listen: 198.51.100.40");

    @Test
    void aGroupMember() throws Exception {
        Files.writeString(dir.resolve("ha.key"), "0123456789abcdef0123456789abcdef\n");
        GatewayConfig c = GatewayConfig.load(write(GROUP + """
                ha:
                  peers: [198.51.100.32]
                  virtualIP: 198.51.100.40
                  priority: 200
                  secretFile: ha.key
                """));
        HaConfig ha = c.ha().orElseThrow();
        assertEquals(List.of(Ipv4Address.parse("198.51.100.32")), ha.peers());
        assertEquals(Ipv4Address.parse("198.51.100.40"), ha.virtualIp());
        assertEquals(200, ha.priority());
        assertEquals(32, ha.secret().length, "the trailing newline is not part of the key");
        assertEquals(HaConfig.DEFAULT_ADVERT_MILLIS, ha.advertMillis());
        assertEquals(HaConfig.DEFAULT_SYNC_PORT, ha.syncPort());
        assertTrue(ha.preempt());
        assertTrue(GatewayConfig.load(write(MINIMAL)).ha().isEmpty());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "ha: {peers: [198.51.100.32], virtualIP: 198.51.100.41, secretFile: ha.key}|4|tunnel.listen: must be the group's virtual IP 198.51.100.41",
        "ha: {peers: [], virtualIP: 198.51.100.40, secretFile: ha.key}|10|ha.peers: must list at least one",
        "ha: {peers: [198.51.100.40], virtualIP: 198.51.100.40, secretFile: ha.key}|10|cannot be the virtual IP",
        "ha: {peers: [198.51.100.32], virtualIP: 198.51.100.40, secretFile: short.key}|10|holds 5 bytes; the shared key needs at least 16",
        "ha: {peers: [198.51.100.32], virtualIP: 198.51.100.40, secretFile: missing.key}|10|ha.secretFile: cannot read",
        "ha: {peers: [198.51.100.32], virtualIP: 198.51.100.40, secretFile: ha.key, advertMillis: 105}|10|not a multiple of 10 ms",
        "ha: {peers: [198.51.100.32], virtualIP: 198.51.100.40, secretFile: ha.key, priority: 255}|10|ha.priority",
        "ha: {peers: [198.51.100.32], virtualIP: 198.51.100.40, secretFile: ha.key, wat: 1}|10|wat",
    })
    void badGroupSettingsAreRefusedWithTheirLine(String ha, int line, String message) throws Exception {
        Files.writeString(dir.resolve("ha.key"), "0123456789abcdef0123456789abcdef");
        Files.writeString(dir.resolve("short.key"), "short");
        SourceException e = fails(GROUP + ha + "\n");
        assertEquals(line, e.line(), e.getMessage());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
