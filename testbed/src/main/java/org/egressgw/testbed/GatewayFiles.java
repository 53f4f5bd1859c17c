package org.egressgw.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The Java gateway's configuration for the testbed: {@code config.yaml}, the Cilium example policy and a
 * kubectl-style inventory of the topology's nodes and pods. The schema is the gateway's; this class only
 * fills it in with the topology's addresses.
 */
public final class GatewayFiles {

    /** The policy file, relative to the gateway directory. */
    public static final String POLICY_FILE = "policies/payment.yaml";
    /** The inventory file, relative to the gateway directory. */
    public static final String INVENTORY_FILE = "inventory/cluster.yaml";
    /** The config file, relative to the gateway directory. */
    public static final String CONFIG_FILE = "config.yaml";

    /** UID of pod1 in the inventory (fixed so that runs are reproducible). */
    public static final String POD1_UID = "0c9e6c1a-5e1b-4f7a-9d1e-000000000001";
    /** UID of pod2 in the inventory. */
    public static final String POD2_UID = "0c9e6c1a-5e1b-4f7a-9d1e-000000000002";

    private GatewayFiles() {
    }

    /**
     * Writes the three files under {@code dir} (created if needed), overwriting older ones.
     *
     * @return the path of {@code config.yaml}
     */
    public static Path write(Path dir) throws IOException {
        return write(dir, configYaml());
    }

    /** The policy, the inventory and {@code config} as {@code config.yaml} under {@code dir}; returns the config's path. */
    static Path write(Path dir, String config) throws IOException {
        Files.createDirectories(dir.resolve("policies"));
        Files.createDirectories(dir.resolve("inventory"));
        Files.writeString(dir.resolve(POLICY_FILE), paymentPolicyYaml(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve(INVENTORY_FILE), clusterInventoryYaml(), StandardCharsets.UTF_8);
        Path configFile = dir.resolve(CONFIG_FILE);
        Files.writeString(configFile, config, StandardCharsets.UTF_8);
        return configFile;
    }

    /** The gateway's own settings; {@code cluster.paths} are relative to the config file's directory. */
    public static String configYaml() {
        return configYaml(Topology.GW_UNDERLAY_IP);
    }

    /** {@link #configYaml()} with the tunnel listening on {@code listenIp}. */
    static String configYaml(String listenIp) {
        return "node: {name: gw-1}\n"
                + "tunnel: {listen: \"" + listenIp + ":" + Topology.VXLAN_PORT + "\", vni: "
                + Topology.VNI + ", allowedPeers: [\"198.51.100.0/24\"], overlayIP: " + Topology.GW_OVERLAY_IP
                + ", mac: \"" + Topology.GW_MAC + "\"}\n"
                + "egress: {interface: " + Topology.GW_EXT_IFACE + ", device: egw0}\n"
                + "cluster: {paths: [policies, inventory]}\n"
                + "admin: {listen: \"" + Topology.ADMIN_LISTEN + "\"}\n";
    }

    /** Cilium's documented example policy, verbatim. */
    public static String paymentPolicyYaml() {
        return """
                apiVersion: cilium.io/v2
                kind: CiliumEgressGatewayPolicy
                metadata:
                  name: payment-processor-egress
                spec:
                  selectors:
                  - podSelector:
                      matchLabels:
                        app: payment-processor
                  destinationCIDRs:
                  - "203.0.113.0/24"
                  egressGateway:
                    nodeSelector:
                      matchLabels:
                        node-role.kubernetes.io/egress-gateway: "true"
                    egressIP: "192.0.2.10"
                """;
    }

    /** The namespace, both nodes and both pods, as {@code kubectl get -o yaml} would list them. */
    public static String clusterInventoryYaml() {
        return """
                apiVersion: v1
                kind: Namespace
                metadata:
                  name: default
                ---
                apiVersion: v1
                kind: Node
                metadata:
                  name: gw-1
                  labels:
                    node-role.kubernetes.io/egress-gateway: "true"
                status:
                  addresses:
                  - type: InternalIP
                    address: %s
                ---
                apiVersion: v1
                kind: Node
                metadata:
                  name: node-a
                status:
                  addresses:
                  - type: InternalIP
                    address: %s
                ---
                %s---
                %s"""
                .formatted(Topology.GW_UNDERLAY_IP, Topology.NODE_UNDERLAY_IP,
                        pod("pod1", POD1_UID, "payment-processor", Topology.POD1_IP),
                        pod("pod2", POD2_UID, "frontend", Topology.POD2_IP));
    }

    private static String pod(String name, String uid, String app, String ip) {
        return """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: %s
                  namespace: default
                  uid: %s
                  labels:
                    app: %s
                spec:
                  nodeName: node-a
                status:
                  podIP: %s
                  podIPs:
                  - ip: %s
                """.formatted(name, uid, app, ip, ip);
    }
}
