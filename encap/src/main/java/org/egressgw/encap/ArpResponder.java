package org.egressgw.encap;

import org.agrona.MutableDirectBuffer;
import org.egressgw.packet.Arp;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.PacketError;

/**
 * Answers ARP requests that arrive over the tunnel, so a node whose kernel VXLAN device resolves its next hop by
 * ARP works without static neighbour entries: for the gateway's overlay address when one is configured
 * ({@link #forAddress}), otherwise for any address a node asks for ({@link #forAnyAddress}: the gateway is the next
 * hop of whatever a node routes into the tunnel, whatever address it gave the gateway) — except an address probe
 * (sender address 0.0.0.0, RFC 5227) or an announcement (the sender asking for its own address), which must stay
 * unanswered or the node would believe its own address taken. The reply is written over the request, in place.
 */
public final class ArpResponder {
    /** The frame now holds an ARP reply to send back to the requesting node. */
    public static final int REPLIED = 0;
    /** A well-formed ARP packet that needs no answer from us (a reply, or a request for another address). */
    public static final int IGNORED = -1;

    private final int overlayIp;
    private final long localMac;
    private final boolean anyAddress;

    private ArpResponder(int overlayIp, long localMac, boolean anyAddress) {
        this.overlayIp = overlayIp;
        this.localMac = localMac;
        this.anyAddress = anyAddress;
    }

    /** Answers requests for {@code overlayIp} only. */
    public static ArpResponder forAddress(int overlayIp, long localMac) {
        return new ArpResponder(overlayIp, localMac, false);
    }

    /** Answers requests for any address but probes and announcements (no overlay address configured). */
    public static ArpResponder forAnyAddress(long localMac) {
        return new ArpResponder(0, localMac, true);
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
        if (Arp.op(b, arpOff) != Arp.OP_REQUEST) {
            return IGNORED;
        }
        int target = Arp.targetIp(b, arpOff);
        int askerIp = Arp.senderIp(b, arpOff);
        if (anyAddress ? askerIp == 0 || target == askerIp : target != overlayIp) {
            return IGNORED;
        }
        long askerMac = Arp.senderMac(b, arpOff);
        Ethernet.dstMac(b, ethOff, askerMac);
        Ethernet.srcMac(b, ethOff, localMac);
        Arp.writeReply(b, arpOff, localMac, target, askerMac, askerIp);
        return REPLIED;
    }

    /** Length of a reply frame written by {@link #respond}. */
    public static int replyLength() {
        return Ethernet.HEADER_LENGTH + Arp.LENGTH;
    }
}
