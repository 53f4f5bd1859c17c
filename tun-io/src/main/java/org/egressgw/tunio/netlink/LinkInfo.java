package org.egressgw.tunio.netlink;

import org.egressgw.packet.MacAddress;

/**
 * One network interface as rtnetlink reports it ({@code RTM_NEWLINK}, see {@link IfInfoMsg}). Immutable.
 *
 * @param ifindex the interface index (positive)
 * @param name the interface name ({@code IFLA_IFNAME}); empty if the kernel did not send one
 * @param flags {@code ifi_flags}: {@link IfInfoMsg#IFF_UP}, {@link IfInfoMsg#IFF_RUNNING},
 *        {@link IfInfoMsg#IFF_LOWER_UP}, ...
 * @param operstate RFC 2863 operational state ({@code IFLA_OPERSTATE}, {@link IfInfoMsg#IF_OPER_UP} ...);
 *        {@link IfInfoMsg#IF_OPER_UNKNOWN} if absent
 * @param type the hardware type ({@code ifi_type}, ARPHRD_*: 1 Ethernet, 772 loopback, 65534 none)
 * @param mtu {@code IFLA_MTU}; 0 if absent
 * @param macAddress a 6-byte {@code IFLA_ADDRESS} as a 48-bit value (first octet highest), or
 *        {@link #NO_MAC} if absent or of another length
 */
public record LinkInfo(int ifindex, String name, int flags, int operstate, int type, int mtu, long macAddress) {
    /** {@link #macAddress} of an interface without a 6-byte hardware address. */
    public static final long NO_MAC = -1L;

    /** Administratively up ({@code IFF_UP}: {@code ip link set X up}). */
    public boolean isUp() {
        return (flags & IfInfoMsg.IFF_UP) != 0;
    }

    /**
     * Usable: {@code IFF_RUNNING}, which the kernel reports when the interface is up and its operational state
     * is UP or UNKNOWN (devices that do not track carrier). The test to use before expecting traffic, proxy
     * entries or routes on the interface to stay.
     */
    public boolean isRunning() {
        return (flags & IfInfoMsg.IFF_RUNNING) != 0;
    }

    /** Carrier present ({@code IFF_LOWER_UP}); a veth has it only while its peer is up. */
    public boolean isLowerUp() {
        return (flags & IfInfoMsg.IFF_LOWER_UP) != 0;
    }

    /** {@code IFLA_OPERSTATE} is exactly {@link IfInfoMsg#IF_OPER_UP}. */
    public boolean isOperUp() {
        return operstate == IfInfoMsg.IF_OPER_UP;
    }

    /** The operational state as {@code ip link} prints it (UP, DOWN, LOWERLAYERDOWN, UNKNOWN, ...). */
    public String operstateName() {
        return IfInfoMsg.operstateName(operstate);
    }

    /** {@code aa:bb:cc:dd:ee:ff}, or "none" for {@link #NO_MAC}. */
    public static String formatMac(long mac) {
        return mac == NO_MAC ? "none" : MacAddress.toString(mac);
    }

    @Override
    public String toString() {
        return "LinkInfo[" + ifindex + ": " + name + " flags=0x" + Integer.toHexString(flags) + " operstate="
            + operstateName() + " type=" + type + " mtu=" + mtu + " mac=" + formatMac(macAddress) + "]";
    }
}
