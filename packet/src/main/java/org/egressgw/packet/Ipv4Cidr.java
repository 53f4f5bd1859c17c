package org.egressgw.packet;

/**
 * An IPv4 prefix such as {@code 203.0.113.0/24}. Host bits must be zero, as Kubernetes and Cilium
 * require of CIDRs in their objects.
 *
 * @param network the network address in network order, host bits zero
 * @param prefixLength 0 to 32
 */
public record Ipv4Cidr(int network, int prefixLength) {

    public Ipv4Cidr {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is not within 0..32");
        }
        if ((network & ~mask(prefixLength)) != 0) {
            throw new IllegalArgumentException("host bits set in " + Ipv4Address.toString(network) + "/" + prefixLength);
        }
    }

    /** The netmask of a prefix length, e.g. 24 gives 0xffffff00. */
    public static int mask(int prefixLength) {
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }

    /**
     * Parses {@code a.b.c.d/n}; a bare address means {@code /32}.
     *
     * @throws IllegalArgumentException naming the offending text and what is wrong with it
     */
    public static Ipv4Cidr parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("CIDR is missing");
        }
        int slash = text.indexOf('/');
        String addr = slash < 0 ? text : text.substring(0, slash);
        int len = 32;
        if (slash >= 0) {
            String p = text.substring(slash + 1);
            if (p.isEmpty() || p.length() > 2 || !p.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("not an IPv4 CIDR: '" + text + "'");
            }
            len = Integer.parseInt(p);
        }
        int network;
        try {
            network = Ipv4Address.parse(addr);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not an IPv4 CIDR: '" + text + "'");
        }
        try {
            return new Ipv4Cidr(network, len);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid CIDR '" + text + "': " + e.getMessage());
        }
    }

    /** True if {@code address} lies in this prefix. */
    public boolean contains(int address) {
        return (address & mask(prefixLength)) == network;
    }

    /** True if every address of {@code other} lies in this prefix. */
    public boolean contains(Ipv4Cidr other) {
        return other.prefixLength >= prefixLength && contains(other.network);
    }

    @Override
    public String toString() {
        return Ipv4Address.toString(network) + "/" + prefixLength;
    }
}
