package org.egressgw.packet;

import java.util.List;

/**
 * A fixed set of IPv4 CIDRs answering "is this address in any of them" without allocating: networks and masks
 * in two int arrays, scanned in order (meant for a handful of entries, such as a tunnel's allowed peers).
 * Immutable, safe to share between threads.
 */
public final class Ipv4CidrSet {
    private final int[] networks;
    private final int[] masks;

    public Ipv4CidrSet(List<Ipv4Cidr> cidrs) {
        this.networks = cidrs.stream().mapToInt(Ipv4Cidr::network).toArray();
        this.masks = cidrs.stream().mapToInt(c -> Ipv4Cidr.mask(c.prefixLength())).toArray();
    }

    /** True if {@code address} (network order, as an int) lies in one of the CIDRs. */
    public boolean contains(int address) {
        for (int i = 0; i < networks.length; i++) {
            if ((address & masks[i]) == networks[i]) {
                return true;
            }
        }
        return false;
    }
}
