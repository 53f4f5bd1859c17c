package org.egressgw.core.io;

import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoEventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.LinuxSocket;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import io.netty.util.internal.PlatformDependent;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.core.datapath.PacketEvent;

/**
 * The tunnel side's receive half: a UDP socket bound to the underlay address on a one-thread Netty
 * epoll event loop. Two readers: {@link DirectTunnelReader} ({@code recvmmsg} straight into ring
 * slots, the default), or a Netty {@code EpollDatagramChannel} (reading with {@code recvmmsg},
 * enabled by {@code MAX_DATAGRAM_PAYLOAD_SIZE}, copying each datagram into a claimed ring slot and
 * publishing the read batch when the read completes) — needed for UDP GRO, which Netty splits.
 *
 * <p>Threading: Netty's single event-loop thread is the ring's only producer. When the ring is
 * full the datagram is dropped and counted (the event loop must never block).
 */
public final class TunnelReceiver implements AutoCloseable {
    private static final int BATCH = 32;
    /** With GRO one read can carry up to 64 KiB of coalesced datagrams. */
    private static final int GRO_MAX = 65535;
    private static final int GRO_BATCH = 8;

    private final EventLoopGroup group;
    private Channel channel;
    private DirectTunnelReader direct;
    private final Counters counters;

    /**
     * @param gro ask the kernel for UDP GRO: a flow's datagrams arrive coalesced (up to 64 KiB per
     *     read) and Netty splits them back into datagrams by the segment size the kernel reports
     * @param pollNanos the event loop polls its descriptors ({@code epoll_wait} with timeout 0,
     *     tasks in between) until this long has passed without an event, and only then blocks
     *     ({@link PollThenBlock}; {@code Long.MAX_VALUE}: never block, 0: block at once)
     * @param direct read with {@link DirectTunnelReader} (recvmmsg straight into ring slots) instead
     *     of a Netty datagram channel; not with {@code gro}
     * @param threadName the event loop thread's name prefix (Netty appends numbers)
     * @param bound a socket already bound by {@link DirectTunnelReader#bind} (a sharded gateway binds its whole
     *     {@code SO_REUSEPORT} group before any is read), or null to bind {@code listen} here; direct reader only
     */
    public TunnelReceiver(InetSocketAddress listen, RingBuffer<PacketEvent> ring, int maxDatagram, Counters counters,
            Runnable wakeConsumer, boolean gro, long pollNanos, boolean direct, String threadName, LinuxSocket bound)
            throws Exception {
        if (!Epoll.isAvailable()) {
            throw new IllegalStateException("Netty epoll transport unavailable: " + Epoll.unavailabilityCause());
        }
        if (direct && gro) {
            throw new IllegalArgumentException("UDP GRO needs the channel reader");
        }
        if (bound != null && !direct) {
            throw new IllegalArgumentException("a bound socket needs the direct reader");
        }
        this.counters = counters;
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory(threadName, true),
                EpollIoHandler.newFactory(0, () -> new PollThenBlock(pollNanos)));
        try {
            if (direct) {
                IoEventLoop loop = (IoEventLoop) group.next();
                this.direct = bound != null
                        ? DirectTunnelReader.open(loop, bound, ring, maxDatagram, counters, wakeConsumer)
                        : DirectTunnelReader.open(loop, listen, ring, maxDatagram, counters, wakeConsumer);
            } else {
                Bootstrap b = new Bootstrap()
                        .group(group)
                        .channel(EpollDatagramChannel.class)
                        .option(ChannelOption.SO_RCVBUF, 8 << 20)
                        .option(EpollChannelOption.UDP_GRO, gro)
                        .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, gro ? GRO_MAX : maxDatagram)
                        .option(ChannelOption.RCVBUF_ALLOCATOR,
                                new FixedRecvByteBufAllocator(gro ? GRO_MAX * GRO_BATCH : maxDatagram * BATCH))
                        .handler(new Handler(ring, counters, wakeConsumer));
                this.channel = b.bind(listen).sync().channel();
            }
        } catch (Exception | Error e) {
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
            throw e;
        }
    }

    /** The Netty channel, or null when reading directly. */
    public Channel channel() {
        return channel;
    }

    /** The event loop thread that reads the socket (and, in the inline pipeline, runs the datapath). */
    public IoEventLoop eventLoop() {
        return (IoEventLoop) group.next();
    }

    /** True once the direct reader gave up on the socket after an unexpected error. */
    public boolean failed() {
        return direct != null && direct.failed();
    }

    public Counters counters() {
        return counters;
    }

    @Override
    public void close() {
        if (direct != null) {
            // on the event loop, before it stops: a reader that gave up is no longer registered,
            // so the loop's own shutdown would not close its socket
            direct.close();
        }
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
        // shutting the event loop down closes what is registered on it (the direct reader's socket)
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static final class Handler extends ChannelInboundHandlerAdapter {
        private final RingBuffer<PacketEvent> ring;
        private final Counters counters;
        private final Runnable wakeConsumer;
        private long first = -1;
        private long last = -1;

        Handler(RingBuffer<PacketEvent> ring, Counters counters, Runnable wakeConsumer) {
            this.wakeConsumer = wakeConsumer;
            this.ring = ring;
            this.counters = counters;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof DatagramPacket packet)) {
                io.netty.util.ReferenceCountUtil.release(msg);
                return;
            }
            try {
                ByteBuf content = packet.content();
                int len = content.readableBytes();
                long seq = claim();
                if (seq < 0) {
                    counters.dropReceived(DropReason.RING_FULL, len);
                    return;
                }
                PacketEvent ev = ring.get(seq);
                ev.length = -1;
                int room = ev.buffer.capacity() - PacketEvent.REQUEST_OFFSET;
                if (len > room) {
                    counters.dropReceived(DropReason.OVERSIZE, len);
                    ev.length = -1;
                } else {
                    if (content.hasMemoryAddress()) {
                        PlatformDependent.copyMemory(content.memoryAddress() + content.readerIndex(),
                                ev.address + PacketEvent.REQUEST_OFFSET, len);
                    } else {
                        ev.buffer.putBytes(PacketEvent.REQUEST_OFFSET, content.nioBuffer(content.readerIndex(), len), len);
                    }
                    ev.offset = PacketEvent.REQUEST_OFFSET;
                    ev.length = len;
                    // Inet4Address.hashCode() is its address as an int: no byte[] copy per packet
                    ev.peerIp = packet.sender().getAddress().hashCode();
                }
                if (first < 0) {
                    first = seq;
                }
                last = seq;
            } finally {
                packet.release();
            }
        }

        /** Claims a slot; with the ring full, publishes what is pending, runs the consumer and tries once more. */
        private long claim() {
            try {
                return ring.tryNext();
            } catch (InsufficientCapacityException e) {
                publishPending();
                try {
                    return ring.tryNext();
                } catch (InsufficientCapacityException again) {
                    return -1;
                }
            }
        }

        private void publishPending() {
            if (first >= 0) {
                ring.publish(first, last);
                first = -1;
                last = -1;
            }
            wakeConsumer.run();
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (first >= 0) {
                ring.publish(first, last);
                first = -1;
                last = -1;
                wakeConsumer.run();
            }
        }
    }
}
