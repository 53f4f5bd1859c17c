package org.egressgw.tunio;

import static org.egressgw.tunio.LibC.C;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A layer-3 TUN interface ({@code /dev/net/tun}, {@code IFF_TUN | IFF_NO_PI}): each read returns one IP
 * packet exactly as routed to the interface, each write injects one IP packet into the kernel as if it had
 * arrived on the interface. (Opened as a layer-2 TAP device, packets start with an Ethernet header instead.) No packet-information prefix; optionally a virtio-net header prefix
 * ({@link #open(String, boolean, boolean)}) through which a writer can hand the kernel TCP super-packets to
 * segment.
 *
 * <p>Concurrency: one reader thread ({@link #read}, {@link #awaitReadable}) and one writer thread
 * ({@link #write}) may run at the same time; the kernel serialises nothing between them and neither needs it.
 * {@link #close} may be called from any thread, is idempotent, and makes later reads and writes return -1.
 * Closing while another thread is inside a system call on this descriptor is not guarded (the number could be
 * reused), so stop readers first: poll with {@link #awaitReadable} and a short timeout, check a stop flag,
 * then close. {@link #awaitReadable} returns at once after close so such a loop ends promptly.
 *
 * <p>The device is created in the network namespace of the thread that calls {@link #open} (see
 * {@link NetNs}); the descriptor works from any thread afterwards. It disappears when closed unless made
 * persistent by other means.
 */
public final class TunDevice implements AutoCloseable {
    private static final String CLONE_DEVICE = "/dev/net/tun";
    /** Updates {@link #fd}, for {@link LibC#closeOnce}. */
    private static final AtomicIntegerFieldUpdater<TunDevice> FD = AtomicIntegerFieldUpdater.newUpdater(
        TunDevice.class, "fd");

    private final String name;
    private final int vnetHeaderLength;
    private volatile int fd;
    /** Two struct iovec for {@link #write(long, int, long, int)}; writer thread only. */
    private final UnsafeBuffer iovec;
    private final long iovecAddress;
    /** One struct pollfd, used only by the reader thread. */
    private final UnsafeBuffer pollfd;
    private final long pollfdAddress;

    /** Writer-thread only. */
    private long writeDropCount;
    private int lastWriteErrno;

    private TunDevice(int fd, String name, int vnetHeaderLength) {
        this.fd = fd;
        this.name = name;
        this.vnetHeaderLength = vnetHeaderLength;
        this.iovec = new UnsafeBuffer(BufferUtil.allocateDirectAligned(2 * LibC.SIZEOF_IOVEC, 8));
        this.iovecAddress = iovec.addressOffset();
        this.pollfd = new UnsafeBuffer(BufferUtil.allocateDirectAligned(LibC.SIZEOF_POLLFD, 8));
        this.pollfdAddress = pollfd.addressOffset();
    }

    /**
     * Creates (or attaches to an existing persistent) TUN interface named {@code name} in the calling thread's
     * network namespace, without a vnet header: {@code open(name, nonBlocking, false)}.
     *
     * @see #open(String, boolean, boolean)
     */
    public static TunDevice open(String name, boolean nonBlocking) throws IOException {
        return open(name, nonBlocking, false);
    }

    /**
     * Creates (or attaches to an existing persistent) TUN interface named {@code name} in the calling thread's
     * network namespace. The interface starts down and without addresses; configure it with {@code ip}.
     *
     * <p>With {@code vnetHdr} the device is opened with {@code IFF_VNET_HDR}: every {@link #read} returns a
     * {@link VirtioNetHeader} ({@link #vnetHeaderLength()} bytes) before the packet, and every {@link #write}
     * must start with one — which lets a writer hand the kernel TCP super-packets to segment
     * ({@link VirtioNetHeader#GSO_TCPV4}). The header is set to 10 bytes ({@code TUNSETVNETHDRSZ}) and
     * little-endian ({@code TUNSETVNETLE}); receive offloads stay off ({@code TUNSETOFFLOAD} 0), so the
     * kernel segments and checksums everything before a read returns it: reads carry {@code gso_type} NONE and
     * never NEEDS_CSUM (verified on this project's kernel by {@code TunVnetHeaderIT}), at most DATA_VALID.
     *
     * @param name at most 15 ASCII characters; empty or containing "%d" lets the kernel choose
     * @param nonBlocking whether {@link #read}/{@link #write} return at once instead of waiting
     * @param vnetHdr whether reads and writes carry a virtio-net header
     * @throws IllegalArgumentException if the name can never be valid (the message names it)
     * @throws NativeIoException if the kernel refuses (e.g. EPERM without CAP_NET_ADMIN, EBUSY if in use,
     *         EINVAL if a non-TUN device has that name, or a persistent one with other flags)
     */
    public static TunDevice open(String name, boolean nonBlocking, boolean vnetHdr) throws IOException {
        return open(name, false, nonBlocking, vnetHdr ? VirtioNetHeader.LENGTH : 0, 0);
    }

    /**
     * The general form of {@link #open(String, boolean, boolean)}: a TUN or TAP device, the vnet header size,
     * and the offloads the reader accepts ({@code TUNSETOFFLOAD}).
     *
     * <p>Offloads ({@link #OFFLOAD_CSUM}, {@link #OFFLOAD_TSO4}, ...) say what the kernel may hand a
     * <em>reader</em>: with {@link #OFFLOAD_TSO4} a read may return a TCP super-packet of up to 64 KiB
     * ({@link VirtioNetHeader#GSO_TCPV4}) and with {@link #OFFLOAD_CSUM} packets whose checksum is only
     * started ({@link VirtioNetHeader#FLAG_NEEDS_CSUM}); the read buffer must then hold 64 KiB plus the header.
     * {@link #OFFLOAD_UDP_TUNNEL_GSO} lets a <em>writer</em> hand over UDP-tunnelled super-packets; the
     * kernel wants the {@link VirtioNetHeader#TUNNEL_LENGTH}-byte header for it, and (since its offsets count
     * from an Ethernet header) a TAP device.
     *
     * @param tap a layer-2 TAP device ({@code IFF_TAP}: every packet starts with an Ethernet header) instead of
     *        a layer-3 TUN device
     * @param vnetHeaderLength 0 (no {@code IFF_VNET_HDR}), {@link VirtioNetHeader#LENGTH} or
     *        {@link VirtioNetHeader#TUNNEL_LENGTH}
     * @param offloads {@code TUNSETOFFLOAD} bits; must be 0 without a vnet header
     * @throws IllegalArgumentException naming the value if the header length or offloads can never be valid
     * @throws NativeIoException if the kernel refuses, e.g. EINVAL for offload bits it does not know (the
     *         message names the bits)
     */
    public static TunDevice open(String name, boolean tap, boolean nonBlocking, int vnetHeaderLength, int offloads)
            throws IOException {
        return open(name, tap, nonBlocking, vnetHeaderLength, offloads, false);
    }

    /**
     * As {@link #open(String, boolean, boolean, int, int)}; with {@code multiQueue} the device is opened with
     * {@code IFF_MULTI_QUEUE} and each call with the same name and flags attaches one more queue (its own file
     * descriptor): the kernel spreads what it sends into the device over the queues (by flow, or by a steering
     * program, see {@link FlowSteering}), and writes to any queue enter the kernel alike. Every queue of a
     * multi-queue device must be opened with the flag.
     */
    public static TunDevice open(String name, boolean tap, boolean nonBlocking, int vnetHeaderLength, int offloads,
            boolean multiQueue) throws IOException {
        if (vnetHeaderLength != 0 && vnetHeaderLength != VirtioNetHeader.LENGTH
                && vnetHeaderLength != VirtioNetHeader.TUNNEL_LENGTH) {
            throw new IllegalArgumentException("vnet header length " + vnetHeaderLength + " is neither 0, "
                    + VirtioNetHeader.LENGTH + " nor " + VirtioNetHeader.TUNNEL_LENGTH);
        }
        if (offloads != 0 && vnetHeaderLength == 0) {
            throw new IllegalArgumentException("offloads 0x" + Integer.toHexString(offloads) + " need a vnet header");
        }
        final Ifreq ifreq = new Ifreq(name);
        final int flags = LibC.O_RDWR | LibC.O_CLOEXEC | (nonBlocking ? LibC.O_NONBLOCK : 0);
        final int fd = C.open(CLONE_DEVICE, flags);
        if (fd < 0) {
            throw LibC.lastError("open(" + CLONE_DEVICE + ") for TUN device '" + name + "'");
        }
        final short ifFlags = (short) ((tap ? LibC.IFF_TAP : LibC.IFF_TUN) | LibC.IFF_NO_PI
                | (vnetHeaderLength > 0 ? LibC.IFF_VNET_HDR : 0) | (multiQueue ? LibC.IFF_MULTI_QUEUE : 0));
        ifreq.buffer.putShort(LibC.IFREQ_UNION_OFFSET, ifFlags);
        if (C.ioctl(fd, LibC.TUNSETIFF, ifreq.address) < 0) {
            final int errno = LibC.errno();
            C.close(fd);
            throw new NativeIoException("ioctl(TUNSETIFF) for " + (tap ? "TAP" : "TUN") + " device '" + name + "'", errno);
        }
        if (vnetHeaderLength > 0) {
            try {
                configureVnetHeader(fd, name, vnetHeaderLength, offloads);
            } catch (NativeIoException e) {
                C.close(fd);
                throw e;
            }
        }
        return new TunDevice(fd, ifreq.name(), vnetHeaderLength);
    }

    /** {@code TUN_F_CSUM}: a reader accepts packets whose checksum is only started (NEEDS_CSUM). */
    public static final int OFFLOAD_CSUM = 0x01;
    /** {@code TUN_F_TSO4}: a reader accepts TCP/IPv4 super-packets. */
    public static final int OFFLOAD_TSO4 = 0x02;
    /** {@code TUN_F_TSO6}: a reader accepts TCP/IPv6 super-packets. */
    public static final int OFFLOAD_TSO6 = 0x04;
    /** {@code TUN_F_UDP_TUNNEL_GSO} (Linux 6.17+): super-packets inside a UDP tunnel, in either direction. */
    public static final int OFFLOAD_UDP_TUNNEL_GSO = 0x80;

    private static void configureVnetHeader(int fd, String name, int length, int offloads) throws NativeIoException {
        final UnsafeBuffer arg = new UnsafeBuffer(BufferUtil.allocateDirectAligned(8, 8));
        arg.putInt(0, length);
        if (C.ioctl(fd, LibC.TUNSETVNETHDRSZ, arg.addressOffset()) < 0) {
            throw LibC.lastError("ioctl(TUNSETVNETHDRSZ, " + length + ") for TUN/TAP device '" + name + "'");
        }
        arg.putInt(0, 1);
        if (C.ioctl(fd, LibC.TUNSETVNETLE, arg.addressOffset()) < 0) {
            throw LibC.lastError("ioctl(TUNSETVNETLE, 1) for TUN/TAP device '" + name + "'");
        }
        // TUNSETOFFLOAD takes its value directly, not through a pointer
        if (C.ioctl(fd, LibC.TUNSETOFFLOAD, offloads) < 0) {
            throw LibC.lastError("ioctl(TUNSETOFFLOAD, 0x" + Integer.toHexString(offloads) + ") for TUN/TAP device '" + name + "'");
        }
    }

    /** The interface name the kernel assigned (equal to the requested one unless a pattern was given). */
    public String name() {
        return name;
    }

    /**
     * Bytes of {@link VirtioNetHeader} in front of every packet read or written: the length the device was
     * opened with ({@link VirtioNetHeader#LENGTH} or {@link VirtioNetHeader#TUNNEL_LENGTH}), else 0.
     */
    public int vnetHeaderLength() {
        return vnetHeaderLength;
    }

    /** The file descriptor, or -1 once closed. */
    public int fd() {
        return fd;
    }

    /**
     * Reads one IP packet into native memory; on a device opened with a vnet header the packet is preceded by
     * a {@link VirtioNetHeader} of {@link #vnetHeaderLength()} bytes, included in the returned length.
     *
     * @param address start of caller-owned native memory
     * @param capacity bytes available there; should be at least the interface MTU: a longer packet is
     *        truncated to {@code capacity} (the rest is lost and the return value equals capacity, so compare
     *        with the IP total length if that matters)
     * @return the packet length; 0 if no packet is ready (non-blocking) or the call was interrupted; -1 once
     *         closed
     * @throws UncheckedIOException wrapping a {@link NativeIoException} for any other error
     */
    public int read(long address, int capacity) {
        final int fd = this.fd;
        if (fd < 0) {
            return -1;
        }
        final long n = C.read(fd, address, capacity);
        if (n >= 0) {
            return (int) n;
        }
        final int errno = LibC.errno();
        if (errno == LibC.EAGAIN || errno == LibC.EINTR) {
            return 0;
        }
        if (this.fd < 0) {
            return -1;
        }
        throw new UncheckedIOException(new NativeIoException("read(TUN device '" + name + "')", errno));
    }

    /**
     * Injects one IP packet (version taken from its first nibble) into the kernel. On a device opened with a
     * vnet header the {@code length} bytes at {@code address} must start with a {@link VirtioNetHeader}.
     *
     * <p>Refusals that concern this packet or momentary congestion are drops, not exceptions: EAGAIN and
     * ENOBUFS (queue full), EINVAL (not IPv4/IPv6, too short), EMSGSIZE (too long), EIO (interface down).
     * They return 0 and are counted in {@link #writeDropCount()}.
     *
     * @return {@code length} when written, 0 when dropped, -1 once closed
     * @throws UncheckedIOException wrapping a {@link NativeIoException} for any other error
     */
    public int write(long address, int length) {
        while (true) {
            final int fd = this.fd;
            if (fd < 0) {
                return -1;
            }
            final long n = C.write(fd, address, length);
            if (n >= 0) {
                return (int) n;
            }
            final int errno = LibC.errno();
            switch (errno) {
                case LibC.EINTR:
                    continue;
                case LibC.EAGAIN:
                case LibC.ENOBUFS:
                case LibC.EINVAL:
                case LibC.EMSGSIZE:
                case LibC.EIO:
                    writeDropCount++;
                    lastWriteErrno = errno;
                    return 0;
                default:
                    if (this.fd < 0) {
                        return -1;
                    }
                    throw new UncheckedIOException(new NativeIoException("write(TUN device '" + name + "')", errno));
            }
        }
    }

    /**
     * Injects one packet whose header and body lie apart, with one writev(2): for a device opened with a vnet
     * header, {@code header} is the {@link VirtioNetHeader} and {@code body} the IP packet, so neither has to
     * be copied next to the other. Drops and return values as {@link #write(long, int)}, counting
     * {@code headerLength + bodyLength}.
     *
     * <p>Writer thread only (a preallocated iovec pair is reused).
     */
    public int write(long headerAddress, int headerLength, long bodyAddress, int bodyLength) {
        iovec.putLong(LibC.IOVEC_BASE_OFFSET, headerAddress);
        iovec.putLong(LibC.IOVEC_LEN_OFFSET, headerLength);
        iovec.putLong(LibC.SIZEOF_IOVEC + LibC.IOVEC_BASE_OFFSET, bodyAddress);
        iovec.putLong(LibC.SIZEOF_IOVEC + LibC.IOVEC_LEN_OFFSET, bodyLength);
        while (true) {
            final int fd = this.fd;
            if (fd < 0) {
                return -1;
            }
            final long n = C.writev(fd, iovecAddress, 2);
            if (n >= 0) {
                return (int) n;
            }
            final int errno = LibC.errno();
            if (errno == LibC.EINTR) {
                continue;
            }
            if (isDropErrno(errno)) {
                writeDropCount++;
                lastWriteErrno = errno;
                return 0;
            }
            if (this.fd < 0) {
                return -1;
            }
            throw new UncheckedIOException(new NativeIoException("writev(TUN device '" + name + "')", errno));
        }
    }

    private static boolean isDropErrno(int errno) {
        switch (errno) {
            case LibC.EAGAIN:
            case LibC.ENOBUFS:
            case LibC.EINVAL:
            case LibC.EMSGSIZE:
            case LibC.EIO:
                return true;
            default:
                return false;
        }
    }

    /** Packets {@link #write} dropped so far. Read it from the writer thread (or accept a stale value). */
    public long writeDropCount() {
        return writeDropCount;
    }

    /** errno of the latest dropped write, 0 if none; for diagnostics. */
    public int lastWriteErrno() {
        return lastWriteErrno;
    }

    /**
     * Waits with poll(2) until a packet can be read, so a reader can block without hanging on shutdown.
     *
     * @param timeoutMillis how long to wait; 0 checks without waiting, negative waits indefinitely
     * @return true if {@link #read} will not block (a packet is ready, an error is pending, or the device has
     *         been closed and read will return -1); false on timeout or signal
     */
    public boolean awaitReadable(int timeoutMillis) {
        final int fd = this.fd;
        if (fd < 0) {
            return true;
        }
        pollfd.putInt(LibC.POLLFD_FD_OFFSET, fd);
        pollfd.putShort(LibC.POLLFD_EVENTS_OFFSET, LibC.POLLIN);
        pollfd.putShort(LibC.POLLFD_REVENTS_OFFSET, (short) 0);
        final int ready = C.poll(pollfdAddress, 1, timeoutMillis);
        if (ready > 0) {
            return true;
        }
        if (ready == 0) {
            return this.fd < 0;
        }
        final int errno = LibC.errno();
        if (errno == LibC.EINTR || errno == LibC.EAGAIN) {
            return this.fd < 0;
        }
        throw new UncheckedIOException(new NativeIoException("poll(TUN device '" + name + "')", errno));
    }

    /** Closes the descriptor once; the interface disappears unless persistent. */
    @Override
    public void close() {
        LibC.closeOnce(FD, this);
    }

    /**
     * The MTU of interface {@code name} in the calling thread's network namespace (SIOCGIFMTU).
     *
     * @throws NativeIoException e.g. ENODEV if there is no such interface
     */
    public static int interfaceMtu(String name) throws IOException {
        return ifreqInt(name, LibC.SIOCGIFMTU, "SIOCGIFMTU");
    }

    /**
     * The ifindex of interface {@code name} in the calling thread's network namespace (SIOCGIFINDEX).
     *
     * @throws NativeIoException e.g. ENODEV if there is no such interface
     */
    public static int interfaceIndex(String name) throws IOException {
        return ifreqInt(name, LibC.SIOCGIFINDEX, "SIOCGIFINDEX");
    }

    private static int ifreqInt(String name, long request, String requestName) throws IOException {
        final Ifreq ifreq = new Ifreq(name);
        final int sock = C.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (sock < 0) {
            throw LibC.lastError("socket(AF_INET, SOCK_DGRAM) for " + requestName);
        }
        try {
            ifreq.ioctl(sock, request, requestName);
            return ifreq.buffer.getInt(LibC.IFREQ_UNION_OFFSET);
        } finally {
            C.close(sock);
        }
    }

    @Override
    public String toString() {
        return "TunDevice[" + name + ", fd=" + fd + "]";
    }
}
