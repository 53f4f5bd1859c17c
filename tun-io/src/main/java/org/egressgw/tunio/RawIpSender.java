package org.egressgw.tunio;

import static org.egressgw.tunio.LibC.C;

import java.io.UncheckedIOException;
import java.nio.ByteOrder;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Sends complete IPv4 packets through a raw socket ({@code socket(AF_INET, SOCK_RAW, IPPROTO_RAW)}, which
 * implies IP_HDRINCL), batching them into one {@code sendmmsg(2)} per {@link #flush}.
 *
 * <p>The caller builds the whole IPv4 header; the kernel always fills in the header checksum and the total
 * length, and fills in the identification when it is 0. The kernel routes on the destination passed to
 * {@link #add} (which should equal the header's), in the network namespace where the sender was constructed.
 * The socket is send-only and non-blocking: a full socket buffer drops packets rather than stalling.
 *
 * <p>Off-heap layout, preallocated and never reallocated (x86_64 sizes, see {@link LibC}), with
 * {@code slots = batchSize + 1} (the last slot serves {@link #send}): {@code struct mmsghdr[slots]} (64 bytes
 * each), then {@code struct iovec[slots]} (16 bytes each), then {@code struct sockaddr_in[slots]} (16 bytes
 * each), then 8 bytes for socket options. Message i points at iovec i and sockaddr i; {@link #add} only
 * writes the iovec base/length and the destination address.
 *
 * <p>Concurrency: not thread-safe; one owner thread calls everything. The counters may be read by other
 * threads as possibly stale values.
 */
public final class RawIpSender implements AutoCloseable {
    /** Kernel cap on sendmmsg's vlen (UIO_MAXIOV); larger batches would be silently truncated. */
    public static final int MAX_BATCH_SIZE = 1024;

    private final int batchSize;
    private final UnsafeBuffer memory;
    private final long messagesAddress;
    private final int iovecsOffset;
    private final int addressesOffset;
    private final int optionOffset;
    private int fd;
    private int pending;
    private long sentCount;
    private long droppedCount;
    private long batchDroppedCount;
    private long batchDroppedBytes;
    private int lastDropErrno;

    /**
     * Opens the raw socket in the calling thread's network namespace and preallocates the batch.
     *
     * @param batchSize packets per {@link #flush}, 1..{@value #MAX_BATCH_SIZE}
     * @throws IllegalArgumentException if batchSize is out of range (the message names it)
     * @throws UncheckedIOException wrapping a {@link NativeIoException} if the socket cannot be created
     *         (EPERM without CAP_NET_RAW)
     */
    public RawIpSender(int batchSize) {
        if (batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
            throw new IllegalArgumentException("batchSize " + batchSize + " is not in 1.." + MAX_BATCH_SIZE);
        }
        this.batchSize = batchSize;
        final int slots = batchSize + 1;
        iovecsOffset = slots * LibC.SIZEOF_MMSGHDR;
        addressesOffset = iovecsOffset + slots * LibC.SIZEOF_IOVEC;
        optionOffset = addressesOffset + slots * LibC.SIZEOF_SOCKADDR_IN;
        final int size = optionOffset + 8;
        memory = new UnsafeBuffer(BufferUtil.allocateDirectAligned(size, 64));
        memory.setMemory(0, size, (byte) 0);
        messagesAddress = memory.addressOffset();
        for (int i = 0; i < slots; i++) {
            final int message = i * LibC.SIZEOF_MMSGHDR;
            memory.putLong(message + LibC.MSGHDR_NAME_OFFSET, messagesAddress + sockaddrOffset(i));
            memory.putInt(message + LibC.MSGHDR_NAMELEN_OFFSET, LibC.SIZEOF_SOCKADDR_IN);
            memory.putLong(message + LibC.MSGHDR_IOV_OFFSET, messagesAddress + iovecOffset(i));
            memory.putLong(message + LibC.MSGHDR_IOVLEN_OFFSET, 1L);
            memory.putShort(sockaddrOffset(i) + LibC.SOCKADDR_IN_FAMILY_OFFSET, (short) LibC.AF_INET);
        }

        fd = C.socket(LibC.AF_INET, LibC.SOCK_RAW | LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC, LibC.IPPROTO_RAW);
        if (fd < 0) {
            throw new UncheckedIOException(LibC.lastError("socket(AF_INET, SOCK_RAW, IPPROTO_RAW)"));
        }
    }

    private int iovecOffset(int i) {
        return iovecsOffset + i * LibC.SIZEOF_IOVEC;
    }

    private int sockaddrOffset(int i) {
        return addressesOffset + i * LibC.SIZEOF_SOCKADDR_IN;
    }

    /**
     * Queues one packet. The memory must stay unchanged until the next {@link #flush}.
     *
     * @param address start of a complete IPv4 packet in caller-owned native memory
     * @param length its length in bytes
     * @param dstIp the destination to route on, as an int in network bit order, e.g. 10.0.0.1 = 0x0A000001
     * @return false if the batch is full (flush first); nothing was queued
     */
    public boolean add(long address, int length, int dstIp) {
        final int i = pending;
        if (i == batchSize) {
            return false;
        }
        final int iovec = iovecOffset(i);
        memory.putLong(iovec + LibC.IOVEC_BASE_OFFSET, address);
        memory.putLong(iovec + LibC.IOVEC_LEN_OFFSET, length);
        memory.putInt(sockaddrOffset(i) + LibC.SOCKADDR_IN_ADDR_OFFSET, dstIp, ByteOrder.BIG_ENDIAN);
        pending = i + 1;
        return true;
    }

    /** Packets queued since the last flush. */
    public int pending() {
        return pending;
    }

    /** The configured batch capacity. */
    public int batchSize() {
        return batchSize;
    }

    /**
     * Sends every queued packet and empties the batch.
     *
     * <p>A partial sendmmsg is resumed from the first unsent packet. A packet the kernel refuses (EMSGSIZE,
     * ENETUNREACH, EPERM from a firewall, ENOBUFS, ...) is dropped and the rest are tried; EAGAIN (socket
     * buffer full) drops the whole remainder, since retrying at once cannot succeed. Drops are counted, never
     * thrown. After {@link #close} every queued packet counts as dropped.
     *
     * @return packets the kernel accepted in this call
     */
    public int flush() {
        final int count = pending;
        if (count == 0) {
            return 0;
        }
        pending = 0;
        final int fd = this.fd;
        if (fd < 0) {
            dropBatch(0, count);
            return 0;
        }
        int start = 0;
        int sent = 0;
        while (start < count) {
            final int result = C.sendmmsg(fd, messagesAddress + (long) start * LibC.SIZEOF_MMSGHDR, count - start, 0);
            if (result > 0) {
                sent += result;
                start += result;
                continue;
            }
            final int errno = result == 0 ? 0 : LibC.errno();
            if (errno == LibC.EINTR) {
                continue;
            }
            lastDropErrno = errno;
            if (errno == LibC.EAGAIN) {
                dropBatch(start, count);
                break;
            }
            dropBatch(start, start + 1);
            start++;
        }
        sentCount += sent;
        return sent;
    }

    /** Counts the queued packets {@code from..to-1} as dropped. */
    private void dropBatch(int from, int to) {
        droppedCount += to - from;
        batchDroppedCount += to - from;
        for (int i = from; i < to; i++) {
            batchDroppedBytes += memory.getLong(iovecOffset(i) + LibC.IOVEC_LEN_OFFSET);
        }
    }

    /**
     * Sends one packet at once (a one-message sendmmsg), outside the batch; queued packets are not affected.
     *
     * @return true if the kernel accepted it; false if dropped (counted like {@link #flush} drops)
     */
    public boolean send(long address, int length, int dstIp) {
        final int fd = this.fd;
        if (fd < 0) {
            droppedCount++;
            return false;
        }
        final int slot = batchSize;
        final int iovec = iovecOffset(slot);
        memory.putLong(iovec + LibC.IOVEC_BASE_OFFSET, address);
        memory.putLong(iovec + LibC.IOVEC_LEN_OFFSET, length);
        memory.putInt(sockaddrOffset(slot) + LibC.SOCKADDR_IN_ADDR_OFFSET, dstIp, ByteOrder.BIG_ENDIAN);
        final long message = messagesAddress + (long) slot * LibC.SIZEOF_MMSGHDR;
        while (true) {
            if (C.sendmmsg(fd, message, 1, 0) == 1) {
                sentCount++;
                return true;
            }
            final int errno = LibC.errno();
            if (errno != LibC.EINTR) {
                lastDropErrno = errno;
                droppedCount++;
                return false;
            }
        }
    }

    /**
     * Sets the socket send buffer (SO_SNDBUFFORCE, which ignores net.core.wmem_max and needs CAP_NET_ADMIN,
     * falling back to SO_SNDBUF). The kernel doubles the value for bookkeeping. Control path.
     *
     * @throws NativeIoException if both are refused
     */
    public void setSendBufferSize(int bytes) throws NativeIoException {
        if (bytes <= 0) {
            throw new IllegalArgumentException("send buffer size " + bytes + " is not positive");
        }
        memory.putInt(optionOffset, bytes);
        final long option = messagesAddress + optionOffset;
        if (C.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_SNDBUFFORCE, option, 4) == 0) {
            return;
        }
        if (C.setsockopt(fd, LibC.SOL_SOCKET, LibC.SO_SNDBUF, option, 4) != 0) {
            throw LibC.lastError("setsockopt(SO_SNDBUF, " + bytes + ")");
        }
    }

    /**
     * The socket send buffer as the kernel reports it (SO_SNDBUF; twice the requested size). Control path.
     *
     * @throws NativeIoException if the socket is closed
     */
    public int sendBufferSize() throws NativeIoException {
        memory.putInt(optionOffset, 0);
        memory.putInt(optionOffset + 4, 4); // socklen_t in/out length
        final long option = messagesAddress + optionOffset;
        if (C.getsockopt(fd, LibC.SOL_SOCKET, LibC.SO_SNDBUF, option, option + 4) != 0) {
            throw LibC.lastError("getsockopt(SO_SNDBUF)");
        }
        return memory.getInt(optionOffset);
    }

    /** Packets the kernel accepted since construction. */
    public long sentCount() {
        return sentCount;
    }

    /** Packets dropped (refused by the kernel, or flushed after close) since construction. */
    public long droppedCount() {
        return droppedCount;
    }

    /** Of {@link #droppedCount()}: packets queued with {@link #add} that {@link #flush} could not send. */
    public long batchDroppedCount() {
        return batchDroppedCount;
    }

    /** The bytes of {@link #batchDroppedCount()}. */
    public long batchDroppedBytes() {
        return batchDroppedBytes;
    }

    /** errno of the latest drop, 0 if none; for diagnostics. */
    public int lastDropErrno() {
        return lastDropErrno;
    }

    /** The socket descriptor, or -1 once closed. */
    public int fd() {
        return fd;
    }

    /** Closes the socket once; queued packets are discarded uncounted. */
    @Override
    public void close() {
        final int fd = this.fd;
        if (fd >= 0) {
            this.fd = -1;
            pending = 0;
            C.close(fd);
        }
    }
}
