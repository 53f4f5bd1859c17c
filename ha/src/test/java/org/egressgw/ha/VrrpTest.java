package org.egressgw.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;

import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;

class VrrpTest {
    static final int SRC = Ipv4Address.parse("198.51.100.1");
    static final int DST = Ipv4Address.parse("198.51.100.2");
    static final int VIP = Ipv4Address.parse("198.51.100.100");

    /**
     * VRID 7, priority 100, 10 cs, one address 198.51.100.100, from 198.51.100.1 to 198.51.100.2. Checksum by hand:
     * pseudo-header c633 + 6401 + c633 + 6402 + 0070 + 000c = 254e5; message 3107 + 6401 + 000a + c633 + 6464 =
     * 1bfa9; total 4148e, folded 1492, complemented eb6d.
     */
    static final String ADVERTISEMENT = "3107 6401 000a eb6d c633 6464";

    @Test
    void encodesTheHandCheckedBytes() {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[64]);
        assertEquals(12, Vrrp.encode(b, 3, 7, 100, 10, new int[] {VIP}, SRC, DST));
        assertEquals(ADVERTISEMENT.replace(" ", ""), HostileInput.hex(b, 3, 12));
    }

    @Test
    void gettersOnTheHandCheckedBytes() {
        final UnsafeBuffer b = new UnsafeBuffer(HostileInput.hex(ADVERTISEMENT));
        assertEquals(VrrpError.NONE, Vrrp.check(b, 0, 12, SRC, DST));
        assertEquals(3, Vrrp.version(b, 0));
        assertEquals(Vrrp.TYPE_ADVERTISEMENT, Vrrp.type(b, 0));
        assertEquals(7, Vrrp.vrid(b, 0));
        assertEquals(100, Vrrp.priority(b, 0));
        assertEquals(1, Vrrp.count(b, 0));
        assertEquals(10, Vrrp.maxAdverIntervalCentis(b, 0));
        assertEquals(0, Vrrp.reserved(b, 0));
        assertEquals(0xeb6d, Vrrp.checksum(b, 0));
        assertEquals(VIP, Vrrp.address(b, 0, 0));
        assertEquals(12, Vrrp.messageLength(b, 0));
        assertEquals(0xeb6d, Vrrp.checksum(b, 0, 12, SRC, DST));
    }

    @Test
    void bytesAfterTheMessageAreAllowed() {
        final byte[] longer = new byte[20];
        System.arraycopy(HostileInput.hex(ADVERTISEMENT), 0, longer, 0, 12);
        assertEquals(VrrpError.NONE, Vrrp.check(new UnsafeBuffer(longer), 0, 20, SRC, DST));
    }

    @Test
    void eachBadFieldHasItsVerdict() {
        assertEquals(VrrpError.BAD_VERSION, verdict(b -> b.putByte(0, (byte) 0x21))); // VRRPv2
        assertEquals(VrrpError.BAD_TYPE, verdict(b -> b.putByte(0, (byte) 0x32)));
        assertEquals(VrrpError.BAD_COUNT, verdict(b -> Vrrp.count(b, 0, 0)));
        assertEquals(VrrpError.BAD_LENGTH, verdict(b -> Vrrp.count(b, 0, 2)));
        assertEquals(VrrpError.BAD_INTERVAL, verdict(b -> Vrrp.maxAdverIntervalCentis(b, 0, 0)));
        assertEquals(VrrpError.BAD_CHECKSUM, verdict(b -> Vrrp.checksum(b, 0, 0xeb6c)));
        assertEquals(VrrpError.BAD_CHECKSUM, verdict(b -> Vrrp.priority(b, 0, 101)));
        final UnsafeBuffer b = new UnsafeBuffer(HostileInput.hex(ADVERTISEMENT));
        assertEquals(VrrpError.BAD_CHECKSUM, Vrrp.check(b, 0, 12, SRC, VIP), "pseudo-header destination");
        assertEquals(VrrpError.BAD_CHECKSUM, Vrrp.check(b, 0, 12, DST, DST), "pseudo-header source");
        for (int len = 0; len < 8; len++) {
            assertEquals(VrrpError.TRUNCATED, Vrrp.check(b, 0, len, SRC, DST));
        }
        for (int len = 8; len < 12; len++) {
            assertEquals(VrrpError.BAD_LENGTH, Vrrp.check(b, 0, len, SRC, DST));
        }
    }

    @Test
    void reservedBitsAreIgnoredButCovered() {
        final UnsafeBuffer b = new UnsafeBuffer(HostileInput.hex(ADVERTISEMENT));
        b.putByte(4, (byte) 0xf0);
        Vrrp.checksum(b, 0, Vrrp.checksum(b, 0, 12, SRC, DST));
        assertEquals(VrrpError.NONE, Vrrp.check(b, 0, 12, SRC, DST));
        assertEquals(10, Vrrp.maxAdverIntervalCentis(b, 0));
        assertEquals(15, Vrrp.reserved(b, 0));
    }

    @Test
    void checksumAgreesWithAPlainReference() {
        final Random random = new Random(5798);
        for (int count = 1; count <= Vrrp.MAX_ADDRESSES; count += 1 + random.nextInt(9)) {
            final int[] addresses = new int[count];
            for (int i = 0; i < count; i++) {
                addresses[i] = random.nextInt();
            }
            final int src = random.nextInt();
            final int dst = random.nextInt();
            final int priority = random.nextInt(256);
            final int off = random.nextInt(5);
            final UnsafeBuffer b = new UnsafeBuffer(new byte[off + Vrrp.MAX_MESSAGE_LENGTH]);
            final int length = Vrrp.encode(b, off, 1 + random.nextInt(255), priority, 1 + random.nextInt(4095),
                addresses, src, dst);
            final byte[] message = new byte[length];
            b.getBytes(off, message);
            final byte[] pseudo = {(byte) (src >>> 24), (byte) (src >>> 16), (byte) (src >>> 8), (byte) src,
                (byte) (dst >>> 24), (byte) (dst >>> 16), (byte) (dst >>> 8), (byte) dst, 0, 112,
                (byte) (length >>> 8), (byte) length};
            assertEquals(0xffff, HostileInput.referenceSum(pseudo, message), "count " + count);
            assertEquals(VrrpError.NONE, Vrrp.check(b, off, length, src, dst));
            assertEquals(priority, Vrrp.priority(b, off));
            assertEquals(addresses[count - 1], Vrrp.address(b, off, count - 1));
        }
    }

    @Test
    void encodeRefusesOutOfRangeFields() {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[Vrrp.MAX_MESSAGE_LENGTH + 4]);
        final int[] one = {VIP};
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Vrrp.encode(b, 0, 0, 100, 10, one, SRC, DST))
            .getMessage().contains("VRID 0"));
        assertThrows(IllegalArgumentException.class, () -> Vrrp.encode(b, 0, 256, 100, 10, one, SRC, DST));
        assertThrows(IllegalArgumentException.class, () -> Vrrp.encode(b, 0, 1, 256, 10, one, SRC, DST));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Vrrp.encode(b, 0, 1, 100, 4096, one, SRC, DST))
            .getMessage().contains("4096"));
        assertThrows(IllegalArgumentException.class, () -> Vrrp.encode(b, 0, 1, 100, 0, one, SRC, DST));
        assertThrows(IllegalArgumentException.class, () -> Vrrp.encode(b, 0, 1, 100, 10, new int[0], SRC, DST));
        assertThrows(IllegalArgumentException.class, () -> Vrrp.encode(b, 0, 1, 100, 10, new int[256], SRC, DST));
        assertEquals(Vrrp.MAX_MESSAGE_LENGTH, Vrrp.encode(b, 0, 1, 0, 4095, new int[255], SRC, DST));
    }

    @Test
    void hostileInputGetsAVerdictNeverAnException() {
        final HostileInput.Check check = (b, off, len) -> Vrrp.check(b, off, len, SRC, DST);
        final HostileInput.Accessors all = (b, off, len) -> {
            Vrrp.version(b, off);
            Vrrp.type(b, off);
            Vrrp.vrid(b, off);
            Vrrp.priority(b, off);
            Vrrp.maxAdverIntervalCentis(b, off);
            Vrrp.reserved(b, off);
            Vrrp.checksum(b, off);
            for (int i = 0; i < Vrrp.count(b, off); i++) {
                Vrrp.address(b, off, i);
            }
        };
        final byte[] message = HostileInput.hex(ADVERTISEMENT);
        int passes = 0;
        for (int len = 0; len <= message.length; len++) {
            for (int prefix : new int[] {0, 1, 3}) {
                if (HostileInput.run(message, len, prefix, check, all) == VrrpError.NONE) {
                    passes++;
                }
            }
        }
        assertEquals(3, passes, "only the whole message passes");
        assertTrue(HostileInput.fuzz(5798, 50_000, message, check, all) > 0);
    }

    @Test
    void everyCodeHasAName() {
        for (int code = 0; code < VrrpError.COUNT; code++) {
            assertFalse(VrrpError.name(code).isEmpty());
        }
        assertEquals("auth_bad_hmac", VrrpError.name(VrrpError.AUTH_BAD_HMAC));
        assertThrows(IllegalArgumentException.class, () -> VrrpError.name(VrrpError.COUNT));
    }

    private interface Mutation {
        void apply(UnsafeBuffer b);
    }

    private static int verdict(Mutation mutation) {
        final UnsafeBuffer b = new UnsafeBuffer(HostileInput.hex(ADVERTISEMENT));
        mutation.apply(b);
        return Vrrp.check(b, 0, 12, SRC, DST);
    }
}
