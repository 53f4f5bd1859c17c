package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The set answers as Ipv4Cidr.contains over its members does, for random addresses near and far from them. */
class Ipv4CidrSetTest {
    @Test
    void agreesWithTheCidrsOneByOne() {
        List<Ipv4Cidr> cidrs = List.of(Ipv4Cidr.parse("198.51.100.0/24"), Ipv4Cidr.parse("192.0.2.7/32"),
                Ipv4Cidr.parse("10.0.0.0/8"), Ipv4Cidr.parse("0.0.0.0/0"));
        Random rnd = new Random(7);
        for (int n = 1; n <= cidrs.size(); n++) {
            List<Ipv4Cidr> some = cidrs.subList(0, n);
            Ipv4CidrSet set = new Ipv4CidrSet(some);
            for (int i = 0; i < 10_000; i++) {
                int a = i % 2 == 0 ? rnd.nextInt() : some.get(rnd.nextInt(n)).network() ^ (rnd.nextInt() >>> rnd.nextInt(32));
                assertEquals(some.stream().anyMatch(c -> c.contains(a)), set.contains(a), Ipv4Address.toString(a));
            }
        }
        assertEquals(false, new Ipv4CidrSet(List.of()).contains(0));
    }
}
