package org.egressgw.core.datapath;

import org.egressgw.control.policy.PolicyTable;
import org.egressgw.packet.PacketError;

/**
 * Every reason the gateway drops (or consumes without forwarding) a packet. Codes are dense so
 * they index counter arrays: the first {@link PacketError#COUNT} are the header parsers' own
 * verdicts, the rest are the gateway's decisions. Names are the {@code reason} label of
 * {@code egw_drops_total}.
 */
public final class DropReason {
    private static final int BASE = PacketError.COUNT;
    /** VXLAN from an outer source outside {@code tunnel.allowedPeers}. */
    public static final int PEER_NOT_ALLOWED = BASE;
    /** VXLAN with a VNI other than {@code tunnel.vni}. */
    public static final int WRONG_VNI = BASE + 1;
    /** Inner frame addressed to a MAC other than the gateway's. */
    public static final int NOT_OUR_MAC = BASE + 2;
    /** A valid ARP packet that needs no answer (a reply, or a request for another address). */
    public static final int ARP_NOT_FOR_US = BASE + 3;
    /** Inner frame that is neither IPv4 nor ARP (IPv6, VLAN, ...). */
    public static final int UNSUPPORTED_ETHERTYPE = BASE + 4;
    /** IPv4 fragment (not supported yet). */
    public static final int FRAGMENT = BASE + 5;
    /** IP protocol other than TCP, UDP, ICMP. */
    public static final int UNSUPPORTED_PROTOCOL = BASE + 6;
    /** ICMP other than echo request (from pods) or echo reply (from outside). */
    public static final int UNSUPPORTED_ICMP = BASE + 7;
    /** No served policy covers (pod source, destination): the gateway is not an open relay. */
    public static final int NO_POLICY = BASE + 8;
    /** The destination is in an excluded CIDR of the pod's policy (the node should not have tunnelled it). */
    public static final int EXCLUDED_CIDR = BASE + 9;
    /** No free source port for (egress IP, protocol, destination) within the allowed tries. */
    public static final int NAT_PORT_EXHAUSTED = BASE + 10;
    /** The connection table is full: new flows are refused, established ones keep flowing. */
    public static final int CONNTRACK_FULL = BASE + 11;
    /** A packet that belongs to no tracked connection (a reply nobody asked for, a stray RST). */
    public static final int NO_CONNECTION = BASE + 12;
    /** Reply larger than the tunnel's inner MTU (ICMP fragmentation-needed sent back when DF is set). */
    public static final int TOO_BIG = BASE + 13;
    /** The ring towards the datapath was full. */
    public static final int RING_FULL = BASE + 14;
    /** Datagram or packet larger than a ring slot. */
    public static final int OVERSIZE = BASE + 15;
    /** The kernel refused a write (TUN or raw socket). */
    public static final int TX_FAILED = BASE + 16;

    /** A reply whose TCP flags do not fit the connection's state (e.g. data before the handshake). */
    public static final int TCP_INVALID = BASE + 17;

    /** TTL expired at the gateway (an ICMP time exceeded was sent back, as a router does). */
    public static final int TTL_EXCEEDED = BASE + 18;

    /** The pod's best-matching policy is served by another gateway (or pinned to one): not ours to translate. */
    public static final int NOT_SERVED_HERE = BASE + 19;
    /** An ICMP error whose quoted packet is malformed, fragmented or not one the gateway sent. */
    public static final int ICMP_ERROR_INVALID = BASE + 20;

    /** The pod's policy has no usable egress IP on this gateway (its interface has no IPv4 address). */
    public static final int NO_EGRESS_IP = BASE + 21;

    /**
     * A reply read with offload metadata the gateway cannot honour: a segmentation type other than TCP/IPv4,
     * a checksum start that is not the transport header, a super-packet too large to encapsulate.
     */
    public static final int OFFLOAD_INVALID = BASE + 22;

    /** Number of reasons. */
    public static final int COUNT = BASE + 23;

    private static final String[] NAMES = new String[COUNT];

    static {
        for (int i = 0; i < PacketError.COUNT; i++) {
            NAMES[i] = PacketError.name(i);
        }
        String[] own = {"peer_not_allowed", "wrong_vni", "not_our_mac", "arp_not_for_us", "unsupported_ethertype",
            "fragment", "unsupported_protocol", "unsupported_icmp", "no_policy", "excluded_cidr",
            "nat_port_exhausted", "conntrack_full", "no_connection", "too_big", "ring_full", "oversize", "tx_failed",
            "tcp_invalid", "ttl_exceeded", "not_served_here", "icmp_error_invalid",
            "no_egress_ip", "offload_invalid"};
        System.arraycopy(own, 0, NAMES, BASE, own.length);
    }

    private DropReason() {
    }

    /** The drop reason for a policy lookup that found nothing to apply ({@link PolicyTable}'s negative verdicts). */
    public static int ofPolicyVerdict(int verdict) {
        return switch (verdict) {
            case PolicyTable.EXCLUDED -> EXCLUDED_CIDR;
            case PolicyTable.NOT_SERVED_HERE -> NOT_SERVED_HERE;
            case PolicyTable.NO_EGRESS_IP -> NO_EGRESS_IP;
            default -> NO_POLICY;
        };
    }

    public static String name(int reason) {
        return reason >= 0 && reason < COUNT ? NAMES[reason] : "unknown";
    }
}
