package org.egressgw.tunio.netlink;

import static org.egressgw.tunio.LibC.C;

import java.io.IOException;
import java.nio.ByteOrder;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.tunio.LibC;
import org.egressgw.tunio.NativeIoException;
import org.egressgw.tunio.TunDevice;

/**
 * Test helper: an AF_PACKET/SOCK_RAW socket bound to one interface for ARP frames only, to see exactly what
 * arrives on the far end of a veth. Opened inside a namespace with {@link NetlinkNamespace#call}; one thread.
 */
final class ArpCapture implements AutoCloseable {
    private static final int CAPACITY = 2048;
    private final UnsafeBuffer memory = new UnsafeBuffer(BufferUtil.allocateDirectAligned(CAPACITY + 64, 64));
    private final int fd;

    /** Opens the capture on {@code interfaceName} in the calling thread's namespace. */
    ArpCapture(String interfaceName) throws IOException {
        final int ifindex = TunDevice.interfaceIndex(interfaceName);
        final int protocol = Short.reverseBytes((short) LibC.ETH_P_ARP) & 0xFFFF; // htons
        fd = C.socket(LibC.AF_PACKET, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC | LibC.SOCK_NONBLOCK, protocol);
        if (fd < 0) {
            throw new NativeIoException("socket(AF_PACKET, SOCK_RAW, ETH_P_ARP)", LibC.errno());
        }
        final int sockaddr = CAPACITY;
        memory.setMemory(sockaddr, LibC.SIZEOF_SOCKADDR_LL, (byte) 0);
        memory.putShort(sockaddr + LibC.SOCKADDR_LL_FAMILY_OFFSET, (short) LibC.AF_PACKET);
        memory.putShort(sockaddr + LibC.SOCKADDR_LL_PROTOCOL_OFFSET, (short) LibC.ETH_P_ARP, ByteOrder.BIG_ENDIAN);
        memory.putInt(sockaddr + LibC.SOCKADDR_LL_IFINDEX_OFFSET, ifindex);
        if (C.bind(fd, memory.addressOffset() + sockaddr, LibC.SIZEOF_SOCKADDR_LL) != 0) {
            final int errno = LibC.errno();
            C.close(fd);
            throw new NativeIoException("bind(AF_PACKET, " + interfaceName + ")", errno);
        }
    }

    /** The next frame (Ethernet header included), or null if none arrives within {@code timeoutMillis}. */
    byte[] next(int timeoutMillis) {
        final int pollfd = CAPACITY + 32;
        final long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            final long length = C.read(fd, memory.addressOffset(), CAPACITY);
            if (length >= 0) {
                final byte[] frame = new byte[(int) length];
                memory.getBytes(0, frame);
                return frame;
            }
            final long remaining = (deadline - System.nanoTime()) / 1_000_000L;
            if (remaining <= 0) {
                return null;
            }
            memory.putInt(pollfd + LibC.POLLFD_FD_OFFSET, fd);
            memory.putShort(pollfd + LibC.POLLFD_EVENTS_OFFSET, LibC.POLLIN);
            memory.putShort(pollfd + LibC.POLLFD_REVENTS_OFFSET, (short) 0);
            C.poll(memory.addressOffset() + pollfd, 1, (int) remaining);
        }
    }

    @Override
    public void close() {
        C.close(fd);
    }
}
