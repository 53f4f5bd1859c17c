package org.egressgw.ha;

import static org.egressgw.ha.VrrpTest.DST;
import static org.egressgw.ha.VrrpTest.SRC;
import static org.egressgw.ha.VrrpTest.VIP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

class VrrpAuthTest {
    static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    static final long SEQUENCE = 1_700_000_000_000L * 1000;

    /**
     * {@link VrrpTest#ADVERTISEMENT} with its trailer, computed outside Java (Python hmac/hashlib): magic 45475701,
     * sequence 0x00060a24181e4000 (epoch ms 1700000000000 * 1000), HMAC-SHA256 under {@link #KEY} over
     * c6336401 c6336402 | message | magic | sequence, then the balance word 0x596b.
     */
    static final String AUTHENTICATED = "31076401000aeb6dc6336464" + "45475701" + "00060a24181e4000"
        + "cd8a7a1b94dd97bf4f8ed8c95c96bc8abe9e2a18ac8724ff1d75830901ce958e" + "596b";

    @Test
    void encodesTheReferenceBytes() {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[100]);
        final int length = new VrrpAuth(KEY).encode(b, 2, 7, 100, 10, new int[] {VIP}, SRC, DST, SEQUENCE);
        assertEquals(58, length);
        assertEquals(AUTHENTICATED, HostileInput.hex(b, 2, length));
    }

    @Test
    void hmacIsOverAddressesMessageMagicAndSequence() throws Exception {
        final byte[] payload = HostileInput.hex(AUTHENTICATED);
        final Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(KEY, "HmacSHA256"));
        mac.update(new byte[] {(byte) 198, 51, 100, 1, (byte) 198, 51, 100, 2});
        mac.update(payload, 0, 12 + 12);
        final byte[] expected = mac.doFinal();
        final byte[] actual = new byte[32];
        System.arraycopy(payload, 12 + VrrpAuth.HMAC_OFFSET, actual, 0, 32);
        assertEquals(HostileInput.hex(new UnsafeBuffer(expected), 0, 32), HostileInput.hex(new UnsafeBuffer(actual), 0, 32));
    }

    @Test
    void verifiesAndReadsTheSequence() {
        final UnsafeBuffer b = new UnsafeBuffer(HostileInput.hex(AUTHENTICATED));
        assertEquals(VrrpError.NONE, Vrrp.check(b, 0, 58, SRC, DST));
        assertEquals(VrrpError.NONE, new VrrpAuth(KEY).verify(b, 0, 58, SRC, DST));
        assertEquals(SEQUENCE, VrrpAuth.sequence(b, 0));
    }

    @Test
    void checksumHoldsOverTheMessageAndOverTheWholePayload() {
        // RFC receivers (and Vrrp.check) sum the message alone; tcpdump sums the whole IP payload
        final Random random = new Random(46);
        final VrrpAuth auth = new VrrpAuth(KEY);
        for (int i = 0; i < 2_000; i++) {
            final int[] addresses = new int[1 + random.nextInt(20)];
            for (int a = 0; a < addresses.length; a++) {
                addresses[a] = random.nextInt();
            }
            final int src = random.nextInt();
            final int dst = random.nextInt();
            final UnsafeBuffer b = new UnsafeBuffer(new byte[VrrpAuth.MAX_PAYLOAD_LENGTH]);
            final int length = auth.encode(b, 0, 1 + random.nextInt(255), random.nextInt(256), 1 + random.nextInt(4095),
                addresses, src, dst, random.nextLong());
            final byte[] payload = new byte[length];
            b.getBytes(0, payload);
            final byte[] pseudo = {(byte) (src >>> 24), (byte) (src >>> 16), (byte) (src >>> 8), (byte) src,
                (byte) (dst >>> 24), (byte) (dst >>> 16), (byte) (dst >>> 8), (byte) dst, 0, 112,
                (byte) (length >>> 8), (byte) length};
            assertEquals(0xffff, HostileInput.referenceSum(pseudo, payload), "whole payload, iteration " + i);
            assertEquals(VrrpError.NONE, Vrrp.check(b, 0, length, src, dst));
            assertEquals(VrrpError.NONE, auth.verify(b, 0, length, src, dst));
        }
    }

    @Test
    void wrongKeyAlteredBytesAndOtherAddressesFail() {
        final UnsafeBuffer b = new UnsafeBuffer(HostileInput.hex(AUTHENTICATED));
        final byte[] otherKey = KEY.clone();
        otherKey[31] ^= 1;
        assertEquals(VrrpError.AUTH_BAD_HMAC, new VrrpAuth(otherKey).verify(b, 0, 58, SRC, DST));
        final VrrpAuth auth = new VrrpAuth(KEY);
        assertEquals(VrrpError.AUTH_BAD_HMAC, auth.verify(b, 0, 58, DST, DST), "another source");
        assertEquals(VrrpError.AUTH_BAD_HMAC, auth.verify(b, 0, 58, SRC, VIP), "another destination");
        // every single-bit change anywhere in the payload is refused by the checksum, the format or the HMAC
        for (int bit = 0; bit < 58 * 8; bit++) {
            final UnsafeBuffer changed = new UnsafeBuffer(HostileInput.hex(AUTHENTICATED));
            changed.putByte(bit / 8, (byte) (changed.getByte(bit / 8) ^ (1 << (bit % 8))));
            int code = Vrrp.check(changed, 0, 58, SRC, DST);
            if (code == VrrpError.NONE) {
                code = auth.verify(changed, 0, 58, SRC, DST);
            }
            assertNotEquals(VrrpError.NONE, code, "bit " + bit);
        }
    }

    @Test
    void missingShortLongOrForeignTrailersAreMissing() {
        final UnsafeBuffer b = new UnsafeBuffer(HostileInput.hex(AUTHENTICATED + "00"));
        final VrrpAuth auth = new VrrpAuth(KEY);
        assertEquals(VrrpError.AUTH_MISSING, auth.verify(b, 0, 12, SRC, DST), "no trailer");
        assertEquals(VrrpError.AUTH_MISSING, auth.verify(b, 0, 57, SRC, DST), "short");
        assertEquals(VrrpError.AUTH_MISSING, auth.verify(b, 0, 59, SRC, DST), "long");
        assertEquals(VrrpError.AUTH_MISSING, auth.verify(b, 0, 3, SRC, DST), "not even a header");
        b.putByte(12 + 3, (byte) 2); // trailer version 2
        assertEquals(VrrpError.AUTH_MISSING, auth.verify(b, 0, 58, SRC, DST));
    }

    @Test
    void sequencesFollowTheClockAndNeverRepeat() {
        assertEquals(5_000_000L, VrrpAuth.nextSequence(0, 5_000));
        assertEquals(5_000_001L, VrrpAuth.nextSequence(5_000_000L, 5_000));
        assertEquals(9_000_000L, VrrpAuth.nextSequence(5_000_001L, 9_000), "a restart resumes above what it sent");
        assertEquals(9_000_001L, VrrpAuth.nextSequence(9_000_000L, 8_000), "clock stepped back: still increasing");
    }

    @Test
    void shortKeysAreRefused() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new VrrpAuth(new byte[15])).getMessage()
            .contains("15 bytes"));
        assertThrows(IllegalArgumentException.class, () -> new VrrpAuth(null));
    }

    @Test
    void hostileInputGetsAVerdictNeverAnException() {
        final VrrpAuth auth = new VrrpAuth(KEY);
        final HostileInput.Check check = (b, off, len) -> {
            final int code = Vrrp.check(b, off, len, SRC, DST);
            return code != VrrpError.NONE ? code : auth.verify(b, off, len, SRC, DST);
        };
        final HostileInput.Check trailerOnly = (b, off, len) -> auth.verify(b, off, len, SRC, DST);
        final HostileInput.Accessors sequence = (b, off, len) -> VrrpAuth.sequence(b, off);
        final byte[] payload = HostileInput.hex(AUTHENTICATED);
        int passes = 0;
        for (int len = 0; len <= payload.length; len++) {
            for (int prefix : new int[] {0, 1}) {
                if (HostileInput.run(payload, len, prefix, check, sequence) == VrrpError.NONE) {
                    passes++;
                }
                HostileInput.run(payload, len, prefix, trailerOnly, sequence);
            }
        }
        assertEquals(2, passes, "only the whole advertisement passes");
        assertTrue(HostileInput.fuzz(1624, 20_000, payload, check, sequence) > 0);
        HostileInput.fuzz(1625, 20_000, payload, trailerOnly, sequence);
    }
}
