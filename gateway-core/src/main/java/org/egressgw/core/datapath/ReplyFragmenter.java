package org.egressgw.core.datapath;

import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.packet.Ipv4Fragments;

/**
 * A translated reply too big for the tunnel's inner MTU and without DF is cut into fragments as a router would
 * ({@link Ipv4Fragments}), each encapsulated in a scratch buffer and sent to the node at once — what the kernel
 * does for replies it routes into the TUN device, and what replies redirected there by tc (which does not look at
 * the TUN device's MTU) need as well: e.g. a large UDP answer (DNS with EDNS) whose first fragment left the server
 * 1500 bytes long. The node reassembles them with the rest of the datagram.
 *
 * <p>Threading: the datapath thread only.
 */
final class ReplyFragmenter {
    private final VxlanEncapsulator encap;
    private final TunnelSink tunnel;
    private final int mtu;
    private final UnsafeBuffer scratch;
    private final Counters reply;

    ReplyFragmenter(VxlanEncapsulator encap, TunnelSink tunnel, int innerMtu, Counters reply) {
        this.encap = encap;
        this.reply = reply;
        this.tunnel = tunnel;
        this.mtu = innerMtu;
        this.scratch = new UnsafeBuffer(ByteBuffer.allocateDirect(PacketEvent.REPLY_OFFSET + innerMtu));
    }

    /**
     * Sends the packet at {@code ip} in {@code b} (already translated) as fragments to {@code vtep} and counts it as
     * one packet sent (and fragmented); false if the kernel refused a fragment (those before it have left, and the
     * caller counts the packet as dropped).
     */
    boolean send(UnsafeBuffer b, int ip, int vtep, long peerMac, int hash) {
        int n = Ipv4Fragments.count(b, ip, mtu);
        long sentBytes = 0;
        for (int k = 0; k < n; k++) {
            int len = Ipv4Fragments.write(b, ip, mtu, k, scratch, PacketEvent.REPLY_OFFSET);
            int outer = encap.encapsulate(scratch, PacketEvent.REPLY_OFFSET, len, vtep, peerMac, hash);
            int length = len + VxlanEncapsulator.OVERHEAD;
            if (!tunnel.sendNow(scratch.addressOffset() + outer, length, vtep)) {
                return false;
            }
            sentBytes += length;
        }
        reply.increment(Counters.TX_PACKETS);
        reply.add(Counters.TX_BYTES, sentBytes);
        reply.increment(Counters.FRAGMENTED);
        return true;
    }

    /** True if a packet of this header can be cut for the tunnel at all (its header leaves room for 8 bytes). */
    boolean canCut(UnsafeBuffer b, int ip) {
        return Ipv4Fragments.count(b, ip, mtu) > 0;
    }
}
