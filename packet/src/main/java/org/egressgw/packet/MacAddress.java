package org.egressgw.packet;

/**
 * 48-bit MAC addresses held in the low bits of a {@code long}, first octet highest. Parsing and
 * formatting are control-path only.
 */
public final class MacAddress {
    public static final long BROADCAST = 0xffff_ffff_ffffL;

    private MacAddress() {
    }

    /** Parses {@code aa:bb:cc:dd:ee:ff} (or with '-'). */
    public static long parse(String text) {
        if (text == null || text.length() != 17) {
            throw new IllegalArgumentException("not a MAC address: '" + text + "'");
        }
        long v = 0;
        for (int i = 0; i < 6; i++) {
            int p = i * 3;
            if (i > 0 && text.charAt(p - 1) != ':' && text.charAt(p - 1) != '-') {
                throw new IllegalArgumentException("not a MAC address: '" + text + "'");
            }
            int hi = Character.digit(text.charAt(p), 16);
            int lo = Character.digit(text.charAt(p + 1), 16);
            if (hi < 0 || lo < 0) {
                throw new IllegalArgumentException("not a MAC address: '" + text + "'");
            }
            v = (v << 8) | (hi << 4) | lo;
        }
        return v;
    }

    public static String toString(long mac) {
        StringBuilder sb = new StringBuilder(17);
        for (int i = 5; i >= 0; i--) {
            int b = (int) (mac >>> (i * 8)) & 0xff;
            sb.append(Character.forDigit(b >>> 4, 16)).append(Character.forDigit(b & 0xf, 16));
            if (i > 0) {
                sb.append(':');
            }
        }
        return sb.toString();
    }

    /** True for multicast and broadcast addresses (the I/G bit of the first octet). */
    public static boolean isMulticast(long mac) {
        return ((mac >>> 40) & 1) != 0;
    }
}
