package org.egressgw.control.config;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlFiles;
import org.egressgw.control.yaml.YamlNode;

/**
 * The gateway's own configuration file, validated once at load and immutable afterwards (safe to share between
 * threads): one record per section, each parsing its own section with named defaults taken from the modules that
 * own them (the VXLAN port from {@code packet}, timeouts and table size from {@code conntrack}, the port range
 * from {@code nat}). Every missing required key, wrong type, bad value or unknown key is a {@link SourceException}
 * naming the file, line and field.
 *
 * <pre>
 * node:      {name}                                          # required
 * tunnel:    {listen, vni, allowedPeers, overlayIP, mac, mtu, port, gro, reader, offload, offloadDevice}
 * egress:    {interface, device, portRange, mss, offload, notrack}
 * cluster:   {paths} or {kubernetes: {kubeconfig, context, resyncSeconds}}   # exactly one
 * admin:     {listen}
 * conntrack: {maxEntries, timeouts: {tcpSyn, tcpEstablished, tcpClosing, udp, icmp}}
 * pipeline:  {ringSize, idle, mode, cpu, pollMillis, shards}
 * ha:        {peers, virtualIP, priority, secretFile, interface, advertMillis, vrid, syncPort, preempt,
 *             releaseDelayMillis}                             # a member of a gateway group
 * </pre>
 *
 * <p>A new section is a record with a {@code parse(YamlNode)} of its own, a component here and its key in
 * {@link #SECTIONS}; checks that span sections are made here, after each section parsed alone.
 *
 * @param source the file this was loaded from
 */
public record GatewayConfig(Path source, NodeConfig node, TunnelConfig tunnel, EgressConfig egress,
        ClusterConfig cluster, AdminConfig admin, ConntrackConfig conntrack, PipelineConfig pipeline,
        Optional<HaConfig> ha) {
    /** The top-level keys a configuration file may have. */
    static final String[] SECTIONS = {"node", "tunnel", "egress", "cluster", "admin", "conntrack", "pipeline", "ha"};

    /**
     * Reads and validates a configuration file.
     *
     * @throws SourceException for unreadable files (line 0), malformed YAML and every invalid value
     */
    public static GatewayConfig load(Path file) throws SourceException {
        List<YamlNode> docs;
        try {
            docs = YamlFiles.read(file);
        } catch (IOException e) {
            throw new SourceException(file.toString(), 0, "cannot read: " + e);
        }
        if (docs.isEmpty()) {
            throw new SourceException(file.toString(), 1, "configuration is empty");
        }
        if (docs.size() > 1) {
            throw docs.get(1).error("expected a single YAML document");
        }
        return parse(file, docs.get(0));
    }

    private static GatewayConfig parse(Path file, YamlNode root) throws SourceException {
        root.allowOnly(SECTIONS);
        NodeConfig node = NodeConfig.parse(root.require("node"));
        YamlNode tunnelNode = root.require("tunnel");
        YamlNode egressNode = root.require("egress");
        TunnelConfig tunnel = TunnelConfig.parse(tunnelNode, EgressConfig.offloadEnabled(egressNode));
        EgressConfig egress = EgressConfig.parse(egressNode, tunnel);
        if (tunnel.offloadDevice().equals(egress.device())) {
            YamlNode offloadDevice = tunnelNode.get("offloadDevice");
            throw offloadDevice != null ? offloadDevice.error("must differ from egress.device ('" + egress.device() + "')")
                    : egressNode.require("device").error("must differ from tunnel.offloadDevice ('"
                            + tunnel.offloadDevice() + "')");
        }
        ClusterConfig cluster = ClusterConfig.parse(root.require("cluster"), file.toAbsolutePath().getParent());
        AdminConfig admin = AdminConfig.parse(root.get("admin"));
        ConntrackConfig conntrack = ConntrackConfig.parse(root.get("conntrack"));
        PipelineConfig pipeline = PipelineConfig.parse(root.get("pipeline"), tunnel, egress);
        Optional<HaConfig> ha = HaConfig.parse(root.get("ha"), file.toAbsolutePath().getParent(), tunnel, tunnelNode);
        return new GatewayConfig(file, node, tunnel, egress, cluster, admin, conntrack, pipeline, ha);
    }
}
