package org.egressgw.core.io;

import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoEvent;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.epoll.LinuxSocket;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.unix.FileDescriptor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.core.datapath.PacketEvent;
import org.egressgw.tunio.DatagramBatchReceiver;
import org.egressgw.tunio.SocketOptions;

/**
 * The tunnel side's receive half without a copy: a UDP socket (Netty's native socket) registered on
 * a Netty epoll event loop, read with {@code recvmmsg} straight into claimed ring slots. Nothing is
 * allocated per datagram and each datagram is copied once (kernel to slot), where a Netty channel
 * copies into a pooled buffer, wraps it in a {@code DatagramPacket} and is copied again into the ring.
 *
 * <p>Slots are claimed a batch at a time; the ones a read did not fill stay claimed for the next
 * reads (this reader is the ring's only producer, so nobody else can take them), and only filled
 * slots are published. A new batch is claimed only once all claimed slots are published (see
 * {@link #readBatch}). When the ring is full the consumer is run once (in the inline pipeline that
 * empties the ring on the spot); if it is still full, datagrams are read into a scratch buffer and
 * counted as {@code ring_full} so the socket queue keeps moving.
 *
 * <p>Registered level-triggered; each readiness event reads at most {@value #MAX_BATCHES_PER_EVENT}
 * batches, so a busy tunnel cannot starve other descriptors on the same event loop. Then it runs
 * {@code consumer} once (wakes the datapath thread, or in the inline pipeline runs it).
 *
 * <p>Threading: everything but {@link #close()} runs on the event loop thread.
 */
public final class DirectTunnelReader implements EpollIoHandle, AutoCloseable {
    static final int BATCH = 32;
    static final int MAX_BATCHES_PER_EVENT = 16;

    private final IoEventLoop loop;
    private final LinuxSocket socket;
    private final RingBuffer<PacketEvent> ring;
    private final Counters counters;
    private final Runnable consumer;
    private final DatagramBatchReceiver batch = new DatagramBatchReceiver(BATCH);
    private final int room;
    private final UnsafeBuffer scratch;
    /** Next claimed slot to fill; claimed slots run up to {@link #claimedEnd} (exclusive). */
    private long claimedNext;
    private long claimedEnd;
    private boolean mayHaveMore;
    private boolean retried;
    private volatile IoRegistration registration;
    private volatile boolean failed;
    private volatile boolean closing;

    private DirectTunnelReader(IoEventLoop loop, LinuxSocket socket, RingBuffer<PacketEvent> ring, int maxDatagram,
            Counters counters, Runnable consumer) {
        this.loop = loop;
        this.socket = socket;
        this.ring = ring;
        this.counters = counters;
        this.consumer = consumer;
        this.room = maxDatagram;
        this.scratch = new UnsafeBuffer(ByteBuffer.allocateDirect(BATCH * room));
        long next = ring.getCursor() + 1;
        this.claimedNext = next;
        this.claimedEnd = next;
    }

    /**
     * Opens the socket (IPv4, {@code SO_RCVBUF} 8 MiB), binds it to {@code listen} and registers it on
     * {@code loop}.
     *
     * @param maxDatagram room in a slot behind the request headroom; a longer datagram is dropped as
     *     {@code oversize}
     */
    public static DirectTunnelReader open(IoEventLoop loop, InetSocketAddress listen, RingBuffer<PacketEvent> ring,
            int maxDatagram, Counters counters, Runnable consumer) throws Exception {
        return open(loop, bind(listen, false, false), ring, maxDatagram, counters, consumer);
    }

    /**
     * Opens a socket (IPv4, {@code SO_RCVBUF} 8 MiB) bound to {@code listen}, to be read later by
     * {@link #open(IoEventLoop, LinuxSocket, RingBuffer, int, Counters, Runnable)}: what arrives meanwhile waits in
     * its queue. With {@code reusePort}, one more socket of an {@code SO_REUSEPORT} group (the group's sockets are
     * numbered in the order they are bound). With {@code freeBind} ({@code IP_FREEBIND}) the address need not be
     * local yet: a gateway group's floating tunnel address, held by whichever member is active.
     */
    public static LinuxSocket bind(InetSocketAddress listen, boolean reusePort, boolean freeBind) throws Exception {
        Epoll.ensureAvailability();
        LinuxSocket socket = LinuxSocket.newSocketDgram(SocketProtocolFamily.INET);
        try {
            socket.setReceiveBufferSize(8 << 20);
            if (reusePort) {
                socket.setReusePort(true);
            }
            if (freeBind) {
                SocketOptions.setInt(socket.intValue(), SocketOptions.IPPROTO_IP, SocketOptions.IP_FREEBIND, 1,
                        "IP_FREEBIND");
            }
            socket.bind(listen);
            return socket;
        } catch (Exception e) {
            socket.close();
            throw e;
        }
    }

    /** Registers a socket from {@link #bind} on {@code loop} and reads it from now on; closes it on failure. */
    public static DirectTunnelReader open(IoEventLoop loop, LinuxSocket socket, RingBuffer<PacketEvent> ring,
            int maxDatagram, Counters counters, Runnable consumer) throws Exception {
        try {
            DirectTunnelReader reader = new DirectTunnelReader(loop, socket, ring, maxDatagram, counters, consumer);
            IoRegistration reg = loop.register(reader).sync().getNow();
            // known before the first event, so a failing first read can cancel it
            reader.registration = reg;
            reg.submit(EpollIoOps.EPOLLIN.with(EpollIoOps.EPOLLERR));
            return reader;
        } catch (Exception e) {
            socket.close();
            throw e;
        }
    }

    @Override
    public FileDescriptor fd() {
        return socket;
    }

    /** True once a read failed with an unexpected error (the socket is then left alone). */
    public boolean failed() {
        return failed;
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        EpollIoOps ops = ((EpollIoEvent) event).ops();
        if (failed || closing || (!ops.contains(EpollIoOps.EPOLLIN) && !ops.contains(EpollIoOps.EPOLLERR))) {
            return;
        }
        int read = 0;
        for (int b = 0; b < MAX_BATCHES_PER_EVENT; b++) {
            int n = readBatch();
            if (n > 0) {
                read += n;
            }
            if (n <= 0 || !mayHaveMore) {
                break;
            }
        }
        if (read > 0) {
            // once per event, not per batch: the datapath then sees up to 512 datagrams as one ring
            // batch, so TCP segments of a flow coalesce into larger GSO writes
            consumer.run();
        }
    }

    /** One recvmmsg; returns the datagrams read (into slots or, with the ring full, dropped), -1 on error. */
    int readBatch() {
        if (claimedNext == claimedEnd) {
            // claim only when every claimed slot has been filled and published: the Disruptor's
            // single-producer tryNext may move the cursor up to the last claimed sequence, which
            // would publish a claimed slot nobody has written yet
            int want = BATCH;
            long free = ring.remainingCapacity();
            if (free < want) {
                want = (int) free;
            }
            if (want > 0) {
                try {
                    claimedEnd = ring.tryNext(want) + 1;
                } catch (InsufficientCapacityException e) {
                    // the consumer has not caught up: nothing claimed
                }
            }
        }
        int claimed = (int) (claimedEnd - claimedNext);
        if (claimed == 0 && !retried) {
            // ring full: let the consumer catch up (in the inline pipeline it runs right here and
            // empties the ring; in handoff it is a wake-up) and try once more
            retried = true;
            consumer.run();
            return readBatch();
        }
        retried = false;
        if (claimed == 0) {
            return drainIntoScratch();
        }
        for (int i = 0; i < claimed; i++) {
            batch.buffer(i, ring.get(claimedNext + i).address + PacketEvent.REQUEST_OFFSET, room);
        }
        int n = batch.receive(socket.intValue(), claimed);
        if (n < 0) {
            fail();
            return -1;
        }
        for (int i = 0; i < n; i++) {
            PacketEvent ev = ring.get(claimedNext + i);
            ev.offset = PacketEvent.REQUEST_OFFSET;
            if (batch.truncated(i)) {
                counters.dropReceived(DropReason.OVERSIZE, batch.length(i));
                ev.length = -1;
            } else {
                ev.length = batch.length(i);
                ev.peerIp = batch.sourceAddress(i);
            }
        }
        if (n > 0) {
            ring.publish(claimedNext, claimedNext + n - 1);
            claimedNext += n;
        }
        // a read that filled all it had room for may have left more in the socket
        mayHaveMore = n == claimed;
        return n;
    }

    private int drainIntoScratch() {
        for (int i = 0; i < BATCH; i++) {
            batch.buffer(i, scratch.addressOffset() + (long) i * room, room);
        }
        int n = batch.receive(socket.intValue(), BATCH);
        if (n < 0) {
            fail();
            return -1;
        }
        for (int i = 0; i < n; i++) {
            counters.dropReceived(DropReason.RING_FULL, batch.length(i));
        }
        mayHaveMore = n == BATCH;
        return n;
    }

    private void fail() {
        if (!failed && !closing) {
            failed = true;
            System.err.println("tunnel: recvmmsg failed, errno " + batch.lastErrno() + "; the tunnel socket is no longer read");
            IoRegistration reg = registration;
            if (reg != null) {
                reg.cancel();
            }
        }
    }

    /**
     * Takes the socket off the event loop and closes it. Runs on the event loop (the call is handed
     * to it from other threads), so no read can be in flight on a descriptor number the kernel
     * might already have given to someone else; the event loop also calls this when it shuts down.
     */
    @Override
    public void close() {
        if (!loop.inEventLoop() && !loop.isShuttingDown()) {
            try {
                loop.submit(this::closeHere).syncUninterruptibly();
                return;
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // the loop stopped meanwhile: nothing reads any more
            }
        }
        closeHere();
    }

    private void closeHere() {
        if (closing && !socket.isOpen()) {
            return;
        }
        closing = true;
        IoRegistration reg = registration;
        if (reg != null) {
            reg.cancel();
        }
        try {
            socket.close();
        } catch (IOException e) {
            // closing a socket we own: nothing left to do
        }
    }
}
