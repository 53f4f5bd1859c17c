package org.egressgw.ha;

import static org.egressgw.tunio.LibC.C;

import java.nio.ByteOrder;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.tunio.DatagramBatchReceiver;
import org.egressgw.tunio.LibC;
import org.egressgw.tunio.NativeIoException;
import org.egressgw.tunio.SocketOptions;

/**
 * The raw IPv4 socket VRRP travels on: {@code socket(AF_INET, SOCK_RAW, 112)}, bound to this member's address,
 * with {@code IP_TTL} 255. Sending hands the kernel the VRRP payload only; the kernel builds the IPv4 header
 * (source = the bound address, TTL 255, DF as the path MTU discovery setting says) and routes it to the unicast
 * peer. Receiving yields whole IPv4 packets (Linux raw sockets always include the IP header, with the total
 * length as on the wire), so the TTL, source and destination can be checked.
 *
 * <p>What the kernel delivers to this socket: every protocol-112 packet whose destination is the bound address,
 * whichever interface it came in on (the binding filters the destination). Its own outgoing unicast packets are
 * not looped back to it (checked on Linux 6.18: a second raw socket for 112 on the sender sees nothing).
 *
 * <p>Waiting: {@link #await} polls the socket and an eventfd; {@link #wakeup} (any thread) makes a waiting
 * {@link #await} return at once, so commands given to the agent take effect without waiting for a timeout.
 *
 * <p>Memory: one off-heap slab allocated at construction — the send payload ({@link #sendBuffer}), a
 * {@code struct msghdr}, {@code struct iovec} and {@code struct sockaddr_in} for {@code sendmsg}, two
 * {@code struct pollfd}, and {@link #RECEIVE_BATCH} receive slots of {@link #SLOT_SIZE} bytes. Nothing is
 * allocated per packet.
 *
 * <p>Threads: one owner thread sends, receives, awaits and closes; {@link #wakeup} may be called from any thread
 * until {@link #close}. The descriptors belong to the network namespace of the thread that constructed it.
 */
public final class VrrpSocket implements AutoCloseable {
    /** Datagrams read per {@link #receive}. */
    public static final int RECEIVE_BATCH = 8;
    /** Bytes per receive slot: the longest advertisement with a 60-byte IP header is 1154. */
    public static final int SLOT_SIZE = 2048;

    private static final int SEND_OFFSET = 0;
    private static final int MSGHDR_OFFSET = SEND_OFFSET + SLOT_SIZE;
    private static final int IOVEC_OFFSET = MSGHDR_OFFSET + LibC.SIZEOF_MSGHDR;
    private static final int SOCKADDR_OFFSET = IOVEC_OFFSET + LibC.SIZEOF_IOVEC;
    private static final int POLLFDS_OFFSET = SOCKADDR_OFFSET + LibC.SIZEOF_SOCKADDR_IN;
    private static final int SCRATCH_OFFSET = POLLFDS_OFFSET + 2 * LibC.SIZEOF_POLLFD;
    private static final int RECEIVE_OFFSET = 4096;
    private static final int SLAB_SIZE = RECEIVE_OFFSET + RECEIVE_BATCH * SLOT_SIZE;

    /** The 8-byte value 1 that {@link #wakeup} adds to the eventfd; never changes, so threads may share it. */
    private static final UnsafeBuffer ONE = new UnsafeBuffer(BufferUtil.allocateDirectAligned(8, 8));

    static {
        ONE.putLong(0, 1L);
    }

    private final int localIp;
    private final UnsafeBuffer slab;
    private final long slabAddress;
    private final UnsafeBuffer sendBuffer;
    private final UnsafeBuffer receiveBuffer;
    private final DatagramBatchReceiver receiver = new DatagramBatchReceiver(RECEIVE_BATCH);
    private int fd;
    /** Guarded by this (written under the lock; read by the owner thread in await, which precedes close). */
    private volatile int eventFd;
    private int lastErrno;

    /**
     * Opens the socket in the calling thread's network namespace, sets IP_TTL 255 and binds it to {@code localIp}.
     *
     * @param localIp an address assigned to an interface in this namespace: the source of everything sent
     * @throws NativeIoException naming the failing call and address (EPERM without CAP_NET_RAW, EADDRNOTAVAIL if
     *     the address is not local)
     */
    public VrrpSocket(int localIp) throws NativeIoException {
        this.localIp = localIp;
        slab = new UnsafeBuffer(BufferUtil.allocateDirectAligned(SLAB_SIZE, 64));
        slab.setMemory(0, SLAB_SIZE, (byte) 0);
        slabAddress = slab.addressOffset();
        sendBuffer = new UnsafeBuffer(slab, SEND_OFFSET, SLOT_SIZE);
        receiveBuffer = new UnsafeBuffer(slab, RECEIVE_OFFSET, RECEIVE_BATCH * SLOT_SIZE);
        for (int i = 0; i < RECEIVE_BATCH; i++) {
            receiver.buffer(i, slabAddress + RECEIVE_OFFSET + (long) i * SLOT_SIZE, SLOT_SIZE);
        }
        slab.putLong(MSGHDR_OFFSET + LibC.MSGHDR_NAME_OFFSET, slabAddress + SOCKADDR_OFFSET);
        slab.putInt(MSGHDR_OFFSET + LibC.MSGHDR_NAMELEN_OFFSET, LibC.SIZEOF_SOCKADDR_IN);
        slab.putLong(MSGHDR_OFFSET + LibC.MSGHDR_IOV_OFFSET, slabAddress + IOVEC_OFFSET);
        slab.putLong(MSGHDR_OFFSET + LibC.MSGHDR_IOVLEN_OFFSET, 1L);
        slab.putLong(IOVEC_OFFSET + LibC.IOVEC_BASE_OFFSET, slabAddress + SEND_OFFSET);
        slab.putShort(SOCKADDR_OFFSET + LibC.SOCKADDR_IN_FAMILY_OFFSET, (short) LibC.AF_INET);

        final String name = "VRRP socket on " + Ipv4Address.toString(localIp);
        fd = C.socket(LibC.AF_INET, LibC.SOCK_RAW | LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC, Vrrp.IP_PROTOCOL);
        if (fd < 0) {
            throw new NativeIoException("socket(AF_INET, SOCK_RAW, 112) for " + name, LibC.errno());
        }
        try {
            SocketOptions.setInt(fd, SocketOptions.IPPROTO_IP, SocketOptions.IP_TTL, Vrrp.TTL, "IP_TTL 255 on " + name);
            slab.putInt(SOCKADDR_OFFSET + LibC.SOCKADDR_IN_ADDR_OFFSET, localIp, ByteOrder.BIG_ENDIAN);
            if (C.bind(fd, slabAddress + SOCKADDR_OFFSET, LibC.SIZEOF_SOCKADDR_IN) != 0) {
                throw new NativeIoException("bind(" + name + ")", LibC.errno());
            }
            final int efd = C.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
            if (efd < 0) {
                throw new NativeIoException("eventfd() for " + name, LibC.errno());
            }
            eventFd = efd;
        } catch (NativeIoException e) {
            C.close(fd);
            fd = -1;
            throw e;
        }
        slab.putInt(POLLFDS_OFFSET + LibC.POLLFD_FD_OFFSET, fd);
        slab.putShort(POLLFDS_OFFSET + LibC.POLLFD_EVENTS_OFFSET, LibC.POLLIN);
        slab.putInt(POLLFDS_OFFSET + LibC.SIZEOF_POLLFD + LibC.POLLFD_FD_OFFSET, eventFd);
        slab.putShort(POLLFDS_OFFSET + LibC.SIZEOF_POLLFD + LibC.POLLFD_EVENTS_OFFSET, LibC.POLLIN);
    }

    /** Where to build the payload for {@link #send}: {@link #SLOT_SIZE} bytes. */
    public UnsafeBuffer sendBuffer() {
        return sendBuffer;
    }

    /**
     * Sends {@code [0, length)} of {@link #sendBuffer} as the payload of one IPv4 packet to {@code dstIp}.
     *
     * @return true if the kernel accepted it; false if not ({@link #lastErrno} says why: EAGAIN when the socket
     *     buffer is full, EHOSTUNREACH/ENETUNREACH without a route, EBADF once closed)
     */
    public boolean send(int dstIp, int length) {
        if (length < 0 || length > SLOT_SIZE) {
            throw new IllegalArgumentException("payload length " + length + " is not in 0.." + SLOT_SIZE);
        }
        slab.putLong(IOVEC_OFFSET + LibC.IOVEC_LEN_OFFSET, length);
        slab.putInt(SOCKADDR_OFFSET + LibC.SOCKADDR_IN_ADDR_OFFSET, dstIp, ByteOrder.BIG_ENDIAN);
        while (true) {
            if (C.sendmsg(fd, slabAddress + MSGHDR_OFFSET, 0) >= 0) {
                return true;
            }
            final int errno = LibC.errno();
            if (errno != LibC.EINTR) {
                lastErrno = errno;
                return false;
            }
        }
    }

    /**
     * Waits until a packet is readable, {@link #wakeup} was called, or {@code timeoutMillis} passed (0 = just
     * look, negative = forever).
     *
     * @return true if the socket is readable (or in error: {@link #receive} will say), false on timeout, wakeup or
     *     interruption
     */
    public boolean await(int timeoutMillis) {
        slab.putShort(POLLFDS_OFFSET + LibC.POLLFD_REVENTS_OFFSET, (short) 0);
        slab.putShort(POLLFDS_OFFSET + LibC.SIZEOF_POLLFD + LibC.POLLFD_REVENTS_OFFSET, (short) 0);
        final int ready = C.poll(slabAddress + POLLFDS_OFFSET, 2, timeoutMillis);
        if (ready <= 0) {
            if (ready < 0) {
                lastErrno = LibC.errno();
            }
            return false;
        }
        if (slab.getShort(POLLFDS_OFFSET + LibC.SIZEOF_POLLFD + LibC.POLLFD_REVENTS_OFFSET) != 0) {
            C.read(eventFd, slabAddress + SCRATCH_OFFSET, 8); // reset the counter
        }
        return slab.getShort(POLLFDS_OFFSET + LibC.POLLFD_REVENTS_OFFSET) != 0;
    }

    /**
     * Makes a current or the next {@link #await} return at once. Any thread; a no-op after {@link #close}.
     * Synchronized with {@link #close} so it never writes to a descriptor number that was closed and reused.
     */
    public synchronized void wakeup() {
        if (eventFd >= 0) {
            C.write(eventFd, ONE.addressOffset(), 8);
        }
    }

    /**
     * Reads up to {@link #RECEIVE_BATCH} waiting packets without blocking.
     *
     * @return how many; 0 if none; -1 on error ({@link #lastErrno})
     */
    public int receive() {
        final int n = receiver.receive(fd, RECEIVE_BATCH);
        if (n < 0) {
            lastErrno = receiver.lastErrno();
        }
        return n;
    }

    /** The buffer holding received packet {@code i} at {@link #packetOffset}. */
    public UnsafeBuffer receiveBuffer() {
        return receiveBuffer;
    }

    /** Offset of received packet {@code i} in {@link #receiveBuffer}. */
    public int packetOffset(int i) {
        return i * SLOT_SIZE;
    }

    /** Bytes of received packet {@code i} (its whole IPv4 packet, at most {@link #SLOT_SIZE}). */
    public int packetLength(int i) {
        return receiver.length(i);
    }

    /** True if packet {@code i} was longer than a slot (then it is incomplete). */
    public boolean truncated(int i) {
        return receiver.truncated(i);
    }

    /** The bound address. */
    public int localIp() {
        return localIp;
    }

    /** errno of the last failed call, 0 if none. */
    public int lastErrno() {
        return lastErrno;
    }

    /** Closes the socket and the eventfd once. Owner thread. */
    @Override
    public void close() {
        synchronized (this) {
            if (eventFd >= 0) {
                C.close(eventFd);
                eventFd = -1;
            }
        }
        if (fd >= 0) {
            C.close(fd);
            fd = -1;
        }
    }
}
