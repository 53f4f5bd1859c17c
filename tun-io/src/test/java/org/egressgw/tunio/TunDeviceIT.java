package org.egressgw.tunio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real TUN devices in a throwaway network namespace per test. */
class TunDeviceIT {
    private static final String DEVICE = "tuntest0";
    private static final int LOCAL = Ipv4Udp.ip(10, 77, 0, 1);
    private static final int PEER = Ipv4Udp.ip(10, 77, 0, 2);
    private static final int PEER_PORT = 9999;

    private TestNamespace ns;
    private final UnsafeBuffer packet = new UnsafeBuffer(BufferUtil.allocateDirectAligned(65536, 64));

    @BeforeEach
    void createNamespace() throws Exception {
        ns = new TestNamespace();
        ns.disableIpv6();
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        if (ns != null) {
            ns.delete();
        }
    }

    private void configure(String device) throws Exception {
        ns.ip("addr", "add", "10.77.0.1/24", "dev", device);
        ns.ip("link", "set", device, "up");
    }

    /** Reads until an IPv4 packet arrives, skipping anything else the stack may emit. */
    private int readIpv4(TunDevice tun) {
        final long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (!tun.awaitReadable(100)) {
                continue;
            }
            final int length = tun.read(packet.addressOffset(), packet.capacity());
            if (length > 0 && (packet.getByte(0) & 0xf0) == 0x40) {
                return length;
            }
        }
        return fail("no IPv4 packet on " + tun.name() + " within 5 s");
    }

    @Test
    void udpOutThroughTunAndBackIn() throws Exception {
        NetNs.call(ns.name, () -> {
            try (TunDevice tun = TunDevice.open(DEVICE, true)) {
                assertEquals(DEVICE, tun.name());
                configure(DEVICE);
                try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress("10.77.0.1", 0))) {
                    socket.setSoTimeout(5000);
                    final byte[] hello = "hello through tun".getBytes(StandardCharsets.US_ASCII);
                    socket.send(new DatagramPacket(hello, hello.length, InetAddress.getByName("10.77.0.2"), PEER_PORT));

                    final int length = readIpv4(tun);
                    assertEquals(Ipv4Udp.IP_HEADER + Ipv4Udp.UDP_HEADER + hello.length, length);
                    assertEquals(0x45, packet.getByte(0) & 0xff, "version 4, IHL 5");
                    assertEquals(length, packet.getShort(2, ByteOrder.BIG_ENDIAN) & 0xffff, "total length");
                    assertEquals(Ipv4Udp.PROTO_UDP, packet.getByte(9), "protocol");
                    assertEquals(LOCAL, packet.getInt(12, ByteOrder.BIG_ENDIAN), "source");
                    assertEquals(PEER, packet.getInt(16, ByteOrder.BIG_ENDIAN), "destination");
                    assertEquals(0, Ipv4Udp.checksum(packet, 0, Ipv4Udp.IP_HEADER, 0), "kernel IP checksum verifies");
                    assertEquals(socket.getLocalPort(), packet.getShort(20, ByteOrder.BIG_ENDIAN) & 0xffff);
                    assertEquals(PEER_PORT, packet.getShort(22, ByteOrder.BIG_ENDIAN) & 0xffff);
                    final byte[] payload = new byte[hello.length];
                    packet.getBytes(28, payload);
                    assertArrayEquals(hello, payload);
                    // The kernel's UDP checksum must agree with the test helper's.
                    final int udpChecksum = packet.getShort(26, ByteOrder.BIG_ENDIAN) & 0xffff;
                    final UnsafeBuffer rebuilt = new UnsafeBuffer(new byte[length]);
                    Ipv4Udp.build(rebuilt, 0, LOCAL, socket.getLocalPort(), PEER, PEER_PORT, hello, 0);
                    assertEquals(udpChecksum, rebuilt.getShort(26, ByteOrder.BIG_ENDIAN) & 0xffff, "UDP checksum");

                    final byte[] reply = "reply from 10.77.0.2".getBytes(StandardCharsets.US_ASCII);
                    final int replyLength = Ipv4Udp.build(packet, 0, PEER, PEER_PORT, LOCAL, socket.getLocalPort(),
                        reply, 4242);
                    assertEquals(replyLength, tun.write(packet.addressOffset(), replyLength));

                    final DatagramPacket received = new DatagramPacket(new byte[1500], 1500);
                    socket.receive(received);
                    assertEquals(new String(reply, StandardCharsets.US_ASCII),
                        new String(received.getData(), 0, received.getLength(), StandardCharsets.US_ASCII));
                    assertEquals(new InetSocketAddress("10.77.0.2", PEER_PORT), received.getSocketAddress());
                    assertEquals(0, tun.writeDropCount());
                }
            }
            return null;
        });
    }

    @Test
    void nonBlockingReadOnEmptyDeviceReturnsZeroAndCloseMakesItMinusOne() throws Exception {
        NetNs.call(ns.name, () -> {
            final TunDevice tun = TunDevice.open(DEVICE, true);
            try {
                configure(DEVICE);
                assertTrue(tun.fd() >= 0);
                assertEquals(0, tun.read(packet.addressOffset(), packet.capacity()));

                final long start = System.nanoTime();
                assertFalse(tun.awaitReadable(100));
                assertTrue(System.nanoTime() - start >= 80_000_000L, "awaitReadable waited for its timeout");
                assertFalse(tun.awaitReadable(0));
            } finally {
                tun.close();
            }
            assertEquals(-1, tun.fd());
            assertEquals(-1, tun.read(packet.addressOffset(), packet.capacity()));
            assertEquals(-1, tun.write(packet.addressOffset(), 20));
            assertTrue(tun.awaitReadable(1000), "a closed device is 'readable' so reader loops end at once");
            tun.close(); // idempotent
            return null;
        });
    }

    @Test
    void blockingReaderStopsWhenDeviceIsClosed() throws Exception {
        NetNs.call(ns.name, () -> {
            final TunDevice tun = TunDevice.open(DEVICE, false);
            configure(DEVICE);
            final AtomicInteger lastRead = new AtomicInteger(Integer.MIN_VALUE);
            final Thread reader = new Thread(() -> {
                final UnsafeBuffer buffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(2048, 64));
                while (true) {
                    if (tun.awaitReadable(20)) {
                        final int n = tun.read(buffer.addressOffset(), buffer.capacity());
                        if (n < 0) {
                            lastRead.set(n);
                            return;
                        }
                    }
                }
            });
            reader.start();
            Thread.sleep(100);
            tun.close();
            reader.join(2000);
            assertFalse(reader.isAlive(), "reader thread ended after close");
            assertEquals(-1, lastRead.get());
            return null;
        });
    }

    @Test
    void writeOfNonIpPacketIsADropNotAnException() throws Exception {
        NetNs.call(ns.name, () -> {
            try (TunDevice tun = TunDevice.open(DEVICE, true)) {
                configure(DEVICE);
                packet.setMemory(0, 40, (byte) 0);
                packet.putByte(0, (byte) 0x55); // version 5
                assertEquals(0, tun.write(packet.addressOffset(), 40));
                assertEquals(1, tun.writeDropCount());
                assertEquals(LibC.EINVAL, tun.lastWriteErrno());
            }
            return null;
        });
    }

    @Test
    void writeToADownDeviceIsADrop() throws Exception {
        NetNs.call(ns.name, () -> {
            try (TunDevice tun = TunDevice.open(DEVICE, true)) {
                final int length = Ipv4Udp.build(packet, 0, PEER, PEER_PORT, LOCAL, 5000, new byte[8], 1);
                assertEquals(0, tun.write(packet.addressOffset(), length));
                assertEquals(1, tun.writeDropCount());
                assertEquals(LibC.EIO, tun.lastWriteErrno());
            }
            return null;
        });
    }

    @Test
    void tooLongNameIsRejectedNamingIt() throws Exception {
        NetNs.call(ns.name, () -> {
            final String name = "tuntest-way-too-long";
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TunDevice.open(name, true));
            assertTrue(e.getMessage().contains(name), e.getMessage());
            final IllegalArgumentException slash = assertThrows(IllegalArgumentException.class,
                () -> TunDevice.open("tun/0", true));
            assertTrue(slash.getMessage().contains("tun/0"), slash.getMessage());
            return null;
        });
    }

    @Test
    void nameClashWithNonTunDeviceIsANativeIoException() throws Exception {
        NetNs.call(ns.name, () -> {
            final NativeIoException e = assertThrows(NativeIoException.class, () -> TunDevice.open("lo", true));
            assertTrue(e.getMessage().contains("'lo'"), e.getMessage());
            assertTrue(e.errno() > 0);
            return null;
        });
    }

    @Test
    void kernelAssignsNameFromPatternAndInterfaceHelpersSeeIt() throws Exception {
        NetNs.call(ns.name, () -> {
            try (TunDevice tun = TunDevice.open("egwt%d", true)) {
                assertEquals("egwt0", tun.name());
                ns.ip("link", "set", tun.name(), "mtu", "1400");
                assertEquals(1400, TunDevice.interfaceMtu(tun.name()));
                final String link = ns.ip("-o", "link", "show", "dev", tun.name());
                final int index = Integer.parseInt(link.substring(0, link.indexOf(':')));
                assertEquals(index, TunDevice.interfaceIndex(tun.name()));
                final NativeIoException missing = assertThrows(NativeIoException.class,
                    () -> TunDevice.interfaceMtu("nosuchdev0"));
                assertTrue(missing.getMessage().contains("nosuchdev0"), missing.getMessage());
            }
            return null;
        });
    }
}
