package org.egressgw.core.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.core.datapath.ConnectionSync;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DatapathSettings;
import org.egressgw.core.datapath.PacketEvent;
import org.egressgw.core.datapath.SyncRecord;
import org.egressgw.core.datapath.TunnelSink;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.egressgw.packet.MacAddress;
import org.egressgw.packet.Tcp;
import org.egressgw.packet.Vxlan;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two members of a group on loopback (127.0.0.2 and 127.0.0.3), each a real datapath with its connection table:
 * connections the first creates (before and after the second joins) reach the second through the bulk and the
 * stream, and the second translates their replies exactly as the first would — the same pod, port and node;
 * a removal on the active member removes the copy; a member with another key is refused and counted.
 */
@Timeout(30)
class StateSyncTest {
    static final int A = Ipv4Address.parse("127.0.0.2");
    static final int B = Ipv4Address.parse("127.0.0.3");
    static final int C = Ipv4Address.parse("127.0.0.4");
    static final int NODE = Ipv4Address.parse("198.51.100.1");
    static final int POD = Ipv4Address.parse("10.244.1.10");
    static final int SERVER = Ipv4Address.parse("203.0.113.5");
    static final int EGRESS_IP = Ipv4Address.parse("192.0.2.10");
    static final long GW_MAC = MacAddress.parse("02:00:0a:63:00:02");
    static final long NODE_MAC = MacAddress.parse("02:00:0a:63:00:01");
    static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    static final int PORT = 20000 + ThreadLocalRandom.current().nextInt(20000);

    final List<AutoCloseable> open = new ArrayList<>();
    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    final PrintStream log = new PrintStream(logBytes, true, StandardCharsets.UTF_8);
    /** Added to every member's clock (datapath and sync alike), to step time past the refresh grain. */
    final java.util.concurrent.atomic.AtomicLong skew = new java.util.concurrent.atomic.AtomicLong();

    long now() {
        return System.currentTimeMillis() + skew.get();
    }

    /** A member: one shard's datapath and table, its sync lanes, and its replies to the tunnel kept for checks. */
    final class Member {
        final ConnTable table = new ConnTable(1024);
        final ConnectionSync lanes = new ConnectionSync();
        final Counters request = new Counters();
        final Counters reply = new Counters();
        final List<byte[]> tunnelOut = new ArrayList<>();
        final UnsafeBuffer slot = new UnsafeBuffer(ByteBuffer.allocateDirect(4096));
        final Datapath dp;
        final StateSync sync;
        final AtomicBoolean active = new AtomicBoolean();

        Member(int self, int peer, byte[] key) throws Exception {
            open.add(table);
            PolicyTable.Builder pb = new PolicyTable.Builder();
            pb.addRule(POD, Ipv4Cidr.parse("203.0.113.0/24"), pb.addPolicy("p", EGRESS_IP));
            DatapathSettings s = new DatapathSettings(Ipv4Address.parse("198.51.100.40"), 8472, 2, GW_MAC, 0, false,
                    List.of(Ipv4Cidr.parse("198.51.100.0/24")), 1450, 1410, 32768, 65535, 32);
            TunnelSink tunnel = new TunnelSink() {
                @Override
                public boolean add(long address, int length, int dstIp) {
                    byte[] copy = new byte[length];
                    new UnsafeBuffer(address, length).getBytes(0, copy);
                    tunnelOut.add(copy);
                    return true;
                }

                @Override
                public int flush() {
                    return 0;
                }
            };
            dp = new Datapath(s, table, new Datapath.PolicyView(pb.build()), (a, l) -> l, tunnel, request, reply);
            dp.sync(lanes);
            BooleanSupplier isActive = active::get;
            sync = new StateSync(self, List.of(peer), PORT, key, 32768, 65535, 32768, 2, List.of(table), List.of(lanes),
                    isActive, StateSyncTest.this::now, log);
            open.add(sync);
        }

        void start() {
            sync.start();
        }

        /** What the HA controller does when this member becomes active. */
        void makeActive() {
            active.set(true);
            lanes.originatesRemovals(true);
        }

        /** A pod's TCP segment from the node, through this member's datapath (as its worker would, with a flush). */
        void request(int podPort, int flags) {
            int ip = PacketEvent.REQUEST_OFFSET + Vxlan.HEADER_LENGTH + Ethernet.HEADER_LENGTH;
            int ipLen = FrameBuilder.tcp(slot, ip, POD, SERVER, podPort, 443, flags, flags == Tcp.SYN ? 1460 : 0, 0);
            int len = FrameBuilder.vxlan(slot, PacketEvent.REQUEST_OFFSET, 2, GW_MAC, NODE_MAC, ipLen);
            dp.onRequest(slot, slot.addressOffset(), PacketEvent.REQUEST_OFFSET, len, NODE, now());
            dp.flush();
        }

        /** The server's answer to (egress IP, natPort), through this member's datapath. */
        void reply(int natPort, int flags) {
            int len = FrameBuilder.tcp(slot, PacketEvent.REPLY_OFFSET, SERVER, EGRESS_IP, 443, natPort, flags, 0, 0);
            dp.onReply(slot, slot.addressOffset(), PacketEvent.REPLY_OFFSET, len, now());
            dp.flush();
        }

        /** What the worker does between packets: apply what peers sent. */
        int apply() {
            return dp.applySync(4096, now());
        }

        /** A three-way handshake through this member. */
        void establish(int podPort) {
            request(podPort, Tcp.SYN);
            reply(natPort(podPort), Tcp.SYN | Tcp.ACK);
            request(podPort, Tcp.ACK);
        }

        int natPort(int podPort) {
            int e = table.lookup(FlowKey.hi(POD, SERVER), FlowKey.lo(Ipv4.PROTO_TCP, podPort, 443, false));
            return e < 0 ? -1 : FlowKey.dstPort(table.replyLo(e));
        }
    }

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        System.out.println(logBytes.toString(StandardCharsets.UTF_8));
    }

    private static String drops(Counters c) {
        StringBuilder s = new StringBuilder();
        for (int r = 0; r < org.egressgw.core.datapath.DropReason.COUNT; r++) {
            if (c.drops(r) > 0) {
                s.append(org.egressgw.core.datapath.DropReason.name(r)).append('=').append(c.drops(r)).append(' ');
            }
        }
        return s.toString();
    }

    private static boolean eventually(BooleanSupplier condition, Member... applying) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            for (Member m : applying) {
                m.apply();
            }
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    @Test
    void connectionsReachThePeerThroughBulkAndStreamAndTranslateThereTheSameWay() throws Exception {
        Member a = new Member(A, B, KEY);
        Member b = new Member(B, A, KEY);
        a.makeActive();
        a.start();
        // before the peer is there: these reach it in the bulk
        for (int port = 40000; port < 40100; port++) {
            a.establish(port);
        }
        assertEquals(100, a.table.size());
        assertFalse(b.sync.readyToLead(A), "nothing received yet");
        b.start();
        assertTrue(eventually(() -> b.table.size() == 100 && b.sync.readyToLead(A), b), () -> "b has " + b.table.size() + "\n" + logBytes);
        // after: through the stream
        for (int port = 41000; port < 41050; port++) {
            a.establish(port);
        }
        assertTrue(eventually(() -> b.table.size() == 150, b), () -> "b has " + b.table.size());
        assertTrue(eventually(() -> a.sync.peerInSync() && a.sync.lag() == 0, b), "acknowledged");
        // the standby translates a reply of a flow it never saw exactly as the active member would
        for (int port : new int[] {40000, 40099, 41000, 41049}) {
            int natPort = a.natPort(port);
            assertEquals(natPort, b.natPort(port), "same translated port on both members");
            b.tunnelOut.clear();
            b.reply(natPort, Tcp.ACK);
            assertEquals(1, b.tunnelOut.size(), () -> "forwarded by the standby; drops: " + drops(b.reply));
            UnsafeBuffer out = new UnsafeBuffer(b.tunnelOut.get(0));
            int inner = 50;
            assertEquals(NODE, Ipv4.dstAddress(out, 0), "to the node the flow came from");
            assertEquals(POD, Ipv4.dstAddress(out, inner));
            assertEquals(port, Tcp.dstPort(out, inner + 20), "back to the pod's own port");
        }
        // the active member's removal (here: idle expiry) removes the copy
        a.dp.expire(System.currentTimeMillis() + 10_000_000L, 4096, org.egressgw.conntrack.Timeouts.defaults());
        assertEquals(0, a.table.size());
        assertTrue(eventually(() -> b.table.size() == 0, b), () -> "b still has " + b.table.size());
    }

    @Test
    void aStreamedConnectionIsNotSentAgainUntilItSeesTrafficPastTheRefreshGrain() throws Exception {
        Member a = new Member(A, B, KEY);
        Member b = new Member(B, A, KEY);
        a.makeActive();
        a.start();
        b.start();
        assertTrue(eventually(() -> a.sync.peerInSync(), b), "b joined");
        long base = a.sync.recordsSent();
        for (int port = 40000; port < 40020; port++) {
            a.establish(port); // three changes each: created, SYN-ACK seen, established
        }
        assertTrue(eventually(() -> b.table.size() == 20 && a.sync.lag() == 0, b), () -> "b has " + b.table.size());
        assertEquals(60, a.sync.recordsSent() - base, "each change sent once");
        // two refresh periods without traffic: nothing new goes out (the stream already sent every connection)
        Thread.sleep(2 * StateSync.REFRESH_PERIOD_MILLIS + 300);
        assertEquals(60, a.sync.recordsSent() - base, "no refresh of connections just sent");
        // traffic on one connection, past the grain, in a state it already had: only the refresh sends it
        skew.addAndGet(StateSync.REFRESH_GRAIN_MILLIS + 1_000);
        a.request(40007, Tcp.ACK);
        assertTrue(eventually(() -> a.sync.recordsSent() - base == 61, b), () -> "sent " + (a.sync.recordsSent() - base));
        Thread.sleep(2 * StateSync.REFRESH_PERIOD_MILLIS + 300);
        assertEquals(61, a.sync.recordsSent() - base, "refreshed once");
    }

    /**
     * Records an authenticated peer might still get wrong (a bug, another version): random fields, or a real
     * connection with one field mutated. The datapath installs or ignores each, keeps forwarding and expiring, and
     * never throws (an exception there would stop the member's datapath).
     */
    @Test
    void hostileRecordsNeverStopTheDatapath() throws Exception {
        Member a = new Member(A, B, KEY);
        Member b = new Member(B, A, KEY);
        for (int port = 40000; port < 40010; port++) {
            a.establish(port);
        }
        UnsafeBuffer real = new UnsafeBuffer(new byte[SyncRecord.LENGTH]);
        UnsafeBuffer record = new UnsafeBuffer(new byte[SyncRecord.LENGTH]);
        java.util.Random rnd = new java.util.Random(0x5_17C_0003L);
        int[] entries = new int[10];
        int n = 0;
        for (int port = 40000; port < 40010; port++) {
            entries[n++] = a.table.lookup(FlowKey.hi(POD, SERVER), FlowKey.lo(Ipv4.PROTO_TCP, port, 443, false));
        }
        for (int i = 0; i < 20_000; i++) {
            if (rnd.nextInt(3) == 0) {
                byte[] random = new byte[SyncRecord.LENGTH];
                rnd.nextBytes(random);
                record.putBytes(0, random);
            } else {
                SyncRecord.write(a.table, entries[rnd.nextInt(entries.length)], now(), real, 0);
                record.putBytes(0, real, 0, SyncRecord.LENGTH);
                int at = rnd.nextInt(SyncRecord.LENGTH);
                record.putByte(at, (byte) (record.getByte(at) ^ (1 << rnd.nextInt(8))));
            }
            int type = rnd.nextBoolean() ? SyncRecord.UPSERT : SyncRecord.REMOVE;
            while (!b.lanes.offer(type, record, 0)) {
                b.apply();
            }
            if (i % 1000 == 999) {
                b.apply();
                b.reply(32768 + rnd.nextInt(32768), Tcp.ACK);
                b.request(40000 + rnd.nextInt(10), Tcp.ACK);
                b.dp.expire(now() + rnd.nextInt(10_000_000), 4096, org.egressgw.conntrack.Timeouts.defaults());
            }
        }
        b.apply();
        assertTrue(b.table.size() <= b.table.capacity());
        // and a flow the standby never saw still opens and is forwarded
        b.tunnelOut.clear();
        b.request(41000, Tcp.SYN);
        assertTrue(b.natPort(41000) > 0, () -> "drops: " + drops(b.request));
    }

    @Test
    void aStandbysOwnExpiryIsNotSentAndAnotherKeyIsRefused() throws Exception {
        Member a = new Member(A, B, KEY);
        Member b = new Member(B, A, KEY);
        a.makeActive();
        a.start();
        b.start();
        a.request(40000, Tcp.SYN);
        assertTrue(eventually(() -> b.table.size() == 1, b));
        // b is not active: its expiry removes its copy only
        b.dp.expire(System.currentTimeMillis() + 10_000_000L, 4096, org.egressgw.conntrack.Timeouts.defaults());
        assertEquals(0, b.table.size());
        Thread.sleep(300);
        a.apply();
        assertEquals(1, a.table.size(), "the standby's expiry did not remove the active member's connection");

        Member c = new Member(C, A, "another key, sixteen bytes or more".getBytes(StandardCharsets.US_ASCII));
        c.start();
        Thread.sleep(1500);
        assertTrue(c.sync.authFailures() + a.sync.authFailures() > 0 || logBytes.toString().contains("not a configured peer"),
                logBytes.toString());
        assertEquals(0, c.table.size(), "nothing installed from a member with another key");
    }
}
