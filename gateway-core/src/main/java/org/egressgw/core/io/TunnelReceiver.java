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
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import io.netty.util.internal.PlatformDependent;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.core.datapath.PacketEvent;

/**
 * The tunnel side's receive half: a Netty epoll UDP socket bound to the underlay address, reading
 * with {@code recvmmsg} (enabled by {@code MAX_DATAGRAM_PAYLOAD_SIZE}), copying each datagram into a
 * claimed ring slot and publishing the whole read batch at once when the read completes.
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
    private final Channel channel;
    private final Counters counters;

    /**
     * @param gro ask the kernel for UDP GRO: a flow's datagrams arrive coalesced (up to 64 KiB per
     *     read) and Netty splits them back into datagrams by the segment size the kernel reports
     */
    public TunnelReceiver(InetSocketAddress listen, RingBuffer<PacketEvent> ring, int maxDatagram, Counters counters,
            Runnable wakeConsumer, boolean gro) throws InterruptedException {
        if (!Epoll.isAvailable()) {
            throw new IllegalStateException("Netty epoll transport unavailable: " + Epoll.unavailabilityCause());
        }
        this.counters = counters;
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("egw-tunnel-rx", true),
                EpollIoHandler.newFactory());
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

    /** The socket's file descriptor (the raw sender does not need it; kept for diagnostics). */
    public Channel channel() {
        return channel;
    }

    public Counters counters() {
        return counters;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
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
                long seq;
                try {
                    seq = ring.tryNext();
                } catch (InsufficientCapacityException e) {
                    counters.drop(DropReason.RING_FULL);
                    return;
                }
                PacketEvent ev = ring.get(seq);
                int room = ev.buffer.capacity() - Datapath.REQUEST_OFFSET;
                if (len > room) {
                    counters.drop(DropReason.OVERSIZE);
                    ev.length = -1;
                } else {
                    if (content.hasMemoryAddress()) {
                        PlatformDependent.copyMemory(content.memoryAddress() + content.readerIndex(),
                                ev.address + Datapath.REQUEST_OFFSET, len);
                    } else {
                        ev.buffer.putBytes(Datapath.REQUEST_OFFSET, content.nioBuffer(content.readerIndex(), len), len);
                    }
                    ev.offset = Datapath.REQUEST_OFFSET;
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
