package org.egressgw.control.config;

import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.packet.Ipv4Cidr;
import org.egressgw.packet.Vxlan;

/**
 * {@code tunnel:} — the VXLAN side.
 *
 * @param listenIp underlay address the VXLAN socket binds to, network order
 * @param listenPort its port ({@link Vxlan#DEFAULT_PORT} unless given)
 * @param vni the VXLAN network identifier
 * @param allowedPeers underlay sources from which VXLAN packets are accepted
 * @param overlayIp the gateway's address inside the tunnel, whose ARP requests it answers
 * @param mac the gateway's inner MAC (48 bits in the low bits): given, else 02:00 + the overlay IP, else the listen IP
 * @param mtu the underlay MTU
 * @param dstPort UDP destination port of what the gateway sends to nodes (the listen port unless given)
 * @param gro ask the kernel for UDP GRO on the tunnel socket (off by default: measured slower, benchmarks/RESULTS.md)
 * @param directReader read the socket with recvmmsg straight into ring slots ({@code reader: direct}, the default
 *     unless {@code gro}) rather than through a Netty datagram channel ({@code channel})
 * @param offload the transmit offload: replies read from the TUN device as TCP super-packets, translated once
 *     and written to a TAP device ({@link #offloadDevice}) as VXLAN super-packets that stay whole to the node
 * @param offloadDevice the TAP device of the transmit offload
 */
public record TunnelConfig(int listenIp, int listenPort, int vni, List<Ipv4Cidr> allowedPeers, OptionalInt overlayIp,
        long mac, int mtu, int dstPort, boolean gro, boolean directReader, Offload offload, String offloadDevice) {
    /** The VNI when none is given. */
    public static final int DEFAULT_VNI = 2;
    /** The underlay MTU when none is given. */
    public static final int DEFAULT_MTU = 1500;
    /** The TAP device of the transmit offload when none is given. */
    public static final String DEFAULT_OFFLOAD_DEVICE = "egwtx0";
    /** Smallest underlay MTU whose inner MTU still carries the IPv4 minimum of 576 bytes. */
    public static final int MIN_MTU = 576 + VxlanEncapsulator.OVERHEAD;
    public static final int MAX_MTU = 65535;

    /** Whether the transmit offload towards the nodes is used. */
    public enum Offload {
        /** Used when the kernel supports it, else the gateway says so and sends one datagram per segment. */
        AUTO,
        /** Required: the gateway does not start without it. */
        ON,
        /** Not used. */
        OFF
    }

    /**
     * @param egressOffload whether {@code egress.offload} is on: the transmit offload reads super-packets through
     *     the egress TUN device's virtio-net header, so it defaults to off (and cannot be asked for) without it
     */
    static TunnelConfig parse(YamlNode tunnel, boolean egressOffload) throws SourceException {
        tunnel.allowOnly("listen", "vni", "allowedPeers", "overlayIP", "mac", "mtu", "port", "gro", "reader", "offload",
                "offloadDevice");
        boolean gro = ConfigValues.bool(tunnel, "gro", false);
        YamlNode reader = tunnel.get("reader");
        String r = ConfigValues.oneOf(reader, gro ? "channel" : "direct", "direct", "channel");
        if (r.equals("direct") && gro) {
            throw reader.error("'direct' cannot be combined with tunnel.gro: true (GRO needs the channel reader)");
        }
        long hostPort = ConfigValues.ipv4AndPort(tunnel.require("listen"), Vxlan.DEFAULT_PORT);
        int listenIp = (int) (hostPort >>> 16);
        int listenPort = (int) (hostPort & 0xffff);
        YamlNode vni = tunnel.get("vni");
        YamlNode peers = tunnel.require("allowedPeers");
        List<Ipv4Cidr> peerList = new ArrayList<>();
        for (YamlNode p : peers.list()) {
            peerList.add(p.ipv4Cidr());
        }
        if (peerList.isEmpty()) {
            throw peers.error("must list at least one CIDR");
        }
        YamlNode overlay = tunnel.get("overlayIP");
        OptionalInt overlayIp = overlay == null ? OptionalInt.empty() : OptionalInt.of(overlay.ipv4());
        YamlNode mac = tunnel.get("mac");
        long gatewayMac = mac != null ? ConfigValues.unicastMac(mac)
                : 0x0200_0000_0000L | (overlayIp.orElse(listenIp) & 0xffff_ffffL);
        YamlNode mtu = tunnel.get("mtu");
        YamlNode port = tunnel.get("port");
        YamlNode offloadNode = tunnel.get("offload");
        Offload offload = switch (ConfigValues.oneOf(offloadNode, egressOffload ? "auto" : "off", "auto", "on", "off")) {
            case "auto" -> Offload.AUTO;
            case "on" -> Offload.ON;
            default -> Offload.OFF;
        };
        if (offloadNode != null && offload == Offload.ON && listenIp == 0) {
            throw offloadNode.error("'on' needs a tunnel.listen address other than 0.0.0.0 (what the kernel"
                    + " forwards for the gateway needs a real source address)");
        }
        if (offloadNode != null && offload != Offload.OFF && !egressOffload) {
            throw offloadNode.error("'" + offloadNode.string() + "' needs egress.offload: true (super-packets are read"
                    + " through the egress TUN device's virtio-net header)");
        }
        YamlNode offloadDevice = tunnel.get("offloadDevice");
        return new TunnelConfig(listenIp, listenPort, vni == null ? DEFAULT_VNI : vni.intValue(0, 0xff_ffff),
                List.copyOf(peerList), overlayIp, gatewayMac, mtu == null ? DEFAULT_MTU : mtu.intValue(MIN_MTU, MAX_MTU),
                port == null ? listenPort : port.intValue(1, 65535), gro, r.equals("direct"), offload,
                offloadDevice == null ? DEFAULT_OFFLOAD_DEVICE : ConfigValues.interfaceName(offloadDevice));
    }

    /** {@link #mtu()} minus the VXLAN encapsulation overhead: the largest inner IPv4 packet. */
    public int innerMtu() {
        return mtu - VxlanEncapsulator.OVERHEAD;
    }
}
