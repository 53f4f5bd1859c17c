package org.egressgw.control.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterLoaderTest {
    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    private static int ip(String s) {
        return Ipv4Address.parse(s);
    }

    @Test
    void multiDocumentYaml() throws Exception {
        Path f = write("all.yaml", """
                apiVersion: v1
                kind: Namespace
                metadata:
                  name: pay
                  labels: {team: payments}
                ---
                apiVersion: v1
                kind: Pod
                metadata:
                  name: web-1
                  namespace: pay
                  uid: 1234
                  labels: {app: web}
                  annotations: {lots: of, unknown: stuff}
                spec:
                  nodeName: node-a
                  containers: [{name: c, image: x}]
                status:
                  podIP: 10.0.1.5
                  podIPs:
                  - ip: 10.0.1.5
                  - ip: fd00::5
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: ignored}
                ---
                # an empty document
                ---
                apiVersion: v1
                kind: Node
                metadata:
                  name: node-a
                  labels: {zone: a}
                status:
                  addresses:
                  - {type: Hostname, address: node-a}
                  - {type: InternalIP, address: "fd00::1"}
                  - {type: InternalIP, address: 192.0.2.21}
                """ + "---\n" + EgressPolicyTest.CILIUM_EXAMPLE);
        ClusterState s = ClusterState.load(List.of(f));
        assertEquals(List.of(), s.problems());
        assertEquals(1, s.namespaces().size());
        assertEquals(Map.of("team", "payments"), s.namespace("pay").labels());
        assertEquals(f + ":1", s.namespace("pay").source());
        Pod p = s.pods().get(0);
        assertEquals("pay", p.namespace());
        assertEquals("web-1", p.name());
        assertEquals("1234", p.uid());
        assertEquals(Map.of("app", "web"), p.labels());
        assertEquals("node-a", p.nodeName());
        assertEquals(List.of(ip("10.0.1.5")), p.ipv4Addresses());
        assertEquals(f + ":7", p.source());
        NodeObj n = s.node("node-a");
        assertEquals(ip("192.0.2.21"), n.internalIp().getAsInt());
        assertEquals(Map.of("zone", "a"), n.labels());
        assertEquals("payment-processor-egress", s.policies().get(0).name());
        assertEquals(f + ":41", s.policies().get(0).source());
    }

    @Test
    void listsAndJson() throws Exception {
        write("a-list.yaml", """
                apiVersion: v1
                kind: List
                items:
                - apiVersion: v1
                  kind: Pod
                  metadata: {name: p1, namespace: ns}
                  status: {podIP: 10.0.0.1}
                - apiVersion: v1
                  kind: Namespace
                  metadata: {name: ns}
                """);
        write("b-podlist.yaml", """
                apiVersion: v1
                kind: PodList
                items:
                - metadata: {name: p2}
                  status: {podIP: 10.0.0.2, phase: Running}
                """);
        write("c.json", """
                {
                  "apiVersion": "v1",
                  "kind": "List",
                  "items": [
                    {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"a":"b"}},
                     "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.1"}]}},
                    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p3","namespace":"ns"},
                     "spec":{"nodeName":"n1"},"status":{"podIPs":[{"ip":"10.0.0.3"}]}}
                  ]
                }
                """);
        write("d.txt", "kind: Pod\nmetadata: {name: not-read}\n");
        write(".hidden.yaml", "kind: Pod\nmetadata: {name: not-read-either}\n");
        Files.createDirectory(dir.resolve("sub.yaml"));
        ClusterState s = ClusterState.load(List.of(dir));
        assertEquals(List.of(), s.problems());
        assertEquals(List.of("p1", "p2", "p3"), s.pods().stream().map(Pod::name).toList());
        assertEquals("default", s.pods().get(1).namespace());
        assertEquals(List.of(ip("10.0.0.3")), s.pods().get(2).ipv4Addresses());
        assertEquals("n1", s.pods().get(2).nodeName());
        assertEquals(ip("192.0.2.1"), s.node("n1").internalIp().getAsInt());
        assertEquals(1, s.namespaces().size());

        ClusterState explicit = ClusterState.load(List.of(dir.resolve("d.txt")));
        assertEquals("not-read", explicit.pods().get(0).name(), "an explicitly named file is read whatever its name");
    }

    @Test
    void badFilesAndObjectsAreProblems() throws Exception {
        write("1-good.yaml", "kind: Namespace\nmetadata: {name: a}\n");
        Path bad = write("2-bad.yaml", "kind: Namespace\nmetadata: {name: b\n---\nkind: Namespace\nmetadata: {name: c}\n");
        Path binary = dir.resolve("3-binary.yaml");
        Files.write(binary, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 2});
        Path objects = write("4-objects.yaml", """
                kind: Pod
                metadata: {name: no-ip, namespace: x}
                status: {podIP: 10.0.0.256}
                ---
                kind: Namespace
                metadata: {labels: {}}
                ---
                - just
                - a list
                ---
                metadata: {name: kindless}
                ---
                kind: Namespace
                metadata: {name: a}
                ---
                kind: Namespace
                metadata: {name: d}
                """);
        Path missing = dir.resolve("missing");
        ClusterState s = ClusterState.load(List.of(dir, missing));
        assertEquals(List.of("a", "d"), s.namespaces().stream().map(n -> n.name()).toList());
        assertEquals(List.of(
                bad + ":3: invalid YAML: while parsing a flow mapping: expected ',' or '}', but got <document start> (file skipped)",
                binary + ": not UTF-8 text (file skipped)",
                objects + ":3: status.podIP: not an IP address: '10.0.0.256'",
                objects + ":6: metadata.name: missing required field",
                objects + ":8: expected a Kubernetes object (a mapping), got a list",
                objects + ":11: kind: missing required field",
                objects + ":13: duplicate Namespace a (first at " + dir.resolve("1-good.yaml") + ":1), skipped",
                missing + ": no such file or directory"), s.problems());
    }

    @Test
    void duplicates() throws Exception {
        Path f = write("dup.yaml", """
                kind: Pod
                metadata: {name: p, namespace: a}
                ---
                kind: Pod
                metadata: {name: p, namespace: b}
                ---
                kind: Pod
                metadata: {name: p, namespace: a}
                ---
                kind: Node
                metadata: {name: n}
                ---
                kind: Node
                metadata: {name: n}
                """ + "---\n" + EgressPolicyTest.CILIUM_EXAMPLE + "---\n" + EgressPolicyTest.CILIUM_EXAMPLE);
        ClusterState s = ClusterState.load(List.of(f));
        assertEquals(2, s.pods().size());
        assertEquals(1, s.nodes().size());
        assertEquals(1, s.policies().size());
        assertEquals(List.of(
                f + ":7: duplicate Pod a/p (first at " + f + ":1), skipped",
                f + ":13: duplicate Node n (first at " + f + ":10), skipped",
                f + ":33: duplicate CiliumEgressGatewayPolicy payment-processor-egress (first at " + f + ":16), skipped"),
                s.problems());
    }

    @Test
    void invalidPolicyOnlyRefusesItself() throws Exception {
        Path f = write("p.yaml", EgressPolicyTest.CILIUM_EXAMPLE.replace("203.0.113.0/24", "203.0.113.0/33")
                + "---\n" + EgressPolicyTest.CILIUM_EXAMPLE.replace("payment-processor-egress", "other")
                .replace("  - \"203.0.113.0/24\"", "  - \"203.0.113.0/24\"\n  - 2001:db8::/32"));
        ClusterState s = ClusterState.load(List.of(f));
        assertEquals(List.of("other"), s.policies().stream().map(EgressPolicy::name).toList());
        assertEquals(List.of(
                f + ":11: spec.destinationCIDRs[0]: not an IPv4 CIDR: '203.0.113.0/33'",
                f + ":29: spec.destinationCIDRs[1]: IPv6 not supported yet: '2001:db8::/32' skipped"), s.problems());
    }

    @Test
    void podsWithoutUsableAddresses() throws Exception {
        Path f = write("pods.yaml", """
                kind: Pod
                metadata: {name: host, namespace: kube-system}
                spec: {hostNetwork: true, nodeName: n}
                status: {podIP: 192.0.2.5}
                ---
                kind: Pod
                metadata: {name: done, namespace: jobs}
                status: {phase: Succeeded, podIP: 10.0.0.9}
                ---
                kind: Pod
                metadata: {name: pending, namespace: jobs}
                status: {phase: Pending}
                ---
                kind: Pod
                metadata: {name: v6, namespace: jobs}
                status: {podIP: "fd00::1"}
                """);
        ClusterState s = ClusterState.load(List.of(f));
        assertEquals(List.of(), s.problems());
        assertEquals(4, s.pods().size());
        s.pods().forEach(p -> assertTrue(p.ipv4Addresses().isEmpty(), p.name()));
        assertNull(s.pods().get(2).nodeName());
    }
}
