package org.egressgw.tunio;

import static org.egressgw.tunio.LibC.C;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Receives up to a batch of datagrams from a socket with one {@code recvmmsg(2)}, each straight into
 * memory the caller names (e.g. ring slots): no copy, no allocation.
 *
 * <p>Off-heap layout, preallocated once (x86_64 sizes, see {@link LibC}): {@code struct mmsghdr[batch]}
 * (64 bytes each), then {@code struct iovec[batch]}, then {@code struct sockaddr_in[batch]}. Message i
 * points at iovec i and sockaddr i. Before each {@link #receive} the caller sets the buffers with
 * {@link #buffer}; after it, {@link #length}, {@link #truncated} and {@link #sourceAddress} describe
 * what arrived.
 *
 * <p>The socket is not owned: it is only read from. Not thread-safe: one owner thread.
 */
public final class DatagramBatchReceiver {
    /** Kernel cap on recvmmsg's vlen (UIO_MAXIOV). */
    public static final int MAX_BATCH_SIZE = 1024;

    private final int batchSize;
    private final UnsafeBuffer memory;
    private final long address;
    private final int iovecsOffset;
    private final int addressesOffset;
    private int lastErrno;

    /**
     * @param batchSize datagrams per {@link #receive} at most, 1..{@value #MAX_BATCH_SIZE}
     */
    public DatagramBatchReceiver(int batchSize) {
        if (batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
            throw new IllegalArgumentException("batchSize " + batchSize + " is not in 1.." + MAX_BATCH_SIZE);
        }
        this.batchSize = batchSize;
        iovecsOffset = batchSize * LibC.SIZEOF_MMSGHDR;
        addressesOffset = iovecsOffset + batchSize * LibC.SIZEOF_IOVEC;
        int size = addressesOffset + batchSize * LibC.SIZEOF_SOCKADDR_IN;
        memory = new UnsafeBuffer(BufferUtil.allocateDirectAligned(size, 64));
        memory.setMemory(0, size, (byte) 0);
        address = memory.addressOffset();
        for (int i = 0; i < batchSize; i++) {
            int message = i * LibC.SIZEOF_MMSGHDR;
            memory.putLong(message + LibC.MSGHDR_NAME_OFFSET, address + addressesOffset + i * LibC.SIZEOF_SOCKADDR_IN);
            memory.putLong(message + LibC.MSGHDR_IOV_OFFSET, address + iovecsOffset + i * LibC.SIZEOF_IOVEC);
            memory.putLong(message + LibC.MSGHDR_IOVLEN_OFFSET, 1L);
        }
    }

    public int batchSize() {
        return batchSize;
    }

    /** Datagram {@code i} of the next {@link #receive} lands at {@code address}, at most {@code capacity} bytes. */
    public void buffer(int i, long address, int capacity) {
        int iov = iovecsOffset + i * LibC.SIZEOF_IOVEC;
        memory.putLong(iov + LibC.IOVEC_BASE_OFFSET, address);
        memory.putLong(iov + LibC.IOVEC_LEN_OFFSET, capacity);
    }

    /**
     * One non-blocking {@code recvmmsg} for up to {@code count} datagrams into buffers 0..count-1.
     *
     * @return the number received; 0 if none was waiting (or the call was interrupted); -1 on any
     *     other error ({@link #lastErrno()} says which; e.g. EBADF once the socket is closed)
     */
    public int receive(int fd, int count) {
        if (count < 1 || count > batchSize) {
            throw new IllegalArgumentException("count " + count + " is not in 1.." + batchSize);
        }
        for (int i = 0; i < count; i++) {
            int message = i * LibC.SIZEOF_MMSGHDR;
            memory.putInt(message + LibC.MSGHDR_NAMELEN_OFFSET, LibC.SIZEOF_SOCKADDR_IN);
            memory.putInt(message + LibC.MSGHDR_FLAGS_OFFSET, 0);
        }
        int n = C.recvmmsg(fd, address, count, LibC.MSG_DONTWAIT, 0L);
        if (n >= 0) {
            return n;
        }
        int errno = LibC.errno();
        if (errno == LibC.EAGAIN || errno == LibC.EINTR) {
            return 0;
        }
        lastErrno = errno;
        return -1;
    }

    /** Bytes of datagram {@code i} that were stored (at most the buffer's capacity). */
    public int length(int i) {
        return memory.getInt(i * LibC.SIZEOF_MMSGHDR + LibC.MMSGHDR_LEN_OFFSET);
    }

    /** True if datagram {@code i} was longer than its buffer: the rest is lost. */
    public boolean truncated(int i) {
        return (memory.getInt(i * LibC.SIZEOF_MMSGHDR + LibC.MSGHDR_FLAGS_OFFSET) & LibC.MSG_TRUNC) != 0;
    }

    /** IPv4 source address of datagram {@code i}, as an int whose most significant byte is the first octet. */
    public int sourceAddress(int i) {
        return memory.getInt(addressesOffset + i * LibC.SIZEOF_SOCKADDR_IN + LibC.SOCKADDR_IN_ADDR_OFFSET,
                java.nio.ByteOrder.BIG_ENDIAN);
    }

    /** UDP source port of datagram {@code i}. */
    public int sourcePort(int i) {
        return memory.getShort(addressesOffset + i * LibC.SIZEOF_SOCKADDR_IN + LibC.SOCKADDR_IN_PORT_OFFSET,
                java.nio.ByteOrder.BIG_ENDIAN) & 0xffff;
    }

    /** errno of the last {@link #receive} that returned -1. */
    public int lastErrno() {
        return lastErrno;
    }
}
