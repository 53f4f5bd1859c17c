package org.egressgw.tunio;

import static org.egressgw.tunio.LibC.C;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** recvmmsg into caller-named buffers, on loopback inside a throwaway namespace. */
class DatagramBatchReceiverIT {
    private static final int PORT = 40999;
    private static final int SLOT = 2048;

    private TestNamespace ns;
    private int fd = -1;
    private final UnsafeBuffer slots = new UnsafeBuffer(BufferUtil.allocateDirectAligned(8 * SLOT, 64));

    @BeforeEach
    void setUp() throws Exception {
        ns = new TestNamespace();
        ns.ip("link", "set", "lo", "up");
        fd = NetNs.call(ns.name, () -> {
            int s = C.socket(LibC.AF_INET, LibC.SOCK_DGRAM | LibC.SOCK_NONBLOCK | LibC.SOCK_CLOEXEC, 0);
            if (s < 0) {
                throw new UncheckedIOException(LibC.lastError("socket"));
            }
            UnsafeBuffer sa = new UnsafeBuffer(BufferUtil.allocateDirectAligned(16, 8));
            sa.putShort(0, (short) LibC.AF_INET);
            sa.putShort(2, (short) PORT, ByteOrder.BIG_ENDIAN);
            sa.putInt(4, 0x7f000001, ByteOrder.BIG_ENDIAN);
            if (C.bind(s, sa.addressOffset(), 16) != 0) {
                throw new UncheckedIOException(LibC.lastError("bind"));
            }
            return s;
        });
    }

    @AfterEach
    void tearDown() throws Exception {
        if (fd >= 0) {
            C.close(fd);
        }
        ns.delete();
    }

    private void send(int sourcePort, byte[]... datagrams) throws Exception {
        NetNs.call(ns.name, () -> {
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", sourcePort))) {
                for (byte[] d : datagrams) {
                    s.send(new DatagramPacket(d, d.length, new InetSocketAddress("127.0.0.1", PORT)));
                }
            }
            return null;
        });
    }

    private static byte[] bytes(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed + i);
        }
        return b;
    }

    @Test
    void receivesABatchIntoTheNamedBuffersWithSizesAndSender() throws Exception {
        DatagramBatchReceiver rx = new DatagramBatchReceiver(8);
        assertEquals(0, rx.receive(fd, 8), "nothing waiting");
        send(41001, bytes(100, 1), new byte[0], bytes(1400, 3), bytes(SLOT + 10, 4));
        for (int i = 0; i < 8; i++) {
            rx.buffer(i, slots.addressOffset() + (long) i * SLOT, SLOT);
        }
        int n = rx.receive(fd, 8);
        assertEquals(4, n);
        assertEquals(100, rx.length(0));
        assertEquals(0, rx.length(1), "an empty datagram is a datagram");
        assertEquals(1400, rx.length(2));
        assertEquals(SLOT, rx.length(3));
        assertFalse(rx.truncated(0));
        assertFalse(rx.truncated(2));
        assertTrue(rx.truncated(3), "longer than the buffer");
        for (int i = 0; i < 4; i++) {
            assertEquals(0x7f000001, rx.sourceAddress(i));
            assertEquals(41001, rx.sourcePort(i));
        }
        byte[] expect = bytes(1400, 3);
        for (int j = 0; j < 1400; j++) {
            assertEquals(expect[j], slots.getByte(2 * SLOT + j), "byte " + j);
        }
        assertEquals(1, slots.getByte(0));
        assertEquals(0, rx.receive(fd, 8), "drained");
    }

    @Test
    void aSmallerCountLeavesTheRestQueued() throws Exception {
        DatagramBatchReceiver rx = new DatagramBatchReceiver(4);
        send(41002, bytes(10, 1), bytes(20, 2), bytes(30, 3));
        for (int i = 0; i < 4; i++) {
            rx.buffer(i, slots.addressOffset() + (long) i * SLOT, SLOT);
        }
        assertEquals(2, rx.receive(fd, 2));
        assertEquals(10, rx.length(0));
        assertEquals(20, rx.length(1));
        assertEquals(1, rx.receive(fd, 4));
        assertEquals(30, rx.length(0));
    }

    @Test
    void errorsAndBounds() {
        DatagramBatchReceiver rx = new DatagramBatchReceiver(2);
        assertThrows(IllegalArgumentException.class, () -> rx.receive(fd, 3));
        assertThrows(IllegalArgumentException.class, () -> rx.receive(fd, 0));
        assertThrows(IllegalArgumentException.class, () -> new DatagramBatchReceiver(0));
        assertThrows(IllegalArgumentException.class, () -> new DatagramBatchReceiver(DatagramBatchReceiver.MAX_BATCH_SIZE + 1));
        int closed = fd;
        C.close(fd);
        fd = -1;
        assertEquals(-1, rx.receive(closed, 1));
        assertEquals(LibC.EBADF, rx.lastErrno());
    }
}
