package org.egressgw.ha;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;

import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Hostile-input harness for the VRRP parsers. Every buffer handed to a check ends exactly at {@code off + len},
 * so a read beyond the length it was given throws {@link IndexOutOfBoundsException} and fails the test.
 */
final class HostileInput {
    interface Check {
        int check(DirectBuffer b, int off, int len);
    }

    /** Everything a caller may do after a passing check; must stay within {@code len}. */
    interface Accessors {
        void readAll(DirectBuffer b, int off, int len);
    }

    private HostileInput() {
    }

    /** Runs check (and the accessors on success) over one exact-length buffer; returns the verdict. */
    static int run(byte[] data, int len, int prefix, Check check, Accessors accessors) {
        final byte[] bytes = new byte[prefix + len];
        System.arraycopy(data, 0, bytes, prefix, len);
        final UnsafeBuffer b = new UnsafeBuffer(bytes);
        final int code;
        try {
            code = check.check(b, prefix, len);
        } catch (RuntimeException e) {
            fail("check threw at len " + len + " prefix " + prefix, e);
            return -1;
        }
        assertTrue(code >= 0 && code < VrrpError.COUNT, "verdict " + code);
        if (code == VrrpError.NONE) {
            try {
                accessors.readAll(b, prefix, len);
            } catch (RuntimeException e) {
                fail("accessor went out of range after a passing check, len " + len + " prefix " + prefix, e);
            }
        }
        return code;
    }

    /**
     * Random bytes, and copies of {@code seed} with a few bytes changed, at random lengths and offsets; a fixed
     * seed. Returns how many inputs passed.
     */
    static int fuzz(long seedValue, int iterations, byte[] seed, Check check, Accessors accessors) {
        final Random random = new Random(seedValue);
        int passes = 0;
        for (int i = 0; i < iterations; i++) {
            byte[] bytes;
            if (random.nextInt(4) == 0) {
                bytes = new byte[random.nextInt(seed.length + 32)];
                random.nextBytes(bytes);
            } else {
                bytes = seed.clone();
                final int flips = random.nextInt(4);
                for (int f = 0; f < flips; f++) {
                    final int at = random.nextInt(bytes.length);
                    bytes[at] = random.nextInt(3) == 0 ? (byte) random.nextInt(16) : (byte) random.nextInt();
                }
            }
            final int len = random.nextInt(4) == 0 || bytes.length == 0 ? bytes.length : random.nextInt(bytes.length + 1);
            if (run(bytes, len, random.nextInt(3), check, accessors) == VrrpError.NONE) {
                passes++;
            }
        }
        return passes;
    }

    static byte[] hex(String text) {
        final String digits = text.replace(" ", "");
        final byte[] bytes = new byte[digits.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) Integer.parseInt(digits.substring(2 * i, 2 * i + 2), 16);
        }
        return bytes;
    }

    static String hex(DirectBuffer b, int off, int len) {
        final StringBuilder text = new StringBuilder();
        for (int i = 0; i < len; i++) {
            text.append(String.format("%02x", b.getByte(off + i) & 0xff));
        }
        return text.toString();
    }

    /** Plain reference: the one's-complement sum of 16-bit words, folded (odd last byte padded). */
    static int referenceSum(byte[]... pieces) {
        long total = 0;
        int position = 0;
        for (byte[] piece : pieces) {
            for (byte value : piece) {
                total += (position % 2 == 0 ? (value & 0xff) << 8 : value & 0xff);
                position++;
            }
        }
        while ((total >>> 16) != 0) {
            total = (total & 0xffff) + (total >>> 16);
        }
        return (int) total;
    }
}
