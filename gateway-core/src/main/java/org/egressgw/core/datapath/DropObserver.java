package org.egressgw.core.datapath;

/**
 * Sees every packet the datapath drops, with its reason, before the slot is reused — for the
 * operators' drop capture ({@code --capture-drops}). Called on the datapath thread: an
 * implementation must be fast and must not block (copy, rate-limit, hand off).
 */
@FunctionalInterface
public interface DropObserver {
    /**
     * @param reply false for the request direction (the packet is a VXLAN payload from a node),
     *     true for the reply direction (an IPv4 packet from the egress side)
     * @param reason a {@link DropReason}
     * @param address native address of the packet as received
     * @param length its length
     * @param peerIp outer source address for the request direction, 0 otherwise
     */
    void onDrop(boolean reply, int reason, long address, int length, int peerIp);
}
