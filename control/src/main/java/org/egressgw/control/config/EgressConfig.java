package org.egressgw.control.config;

import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;
import org.egressgw.nat.PortAllocator;

/**
 * {@code egress:} — where translated traffic leaves.
 *
 * @param interfaceName the egress interface (required)
 * @param device the TUN device the gateway creates
 * @param portLow lowest translated source port / ICMP identifier
 * @param portHigh highest translated source port / ICMP identifier
 * @param mssClamp the MSS written into SYNs and SYN-ACKs that announce more; 0 when clamping is off
 * @param offload coalesce consecutive TCP segments of a flow into GSO super-packets written to the TUN device
 * @param notrack keep the kernel's conntrack off the gateway's traffic with nftables notrack rules
 */
public record EgressConfig(String interfaceName, String device, int portLow, int portHigh, int mssClamp,
        boolean offload, boolean notrack) {
    /** The TUN device when none is given. */
    public static final String DEFAULT_DEVICE = "egw0";
    /** IPv4 (20) + TCP (20) without options: what the MSS leaves of the inner MTU. */
    public static final int TCP_IP_HEADERS = 40;
    public static final int MIN_MSS = 536;
    public static final int MAX_MSS = 65495;

    /** Whether {@code egress.offload} is on (default true); read before the tunnel section, whose offload needs it. */
    static boolean offloadEnabled(YamlNode egress) throws SourceException {
        return ConfigValues.bool(egress, "offload", true);
    }

    static EgressConfig parse(YamlNode egress, TunnelConfig tunnel) throws SourceException {
        egress.allowOnly("interface", "device", "portRange", "mss", "offload", "notrack");
        String iface = ConfigValues.interfaceName(egress.require("interface"));
        YamlNode deviceNode = egress.get("device");
        String device = deviceNode == null ? DEFAULT_DEVICE : ConfigValues.interfaceName(deviceNode);
        YamlNode range = egress.get("portRange");
        int[] lh = range == null ? new int[] {PortAllocator.DEFAULT_LOW, PortAllocator.DEFAULT_HIGH}
                : ConfigValues.portRange(range);
        YamlNode mss = egress.get("mss");
        int auto = tunnel.innerMtu() - TCP_IP_HEADERS;
        return new EgressConfig(iface, device, lh[0], lh[1], mss == null ? auto : mss(mss, auto), offloadEnabled(egress),
                ConfigValues.bool(egress, "notrack", true));
    }

    private static int mss(YamlNode n, int auto) throws SourceException {
        String s = n.isScalar() ? n.string().trim() : null;
        if ("auto".equals(s)) {
            return auto;
        }
        if ("off".equals(s)) {
            return 0;
        }
        if (s == null || !s.matches("[0-9]{1,9}")) {
            throw n.error("expected auto, off or a number " + MIN_MSS + ".." + MAX_MSS
                    + (s == null ? ", got " + n.kindName() : ", got '" + YamlNode.abbreviate(s) + "'"));
        }
        return n.intValue(MIN_MSS, MAX_MSS);
    }
}
