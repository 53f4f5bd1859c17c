package org.egressgw.ha;

import static org.egressgw.ha.VrrpAuthTest.KEY;
import static org.egressgw.ha.VrrpTest.DST;
import static org.egressgw.ha.VrrpTest.SRC;
import static org.egressgw.ha.VrrpTest.VIP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;

class AdvertisementFilterTest {
    private static final int OTHER_PEER = Ipv4Address.parse("198.51.100.3");
    private static final int VIP2 = Ipv4Address.parse("198.51.100.101");
    private static final int VRID = 7;

    private final VrrpAuth senderAuth = new VrrpAuth(KEY);
    // the receiver: 198.51.100.2, peers .1 and .3
    private final AdvertisementFilter filter = new AdvertisementFilter(DST, VRID, new int[] {VIP, VIP2},
        new int[] {SRC, OTHER_PEER}, new VrrpAuth(KEY));

    /** A whole IPv4 packet as a raw socket delivers it. */
    static final class Packet {
        int src = SRC;
        int dst = DST;
        int ttl = 255;
        int protocol = 112;
        int flags = Ipv4.FLAG_DF;
        int vrid = VRID;
        int priority = 100;
        int centis = 10;
        int[] addresses = {VIP, VIP2};
        long sequence = 1_000;
        VrrpAuth auth;

        Packet(VrrpAuth auth) {
            this.auth = auth;
        }

        UnsafeBuffer build() {
            final UnsafeBuffer b = new UnsafeBuffer(new byte[20 + VrrpAuth.MAX_PAYLOAD_LENGTH]);
            final int payload = auth.encode(b, 20, vrid, priority, centis, addresses, src, dst, sequence);
            Ipv4.versionAndHeaderLength(b, 0, 20);
            Ipv4.totalLength(b, 0, 20 + payload);
            Ipv4.identification(b, 0, 0x1234);
            Ipv4.flagsAndFragment(b, 0, flags);
            Ipv4.ttl(b, 0, ttl);
            Ipv4.protocol(b, 0, protocol);
            Ipv4.srcAddress(b, 0, src);
            Ipv4.dstAddress(b, 0, dst);
            Ipv4.updateHeaderChecksum(b, 0);
            return new UnsafeBuffer(b, 0, 20 + payload);
        }
    }

    private long nextSequence = 1_000;

    /** A fresh advertisement: each one has the next sequence. */
    private Packet packet() {
        final Packet p = new Packet(senderAuth);
        p.sequence = nextSequence++;
        return p;
    }

    private int accept(Packet packet) {
        final UnsafeBuffer b = packet.build();
        return filter.accept(b, 0, b.capacity());
    }

    @Test
    void acceptsAnAuthenticFreshAdvertisement() {
        final Packet p = packet();
        p.priority = 200;
        p.centis = 25;
        assertEquals(VrrpError.NONE, accept(p));
        assertEquals(SRC, filter.source());
        assertEquals(200, filter.priority());
        assertEquals(25, filter.intervalCentis());
        assertEquals(1_000, filter.sequence());
    }

    @Test
    void refusesReplaysPerSource() {
        final UnsafeBuffer first = packet().build();
        assertEquals(VrrpError.NONE, filter.accept(first, 0, first.capacity()));
        assertEquals(VrrpError.AUTH_REPLAY, filter.accept(first, 0, first.capacity()), "the same packet again");
        final Packet older = packet();
        older.sequence = 999;
        assertEquals(VrrpError.AUTH_REPLAY, accept(older));
        final Packet other = packet();
        other.src = OTHER_PEER;
        assertEquals(VrrpError.NONE, accept(other), "sequences are per source");
        final Packet newer = packet();
        assertEquals(VrrpError.NONE, accept(newer));
        assertEquals(VrrpError.AUTH_REPLAY, filter.accept(first, 0, first.capacity()));
        filter.resetReplayState();
        assertEquals(VrrpError.NONE, filter.accept(first, 0, first.capacity()));
    }

    @Test
    void aWrongKeyIsRefusedAndLeavesNoReplayState() {
        final byte[] wrong = KEY.clone();
        wrong[0] ^= 0x55;
        final Packet forged = new Packet(new VrrpAuth(wrong));
        forged.sequence = Long.MAX_VALUE;
        assertEquals(VrrpError.AUTH_BAD_HMAC, accept(forged));
        assertEquals(VrrpError.NONE, accept(packet()), "a forged high sequence did not advance the replay state");
    }

    @Test
    void eachCheckHasItsVerdict() {
        assertEquals(VrrpError.BAD_TTL, accept(with(p -> p.ttl = 254)));
        assertEquals(VrrpError.WRONG_DESTINATION, accept(with(p -> p.dst = OTHER_PEER)));
        assertEquals(VrrpError.UNKNOWN_SOURCE, accept(with(p -> p.src = VIP)));
        assertEquals(VrrpError.UNKNOWN_SOURCE, accept(with(p -> p.src = DST)), "our own address");
        assertEquals(VrrpError.NOT_VRRP, accept(with(p -> p.protocol = 17)));
        assertEquals(VrrpError.NOT_VRRP, accept(with(p -> p.flags = Ipv4.FLAG_MF)));
        assertEquals(VrrpError.WRONG_VRID, accept(with(p -> p.vrid = 8)));
        assertEquals(VrrpError.ADDRESS_MISMATCH, accept(with(p -> p.addresses = new int[] {VIP})));
        assertEquals(VrrpError.ADDRESS_MISMATCH, accept(with(p -> p.addresses = new int[] {VIP, VIP})));
        assertEquals(VrrpError.NONE, accept(with(p -> p.addresses = new int[] {VIP2, VIP})), "any order");
        assertEquals(VrrpError.NONE, accept(with(p -> {
            p.addresses = new int[] {VIP};
            p.priority = 255;
        })), "the owner's list wins (RFC 5798 section 7.1)");

        final UnsafeBuffer ip = packet().build();
        ip.putByte(Ipv4.CHECKSUM_OFFSET, (byte) (ip.getByte(Ipv4.CHECKSUM_OFFSET) ^ 1));
        assertEquals(VrrpError.IPV4_MALFORMED, filter.accept(ip, 0, ip.capacity()));

        final UnsafeBuffer noTrailer = packet().build();
        Ipv4.totalLength(noTrailer, 0, 20 + 16);
        Ipv4.updateHeaderChecksum(noTrailer, 0);
        assertEquals(VrrpError.AUTH_MISSING, filter.accept(noTrailer, 0, noTrailer.capacity()));

        final UnsafeBuffer v2 = packet().build();
        v2.putByte(20, (byte) 0x21);
        assertEquals(VrrpError.BAD_VERSION, filter.accept(v2, 0, v2.capacity()));
    }

    @Test
    void replayStateIsRecordedOnceAuthenticEvenForAnotherVrid() {
        final Packet otherVrid = with(p -> {
            p.vrid = 9;
            p.sequence = 5_000;
        });
        assertEquals(VrrpError.WRONG_VRID, accept(otherVrid));
        assertEquals(VrrpError.AUTH_REPLAY, accept(packet()));
    }

    @Test
    void configurationIsChecked() {
        final VrrpAuth auth = new VrrpAuth(KEY);
        assertTrue(assertThrows(IllegalArgumentException.class,
            () -> new AdvertisementFilter(DST, 1, new int[] {VIP}, new int[] {SRC, SRC}, auth)).getMessage()
            .contains("198.51.100.1 is listed twice"));
        assertThrows(IllegalArgumentException.class,
            () -> new AdvertisementFilter(DST, 1, new int[] {VIP}, new int[] {DST}, auth));
        assertThrows(IllegalArgumentException.class, () -> new AdvertisementFilter(DST, 1, new int[0], new int[] {SRC}, auth));
        assertThrows(IllegalArgumentException.class, () -> new AdvertisementFilter(DST, 0, new int[] {VIP}, new int[] {SRC}, auth));
    }

    @Test
    void hostilePacketsGetAVerdictNeverAnException() {
        final UnsafeBuffer good = packet().build();
        final byte[] seed = new byte[good.capacity()];
        good.getBytes(0, seed);
        final HostileInput.Check check = (b, off, len) -> {
            filter.resetReplayState();
            return filter.accept(b, off, len);
        };
        final HostileInput.Accessors none = (b, off, len) -> { };
        int passes = 0;
        for (int len = 0; len <= seed.length; len++) {
            if (HostileInput.run(seed, len, 1, check, none) == VrrpError.NONE) {
                passes++;
            }
        }
        assertEquals(1, passes);
        assertTrue(HostileInput.fuzz(791, 20_000, seed, check, none) > 0);
    }

    private interface Change {
        void apply(Packet packet);
    }

    private Packet with(Change change) {
        final Packet p = packet();
        change.apply(p);
        return p;
    }
}
