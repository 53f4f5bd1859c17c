package org.egressgw.kube;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.NodeAddress;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.policy.ClusterLoader;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.EgressPolicy;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link KubernetesClusterSource} against fabric8's mock API server in CRUD mode. "Within 1 s" is
 * measured from the API call that made the change returning to the snapshot being delivered.
 */
class KubernetesClusterSourceTest {
    private static final Duration WITHIN = Duration.ofSeconds(1);

    @TempDir
    Path dir;

    private MockApiServer api;
    private KubernetesClient client;
    private KubernetesClusterSource source;
    private final StateRecorder states = new StateRecorder();

    @BeforeEach
    void startServer() {
        api = new MockApiServer();
        api.installEgressPolicyCrd();
        client = api.client();
    }

    @AfterEach
    void stopAll() {
        if (source != null) {
            source.close();
        }
        api.close();
    }

    private void startSource() throws Exception {
        source = new KubernetesClusterSource(client, false, Duration.ofSeconds(1), Duration.ofSeconds(10),
                KubernetesClusterSource.DEFAULT_DEBOUNCE);
        source.start(states);
    }

    // ------------------------------------------------------------ fixtures

    private MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList,
            Resource<GenericKubernetesResource>> policies() {
        return client.genericKubernetesResources(EgressPolicy.API_VERSION, EgressPolicy.KIND);
    }

    static String policyYaml(String name, String destination, String egressIp) {
        return """
                apiVersion: cilium.io/v2
                kind: CiliumEgressGatewayPolicy
                metadata:
                  name: %s
                spec:
                  selectors:
                  - podSelector:
                      matchLabels: {app: web}
                    namespaceSelector:
                      matchExpressions:
                      - {key: team, operator: In, values: [payments]}
                  destinationCIDRs: ["%s"]
                  egressGateway:
                    nodeSelector:
                      matchLabels: {egress: "true"}
                    egressIP: %s
                """.formatted(name, destination, egressIp);
    }

    private GenericKubernetesResource parse(String yaml) {
        return client.getKubernetesSerialization().unmarshal(yaml, GenericKubernetesResource.class);
    }

    private void createPolicy(String yaml) {
        policies().resource(parse(yaml)).create();
    }

    private static io.fabric8.kubernetes.api.model.Pod pod(String ns, String name, String ip, Map<String, String> labels) {
        return new PodBuilder()
                .withNewMetadata().withNamespace(ns).withName(name).withUid("uid-" + name).withLabels(labels)
                .endMetadata()
                .withNewSpec().withNodeName("node-a").addNewContainer().withName("c").withImage("img").endContainer()
                .endSpec()
                .withNewStatus().withPhase("Running").withPodIP(ip).withPodIPs(new PodIP(ip)).endStatus()
                .build();
    }

    private void createPod(String ns, String name, String ip, Map<String, String> labels) {
        client.pods().inNamespace(ns).resource(pod(ns, name, ip, labels)).create();
    }

    private void createNamespace(String name, Map<String, String> labels) {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(name).withLabels(labels)
                .endMetadata().build()).create();
    }

    private void createNode(String name, String ip, Map<String, String> labels) {
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name).withLabels(labels).endMetadata()
                .withNewStatus().withAddresses(new NodeAddress("node-a.example", "Hostname"),
                        new NodeAddress(ip, "InternalIP")).endStatus()
                .build()).create();
    }

    private static int ip(String s) {
        return Ipv4Address.parse(s);
    }

    private static Pod findPod(ClusterState s, String ns, String name) {
        return s.pods().stream().filter(p -> p.namespace().equals(ns) && p.name().equals(name)).findFirst()
                .orElse(null);
    }

    private static EgressPolicy findPolicy(ClusterState s, String name) {
        return s.policies().stream().filter(p -> p.name().equals(name)).findFirst().orElse(null);
    }

    // ------------------------------------------------------------ tests

    @Test
    void firstSnapshotIsCompleteAndDeliveredBeforeStartReturns() throws Exception {
        createNamespace("pay", Map.of("team", "payments"));
        createNode("node-a", "192.0.2.21", Map.of("egress", "true"));
        createPod("pay", "web-1", "10.0.1.5", Map.of("app", "web"));
        createPolicy(policyYaml("p1", "203.0.113.0/24", "192.0.2.10"));

        startSource();

        assertEquals(1, states.delivered.size(), "exactly one snapshot when start returns");
        ClusterState s = states.latest();
        assertEquals(List.of(), s.problems());
        String uid = client.pods().inNamespace("pay").withName("web-1").get().getMetadata().getUid();
        assertEquals(List.of(new Pod("pay", "web-1", uid, Map.of("app", "web"), "node-a",
                List.of(ip("10.0.1.5")), "kubernetes:Pod/pay/web-1")), s.pods());
        NamespaceObj pay = s.namespace("pay");
        assertEquals(Map.of("team", "payments"), pay.labels());
        assertEquals("kubernetes:Namespace/pay", pay.source());
        NodeObj node = s.node("node-a");
        assertEquals(OptionalInt.of(ip("192.0.2.21")), node.internalIp());
        assertEquals(Map.of("egress", "true"), node.labels());
        EgressPolicy p = findPolicy(s, "p1");
        assertEquals(List.of(Ipv4Cidr.parse("203.0.113.0/24")), p.destinationCidrs());
        assertEquals(ip("192.0.2.10"), p.gateways().get(0).egressIp());
        assertEquals("kubernetes:CiliumEgressGatewayPolicy/p1", p.source());
        assertTrue(source.describe().startsWith("kubernetes http://"), source.describe());
        assertTrue(source.isWatching());
    }

    @Test
    void policyCreateUpdateDeleteWithinOneSecond() throws Exception {
        startSource();
        assertEquals(List.of(), states.latest().policies());

        createPolicy(policyYaml("p1", "203.0.113.0/24", "192.0.2.10"));
        states.await("policy p1 created", WITHIN, s -> findPolicy(s, "p1") != null);

        policies().withName("p1").edit(r -> {
            @SuppressWarnings("unchecked")
            Map<String, Object> spec = (Map<String, Object>) r.getAdditionalProperties().get("spec");
            spec.put("destinationCIDRs", List.of("198.51.100.0/24", "203.0.113.0/25"));
            return r;
        });
        states.await("policy p1 updated", WITHIN, s -> findPolicy(s, "p1") != null
                && findPolicy(s, "p1").destinationCidrs().equals(
                        List.of(Ipv4Cidr.parse("198.51.100.0/24"), Ipv4Cidr.parse("203.0.113.0/25"))));

        policies().withName("p1").delete();
        states.await("policy p1 deleted", WITHIN, s -> s.policies().isEmpty());
        assertFalse(states.overlapped);
        assertEquals(Set.of("kubernetes-cluster-source"), states.threads);
    }

    @Test
    void podCreateLabelsIpDeleteWithinOneSecond() throws Exception {
        createNamespace("pay", Map.of());
        startSource();

        createPod("pay", "web-1", "10.0.1.5", Map.of("app", "web"));
        states.await("pod created", WITHIN, s -> findPod(s, "pay", "web-1") != null);

        client.pods().inNamespace("pay").withName("web-1").edit(p -> {
            p.getMetadata().setLabels(Map.of("app", "api", "tier", "1"));
            return p;
        });
        states.await("pod labels changed", WITHIN, s -> findPod(s, "pay", "web-1") != null
                && findPod(s, "pay", "web-1").labels().equals(Map.of("app", "api", "tier", "1")));

        // the kubelet moves the pod's address through the status subresource
        client.pods().inNamespace("pay").withName("web-1").editStatus(p -> {
            p.getStatus().setPodIP("10.0.1.77");
            p.getStatus().setPodIPs(List.of(new PodIP("10.0.1.77"), new PodIP("fd00::77")));
            return p;
        });
        states.await("pod IP changed", WITHIN, s -> findPod(s, "pay", "web-1") != null
                && findPod(s, "pay", "web-1").ipv4Addresses().equals(List.of(ip("10.0.1.77"))));

        client.pods().inNamespace("pay").withName("web-1").delete();
        states.await("pod deleted", WITHIN, s -> s.pods().isEmpty());
    }

    @Test
    void namespaceCreateLabelsDeleteWithinOneSecond() throws Exception {
        startSource();

        createNamespace("pay", Map.of("team", "payments"));
        states.await("namespace created", WITHIN, s -> s.namespace("pay") != null);

        client.namespaces().withName("pay").edit(n -> {
            n.getMetadata().setLabels(Map.of("team", "billing"));
            return n;
        });
        states.await("namespace labels changed", WITHIN, s -> s.namespace("pay") != null
                && s.namespace("pay").labels().equals(Map.of("team", "billing")));

        client.namespaces().withName("pay").delete();
        states.await("namespace deleted", WITHIN, s -> s.namespace("pay") == null);
    }

    @Test
    void nodeCreateLabelsDeleteWithinOneSecond() throws Exception {
        startSource();

        createNode("gw-1", "192.0.2.31", Map.of());
        states.await("node created", WITHIN, s -> s.node("gw-1") != null);

        client.nodes().withName("gw-1").edit(n -> {
            n.getMetadata().setLabels(Map.of("egress", "true"));
            return n;
        });
        states.await("node labels changed", WITHIN, s -> s.node("gw-1") != null
                && s.node("gw-1").labels().equals(Map.of("egress", "true")));

        client.nodes().withName("gw-1").delete();
        states.await("node deleted", WITHIN, s -> s.node("gw-1") == null);
    }

    @Test
    void invalidPolicyIsAProblemWithTheFileLoadersReasonAndOthersLoad() throws Exception {
        String bad = """
                apiVersion: cilium.io/v2
                kind: CiliumEgressGatewayPolicy
                metadata:
                  name: bad
                spec:
                  selectors:
                  - podSelector: {}
                  destinationCIDRs: ["10.0.0.300/8"]
                  egressGateway:
                    nodeSelector: {}
                    egressIP: 192.0.2.10
                """;
        String both = """
                apiVersion: cilium.io/v2
                kind: CiliumEgressGatewayPolicy
                metadata:
                  name: both
                spec:
                  selectors:
                  - podSelector: {}
                  destinationCIDRs: ["0.0.0.0/0"]
                  egressGateway:
                    nodeSelector: {}
                    egressIP: 192.0.2.10
                    interface: eth1
                """;
        String v6 = policyYaml("v6", "2001:db8::/32", "192.0.2.11").replace("[\"2001:db8::/32\"]",
                "[\"2001:db8::/32\", \"198.51.100.0/24\"]");
        createPolicy(policyYaml("good-1", "203.0.113.0/24", "192.0.2.10"));
        createPolicy(bad);
        createPolicy(both);
        createPolicy(v6);
        startSource();

        ClusterState s = states.latest();
        assertEquals(List.of("good-1", "v6"), s.policies().stream().map(EgressPolicy::name).toList());
        assertEquals(List.of(Ipv4Cidr.parse("198.51.100.0/24")), findPolicy(s, "v6").destinationCidrs());

        // the same objects in a file: same reasons, only "file:line" differs
        Path file = dir.resolve("policies.yaml");
        Files.writeString(file, String.join("---\n", bad, both, v6));
        List<String> fromFile = ClusterLoader.load(List.of(file)).problems().stream()
                .map(m -> m.substring(m.indexOf(": ") + 2)).toList();
        List<String> fromApi = s.problems().stream().map(m -> m.substring(m.indexOf(": ") + 2)).toList();
        assertEquals(3, fromFile.size(), fromFile.toString());
        assertEquals(fromFile, fromApi);
        assertTrue(s.problems().get(0).startsWith("kubernetes:CiliumEgressGatewayPolicy/bad: "
                + "spec.destinationCIDRs[0]: not an IPv4 CIDR: '10.0.0.300/8'"), s.problems().get(0));
        assertEquals(List.of("bad", "both"), s.refusedPolicies().stream().map(r -> r.name()).toList());
        assertEquals("kubernetes:CiliumEgressGatewayPolicy/bad", s.refusedPolicies().get(0).source());
        assertEquals(s.problems().get(0), s.refusedPolicies().get(0).problem());
        assertTrue(s.problems().get(1).startsWith("kubernetes:CiliumEgressGatewayPolicy/both: "),
                s.problems().get(1));
        assertTrue(s.problems().get(2).startsWith("kubernetes:CiliumEgressGatewayPolicy/v6: "
                + "spec.destinationCIDRs[0]: IPv6 not supported yet"), s.problems().get(2));

        // a fix applies like any change, and its problem goes away
        policies().withName("bad").edit(r -> {
            @SuppressWarnings("unchecked")
            Map<String, Object> spec = (Map<String, Object>) r.getAdditionalProperties().get("spec");
            spec.put("destinationCIDRs", List.of("10.0.0.0/8"));
            return r;
        });
        ClusterState fixed = states.await("fixed policy loaded", WITHIN, st -> findPolicy(st, "bad") != null);
        assertEquals(2, fixed.problems().size(), fixed.problems().toString());
        assertEquals(List.of("both"), fixed.refusedPolicies().stream().map(r -> r.name()).toList());
        assertNotNull(findPolicy(fixed, "good-1"));
    }

    @Test
    void lostWatchesAreReestablishedAndChangesKeepFlowing() throws Exception {
        createNamespace("pay", Map.of());
        startSource();
        String[] paths = {"/api/v1/pods", "/api/v1/namespaces", "/api/v1/nodes",
                          "/apis/cilium.io/v2/ciliumegressgatewaypolicies"};
        int[] before = new int[paths.length];
        for (int i = 0; i < paths.length; i++) {
            before[i] = api.watchesOpened(paths[i]);
            assertTrue(before[i] >= 1, "informer watches " + paths[i]);
        }

        // the API server ends every watch, as it does at the end of a watch's timeout, on restart
        // or when a load balancer drops idle connections
        int cut = 0;
        for (String p : paths) {
            cut += api.cutWatches(p);
        }
        assertTrue(cut >= 4, "cut " + cut + " watches");
        // a change while the watches are down is not lost
        createPolicy(policyYaml("during-gap", "203.0.113.0/24", "192.0.2.10"));

        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        for (int i = 0; i < paths.length; i++) {
            while (api.watchesOpened(paths[i]) <= before[i]) {
                assertTrue(System.nanoTime() < deadline, "watch on " + paths[i] + " not re-established");
                Thread.sleep(10);
            }
        }
        states.await("change made while the watch was down", Duration.ofSeconds(5),
                s -> findPolicy(s, "during-gap") != null);

        // and the new watches carry later changes as fast as before
        createPod("pay", "web-1", "10.0.1.5", Map.of("app", "web"));
        createNode("gw-1", "192.0.2.31", Map.of("egress", "true"));
        states.await("changes after re-establishment", WITHIN,
                s -> findPod(s, "pay", "web-1") != null && s.node("gw-1") != null);
        assertEquals(0, source.deliveryFailures());
    }

    @Test
    void watchesSurviveAnApiServerRestart() throws Exception {
        createNamespace("pay", Map.of());
        startSource();
        api.kill();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (source.isWatching()) {
            assertTrue(System.nanoTime() < deadline, "the source did not notice the lost connection");
            Thread.sleep(10);
        }
        Thread.sleep(300); // a few failed reconnects
        api.restart();
        createPolicy(policyYaml("after-restart", "203.0.113.0/24", "192.0.2.10"));
        states.await("change after the API server came back", Duration.ofSeconds(5),
                s -> findPolicy(s, "after-restart") != null);
        deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!source.isWatching()) {
            assertTrue(System.nanoTime() < deadline, "watches not re-established");
            Thread.sleep(10);
        }
        createPod("pay", "web-1", "10.0.1.5", Map.of("app", "web"));
        states.await("pod after the restart", WITHIN, s -> findPod(s, "pay", "web-1") != null);
    }

    @Test
    void burstOfChangesIsCoalescedAndDeliveredFromOneThread() throws Exception {
        createNamespace("pay", Map.of());
        startSource();
        for (int i = 0; i < 40; i++) {
            createPod("pay", "web-" + i, "10.0.2." + (i + 1), Map.of("app", "web"));
        }
        states.await("40 pods", Duration.ofSeconds(2), s -> s.pods().size() == 40);
        assertTrue(states.delivered.size() < 20, "a burst coalesces, got " + states.delivered.size() + " snapshots");
        assertFalse(states.overlapped);
        assertEquals(Set.of("kubernetes-cluster-source"), states.threads);
    }

    @Test
    void unchangedStateIsNotDeliveredAgain() throws Exception {
        createNamespace("pay", Map.of());
        createPod("pay", "web-1", "10.0.1.5", Map.of("app", "web"));
        startSource(); // resync every second re-announces every object
        // an update of a field the gateway does not read
        client.pods().inNamespace("pay").withName("web-1").edit(p -> {
            p.getMetadata().setAnnotations(Map.of("touched", "yes"));
            return p;
        });
        Thread.sleep(1500);
        assertEquals(1, states.delivered.size());
    }

    @Test
    void closeIsIdempotentAndStopsDeliveries() throws Exception {
        startSource();
        source.close();
        source.close();
        assertFalse(source.isWatching());
        createNamespace("late", Map.of());
        Thread.sleep(300);
        assertEquals(1, states.delivered.size());
        assertThrows(IllegalStateException.class, () -> source.start(states));
    }

    @Test
    void startTwiceIsRefused() throws Exception {
        startSource();
        assertThrows(IllegalStateException.class, () -> source.start(states));
    }

    @Test
    void missingCrdFailsStartWithAClearMessage() throws Exception {
        try (MockApiServer bare = new MockApiServer()) {
            KubernetesClusterSource s = new KubernetesClusterSource(bare.client());
            IOException e = assertThrows(IOException.class, () -> s.start(states));
            assertTrue(e.getMessage().contains("ciliumegressgatewaypolicies.cilium.io"), e.getMessage());
            assertTrue(e.getMessage().contains(bare.client().getMasterUrl().toString()), e.getMessage());
            s.close();
        }
    }

    @Test
    void unreachableApiServerFailsStartNamingItsUrl() throws Exception {
        int port;
        try (ServerSocket ss = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = ss.getLocalPort();
        }
        Path kubeconfig = writeKubeconfig("http://127.0.0.1:" + port);
        KubernetesClusterSource s = new KubernetesClusterSource(
                new io.fabric8.kubernetes.client.KubernetesClientBuilder()
                        .withConfig(KubernetesClusterSource.config(kubeconfig, null)).build(),
                true, Duration.ZERO, Duration.ofSeconds(2), KubernetesClusterSource.DEFAULT_DEBOUNCE);
        long t0 = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> s.start(states));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(e.getMessage().contains("127.0.0.1:" + port), e.getMessage());
        assertTrue(ms < 15_000, "gave up after " + ms + " ms");
        assertTrue(states.delivered.isEmpty());
        s.close();
    }

    @Test
    void connectWithAKubeconfigAndContext() throws Exception {
        Path kubeconfig = writeKubeconfig(client.getMasterUrl().toString());
        try (KubernetesClusterSource s = KubernetesClusterSource.connect(kubeconfig, "mock", 0)) {
            createNamespace("pay", Map.of("team", "payments"));
            s.start(states);
            assertNotNull(states.latest().namespace("pay"));
            assertTrue(s.describe().contains(client.getMasterUrl().toString()), s.describe());
            assertTrue(s.describe().endsWith("(context mock)"), s.describe());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KubernetesClusterSource.connect(kubeconfig, "nope", 0));
        assertTrue(e.getMessage().contains("'nope'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> KubernetesClusterSource.connect(dir.resolve("missing"), null, 0));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KubernetesClusterSource.connect(kubeconfig, null, -1));
    }

    private Path writeKubeconfig(String server) throws IOException {
        Path f = dir.resolve("kubeconfig");
        Files.writeString(f, """
                apiVersion: v1
                kind: Config
                clusters:
                - name: mock
                  cluster: {server: "%s"}
                - name: other
                  cluster: {server: "http://127.0.0.1:9"}
                users:
                - name: mock
                  user: {token: secret}
                contexts:
                - name: other
                  context: {cluster: other, user: mock}
                - name: mock
                  context: {cluster: mock, user: mock}
                current-context: mock
                """.formatted(server));
        return f;
    }

    @Test
    void podWithoutAddressesOrNodeIsKept() throws Exception {
        client.pods().inNamespace("pay").resource(new PodBuilder()
                .withNewMetadata().withNamespace("pay").withName("pending").endMetadata()
                .withNewSpec().addNewContainer().withName("c").withImage("img").endContainer().endSpec()
                .build()).create();
        startSource();
        Pod p = findPod(states.latest(), "pay", "pending");
        assertNotNull(p);
        assertNull(p.nodeName());
        assertEquals(List.of(), p.ipv4Addresses());
    }
}
