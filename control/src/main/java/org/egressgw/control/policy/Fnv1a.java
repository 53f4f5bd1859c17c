package org.egressgw.control.policy;

import java.nio.charset.StandardCharsets;

/**
 * FNV-1a, 32 bits (offset basis 0x811c9dc5, prime 0x01000193), over the UTF-8 bytes of a string:
 * the hash Cilium uses to pin an endpoint (by its pod UID) to one of a policy's gateways.
 */
public final class Fnv1a {
    public static final int OFFSET_BASIS = 0x811c9dc5;
    public static final int PRIME = 0x01000193;

    private Fnv1a() {
    }

    /** The 32-bit hash; use {@link Integer#toUnsignedLong} before taking a modulus. */
    public static int hash32(String text) {
        int h = OFFSET_BASIS;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= PRIME;
        }
        return h;
    }

    /** Index of the gateway (of {@code count}, sorted by node IP) that pins the endpoint {@code uid}. */
    public static int pick(String uid, int count) {
        if (count <= 0) {
            throw new IllegalArgumentException("gateway count " + count + " must be positive");
        }
        return (int) (Integer.toUnsignedLong(hash32(uid)) % count);
    }
}
