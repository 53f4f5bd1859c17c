package org.egressgw.tunio.netlink;

import org.egressgw.packet.Ipv4Address;

/**
 * One IPv4 neighbour entry: an ARP cache entry or, with {@link #isProxy()}, a proxy-ARP entry
 * ({@code ip neigh add proxy IP dev X}); see {@link NdMsg}. Immutable.
 *
 * @param ifindex the interface (0 for a proxy entry without a device)
 * @param address {@code NDA_DST}, network order as an int (as {@link Ipv4Address})
 * @param state {@code ndm_state} (NUD_* bits; 0 for proxy entries)
 * @param flags {@code ndm_flags} ({@link NdMsg#NTF_PROXY}, {@link NdMsg#NTF_ROUTER}, ...)
 * @param macAddress a 6-byte {@code NDA_LLADDR} as a 48-bit value, or {@link LinkInfo#NO_MAC}
 * @param protocol {@code NDA_PROTOCOL}: who added the entry (0 when not said)
 */
public record NeighbourInfo(int ifindex, int address, int state, int flags, long macAddress, int protocol) {
    /** A proxy-ARP entry ({@code NTF_PROXY}): the kernel answers ARP for {@link #address} on the interface. */
    public boolean isProxy() {
        return (flags & NdMsg.NTF_PROXY) != 0;
    }

    @Override
    public String toString() {
        return "NeighbourInfo[" + Ipv4Address.toString(address) + " ifindex=" + ifindex + (isProxy() ? " proxy" : "")
            + " state=0x" + Integer.toHexString(state) + " flags=0x" + Integer.toHexString(flags) + " lladdr="
            + LinkInfo.formatMac(macAddress) + (protocol != 0 ? " proto=" + protocol : "") + "]";
    }
}
