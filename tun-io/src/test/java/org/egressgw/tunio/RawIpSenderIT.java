package org.egressgw.tunio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two throwaway namespaces joined by a veth pair: the sender lives in one, a UDP receiver in the other.
 * Static neighbour entries keep ARP out of the picture.
 */
class RawIpSenderIT {
    private static final int SENDER_IP = Ipv4Udp.ip(10, 78, 0, 1);
    private static final int RECEIVER_IP = Ipv4Udp.ip(10, 78, 0, 2);
    private static final int SLOT = 4096;

    private TestNamespace senderNs;
    private TestNamespace receiverNs;
    private DatagramSocket receiver;
    private final UnsafeBuffer packets = new UnsafeBuffer(BufferUtil.allocateDirectAligned(64 * SLOT, 64));

    @BeforeEach
    void createTopology() throws Exception {
        senderNs = new TestNamespace();
        try {
            receiverNs = new TestNamespace();
            senderNs.disableIpv6();
            receiverNs.disableIpv6();
            senderNs.ip("link", "add", "veth-s", "address", "02:00:00:00:00:01", "type", "veth",
                "peer", "name", "veth-r", "address", "02:00:00:00:00:02", "netns", receiverNs.name);
            senderNs.ip("addr", "add", "10.78.0.1/24", "dev", "veth-s");
            receiverNs.ip("addr", "add", "10.78.0.2/24", "dev", "veth-r");
            senderNs.ip("link", "set", "veth-s", "up");
            receiverNs.ip("link", "set", "veth-r", "up");
            senderNs.ip("neigh", "replace", "10.78.0.2", "lladdr", "02:00:00:00:00:02", "dev", "veth-s", "nud",
                "permanent");
            receiver = NetNs.call(receiverNs.name, () -> {
                final DatagramSocket socket = new DatagramSocket(new InetSocketAddress("10.78.0.2", 0));
                socket.setReceiveBufferSize(1 << 20);
                socket.setSoTimeout(5000);
                return socket;
            });
        } catch (Exception e) {
            deleteTopology();
            throw e;
        }
    }

    @AfterEach
    void deleteTopology() throws Exception {
        try {
            if (receiver != null) {
                receiver.close();
                receiver = null;
            }
            if (receiverNs != null) {
                receiverNs.delete();
                receiverNs = null;
            }
        } finally {
            if (senderNs != null) {
                senderNs.delete();
                senderNs = null;
            }
        }
    }

    private static byte[] payload(int sequence) {
        return ("packet-" + sequence).getBytes(StandardCharsets.US_ASCII);
    }

    private int buildPacket(int slot, int sequence) {
        return Ipv4Udp.build(packets, slot * SLOT, SENDER_IP, 40000 + sequence, RECEIVER_IP, receiver.getLocalPort(),
            payload(sequence), 0);
    }

    private long slotAddress(int slot) {
        return packets.addressOffset() + (long) slot * SLOT;
    }

    private Set<String> receive(int count) throws Exception {
        final Set<String> seen = new HashSet<>();
        final DatagramPacket datagram = new DatagramPacket(new byte[2048], 2048);
        for (int i = 0; i < count; i++) {
            receiver.receive(datagram);
            seen.add(new String(datagram.getData(), 0, datagram.getLength(), StandardCharsets.US_ASCII));
        }
        return seen;
    }

    private void assertNothingMoreArrives() throws Exception {
        receiver.setSoTimeout(200);
        assertThrows(SocketTimeoutException.class, () -> receiver.receive(new DatagramPacket(new byte[2048], 2048)));
    }

    @Test
    void batchOfPacketsArrivesInPeerNamespace() throws Exception {
        final int n = 48;
        final Set<String> expected = new HashSet<>();
        NetNs.call(senderNs.name, () -> {
            try (RawIpSender sender = new RawIpSender(n)) {
                for (int i = 0; i < n; i++) {
                    assertTrue(sender.add(slotAddress(i), buildPacket(i, i), RECEIVER_IP));
                    expected.add(new String(payload(i), StandardCharsets.US_ASCII));
                }
                assertEquals(n, sender.pending());
                assertEquals(n, sender.flush());
                assertEquals(0, sender.pending());
                assertEquals(n, sender.sentCount());
                assertEquals(0, sender.droppedCount());
            }
            return null;
        });
        assertEquals(expected, receive(n));
        assertNothingMoreArrives();
    }

    @Test
    void addReturnsFalseWhenBatchIsFullAndFlushEmptiesIt() throws Exception {
        NetNs.call(senderNs.name, () -> {
            try (RawIpSender sender = new RawIpSender(4)) {
                for (int i = 0; i < 4; i++) {
                    assertTrue(sender.add(slotAddress(i), buildPacket(i, i), RECEIVER_IP));
                }
                final int fifth = buildPacket(4, 4);
                assertFalse(sender.add(slotAddress(4), fifth, RECEIVER_IP), "batch full");
                assertEquals(4, sender.pending());
                assertEquals(4, sender.flush());
                assertEquals(0, sender.pending());
                assertEquals(0, sender.flush(), "empty flush sends nothing");
                assertTrue(sender.add(slotAddress(4), fifth, RECEIVER_IP));
                assertEquals(1, sender.flush());
                assertEquals(5, sender.sentCount());
            }
            return null;
        });
        assertEquals(Set.of("packet-0", "packet-1", "packet-2", "packet-3", "packet-4"), receive(5));
    }

    @Test
    void refusedPacketInTheMiddleIsDroppedAndTheRestStillGo() throws Exception {
        NetNs.call(senderNs.name, () -> {
            try (RawIpSender sender = new RawIpSender(8)) {
                assertTrue(sender.add(slotAddress(0), buildPacket(0, 0), RECEIVER_IP));
                // Longer than the veth MTU (1500) with IP_HDRINCL: the kernel refuses it with EMSGSIZE.
                final int oversize = Ipv4Udp.build(packets, SLOT, SENDER_IP, 40001, RECEIVER_IP,
                    receiver.getLocalPort(), new byte[3000], 0);
                assertTrue(sender.add(slotAddress(1), oversize, RECEIVER_IP));
                assertTrue(sender.add(slotAddress(2), buildPacket(2, 2), RECEIVER_IP));
                assertEquals(2, sender.flush());
                assertEquals(2, sender.sentCount());
                assertEquals(1, sender.droppedCount());
                assertEquals(LibC.EMSGSIZE, sender.lastDropErrno());
            }
            return null;
        });
        assertEquals(Set.of("packet-0", "packet-2"), receive(2));
        assertNothingMoreArrives();
    }

    @Test
    void unroutableDestinationIsADrop() throws Exception {
        NetNs.call(senderNs.name, () -> {
            try (RawIpSender sender = new RawIpSender(2)) {
                final int nowhere = Ipv4Udp.ip(198, 51, 100, 7); // no route in the sender namespace
                final int length = Ipv4Udp.build(packets, 0, SENDER_IP, 40000, nowhere, 9, payload(0), 0);
                assertTrue(sender.add(slotAddress(0), length, nowhere));
                assertEquals(0, sender.flush());
                assertEquals(1, sender.droppedCount());
                assertEquals(LibC.ENETUNREACH, sender.lastDropErrno());
                assertFalse(sender.send(slotAddress(0), length, nowhere));
                assertEquals(2, sender.droppedCount());
            }
            return null;
        });
    }

    @Test
    void singleSendLeavesTheBatchAloneAndCloseDropsTheRest() throws Exception {
        NetNs.call(senderNs.name, () -> {
            final RawIpSender sender = new RawIpSender(2);
            try {
                sender.setSendBufferSize(1 << 20);
                assertEquals(2 << 20, sender.sendBufferSize(), "kernel doubles the requested size");
                assertTrue(sender.add(slotAddress(0), buildPacket(0, 6), RECEIVER_IP));
                assertTrue(sender.send(slotAddress(1), buildPacket(1, 7), RECEIVER_IP),
                    () -> "errno " + sender.lastDropErrno());
                assertEquals(1, sender.sentCount());
                assertEquals(1, sender.pending());
                assertEquals(1, sender.flush());
                assertEquals(2, sender.sentCount());
            } finally {
                sender.close();
            }
            assertEquals(-1, sender.fd());
            assertTrue(sender.add(slotAddress(2), buildPacket(2, 8), RECEIVER_IP));
            assertEquals(0, sender.flush(), "nothing goes out after close");
            assertEquals(1, sender.droppedCount());
            sender.close(); // idempotent
            return null;
        });
        assertEquals(Set.of("packet-6", "packet-7"), receive(2));
        assertNothingMoreArrives();
    }

    @Test
    void batchSizeOutOfRangeIsRejectedNamingIt() throws Exception {
        NetNs.call(senderNs.name, () -> {
            final IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> new RawIpSender(0));
            assertTrue(zero.getMessage().contains("0"), zero.getMessage());
            final IllegalArgumentException big = assertThrows(IllegalArgumentException.class,
                () -> new RawIpSender(RawIpSender.MAX_BATCH_SIZE + 1));
            assertTrue(big.getMessage().contains("1025"), big.getMessage());
            return null;
        });
    }
}
