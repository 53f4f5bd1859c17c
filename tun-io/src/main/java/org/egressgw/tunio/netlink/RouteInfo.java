package org.egressgw.tunio.netlink;

import org.egressgw.packet.Ipv4Address;

/**
 * One IPv4 route ({@code RTM_NEWROUTE}, see {@link RtMsg}). Immutable. Multipath routes
 * ({@code RTA_MULTIPATH}) are reported with oif and gateway 0: their next hops are not decoded.
 *
 * @param table {@code RTA_TABLE} if present, else {@code rtm_table} (254 main, 255 local)
 * @param destination {@code RTA_DST}, network order as an int (0 for a default route)
 * @param prefixLength {@code rtm_dst_len}, 0..32
 * @param oif {@code RTA_OIF}, the output interface; 0 if absent
 * @param gateway {@code RTA_GATEWAY}; 0 if absent
 * @param protocol {@code rtm_protocol}: who installed it (2 kernel, 3 boot = {@code ip route} default,
 *        4 static, or a private number)
 * @param scope {@code rtm_scope} ({@link RtMsg#RT_SCOPE_UNIVERSE}, {@link RtMsg#RT_SCOPE_LINK}, ...)
 * @param type {@code rtm_type} ({@link RtMsg#RTN_UNICAST}, {@link RtMsg#RTN_LOCAL},
 *        {@link RtMsg#RTN_BROADCAST}, ...)
 * @param priority {@code RTA_PRIORITY} (the metric); 0 if absent
 * @param preferredSource {@code RTA_PREFSRC}; 0 if absent
 */
public record RouteInfo(int table, int destination, int prefixLength, int oif, int gateway, int protocol, int scope,
        int type, int priority, int preferredSource) {
    @Override
    public String toString() {
        return "RouteInfo[" + Ipv4Address.toString(destination) + "/" + prefixLength + " table=" + Integer.toUnsignedString(table)
            + " oif=" + oif + (gateway != 0 ? " via " + Ipv4Address.toString(gateway) : "") + " proto=" + protocol
            + " scope=" + scope + " type=" + type + " metric=" + Integer.toUnsignedString(priority)
            + (preferredSource != 0 ? " src " + Ipv4Address.toString(preferredSource) : "") + "]";
    }
}
