package org.egressgw.encap;

import org.agrona.MutableDirectBuffer;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FlowHash;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Udp;
import org.egressgw.packet.Vxlan;

/**
 * Builds the VXLAN encapsulation (RFC 7348) in front of a packet, in place, in the headroom the
 * caller reserved: outer IPv4 (20) + outer UDP (8) + VXLAN (8) + inner Ethernet (14) = 50 bytes.
 *
 * <pre>
 *  outerOff                                                   ipOff
 *  | IPv4 src=local dst=VTEP | UDP sport=hash dport=8472 | VXLAN I, VNI | Eth dst=node src=gw 0800 | inner IPv4 ...
 * </pre>
 *
 * <p>The result is handed to a raw IPv4 socket ({@code IPPROTO_RAW}), so the kernel routes it and
 * fills the outer header checksum and identification. The outer UDP source port is derived from a
 * hash of the inner flow, as Linux's VXLAN device does, so the underlay's ECMP and RSS can spread
 * flows; the outer UDP checksum is 0, which RFC 7348 allows for IPv4 and which is Linux's default.
 * The outer header does not set DF, as Linux's VXLAN device by default.
 */
public final class VxlanEncapsulator {
    /** Bytes the encapsulation adds in front of an inner IPv4 packet. */
    public static final int OVERHEAD = Ipv4.MIN_HEADER_LENGTH + Udp.HEADER_LENGTH + Vxlan.HEADER_LENGTH + Ethernet.HEADER_LENGTH;
    /** Bytes the encapsulation adds in front of an inner Ethernet frame. */
    public static final int FRAME_OVERHEAD = Ipv4.MIN_HEADER_LENGTH + Udp.HEADER_LENGTH + Vxlan.HEADER_LENGTH;
    /** Linux's default source port range for VXLAN ({@code net.ipv4.ip_local_port_range}). */
    public static final int SRC_PORT_MIN = 32768;
    public static final int SRC_PORT_MAX = 60999;
    private static final int OUTER_TTL = 64;

    private final int localIp;
    private final int dstPort;
    private final int vni;
    private final long localMac;

    /**
     * @param localIp the gateway's underlay address (outer source)
     * @param dstPort the nodes' VXLAN port (outer destination port)
     * @param vni the VXLAN network identifier
     * @param localMac the gateway's inner MAC (inner source of frames it sends)
     */
    public VxlanEncapsulator(int localIp, int dstPort, int vni, long localMac) {
        if (vni < 0 || vni > 0xFFFFFF) {
            throw new IllegalArgumentException("VNI " + vni + " is not within 0..16777215");
        }
        if (dstPort < 1 || dstPort > 65535) {
            throw new IllegalArgumentException("VXLAN port " + dstPort + " is not within 1..65535");
        }
        this.localIp = localIp;
        this.dstPort = dstPort;
        this.vni = vni;
        this.localMac = localMac;
    }

    /**
     * Encapsulates the IPv4 packet at {@code ipOff} for the node at {@code vtepIp}.
     *
     * @param ipOff start of the inner IPv4 packet; must be at least {@link #OVERHEAD}
     * @param ipLen its length
     * @param peerMac the node's VXLAN device MAC (inner destination)
     * @param flowHash a hash of the inner flow, for the outer source port
     * @return the offset of the outer IPv4 header ({@code ipOff - OVERHEAD}); the outer packet is
     *     {@code ipLen + OVERHEAD} bytes long
     */
    public int encapsulate(MutableDirectBuffer b, int ipOff, int ipLen, int vtepIp, long peerMac, int flowHash) {
        int ethOff = ipOff - Ethernet.HEADER_LENGTH;
        Ethernet.dstMac(b, ethOff, peerMac);
        Ethernet.srcMac(b, ethOff, localMac);
        Ethernet.etherType(b, ethOff, Ethernet.TYPE_IPV4);
        return encapsulateFrame(b, ethOff, ipLen + Ethernet.HEADER_LENGTH, vtepIp, flowHash);
    }

    /**
     * Encapsulates a complete inner Ethernet frame (e.g. an ARP reply).
     *
     * @return the offset of the outer IPv4 header ({@code ethOff - FRAME_OVERHEAD})
     */
    public int encapsulateFrame(MutableDirectBuffer b, int ethOff, int frameLen, int vtepIp, int flowHash) {
        int vxOff = ethOff - Vxlan.HEADER_LENGTH;
        Vxlan.write(b, vxOff, vni);
        int udpOff = vxOff - Udp.HEADER_LENGTH;
        int udpLen = frameLen + Vxlan.HEADER_LENGTH + Udp.HEADER_LENGTH;
        Udp.srcPort(b, udpOff, FlowHash.sourcePort(flowHash, SRC_PORT_MIN, SRC_PORT_MAX));
        Udp.dstPort(b, udpOff, dstPort);
        Udp.length(b, udpOff, udpLen);
        Udp.checksum(b, udpOff, 0);
        int ipOff = udpOff - Ipv4.MIN_HEADER_LENGTH;
        Ipv4.versionAndHeaderLength(b, ipOff, Ipv4.MIN_HEADER_LENGTH);
        Ipv4.tos(b, ipOff, 0);
        Ipv4.totalLength(b, ipOff, udpLen + Ipv4.MIN_HEADER_LENGTH);
        Ipv4.identification(b, ipOff, 0);
        Ipv4.flagsAndFragment(b, ipOff, 0);
        Ipv4.ttl(b, ipOff, OUTER_TTL);
        Ipv4.protocol(b, ipOff, Ipv4.PROTO_UDP);
        Ipv4.srcAddress(b, ipOff, localIp);
        Ipv4.dstAddress(b, ipOff, vtepIp);
        Ipv4.updateHeaderChecksum(b, ipOff);
        return ipOff;
    }

    public int vni() {
        return vni;
    }

    public long localMac() {
        return localMac;
    }
}
