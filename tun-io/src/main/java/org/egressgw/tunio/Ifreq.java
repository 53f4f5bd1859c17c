package org.egressgw.tunio;

import static org.egressgw.tunio.LibC.C;
import static org.egressgw.tunio.LibC.IFNAMSIZ;
import static org.egressgw.tunio.LibC.IFREQ_NAME_OFFSET;
import static org.egressgw.tunio.LibC.SIZEOF_IFREQ;

import java.nio.charset.StandardCharsets;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A {@code struct ifreq} (40 bytes on x86_64) in native memory: the interface name in the first
 * {@link LibC#IFNAMSIZ} bytes, then a union whose first member is {@code ifr_flags}/{@code ifr_mtu}/
 * {@code ifr_ifindex}. Control path only; one instance per call, never shared between threads.
 */
final class Ifreq {
    /** IFNAMSIZ minus the terminating NUL. */
    static final int MAX_NAME_LENGTH = IFNAMSIZ - 1;

    final UnsafeBuffer buffer;
    final long address;

    Ifreq(String interfaceName) {
        validateName(interfaceName);
        buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(SIZEOF_IFREQ, 8));
        address = buffer.addressOffset();
        buffer.setMemory(0, SIZEOF_IFREQ, (byte) 0);
        buffer.putStringWithoutLengthAscii(IFREQ_NAME_OFFSET, interfaceName);
    }

    /**
     * Rejects names the kernel could never accept as given, naming the value: longer than 15 bytes, non
     * printable-ASCII, or containing '/', ':' or whitespace (see dev_valid_name in net/core/dev.c). An empty
     * name is allowed: for TUNSETIFF the kernel then picks one ("tun%d"); a "%d" lets it fill in a number.
     */
    static void validateName(String name) {
        if (name == null) {
            throw new NullPointerException("interface name is null");
        }
        if (name.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("interface name '" + name + "' is longer than " + MAX_NAME_LENGTH
                + " characters (" + name.length() + ")");
        }
        for (int i = 0; i < name.length(); i++) {
            final char c = name.charAt(i);
            if (c <= ' ' || c >= 0x7f || c == '/' || c == ':') {
                throw new IllegalArgumentException("interface name '" + name + "' contains an invalid character at index "
                    + i);
            }
        }
    }

    /** The NUL-terminated name currently in ifr_name (the kernel rewrites it for TUNSETIFF). */
    String name() {
        int length = 0;
        while (length < IFNAMSIZ && buffer.getByte(IFREQ_NAME_OFFSET + length) != 0) {
            length++;
        }
        final byte[] bytes = new byte[length];
        buffer.getBytes(IFREQ_NAME_OFFSET, bytes);
        return new String(bytes, StandardCharsets.US_ASCII);
    }

    /** ioctl(fd, request, &ifreq); throws naming the request and interface on failure. */
    void ioctl(int fd, long request, String requestName) throws NativeIoException {
        if (C.ioctl(fd, request, address) < 0) {
            throw LibC.lastError("ioctl(" + requestName + ", " + name() + ")");
        }
    }
}
