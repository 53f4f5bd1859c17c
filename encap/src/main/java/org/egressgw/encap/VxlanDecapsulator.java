package org.egressgw.encap;

import org.agrona.DirectBuffer;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.MacAddress;
import org.egressgw.packet.PacketError;
import org.egressgw.packet.Vxlan;

/**
 * Validates a received VXLAN payload (the UDP payload: VXLAN header + inner Ethernet frame) and
 * decides whether its inner frame is for this gateway. Results are codes, not exceptions: a
 * negative value is a {@code VxlanDecapsulator} verdict, a positive one a {@link PacketError}.
 */
public final class VxlanDecapsulator {
    /** The inner frame is an IPv4 packet (or another unicast frame) addressed to the gateway's MAC. */
    public static final int FOR_US = 0;
    /** The inner frame is an ARP packet (broadcast or to us): hand it to the {@link ArpResponder}. */
    public static final int ARP = -1;
    /** The VNI is not the configured one. */
    public static final int WRONG_VNI = -2;
    /** The inner destination MAC is neither ours nor broadcast (for ARP). */
    public static final int NOT_OUR_MAC = -3;

    /** Offset of the inner Ethernet header from the start of the VXLAN header. */
    public static final int INNER_FRAME_OFFSET = Vxlan.HEADER_LENGTH;

    private final int vni;
    private final long localMac;

    public VxlanDecapsulator(int vni, long localMac) {
        this.vni = vni;
        this.localMac = localMac;
    }

    /**
     * @param off start of the VXLAN header (the UDP payload)
     * @param len bytes available from {@code off}
     * @return {@link #FOR_US}, {@link #ARP}, {@link #WRONG_VNI}, {@link #NOT_OUR_MAC}, or a positive
     *     {@link PacketError} code
     */
    public int classify(DirectBuffer b, int off, int len) {
        int err = Vxlan.check(b, off, len);
        if (err != PacketError.NONE) {
            return err;
        }
        if (Vxlan.vni(b, off) != vni) {
            return WRONG_VNI;
        }
        int eth = off + INNER_FRAME_OFFSET;
        long dst = Ethernet.dstMac(b, eth);
        boolean arp = Ethernet.etherType(b, eth) == Ethernet.TYPE_ARP;
        if (dst == localMac) {
            return arp ? ARP : FOR_US;
        }
        if (dst == MacAddress.BROADCAST && arp) {
            return ARP;
        }
        return NOT_OUR_MAC;
    }
}
