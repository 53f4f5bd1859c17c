package org.egressgw.core.io;

import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.core.datapath.PacketEvent;
import org.egressgw.tunio.TunDevice;

/**
 * The egress side's receive half: one thread reads reply packets from the (non-blocking) TUN
 * device straight into claimed ring slots — no copy — and publishes each read burst at once.
 * It waits in {@code poll(2)} with a short timeout so it notices shutdown.
 *
 * <p>Threading: this thread is the reply ring's only producer.
 */
public final class EgressReceiver implements Runnable {
    private static final int BURST = 64;

    private final TunDevice tun;
    private final RingBuffer<PacketEvent> ring;
    private final Counters counters;
    private final UnsafeBuffer scratch = new UnsafeBuffer(ByteBuffer.allocateDirect(65536));
    private final Runnable wakeConsumer;
    private volatile boolean running = true;
    /** Bytes of virtio-net header in front of each packet read (0 without IFF_VNET_HDR). */
    private final int vnetHeader;

    public EgressReceiver(TunDevice tun, RingBuffer<PacketEvent> ring, Counters counters, Runnable wakeConsumer) {
        this.wakeConsumer = wakeConsumer;
        this.tun = tun;
        this.vnetHeader = tun.vnetHeaderLength();
        this.ring = ring;
        this.counters = counters;
    }

    public void stop() {
        running = false;
    }

    public Counters counters() {
        return counters;
    }

    @Override
    public void run() {
        while (running) {
            if (!tun.awaitReadable(100)) {
                continue;
            }
            if (readBurst() > 0) {
                wakeConsumer.run();
            }
        }
    }

    /**
     * Reads up to one burst of packets from the TUN device into ring slots and publishes them;
     * returns the number of slots published (0 if nothing was waiting). Called by this receiver's
     * own thread, or — in the inline pipeline — by the event loop when the device is readable.
     */
    public int readBurst() {
        long first = -1;
        long last = -1;
        int published = 0;
        for (int i = 0; i < BURST; i++) {
            long seq;
            try {
                seq = ring.tryNext();
            } catch (InsufficientCapacityException e) {
                // let the consumer catch up once (inline: it runs right here), then try again
                if (first >= 0) {
                    ring.publish(first, last);
                    published += (int) (last - first + 1);
                    first = -1;
                    last = -1;
                }
                wakeConsumer.run();
                try {
                    seq = ring.tryNext();
                } catch (InsufficientCapacityException again) {
                    // drain the packet so the kernel queue does not stall, and count it
                    int n = tun.read(scratch.addressOffset(), scratch.capacity());
                    if (n > 0) {
                        counters.dropReceived(DropReason.RING_FULL, Math.max(0, n - vnetHeader));
                        continue;
                    }
                    break;
                }
            }
            PacketEvent ev = ring.get(seq);
            ev.length = -1;
            // a vnet header (if any) lands in the slot's headroom, in front of the packet
            int n = tun.read(ev.address + PacketEvent.REPLY_OFFSET - vnetHeader,
                    ev.buffer.capacity() - PacketEvent.REPLY_OFFSET + vnetHeader);
            ev.offset = PacketEvent.REPLY_OFFSET;
            ev.length = n > vnetHeader ? n - vnetHeader : -1;
            if (n > 0 && n <= vnetHeader) {
                n = 0;
            }
            if (first < 0) {
                first = seq;
            }
            last = seq;
            if (n <= 0) {
                // the claimed slot is published empty (length 0); a Disruptor sequence cannot be returned
                if (n < 0) {
                    running = false;
                }
                break;
            }
        }
        if (first < 0) {
            return published;
        }
        ring.publish(first, last);
        return published + (int) (last - first + 1);
    }
}
