package org.egressgw.core.host;

import org.egressgw.packet.Ipv4Address;

/**
 * How the gateway's host plumbing is recognised as its own by a gateway that starts after a crash — by marks the
 * kernel keeps, not by a list the dead process can no longer give:
 *
 * <ul>
 *   <li>routes and proxy-ARP entries: {@code proto 101} ({@code rtm_protocol}, {@code NDA_PROTOCOL}; shown by
 *       {@code ip route show proto 101} and {@code ip neigh show proxy});
 *   <li>tc filters: an action cookie {@code 656777} ("egw") followed by the egress IP in hex, and preferences from
 *       {@value #TC_PREF} up;
 *   <li>the nftables table {@code ip egress_gateway};
 *   <li>devices by name (TUN {@code egress.device}, TAP {@code tunnel.offloadDevice}), which the kernel removes with
 *       the process anyway;
 *   <li>what has no mark (sysctl values before the change, the ingress qdisc it created) in
 *       {@link PlumbingState}.
 * </ul>
 */
final class Marks {
    /** {@code rtm_protocol} of the gateway's routes and {@code NDA_PROTOCOL} of its proxy entries ('e'). */
    static final int PROTOCOL = 101;
    /** tc action cookies of the gateway's filters start with these bytes ("egw"). */
    static final String TC_COOKIE_PREFIX = "656777";
    /** tc filter preference of the first egress IP's filters; each further IP takes the next one. */
    static final int TC_PREF = 49152;
    /** nftables table holding the gateway's notrack rules. */
    static final String NFT_TABLE = "egress_gateway";
    /** The main routing table. */
    static final int MAIN_TABLE = 254;

    private Marks() {
    }

    /** The action cookie of an egress IP's tc filters. */
    static String tcCookie(int egressIp) {
        return TC_COOKIE_PREFIX + String.format("%08x", egressIp);
    }

    static String ip(int address) {
        return Ipv4Address.toString(address);
    }
}
