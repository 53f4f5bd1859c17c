package org.egressgw.tunio.netlink;

import org.egressgw.packet.Ipv4Address;

/**
 * One IPv4 address on an interface ({@code RTM_NEWADDR}, see {@link IfAddrMsg}). Immutable.
 *
 * @param ifindex the interface it is on
 * @param address {@code IFA_LOCAL} (or {@code IFA_ADDRESS} when there is no local one), network order as an
 *        int, first octet in the high byte (as {@link Ipv4Address})
 * @param prefixLength 0..32
 * @param scope {@code ifa_scope}: {@link RtMsg#RT_SCOPE_UNIVERSE} (global), {@link RtMsg#RT_SCOPE_LINK},
 *        {@link RtMsg#RT_SCOPE_HOST}
 * @param flags {@code IFA_FLAGS} if present, else {@code ifa_flags} (IFA_F_SECONDARY, IFA_F_PERMANENT, ...)
 * @param label {@code IFA_LABEL} (the interface name unless given an alias such as {@code eth0:1}); empty if
 *        absent
 * @param protocol {@code IFA_PROTO}: who added the address (0 when not said)
 */
public record AddressInfo(int ifindex, int address, int prefixLength, int scope, int flags, String label, int protocol) {
    @Override
    public String toString() {
        return "AddressInfo[" + Ipv4Address.toString(address) + "/" + prefixLength + " ifindex=" + ifindex
            + " scope=" + scope + " flags=0x" + Integer.toHexString(flags) + " label=" + label
            + (protocol != 0 ? " proto=" + protocol : "") + "]";
    }
}
