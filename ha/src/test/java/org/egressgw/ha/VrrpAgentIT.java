package org.egressgw.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.ha.VrrpRouter.Reason;
import org.egressgw.ha.VrrpRouter.State;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.tunio.NetNs;
import org.egressgw.tunio.RawIpSender;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Members in network namespaces on one bridged segment (see {@link Segment}), each running a {@link VrrpAgent}
 * with 100 ms advertisements: election, failover after a crash and after a clean close, a member with the wrong
 * key, replayed advertisements, and tcpdump's reading of the packets. Every wait is bounded; namespaces and agents
 * go in {@link #tearDown} whatever happens.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VrrpAgentIT {
    private static final int VRID = 7;
    private static final int VIP = Ipv4Address.parse("198.51.100.100");
    private static final int INTERVAL_MILLIS = 100;
    private static final byte[] KEY = "egress-gateway-ha-test-key-32byt".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] WRONG_KEY = "egress-gateway-ha-WRONG-key-32by".getBytes(StandardCharsets.US_ASCII);

    private Segment segment;
    private final List<VrrpAgent> agents = new ArrayList<>();
    private final List<AutoCloseable> resources = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (VrrpAgent agent : agents) {
            agent.close();
        }
        for (AutoCloseable resource : resources) {
            resource.close();
        }
        if (segment != null) {
            segment.delete();
        }
    }

    private VrrpAgent.Config config(int member, int priority, byte[] key) {
        final int[] peers = new int[segment.size() - 1];
        for (int i = 0, p = 0; i < segment.size(); i++) {
            if (i != member) {
                peers[p++] = Segment.address(i);
            }
        }
        return new VrrpAgent.Config(VRID, priority, INTERVAL_MILLIS, true, new int[] {VIP}, peers, key,
            Segment.address(member));
    }

    /** Opens member {@code i}'s agent in its namespace (not started). */
    private VrrpAgent agent(int member, int priority, byte[] key) throws Exception {
        final VrrpAgent.Config config = config(member, priority, key);
        final VrrpAgent agent = NetNs.call(segment.member(member), () -> VrrpAgent.open(config, null));
        agents.add(agent);
        return agent;
    }

    private static long waitUntil(String what, long timeoutMillis, BooleanSupplier condition) throws InterruptedException {
        final long start = System.nanoTime();
        final long end = start + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                fail("not within " + timeoutMillis + " ms: " + what);
            }
            Thread.sleep(1);
        }
        return System.nanoTime() - start;
    }

    private static int masters(List<VrrpAgent> group) {
        int n = 0;
        for (VrrpAgent agent : group) {
            n += agent.isMaster() ? 1 : 0;
        }
        return n;
    }

    /** Waits for exactly one master among {@code group}, then checks it stays the only one for a second. */
    private static VrrpAgent electedMaster(List<VrrpAgent> group) throws InterruptedException {
        waitUntil("exactly one master", 3_000, () -> masters(group) == 1);
        VrrpAgent master = null;
        for (VrrpAgent agent : group) {
            master = agent.isMaster() ? agent : master;
        }
        final long stableUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        while (System.nanoTime() < stableUntil) {
            assertEquals(1, masters(group), "a second master appeared");
            assertTrue(master.isMaster(), "mastership moved");
            Thread.sleep(5);
        }
        return master;
    }

    private static double millis(long nanos) {
        return nanos / 1e6;
    }

    /** A backup (priority 100) and a master (priority 200) on a new two-member segment. */
    private record ElectedPair(VrrpAgent backup, VrrpAgent master) {
    }

    /** Two agents on a new two-member segment, started; returns once the higher priority is elected master. */
    private ElectedPair electedPair() throws Exception {
        segment = new Segment(2);
        final VrrpAgent backup = agent(0, 100, KEY);
        final VrrpAgent master = agent(1, 200, KEY);
        backup.start();
        master.start();
        assertEquals(master, electedMaster(List.of(backup, master)));
        return new ElectedPair(backup, master);
    }

    @Test
    void twoMembersElectOneMasterAndTheHigherPriorityWins() throws Exception {
        segment = new Segment(2);
        final VrrpAgent low = agent(0, 100, KEY);
        final VrrpAgent high = agent(1, 200, KEY);
        low.start();
        high.start();
        assertEquals(high, electedMaster(List.of(low, high)));
        assertEquals(State.BACKUP, low.state());
        assertEquals(Segment.address(1), low.masterAddress());
        assertTrue(low.advertisementsReceived() >= 10, "backup heard " + low.advertisementsReceived());
        assertTrue(high.advertisementsSent() >= 10);
        assertEquals(0, high.sendFailures());
        for (VrrpAgent agent : List.of(low, high)) {
            for (int code = 1; code < VrrpError.COUNT; code++) {
                assertEquals(0, agent.dropped(code), agent + " dropped " + VrrpError.name(code));
            }
            assertNull(agent.failure());
        }
    }

    @Test
    void threeMembersElectOneMasterAndSurviveTheLossOfIt() throws Exception {
        segment = new Segment(3);
        final VrrpAgent a = agent(0, 100, KEY);
        final VrrpAgent b = agent(1, 150, KEY);
        final VrrpAgent c = agent(2, 120, KEY);
        for (VrrpAgent agent : List.of(a, b, c)) {
            agent.start();
        }
        assertEquals(b, electedMaster(List.of(a, b, c)));
        final long crash = System.nanoTime();
        b.haltForTest();
        waitUntil("a new master", 1_000, () -> masters(List.of(a, c)) == 1);
        System.out.printf("3 members, crash of the master: %.1f ms to a new master%n", millis(System.nanoTime() - crash));
        assertEquals(c, electedMaster(List.of(a, c)), "the next priority takes over");
    }

    @Test
    void aCrashedMasterIsReplacedWithinOneSecond() throws Exception {
        final ElectedPair pair = electedPair();
        final VrrpAgent backup = pair.backup();
        final VrrpAgent master = pair.master();
        final long crash = System.nanoTime();
        master.haltForTest();
        waitUntil("the backup takes over", 1_000, backup::isMaster);
        final double fromCrash = millis(backup.lastTransitionNanos() - crash);
        final double fromLastAdvertisement = millis(backup.lastTransitionNanos() - master.lastAdvertisementSentNanos());
        System.out.printf("crash failover: %.1f ms after the crash, %.1f ms after the master's last advertisement"
            + " (Master_Down_Interval 360 ms)%n", fromCrash, fromLastAdvertisement);
        assertTrue(fromCrash < 1_000, "failover took " + fromCrash + " ms");
        assertTrue(fromLastAdvertisement >= 350, "not before Master_Down_Interval: " + fromLastAdvertisement);
        assertEquals(Reason.STARTUP, master.lastBackupReason(), "a crash tells nobody");
        assertEquals(State.INITIALIZE, master.state());
    }

    @Test
    void crashFailoverTimesOverRepeatedRounds() throws Exception {
        final List<Double> times = new ArrayList<>();
        for (int round = 0; round < 5; round++) {
            segment = new Segment(2);
            try {
                final VrrpAgent backup = agent(0, 100, KEY);
                final VrrpAgent master = agent(1, 200, KEY);
                backup.start();
                master.start();
                waitUntil("master elected", 3_000, () -> master.isMaster() && backup.state() == State.BACKUP);
                Thread.sleep(300);
                master.haltForTest();
                waitUntil("the backup takes over", 1_000, backup::isMaster);
                times.add(millis(backup.lastTransitionNanos() - master.lastAdvertisementSentNanos()));
            } finally {
                for (VrrpAgent agent : agents) {
                    agent.close();
                }
                agents.clear();
                segment.delete();
                segment = null;
            }
        }
        System.out.println("crash failover, ms after the last advertisement, 5 rounds: " + times);
        for (double t : times) {
            assertTrue(t < 1_000, "failover took " + t + " ms");
        }
    }

    @Test
    void closingTheMasterHandsOverWithinSkewTime() throws Exception {
        final ElectedPair pair = electedPair();
        final VrrpAgent backup = pair.backup();
        final VrrpAgent master = pair.master();
        final long closing = System.nanoTime();
        master.close();
        waitUntil("the backup takes over", 1_000, backup::isMaster);
        final double took = millis(backup.lastTransitionNanos() - closing);
        System.out.printf("clean handover (priority 0): %.1f ms after close(); Skew_Time of the backup 60 ms%n", took);
        assertTrue(took < 60 + 100, "handover took " + took + " ms");
        assertEquals(State.INITIALIZE, master.state());
        assertEquals(Reason.SHUTDOWN, master.lastBackupReason());
    }

    @Test
    void giveUpAndIneligibilityHandOverAndHold() throws Exception {
        final ElectedPair pair = electedPair();
        final VrrpAgent backup = pair.backup();
        final VrrpAgent master = pair.master();
        long start = System.nanoTime();
        master.giveUp();
        waitUntil("the backup takes over", 1_000, backup::isMaster);
        System.out.printf("giveUp handover: %.1f ms%n", millis(backup.lastTransitionNanos() - start));
        assertEquals(backup, electedMaster(List.of(backup, master)), "the handover holds although 200 > 100");
        assertEquals(Reason.GAVE_UP, master.lastBackupReason());

        // the lower member becomes ineligible: the higher one takes over, and the lower does not come back
        start = System.nanoTime();
        backup.eligible(false);
        waitUntil("the other takes over", 1_000, master::isMaster);
        System.out.printf("ineligible handover: %.1f ms%n", millis(master.lastTransitionNanos() - start));
        assertEquals(Reason.INELIGIBLE, backup.lastBackupReason());
        master.effectivePriority(1); // preemption would now favour the ineligible member, which must not take it
        assertEquals(master, electedMaster(List.of(backup, master)));
    }

    @Test
    void aMemberWithTheWrongKeyIsRefusedAndCannotTakeMastership() throws Exception {
        segment = new Segment(3);
        final VrrpAgent a = agent(0, 100, KEY);
        final VrrpAgent b = agent(1, 50, KEY);
        final VrrpAgent intruder = agent(2, 250, WRONG_KEY);
        a.start();
        b.start();
        assertEquals(a, electedMaster(List.of(a, b)));
        intruder.start();
        waitUntil("the intruder's advertisements are refused", 2_000,
            () -> a.authFailures(VrrpError.AUTH_BAD_HMAC) > 5 && b.authFailures(VrrpError.AUTH_BAD_HMAC) > 5);
        assertEquals(a, electedMaster(List.of(a, b)), "priority 250 without the key changes nothing");
        assertEquals(1, a.transitionsToBackup(), "a was never preempted (its one backup entry is the startup)");
        assertEquals(Reason.STARTUP, a.lastBackupReason());
        assertEquals(Reason.STARTUP, b.lastBackupReason());
        assertEquals(0, b.transitionsToMaster());
        assertTrue(intruder.authFailures(VrrpError.AUTH_BAD_HMAC) > 0, "it cannot read ours either");
        System.out.printf("wrong key: refused by a %d, by b %d; intruder refused %d; intruder state %s%n",
            a.authFailures(VrrpError.AUTH_BAD_HMAC), b.authFailures(VrrpError.AUTH_BAD_HMAC),
            intruder.authFailures(VrrpError.AUTH_BAD_HMAC), intruder.state());
    }

    @Test
    void replayedAdvertisementsAreRefusedAndDoNotDelayFailover() throws Exception {
        segment = new Segment(2);
        final VrrpAgent backup = agent(0, 100, KEY);
        final VrrpAgent master = agent(1, 200, KEY);
        // an eavesdropper in the backup's namespace: a second raw socket for protocol 112 gets a copy of each packet
        final VrrpSocket tap = NetNs.call(segment.member(0), () -> new VrrpSocket(Segment.address(0)));
        resources.add(tap);
        backup.start();
        master.start();
        assertEquals(master, electedMaster(List.of(backup, master)));
        assertTrue(tap.await(1_000));
        assertTrue(tap.receive() > 0);
        final int length = tap.packetLength(0);
        final UnsafeBuffer captured = new UnsafeBuffer(BufferUtil.allocateDirectAligned(2048, 64));
        captured.putBytes(0, tap.receiveBuffer(), tap.packetOffset(0), length);
        assertEquals(Segment.address(1), Ipv4.srcAddress(captured, 0));
        assertEquals(255, Ipv4.ttl(captured, 0));

        // replayed from the master's namespace (same source address, TTL 255, bytes unchanged)
        final RawIpSender replayer = NetNs.call(segment.member(1), () -> new RawIpSender(1));
        resources.add(replayer);
        final int dst = Segment.address(0);
        for (int i = 0; i < 5; i++) {
            assertTrue(replayer.send(captured.addressOffset(), length, dst));
            Thread.sleep(10);
        }
        waitUntil("5 replays refused", 1_000, () -> backup.authFailures(VrrpError.AUTH_REPLAY) >= 5);

        // the master crashes; the replays go on every 50 ms and must not keep the backup waiting
        final long crash = System.nanoTime();
        master.haltForTest();
        int replays = 5;
        while (!backup.isMaster() && System.nanoTime() - crash < TimeUnit.SECONDS.toNanos(1)) {
            replayer.send(captured.addressOffset(), length, dst);
            replays++;
            Thread.sleep(50);
        }
        assertTrue(backup.isMaster(), "replays kept the backup from taking over");
        final int sent = replays;
        waitUntil("every replay refused", 1_000, () -> backup.authFailures(VrrpError.AUTH_REPLAY) >= sent);
        System.out.printf("replays: %d sent, %d refused; failover despite them %.1f ms after the crash;"
            + " socket errors at the new master %d%n", sent, backup.authFailures(VrrpError.AUTH_REPLAY),
            millis(backup.lastTransitionNanos() - crash), backup.socketErrors());
        assertEquals(sent, backup.authFailures(VrrpError.AUTH_REPLAY));
        assertEquals(0, backup.authFailures(VrrpError.AUTH_BAD_HMAC));
    }

    @Test
    void tcpdumpDecodesTheAdvertisementsAsVrrpV3() throws Exception {
        final ElectedPair pair = electedPair();
        final VrrpAgent backup = pair.backup();
        final VrrpAgent master = pair.master();
        withTcpdump(3, tcpdump -> {
            assertTrue(tcpdump.waitFor(10, TimeUnit.SECONDS), "tcpdump did not see 3 advertisements");
            final String output = new String(tcpdump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            System.out.println("tcpdump -v:\n" + output);
            assertTrue(output.contains("ttl 255"), output);
            assertTrue(output.contains("proto VRRP (112)"), output);
            assertTrue(output.contains("198.51.100.2 > 198.51.100.1: VRRPv3, Advertisement, vrid 7, prio 200, "
                + "intvl 10cs, length 58, addrs: 198.51.100.100"), output);
            assertFalse(output.contains("bad"), "tcpdump found a bad checksum: " + output);
        });
        assertNotNull(master.toString());
    }

    @Test
    void tcpdumpChecksTheWholePayloadSoTheBalanceWordMatters() throws Exception {
        // the control for the test above: tcpdump sums the whole IP payload, trailer included; with the balance word
        // zeroed the message checksum still holds (Vrrp.check) but tcpdump's sum does not
        segment = new Segment(2);
        final UnsafeBuffer packet = new UnsafeBuffer(BufferUtil.allocateDirectAligned(2048, 64));
        final int src = Segment.address(1);
        final int dst = Segment.address(0);
        final int payload = new VrrpAuth(KEY).encode(packet, 20, VRID, 42, 10, new int[] {VIP}, src, dst, 1L);
        assertEquals(VrrpError.NONE, Vrrp.check(packet, 20, payload, src, dst));
        packet.putShort(20 + payload - 2, (short) 0);
        assertEquals(VrrpError.NONE, Vrrp.check(packet, 20, payload, src, dst));
        assertEquals(VrrpError.AUTH_MISSING, new VrrpAuth(KEY).verify(packet, 20, payload, src, dst));
        Ipv4.versionAndHeaderLength(packet, 0, 20);
        Ipv4.totalLength(packet, 0, 20 + payload);
        Ipv4.ttl(packet, 0, 255);
        Ipv4.protocol(packet, 0, Vrrp.IP_PROTOCOL);
        Ipv4.srcAddress(packet, 0, src);
        Ipv4.dstAddress(packet, 0, dst);
        final RawIpSender sender = NetNs.call(segment.member(1), () -> new RawIpSender(1));
        resources.add(sender);
        withTcpdump(1, tcpdump -> {
            // resent until seen: the first may go before the fresh links carry traffic
            for (int i = 0; i < 100 && !tcpdump.waitFor(100, TimeUnit.MILLISECONDS); i++) {
                sender.send(packet.addressOffset(), 20 + payload, dst);
            }
            assertFalse(tcpdump.isAlive(), "tcpdump saw nothing; sent " + sender.sentCount() + ", dropped "
                + sender.droppedCount());
            final String output = new String(tcpdump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            System.out.println("tcpdump -v, balance word zeroed:\n" + output);
            assertTrue(output.contains("VRRPv3, Advertisement, vrid 7, prio 42"), output);
            assertTrue(output.contains("bad vrrp cksum"), output);
        });
    }

    /** What a test does with a running tcpdump (see {@link #withTcpdump}). */
    @FunctionalInterface
    private interface TcpdumpBody {
        void accept(Process tcpdump) throws Exception;
    }

    /**
     * Starts {@code tcpdump -v} on member 0's eth0 for {@code count} VRRP packets (ended by {@code timeout} after
     * 10 s at the latest), waits for its "listening on" banner so nothing sent afterwards is missed, hands it to
     * {@code body}, and stops it whatever happens.
     */
    private void withTcpdump(int count, TcpdumpBody body) throws Exception {
        final Process tcpdump = new ProcessBuilder("ip", "netns", "exec", segment.member(0), "timeout", "10", "tcpdump",
            "-i", "eth0", "-n", "-v", "-l", "-c", Integer.toString(count), "ip", "proto", "112").start();
        try (BufferedReader err = new BufferedReader(new InputStreamReader(tcpdump.getErrorStream(),
            StandardCharsets.UTF_8))) {
            for (String line = err.readLine(); line != null && !line.contains("listening on"); line = err.readLine()) {
                // the banner
            }
            body.accept(tcpdump);
        } finally {
            tcpdump.destroyForcibly();
            tcpdump.waitFor(5, TimeUnit.SECONDS);
        }
    }
}
