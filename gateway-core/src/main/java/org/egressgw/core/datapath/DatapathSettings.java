package org.egressgw.core.datapath;

import java.util.List;
import org.egressgw.packet.Ipv4Cidr;

/**
 * The datapath's fixed parameters, resolved from the configuration once at start.
 *
 * @param localIp the gateway's underlay address (outer source of what it sends)
 * @param tunnelDstPort the nodes' VXLAN port
 * @param vni the VXLAN network identifier
 * @param gatewayMac the gateway's inner MAC
 * @param overlayIp the gateway's address inside the tunnel (ARP is answered for it), if any
 * @param hasOverlayIp whether {@code overlayIp} is set
 * @param allowedPeers outer sources accepted
 * @param innerMtu the largest inner IPv4 packet that fits in the tunnel (underlay MTU - 50)
 * @param mssClamp the MSS written into SYNs and SYN-ACKs that announce more; 0 = off
 * @param portLow lowest translated port
 * @param portHigh highest translated port
 * @param portTries how many ports to probe for a new connection before giving up
 */
public record DatapathSettings(int localIp, int tunnelDstPort, int vni, long gatewayMac, int overlayIp,
        boolean hasOverlayIp, List<Ipv4Cidr> allowedPeers, int innerMtu, int mssClamp, int portLow, int portHigh,
        int portTries) {
}
