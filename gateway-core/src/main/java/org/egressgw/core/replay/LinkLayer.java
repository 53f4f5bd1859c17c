package org.egressgw.core.replay;

/**
 * Where the IPv4 header starts in a captured frame, per pcap link type. Captures come from wherever
 * users run tcpdump: an Ethernet interface (DLT_EN10MB, with or without one 802.1Q tag),
 * {@code -i any} (Linux cooked, DLT_LINUX_SLL and SLL2), a TUN device (DLT_RAW) or a BSD loopback
 * (DLT_NULL). Anything that is not IPv4 gives {@link #NOT_IPV4}.
 */
public final class LinkLayer {
    /** libpcap's DLT values (not the LINKTYPE_ values of the file header, which libpcap maps). */
    public static final int DLT_NULL = 0;
    public static final int DLT_EN10MB = 1;
    public static final int DLT_RAW = 12;
    public static final int DLT_RAW_OPENBSD = 14;
    public static final int DLT_LINUX_SLL = 113;
    public static final int DLT_IPV4 = 228;
    public static final int DLT_LINUX_SLL2 = 276;
    /** The frame holds no IPv4 packet (another protocol, an unknown link type, or too short). */
    public static final int NOT_IPV4 = -1;

    private static final int ETHERTYPE_IPV4 = 0x0800;
    private static final int ETHERTYPE_VLAN = 0x8100;

    private LinkLayer() {
    }

    /** True for the link types {@link #ipv4Offset} understands. */
    public static boolean supported(int dlt) {
        return dlt == DLT_NULL || dlt == DLT_EN10MB || dlt == DLT_RAW || dlt == DLT_RAW_OPENBSD
                || dlt == DLT_LINUX_SLL || dlt == DLT_IPV4 || dlt == DLT_LINUX_SLL2;
    }

    /** True when the link layer may pad short packets, so bytes beyond the IPv4 total length are not the packet's. */
    public static boolean pads(int dlt) {
        return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2;
    }

    /** Offset of the IPv4 header in {@code frame[0..len)}, or {@link #NOT_IPV4}. */
    public static int ipv4Offset(int dlt, byte[] frame, int len) {
        int off;
        switch (dlt) {
            case DLT_EN10MB -> {
                if (len < 14) {
                    return NOT_IPV4;
                }
                int type = u16(frame, 12);
                off = 14;
                if (type == ETHERTYPE_VLAN) {
                    if (len < 18) {
                        return NOT_IPV4;
                    }
                    type = u16(frame, 16);
                    off = 18;
                }
                if (type != ETHERTYPE_IPV4) {
                    return NOT_IPV4;
                }
            }
            case DLT_LINUX_SLL -> {
                if (len < 16 || u16(frame, 14) != ETHERTYPE_IPV4) {
                    return NOT_IPV4;
                }
                off = 16;
            }
            case DLT_LINUX_SLL2 -> {
                if (len < 20 || u16(frame, 0) != ETHERTYPE_IPV4) {
                    return NOT_IPV4;
                }
                off = 20;
            }
            case DLT_NULL -> {
                // the address family in host byte order of the capturing machine: 2 = AF_INET either way
                if (len < 4 || (frame[0] != 2 && frame[3] != 2)) {
                    return NOT_IPV4;
                }
                off = 4;
            }
            case DLT_RAW, DLT_RAW_OPENBSD, DLT_IPV4 -> off = 0;
            default -> {
                return NOT_IPV4;
            }
        }
        if (len - off < 1 || (frame[off] & 0xf0) != 0x40) {
            return NOT_IPV4;
        }
        return off;
    }

    private static int u16(byte[] b, int off) {
        return (b[off] & 0xff) << 8 | (b[off + 1] & 0xff);
    }
}
