package org.egressgw.tunio;

import static org.egressgw.tunio.LibC.C;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.agrona.concurrent.UnsafeBuffer;

/** Socket options the JDK and Netty do not expose, set on a descriptor (control path). */
public final class SocketOptions {
    /** {@code <netinet/in.h>}: the IP level of socket options. */
    public static final int IPPROTO_IP = 0;
    /** {@code <linux/in.h>}: the TTL of unicast packets the socket sends. */
    public static final int IP_TTL = 2;
    /** {@code <linux/in.h>}: bind to an address that is not (yet) local — a floating address held by another host. */
    public static final int IP_FREEBIND = 15;

    private SocketOptions() {
    }

    /** {@code setsockopt(fd, level, name, &value, 4)}; throws naming the option if the kernel refuses. */
    public static void setInt(int fd, int level, int name, int value, String what) throws NativeIoException {
        UnsafeBuffer arg = new UnsafeBuffer(ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()));
        arg.putInt(0, value, ByteOrder.nativeOrder());
        if (C.setsockopt(fd, level, name, arg.addressOffset(), 4) < 0) {
            throw LibC.lastError("setsockopt(" + what + ")");
        }
    }
}
