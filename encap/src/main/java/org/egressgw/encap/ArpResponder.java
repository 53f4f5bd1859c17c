package org.egressgw.encap;

import org.agrona.MutableDirectBuffer;
import org.egressgw.packet.Arp;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.PacketError;

/**
 * Answers ARP requests that arrive over the tunnel for the gateway's overlay address, so a node
 * whose kernel VXLAN device resolves its next hop by ARP works without static neighbour entries.
 * The reply is written over the request, in place.
 */
public final class ArpResponder {
    /** The frame now holds an ARP reply to send back to the requesting node. */
    public static final int REPLIED = 0;
    /** A well-formed ARP packet that needs no answer from us (a reply, or a request for another address). */
    public static final int IGNORED = -1;

    private final int overlayIp;
    private final long localMac;
    private final boolean enabled;

    /**
     * @param overlayIp the address to answer for
     * @param enabled false when no overlay address is configured (every request is ignored)
     */
    public ArpResponder(int overlayIp, long localMac, boolean enabled) {
        this.overlayIp = overlayIp;
        this.localMac = localMac;
        this.enabled = enabled;
    }

    /**
     * @param ethOff start of the inner Ethernet frame
     * @param frameLen bytes of the frame
     * @return {@link #REPLIED} (the frame, still {@code Ethernet.HEADER_LENGTH + Arp.LENGTH} bytes
     *     long, is the reply), {@link #IGNORED}, or a positive {@link PacketError} code
     */
    public int respond(MutableDirectBuffer b, int ethOff, int frameLen) {
        int arpOff = ethOff + Ethernet.HEADER_LENGTH;
        int err = Arp.check(b, arpOff, frameLen - Ethernet.HEADER_LENGTH);
        if (err != PacketError.NONE) {
            return err;
        }
        if (!enabled || Arp.op(b, arpOff) != Arp.OP_REQUEST || Arp.targetIp(b, arpOff) != overlayIp) {
            return IGNORED;
        }
        long askerMac = Arp.senderMac(b, arpOff);
        int askerIp = Arp.senderIp(b, arpOff);
        Ethernet.dstMac(b, ethOff, askerMac);
        Ethernet.srcMac(b, ethOff, localMac);
        Arp.writeReply(b, arpOff, localMac, overlayIp, askerMac, askerIp);
        return REPLIED;
    }

    /** Length of a reply frame written by {@link #respond}. */
    public static int replyLength() {
        return Ethernet.HEADER_LENGTH + Arp.LENGTH;
    }
}
