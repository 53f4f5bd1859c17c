package org.egressgw.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.control.policy.ClusterLoader;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.policy.PolicyCompiler;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.core.datapath.DatapathSettings;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.egressgw.packet.MacAddress;
import org.egressgw.testbed.GatewayFiles;
import org.egressgw.testbed.Topology;

/**
 * What the benchmarks share: the testbed's addresses, policy tables compiled the way the gateway
 * compiles them (YAML files → {@link ClusterLoader} → {@link PolicyCompiler}) and off-heap packet
 * buffers. Setup code only; nothing here runs inside a measured method.
 */
final class Fixtures {
    static final String GATEWAY_NODE = "gw-1";

    static final int POD_IP = Ipv4Address.parse(Topology.POD1_IP);
    static final int SERVER_IP = Ipv4Address.parse(Topology.SERVER_IP);
    static final int EGRESS_IP = Ipv4Address.parse(Topology.EGRESS_IP);
    static final int NODE_UNDERLAY_IP = Ipv4Address.parse(Topology.NODE_UNDERLAY_IP);
    static final int GW_UNDERLAY_IP = Ipv4Address.parse(Topology.GW_UNDERLAY_IP);
    static final int GW_OVERLAY_IP = Ipv4Address.parse(Topology.GW_OVERLAY_IP);
    static final long GW_MAC = MacAddress.parse(Topology.GW_MAC);
    static final long NODE_MAC = MacAddress.parse(Topology.NODE_MAC);
    static final int VNI = Topology.VNI;
    static final int POD_PORT = 40000;
    static final int SERVER_PORT = 443;
    /** Inner MTU of a 1500-byte underlay (what the gateway derives by default). */
    static final int INNER_MTU = 1450;
    /** Bytes per packet slot, as the gateway sizes them for a 1500-byte underlay. */
    static final int SLOT_SIZE = 2048;
    /** Fixed clock value: time plays no part in what is measured. */
    static final long NOW = 1_700_000_000_000L;

    private Fixtures() {
    }

    /** An off-heap buffer aligned to a cache line, as a ring slot is. */
    static UnsafeBuffer offHeap(int bytes) {
        return new UnsafeBuffer(BufferUtil.allocateDirectAligned(bytes, 64));
    }

    /** The datapath parameters the testbed's gateway runs with. */
    static DatapathSettings settings() {
        return new DatapathSettings(GW_UNDERLAY_IP, Topology.VXLAN_PORT, VNI, GW_MAC, GW_OVERLAY_IP, true,
                List.of(Ipv4Cidr.parse("198.51.100.0/24")), INNER_MTU, INNER_MTU - 40, 32768, 60999, 32);
    }

    /** The testbed's policy (Cilium's payment-processor example) and inventory, compiled for gw-1. */
    static PolicyTable paymentPolicy() {
        return compile(GatewayFiles.paymentPolicyYaml(), GatewayFiles.clusterInventoryYaml());
    }

    /**
     * One policy selecting {@code sources} pods (label {@code app=bench}), with the given destination
     * and excluded CIDRs, egress IP {@link #EGRESS_IP}.
     *
     * @return the table; pod {@code i} has address {@link #sourceIp(int)}
     */
    static PolicyTable manySources(int sources, List<String> destinations, List<String> excluded) {
        StringBuilder policy = new StringBuilder()
                .append("apiVersion: cilium.io/v2\nkind: CiliumEgressGatewayPolicy\nmetadata:\n  name: bench\n")
                .append("spec:\n  selectors:\n  - podSelector:\n      matchLabels:\n        app: bench\n")
                .append("  destinationCIDRs:\n");
        destinations.forEach(d -> policy.append("  - \"").append(d).append("\"\n"));
        if (!excluded.isEmpty()) {
            policy.append("  excludedCIDRs:\n");
            excluded.forEach(x -> policy.append("  - \"").append(x).append("\"\n"));
        }
        policy.append("  egressGateway:\n    nodeSelector:\n      matchLabels:\n        egress: \"true\"\n")
                .append("    egressIP: \"").append(Topology.EGRESS_IP).append("\"\n");
        StringBuilder inventory = new StringBuilder()
                .append("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: default\n---\n")
                .append("apiVersion: v1\nkind: Node\nmetadata:\n  name: ").append(GATEWAY_NODE)
                .append("\n  labels:\n    egress: \"true\"\n");
        for (int i = 0; i < sources; i++) {
            String ip = Ipv4Address.toString(sourceIp(i));
            inventory.append("---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-").append(i)
                    .append("\n  namespace: default\n  uid: 00000000-0000-4000-8000-").append(String.format("%012d", i))
                    .append("\n  labels:\n    app: bench\nspec:\n  nodeName: node-a\nstatus:\n  podIP: ").append(ip)
                    .append("\n  podIPs:\n  - ip: ").append(ip).append('\n');
        }
        PolicyTable table = compile(policy.toString(), inventory.toString());
        if (table.sourceCount() != sources) {
            throw new IllegalStateException("expected " + sources + " sources in the policy table, got "
                    + table.sourceCount());
        }
        return table;
    }

    /** Address of bench pod {@code i}: 10.244.0.0/16, skipping .0 and .255. */
    static int sourceIp(int i) {
        return Ipv4Address.parse("10.244.0.0") + ((i / 250) << 8) + (i % 250) + 1;
    }

    private static PolicyTable compile(String policyYaml, String inventoryYaml) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("egw-bench-policy-");
            Path policy = Files.writeString(dir.resolve("policy.yaml"), policyYaml, StandardCharsets.UTF_8);
            Path inventory = Files.writeString(dir.resolve("inventory.yaml"), inventoryYaml, StandardCharsets.UTF_8);
            ClusterState state = ClusterLoader.load(List.of(policy, inventory));
            if (!state.problems().isEmpty()) {
                throw new IllegalStateException("policy fixture has problems: " + state.problems());
            }
            CompiledPolicies compiled = PolicyCompiler.compile(state, GATEWAY_NODE, iface -> OptionalInt.empty(), "ext0");
            if (compiled.served().isEmpty()) {
                throw new IllegalStateException("policy fixture serves nothing on " + GATEWAY_NODE + ": "
                        + compiled.problems());
            }
            return compiled.table();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (dir != null) {
                deleteQuietly(dir);
            }
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // a temp directory left behind is harmless
        }
    }
}
