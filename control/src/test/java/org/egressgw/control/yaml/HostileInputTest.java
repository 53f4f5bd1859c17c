package org.egressgw.control.yaml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Random;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.k8s.LabelSelector;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.PolicyCompiler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Garbage, mutated and malicious YAML must only ever produce SourceExceptions (config) or problems
 * (cluster files): never another exception, a hang or a stack overflow.
 */
class HostileInputTest {
    @TempDir
    Path dir;

    private static final String CONFIG = """
            node:
              name: gw-1
            tunnel:
              listen: 198.51.100.2:8472
              vni: 2
              allowedPeers: [198.51.100.0/24]
              overlayIP: 10.99.0.2
              mac: 02:00:0a:63:00:02
              mtu: 1500
            egress:
              interface: ext0
              portRange: 32768-65535
              mss: auto
            cluster:
              paths: [policies]
            admin:
              listen: 127.0.0.1:9464
            conntrack:
              maxEntries: 524288
              timeouts: {tcpSyn: 60s, tcpEstablished: 8000s, tcpClosing: 10s, udp: 60s, icmp: 60s}
            pipeline:
              ringSize: 4096
            """;

    private static final String CLUSTER = """
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata:
              name: payment-processor-egress
            spec:
              selectors:
              - podSelector:
                  matchLabels:
                    app: payment-processor
                  matchExpressions: [{key: tier, operator: NotIn, values: [db]}]
                namespaceSelector: {matchLabels: {team: pay}}
              destinationCIDRs:
              - "203.0.113.0/24"
              excludedCIDRs: ["203.0.113.8/29"]
              egressGateway:
                nodeSelector:
                  matchLabels:
                    node-role.kubernetes.io/egress-gateway: "true"
                egressIP: "192.0.2.10"
            ---
            kind: List
            items:
            - kind: Pod
              metadata: {name: p, namespace: pay, labels: {app: payment-processor}}
              spec: {nodeName: n, hostNetwork: false}
              status: {podIPs: [{ip: 10.0.0.1}, {ip: "fd00::1"}], podIP: 10.0.0.1, phase: Running}
            - kind: Node
              metadata: {name: n, labels: {node-role.kubernetes.io/egress-gateway: "true"}}
              status: {addresses: [{type: InternalIP, address: 192.0.2.1}]}
            - kind: Namespace
              metadata: {name: pay, labels: {team: pay}}
            """;

    private static final String[] NASTY = {
        "a: &a [*a, *a]\n",
        "a: &a {b: *a}\nkind: Pod\nmetadata: *a\n",
        "kind: Pod\nmetadata: &m {name: x, labels: *m}\n",
        "kind: Namespace\nmetadata: &m {name: *m}\n",
        "apiVersion: cilium.io/v2\nkind: CiliumEgressGatewayPolicy\nmetadata: {name: x}\nspec: &s {selectors: [*s]}\n",
        "a: &x [1]\nb: &y [*x,*x,*x,*x,*x,*x,*x,*x,*x]\nc: &z [*y,*y,*y,*y,*y,*y,*y,*y,*y]\nd: [*z,*z,*z,*z,*z,*z,*z]\n",
        "[".repeat(5000) + "]".repeat(5000),
        "{a: ".repeat(3000) + "1" + "}".repeat(3000),
        "- ".repeat(2000) + "x\n",
        "!!java.io.File /etc/passwd\n",
        "kind: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader [[!!java.net.URL [\"http://x\"]]]]\n",
        "kind: !!binary AAAA\nmetadata: {name: x}\n",
        "<<: {kind: Pod}\nmetadata: {name: x}\n",
        "? [complex, key]\n: value\n",
        "kind: Pod\nmetadata: {name: x}\nstatus: {podIPs: [{ip: [1]}]}\n",
        "kind: Pod\nmetadata: {name: x}\nstatus: {podIPs: {ip: 1}}\n",
        "kind: Pod\nmetadata: {name: x}\nspec: {hostNetwork: maybe}\n",
        "kind: [Pod]\n",
        "kind: List\nitems: 7\n",
        "kind: PodList\nitems: [{kind: List, items: [{kind: Pod}]}]\n",
        "kind: Node\nmetadata: {name: n}\nstatus: {addresses: [{type: InternalIP, address: 999.1.1.1}]}\n",
        "\t\tkind: Pod\n",
        "%YAML 9.9\n---\nx\n",
        "%TAG ! tag:x,2000:\n--- !foo\nbar\n",
        "key: \"unterminated\n",
        "key: 'a\n",
        "\u0000\u0001\u0002",
        "\uFEFFkind: Namespace\nmetadata: {name: bom}\n",
        "vni: 99999999999999999999999\n",
        "node: {name: x}\ntunnel: {listen: \"1.2.3.4:99999999999999999\"}\n",
        "...\n---\n...\n",
        "--- |\n  text\n--- >\n  folded\n",
        "&anchor\n",
        "*unknown\n",
        "a: *unknown\n",
        "{\"kind\": \"Pod\", \"metadata\": {\"name\": \"j\"}, \"status\": {\"podIP\": 10.0.0.1}}",
        "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"j\"}",
    };

    private void assertConfigRejectsCleanly(String text) throws IOException {
        Path f = dir.resolve("gateway.yaml");
        Files.writeString(f, text, StandardCharsets.UTF_8);
        try {
            GatewayConfig.load(f);
        } catch (SourceException e) {
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
            assertFalse(e.reason().isEmpty());
        } catch (Throwable t) {
            fail("config input produced " + t + " for:\n" + text, t);
        }
    }

    private void assertClusterLoadsCleanly(byte[] bytes) throws IOException {
        Path f = dir.resolve("cluster.yaml");
        Files.write(f, bytes);
        try {
            ClusterState s = ClusterState.load(List.of(f));
            PolicyCompiler.compile(s, "n", name -> OptionalInt.of(1), "ext0");
            for (String p : s.problems()) {
                assertTrue(p.startsWith(f.toString()), p);
            }
        } catch (Throwable t) {
            fail("cluster input produced " + t + " for:\n" + new String(bytes, StandardCharsets.UTF_8), t);
        }
        try {
            for (YamlNode doc : YamlFiles.parse("sel.yaml", new String(bytes, StandardCharsets.UTF_8))) {
                try {
                    LabelSelector.parse(doc);
                } catch (SourceException expected) {
                    // fine
                }
            }
        } catch (SourceException expected) {
            // fine
        } catch (Throwable t) {
            fail("selector input produced " + t, t);
        }
    }

    private static String mutate(Random rnd, String base) {
        StringBuilder sb = new StringBuilder(base);
        String specials = ":-[]{},&*!|>'\"%@`#?\n\t ~0123456789./";
        int edits = 1 + rnd.nextInt(6);
        for (int i = 0; i < edits && sb.length() > 0; i++) {
            int pos = rnd.nextInt(sb.length());
            switch (rnd.nextInt(6)) {
                case 0 -> sb.deleteCharAt(pos);
                case 1 -> sb.insert(pos, specials.charAt(rnd.nextInt(specials.length())));
                case 2 -> sb.setCharAt(pos, specials.charAt(rnd.nextInt(specials.length())));
                case 3 -> sb.setLength(pos);
                case 4 -> {
                    int end = Math.min(sb.length(), pos + rnd.nextInt(40));
                    sb.insert(rnd.nextInt(sb.length()), sb.substring(pos, end));
                }
                default -> sb.insert(pos, (char) rnd.nextInt(0x3000));
            }
        }
        return sb.toString();
    }

    @Test
    void knownNastyInputs() throws IOException {
        for (String s : NASTY) {
            assertConfigRejectsCleanly(s);
            assertClusterLoadsCleanly(s.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void aliasBombIsNotExpanded() throws IOException {
        StringBuilder sb = new StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 30; i++) {
            sb.append("a").append(i).append(": &a").append(i).append(" [");
            for (int j = 0; j < 10; j++) {
                sb.append(j == 0 ? "" : ", ").append("*a").append(i - 1);
            }
            sb.append("]\n");
        }
        sb.append("kind: Pod\nmetadata: {name: bomb, labels: *a29}\n");
        Path f = dir.resolve("bomb.yaml");
        Files.writeString(f, sb.toString());
        ClusterState s = ClusterState.load(List.of(f));
        assertEquals(0, s.pods().size());
        assertEquals(1, s.problems().size(), s.problems().toString());
    }

    @Test
    void randomBytes() throws IOException {
        Random rnd = new Random(0xbadc0deL);
        for (int i = 0; i < 300; i++) {
            byte[] b = new byte[rnd.nextInt(400)];
            rnd.nextBytes(b);
            assertClusterLoadsCleanly(b);
            assertConfigRejectsCleanly(new String(b, StandardCharsets.ISO_8859_1));
        }
    }

    @Test
    void randomYamlishText() throws IOException {
        Random rnd = new Random(42);
        String alphabet = "ab:-[]{},&*!|>'\"%#? \n\n\n  \t0123.kindPodListitemsmetadataname";
        for (int i = 0; i < 500; i++) {
            StringBuilder sb = new StringBuilder();
            int n = rnd.nextInt(200);
            for (int j = 0; j < n; j++) {
                sb.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
            }
            assertClusterLoadsCleanly(sb.toString().getBytes(StandardCharsets.UTF_8));
            assertConfigRejectsCleanly(sb.toString());
        }
    }

    @Test
    void mutatedValidDocuments() throws IOException {
        Random rnd = new Random(7);
        List<String> configs = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            assertClusterLoadsCleanly(mutate(rnd, CLUSTER).getBytes(StandardCharsets.UTF_8));
            String config = mutate(rnd, CONFIG);
            configs.add(config);
            Path f = dir.resolve("gateway.yaml");
            Files.writeString(f, config, StandardCharsets.UTF_8);
            try {
                GatewayConfig.load(f);
            } catch (SourceException e) {
                assertTrue(e.line() >= 0);
            } catch (Throwable t) {
                fail("config input produced " + t + " for:\n" + config, t);
            }
        }
        assertEquals(400, configs.size());
    }
}
