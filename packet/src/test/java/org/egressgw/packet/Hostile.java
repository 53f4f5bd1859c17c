package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Hostile-input harness shared by the header tests. Every buffer handed to a parser ends exactly at
 * {@code off + len}, so any read the parser or a post-check accessor makes beyond the length it was
 * given throws {@link IndexOutOfBoundsException} and fails the test.
 */
final class Hostile {
    interface Check {
        int check(DirectBuffer b, int off, int len);
    }

    /** Everything a caller may do after a passing check; must stay within {@code len}. */
    interface Accessors {
        void readAll(DirectBuffer b, int off, int len);
    }

    /** Optional repair applied to mutated bytes so deeper checks get exercised (e.g. fix a checksum). */
    interface Fixer {
        void fix(byte[] bytes, int off, int len);
    }

    private Hostile() {
    }

    /** Runs check (and accessors on success) over one exact-length buffer; returns the code. */
    static int run(byte[] data, int from, int len, int prefix, Check check, Accessors accessors) {
        byte[] bytes = new byte[prefix + len];
        System.arraycopy(data, from, bytes, prefix, len);
        UnsafeBuffer b = new UnsafeBuffer(bytes);
        int code;
        try {
            code = check.check(b, prefix, len);
        } catch (RuntimeException e) {
            fail("check threw at len " + len + " prefix " + prefix, e);
            return -1;
        }
        assertTrue(code >= 0 && code < PacketError.COUNT, "code " + code);
        if (code == PacketError.NONE) {
            try {
                accessors.readAll(b, prefix, len);
            } catch (RuntimeException e) {
                fail("accessor went out of range after passing check, len " + len + " prefix " + prefix, e);
            }
        }
        return code;
    }

    /** Every truncation {@code 0..len} of a real header, at offset 0 and at an odd offset. Returns the number of passes. */
    static int truncations(byte[] data, int from, int len, Check check, Accessors accessors) {
        int passes = 0;
        for (int l = 0; l <= len; l++) {
            for (int prefix : new int[] {0, 3}) {
                if (run(data, from, l, prefix, check, accessors) == PacketError.NONE) {
                    passes++;
                }
            }
        }
        return passes;
    }

    /**
     * Many iterations of random bytes and of randomly mutated copies of {@code seed} at random
     * lengths. Returns how many inputs passed the check (callers assert some did, so accessors ran).
     */
    static int fuzz(long seedValue, int iterations, byte[] seed, Check check, Accessors accessors, Fixer fixer) {
        Random rnd = new Random(seedValue);
        int passes = 0;
        for (int i = 0; i < iterations; i++) {
            byte[] bytes;
            if (rnd.nextInt(4) == 0) {
                bytes = new byte[rnd.nextInt(seed.length + 16)];
                rnd.nextBytes(bytes);
            } else {
                bytes = seed.clone();
                int flips = 1 + rnd.nextInt(4);
                for (int f = 0; f < flips; f++) {
                    int at = rnd.nextInt(Math.min(bytes.length, 64));
                    bytes[at] = rnd.nextInt(3) == 0 ? (byte) rnd.nextInt(16) : (byte) rnd.nextInt();
                }
            }
            int len = bytes.length == 0 ? 0 : rnd.nextInt(bytes.length + 1);
            if (fixer != null && rnd.nextBoolean()) {
                fixer.fix(bytes, 0, len);
            }
            if (run(bytes, 0, len, rnd.nextInt(3), check, accessors) == PacketError.NONE) {
                passes++;
            }
        }
        return passes;
    }

    static byte[] slice(byte[] data, int from) {
        return java.util.Arrays.copyOfRange(data, from, data.length);
    }
}
