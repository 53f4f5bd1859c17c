package org.egressgw.packet;

/**
 * IPv4 addresses as {@code int} in network order (the first octet in the high byte), the form every
 * header view and table in the gateway uses. Parsing and formatting are control-path only: they
 * allocate and throw.
 */
public final class Ipv4Address {
    private Ipv4Address() {
    }

    /**
     * Parses dotted-quad notation strictly (four decimal octets, no leading '+', no blanks).
     *
     * @throws IllegalArgumentException naming the offending text
     */
    public static int parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("IPv4 address is missing");
        }
        int value = 0;
        int octets = 0;
        int i = 0;
        int n = text.length();
        while (i <= n) {
            int start = i;
            int octet = 0;
            while (i < n && text.charAt(i) != '.') {
                char c = text.charAt(i);
                if (c < '0' || c > '9' || i - start >= 3) {
                    throw new IllegalArgumentException("not an IPv4 address: '" + text + "'");
                }
                octet = octet * 10 + (c - '0');
                i++;
            }
            if (i == start || octet > 255) {
                throw new IllegalArgumentException("not an IPv4 address: '" + text + "'");
            }
            value = (value << 8) | octet;
            octets++;
            i++;
            if (octets == 4) {
                if (i <= n) {
                    throw new IllegalArgumentException("not an IPv4 address: '" + text + "'");
                }
                return value;
            }
        }
        throw new IllegalArgumentException("not an IPv4 address: '" + text + "'");
    }

    /** True if {@code text} parses as an IPv4 address. */
    public static boolean isValid(String text) {
        try {
            parse(text);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Dotted-quad form of an address in network order. */
    public static String toString(int address) {
        return ((address >>> 24) & 0xff) + "." + ((address >>> 16) & 0xff) + "."
                + ((address >>> 8) & 0xff) + "." + (address & 0xff);
    }

    /** The address as an unsigned value, for sorting addresses numerically. */
    public static long unsigned(int address) {
        return address & 0xffffffffL;
    }
}
