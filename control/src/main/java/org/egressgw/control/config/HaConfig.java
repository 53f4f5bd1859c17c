package org.egressgw.control.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;
import org.egressgw.packet.Ipv4Address;

/**
 * {@code ha:} — this gateway is a member of a group: one member is active (holds the floating tunnel address and
 * the egress IPs), the others stand by with a copy of the connection table. Absent: a gateway on its own.
 *
 * @param peers the other members' underlay addresses (VRRP advertisements and state sync go to them)
 * @param virtualIp the floating tunnel address (what the nodes' VXLAN devices point at); {@code tunnel.listen}'s
 * @param priority 1..254, higher is preferred
 * @param secret the shared key from {@code secretFile}: authenticates every HA and sync message
 * @param secretFile where it came from (for messages)
 * @param interfaceName where the virtual IP is added on the active member; empty: the interface that has an
 *     address in the virtual IP's subnet
 * @param advertMillis VRRP advertisement interval (10..40950, a multiple of 10: VRRPv3 counts centiseconds)
 * @param vrid the VRRP virtual router id, 1..255 (one per group on a segment)
 * @param syncPort the TCP port members exchange connection state on
 * @param preempt whether a member of higher priority takes over from a lower one (after its resync)
 * @param releaseDelayMillis how long a member that hands over keeps serving what still reaches it
 */
public record HaConfig(List<Integer> peers, int virtualIp, int priority, byte[] secret, Path secretFile,
        Optional<String> interfaceName, int advertMillis, int vrid, int syncPort, boolean preempt, int releaseDelayMillis) {
    public static final int DEFAULT_PRIORITY = 100;
    public static final int DEFAULT_ADVERT_MILLIS = 100;
    public static final int DEFAULT_VRID = 1;
    public static final int DEFAULT_SYNC_PORT = 8479;
    public static final int DEFAULT_RELEASE_DELAY_MILLIS = 1000;
    /** The fewest bytes a shared key may have. */
    public static final int MIN_SECRET_BYTES = 16;

    /** @param ha the section, or null when absent (no group) */
    static Optional<HaConfig> parse(YamlNode ha, Path dir, TunnelConfig tunnel, YamlNode tunnelNode) throws SourceException {
        if (ha == null) {
            return Optional.empty();
        }
        ha.allowOnly("peers", "virtualIP", "priority", "secretFile", "interface", "advertMillis", "vrid", "syncPort",
                "preempt", "releaseDelayMillis");
        if (!tunnel.directReader()) {
            throw ha.error("a group member needs tunnel.reader: direct (it binds the floating tunnel address itself)");
        }
        YamlNode vipNode = ha.require("virtualIP");
        int vip = vipNode.ipv4();
        if (tunnel.listenIp() != vip) {
            throw tunnelNode.require("listen").error("must be the group's virtual IP " + Ipv4Address.toString(vip)
                    + " (ha.virtualIP): the nodes tunnel to it, and the active member receives there");
        }
        YamlNode peersNode = ha.require("peers");
        List<Integer> peers = new ArrayList<>();
        for (YamlNode p : peersNode.list()) {
            int ip = p.ipv4();
            if (ip == vip) {
                throw p.error("a peer's address cannot be the virtual IP");
            }
            if (peers.contains(ip)) {
                throw p.error(Ipv4Address.toString(ip) + " is listed twice");
            }
            peers.add(ip);
        }
        if (peers.isEmpty()) {
            throw peersNode.error("must list at least one other member's underlay address");
        }
        YamlNode prio = ha.get("priority");
        YamlNode secretNode = ha.require("secretFile");
        Path secretFile = ConfigValues.path(secretNode, dir);
        byte[] secret;
        try {
            secret = Files.readAllBytes(secretFile);
        } catch (IOException e) {
            throw secretNode.error("cannot read " + secretFile + ": " + e.getMessage());
        }
        int end = secret.length;
        while (end > 0 && (secret[end - 1] == '\n' || secret[end - 1] == '\r')) {
            end--;
        }
        if (end < MIN_SECRET_BYTES) {
            throw secretNode.error(secretFile + " holds " + end + " bytes; the shared key needs at least " + MIN_SECRET_BYTES
                    + " (e.g. head -c 32 /dev/urandom | base64 > " + secretFile.getFileName() + ")");
        }
        secret = java.util.Arrays.copyOf(secret, end);
        YamlNode iface = ha.get("interface");
        YamlNode advert = ha.get("advertMillis");
        int advertMillis = advert == null ? DEFAULT_ADVERT_MILLIS : advert.intValue(10, 40950);
        if (advertMillis % 10 != 0) {
            throw advert.error(advertMillis + " is not a multiple of 10 ms (VRRPv3 advertises in centiseconds)");
        }
        YamlNode vrid = ha.get("vrid");
        YamlNode port = ha.get("syncPort");
        YamlNode release = ha.get("releaseDelayMillis");
        return Optional.of(new HaConfig(List.copyOf(peers), vip, prio == null ? DEFAULT_PRIORITY : prio.intValue(1, 254),
                secret, secretFile, iface == null ? Optional.empty() : Optional.of(ConfigValues.interfaceName(iface)),
                advertMillis, vrid == null ? DEFAULT_VRID : vrid.intValue(1, 255),
                port == null ? DEFAULT_SYNC_PORT : port.intValue(1, 65535), ConfigValues.bool(ha, "preempt", true),
                release == null ? DEFAULT_RELEASE_DELAY_MILLIS : release.intValue(0, 60_000)));
    }

    @Override
    public String toString() {
        return "HaConfig[peers=" + peers.stream().map(Ipv4Address::toString).toList() + ", virtualIP="
                + Ipv4Address.toString(virtualIp) + ", priority=" + priority + ", secretFile=" + secretFile + "]";
    }
}
