package org.egressgw.core.datapath;

/**
 * Counts what the datapath receives and drops, per direction, and shows each drop with its reason to the drop
 * observer (the drop capture), with the packet as it arrived.
 *
 * <p>Threading: the datapath thread only (it owns the counters).
 */
final class PacketAccounting {
    private final Counters request;
    private final Counters reply;
    private DropObserver observer;
    // the packet being handled, for the observer
    private long address;
    private int length;
    private int peer;

    PacketAccounting(Counters request, Counters reply) {
        this.request = request;
        this.reply = reply;
    }

    void observer(DropObserver observer) {
        this.observer = observer;
    }

    /** Counts a packet received ({@code peerIp} 0 for a reply) and remembers it for the observer. */
    void received(boolean isReply, long packet, int len, int peerIp) {
        Counters c = isReply ? reply : request;
        address = packet;
        length = len;
        peer = peerIp;
        c.increment(Counters.RX_PACKETS);
        c.add(Counters.RX_BYTES, len);
    }

    void dropRequest(int reason) {
        request.drop(reason);
        if (observer != null) {
            observer.onDrop(false, reason, address, length, peer);
        }
    }

    void dropReply(int reason) {
        reply.drop(reason);
        if (observer != null) {
            observer.onDrop(true, reason, address, length, 0);
        }
    }
}
