package org.egressgw.packet;

/**
 * Reasons a header view rejects a packet. Codes are dense ({@code 0..COUNT-1}) so callers can index
 * counter arrays with them; {@link #NONE} means the header passed its check. Bad packets are data,
 * not exceptions: every {@code check} method returns one of these codes.
 */
public final class PacketError {
    /** The header passed its check. */
    public static final int NONE = 0;
    public static final int ETHERNET_TRUNCATED = 1;
    public static final int ARP_MALFORMED = 2;
    public static final int IPV4_TRUNCATED = 3;
    public static final int IPV4_BAD_VERSION = 4;
    public static final int IPV4_BAD_IHL = 5;
    public static final int IPV4_BAD_TOTAL_LENGTH = 6;
    public static final int IPV4_BAD_CHECKSUM = 7;
    public static final int UDP_TRUNCATED = 8;
    public static final int UDP_BAD_LENGTH = 9;
    public static final int TCP_TRUNCATED = 10;
    public static final int TCP_BAD_DATA_OFFSET = 11;
    public static final int ICMP_TRUNCATED = 12;
    public static final int VXLAN_TRUNCATED = 13;
    public static final int VXLAN_BAD_FLAGS = 14;

    /** Number of codes, including {@link #NONE}; the size of a counter array indexed by code. */
    public static final int COUNT = 15;

    private static final String[] NAMES = {
        "none",
        "ethernet_truncated",
        "arp_malformed",
        "ipv4_truncated",
        "ipv4_bad_version",
        "ipv4_bad_ihl",
        "ipv4_bad_total_length",
        "ipv4_bad_checksum",
        "udp_truncated",
        "udp_bad_length",
        "tcp_truncated",
        "tcp_bad_data_offset",
        "icmp_truncated",
        "vxlan_truncated",
        "vxlan_bad_flags",
    };

    private PacketError() {
    }

    /**
     * The snake_case metric label of a code, e.g. {@code "ipv4_bad_checksum"}. Does not allocate.
     *
     * @throws IllegalArgumentException if {@code code} is not within {@code 0..COUNT-1}
     */
    public static String name(int code) {
        if (code < 0 || code >= COUNT) {
            throw new IllegalArgumentException("packet error code " + code + " is not within 0.." + (COUNT - 1));
        }
        return NAMES[code];
    }
}
