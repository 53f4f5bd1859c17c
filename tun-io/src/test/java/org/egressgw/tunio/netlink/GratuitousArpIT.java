package org.egressgw.tunio.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.tunio.LibC;
import org.egressgw.tunio.NativeIoException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Gratuitous ARP sent on v0 of a veth pair in a namespace of the test's own, observed on v1: exact frames with
 * an AF_PACKET reader, tcpdump's decoding, and the peer kernel's ARP cache. Every wait is bounded.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class GratuitousArpIT {
    private static final int ADDRESS = Ipv4Address.parse("192.0.2.10");
    private static final String ETHERNET_HEADER = "ffffffffffff" + "020000000001" + "0806";

    private NetlinkNamespace ns;

    @BeforeEach
    void createNamespace() throws Exception {
        ns = new NetlinkNamespace();
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        if (ns != null) {
            ns.delete();
        }
    }

    private static String expectedFrame(int operation) {
        final UnsafeBuffer arp = new UnsafeBuffer(new byte[GratuitousArp.ARP_LENGTH]);
        GratuitousArp.encode(arp, 0, operation, NetlinkNamespace.V0_MAC, ADDRESS);
        return ETHERNET_HEADER + KernelMessages.hex(arp, 0, GratuitousArp.ARP_LENGTH);
    }

    private static String hex(byte[] frame) {
        return frame == null ? "nothing" : KernelMessages.hex(new UnsafeBuffer(frame), 0, frame.length);
    }

    @Test
    void requestsAndRepliesArriveOnThePeerAsBroadcasts() throws Exception {
        try (ArpCapture capture = ns.call(() -> new ArpCapture("v1"));
             GratuitousArp arp = ns.call(() -> GratuitousArp.open("v0"))) {
            assertEquals(ns.ifindex("v0"), arp.ifindex());
            assertEquals(NetlinkNamespace.V0_MAC, arp.macAddress());
            assertEquals(4, arp.announce(ADDRESS, 2, 20, true));
            final String request = expectedFrame(GratuitousArp.ARPOP_REQUEST);
            final String reply = expectedFrame(GratuitousArp.ARPOP_REPLY);
            for (String expected : List.of(request, reply, request, reply)) {
                assertEquals(expected, hex(capture.next(2000)));
            }
            assertEquals(1, arp.announce(ADDRESS, 1, 1000, false), "no wait after the last frame");
            assertEquals(request, hex(capture.next(2000)));
            assertNull(capture.next(200), "nothing more");
        }
    }

    @Test
    void tcpdumpSeesAGratuitousRequestAndReply() throws Exception {
        final Process tcpdump = new ProcessBuilder("ip", "netns", "exec", ns.name, "timeout", "10", "tcpdump", "-i", "v1",
            "-n", "-e", "-l", "-c", "2", "arp").start();
        try (GratuitousArp arp = ns.call(() -> GratuitousArp.open("v0"));
             BufferedReader err = new BufferedReader(new InputStreamReader(tcpdump.getErrorStream(), StandardCharsets.UTF_8))) {
            // wait until tcpdump is capturing
            for (String line = err.readLine(); line != null && !line.startsWith("listening on"); line = err.readLine()) {
                // skip the banner
            }
            arp.send(ADDRESS, GratuitousArp.ARPOP_REQUEST);
            arp.send(ADDRESS, GratuitousArp.ARPOP_REPLY);
            assertTrue(tcpdump.waitFor(10, TimeUnit.SECONDS), "tcpdump did not see two ARP frames");
            final String output = new String(tcpdump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(output.contains("02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: "
                + "Request who-has 192.0.2.10 tell 192.0.2.10, length 28"), output);
            assertTrue(output.contains("Reply 192.0.2.10 is-at 02:00:00:00:00:01, length 28"), output);
        } finally {
            tcpdump.destroyForcibly();
            tcpdump.waitFor(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void thePeerUpdatesItsArpCacheEntryOnRequestAndOnReply() throws Exception {
        // the peer, on the same subnet, believes 192.0.2.10 is elsewhere, and learnt so just now: within the ARP
        // locktime (1 s) only a frame the kernel recognises as gratuitous (sender IP = target IP, a unicast address
        // on the peer's subnet; for a reply also target MAC = sender MAC) overrides the entry
        ns.ip("addr", "add", "192.0.2.1/24", "dev", "v1");
        try (GratuitousArp arp = ns.call(() -> GratuitousArp.open("v0"))) {
            for (int operation : new int[] {GratuitousArp.ARPOP_REQUEST, GratuitousArp.ARPOP_REPLY}) {
                ns.ip("neigh", "replace", "192.0.2.10", "lladdr", "02:00:00:00:00:99", "dev", "v1", "nud", "stale");
                arp.send(ADDRESS, operation);
                String entry = "";
                for (int i = 0; i < 50 && !entry.contains("02:00:00:00:00:01"); i++) {
                    Thread.sleep(20);
                    entry = ns.ip("neigh", "show", "192.0.2.10", "dev", "v1");
                }
                assertTrue(entry.contains("lladdr 02:00:00:00:00:01"), "after operation " + operation + ": " + entry);
            }
        }
    }

    @Test
    void errorsNameTheInterface() throws Exception {
        final NativeIoException missing = assertThrows(NativeIoException.class,
            () -> ns.call(() -> GratuitousArp.open("nosuch0")));
        assertEquals(LibC.ENODEV, missing.errno());
        assertTrue(missing.getMessage().contains("nosuch0"), missing.getMessage());
        final IllegalArgumentException loopback = assertThrows(IllegalArgumentException.class,
            () -> ns.call(() -> GratuitousArp.open("lo")));
        assertTrue(loopback.getMessage().contains("'lo' is not Ethernet"), loopback.getMessage());

        final GratuitousArp arp = ns.call(() -> GratuitousArp.open("v0"));
        try {
            ns.ip("link", "set", "v0", "down");
            final NativeIoException down = assertThrows(NativeIoException.class,
                () -> arp.send(ADDRESS, GratuitousArp.ARPOP_REQUEST));
            assertEquals(LibC.ENETDOWN, down.errno());
            assertTrue(down.getMessage().contains("192.0.2.10 on 'v0'"), down.getMessage());
            assertThrows(IllegalArgumentException.class, () -> arp.send(ADDRESS, 3));
            assertThrows(IllegalArgumentException.class, () -> arp.announce(ADDRESS, 0, 0, false));
        } finally {
            arp.close();
        }
        arp.close();
        assertEquals(LibC.EBADF, assertThrows(NativeIoException.class,
            () -> arp.send(ADDRESS, GratuitousArp.ARPOP_REQUEST)).errno());
        assertNotNull(arp.toString());
    }
}
