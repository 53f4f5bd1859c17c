package org.egressgw.packet;

import java.util.Arrays;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * Packet bytes for the header tests and helpers to wrap them in buffers that are exactly as long as
 * the data, so any read past the given length throws in the test (Agrona bounds checks are on by
 * default).
 *
 * <p>The frames were built byte by byte with an independent script (Python {@code struct}) that
 * computed every checksum itself; they follow what the Linux kernel emits (VXLAN on UDP 8472 with a
 * zero outer UDP checksum, a SYN with the usual MSS/SACK/timestamp/window-scale options).
 */
final class TestBytes {
    /**
     * Ethernet 02:42:0a:00:01:05 -> 02:42:0a:00:02:09 / IPv4 10.0.1.5 -> 10.0.2.9 (id 0, no DF,
     * ttl 64, checksum 0x6372) / UDP 45678 -> 8472 len 90 checksum 0 / VXLAN I flag, VNI 2 /
     * Ethernet 0a:58:0a:f4:01:01 -> 0a:58:0a:f4:01:17 / IPv4 10.244.1.23 -> 203.0.113.10 (id 0x5e21,
     * DF, ttl 64, checksum 0x9485) / TCP 43512 -> 443 SYN seq 0x8c3e1f27 win 64860 checksum 0x62f0,
     * options MSS 1410, SACK permitted, timestamps, NOP, window scale 7.
     */
    static final String VXLAN_TCP_SYN =
            "02420a00020902420a0001050800"
            + "4500006e00000000401163720a0001050a000209"
            + "b26e2118005a0000"
            + "0800000000000200"
            + "0a580af401170a580af401010800"
            + "4500003c5e214000400694850af40117cb00710a"
            + "a9f801bb8c3e1f2700000000a002fd5c62f00000"
            + "020405820402080a1d4c2b6a0000000001030307";

    static final int VXLAN_OUTER_IP = 14;
    static final int VXLAN_OUTER_UDP = 34;
    static final int VXLAN_HEADER = 42;
    static final int VXLAN_INNER_ETH = 50;
    static final int VXLAN_INNER_IP = 64;
    static final int VXLAN_INNER_TCP = 84;

    /** Broadcast ARP request "who has 192.0.2.1, tell 192.0.2.2" from 02:42:c0:00:02:02, padded to 60 bytes. */
    static final String ARP_REQUEST =
            "ffffffffffff0242c00002020806"
            + "0001080006040001" + "0242c0000202c0000202" + "000000000000c0000201"
            + "000000000000000000000000000000000000";

    /**
     * Ethernet / IPv4 192.0.2.2 -> 198.51.100.7 (id 0xb1a7, DF, checksum 0x9cc4) / ICMP echo
     * request id 0x1c2b seq 3 checksum 0x0423 with 56 bytes of ping data.
     */
    static final String ICMP_ECHO =
            "0242c00002010242c00002020800"
            + "45000054b1a7400040019cc4c0000202c6336407"
            + "080004231c2b0003"
            + "65f1a2b300012345101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
            + "303132333435363738393a3b3c3d3e3f";

    /**
     * Ethernet / IPv4 192.0.2.2 -> 198.51.100.53 (id 0x3c4d, DF, checksum 0x11fd) / UDP 51234 -> 53
     * len 36 checksum 0x7085 / DNS query for example.net A.
     */
    static final String UDP_DNS =
            "0242c00002010242c00002020800"
            + "450000383c4d4000401111fdc0000202c6336435"
            + "c822003500247085"
            + "a1b2010000010000000000000765786d706c65036e65740000010001";

    private TestBytes() {
    }

    static byte[] hex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    /** A buffer holding a copy of the whole array. */
    static UnsafeBuffer buffer(byte[] bytes) {
        return new UnsafeBuffer(bytes.clone());
    }

    /** A buffer exactly {@code len} bytes long holding {@code bytes[from, from+len)}. */
    static UnsafeBuffer exact(byte[] bytes, int from, int len) {
        return new UnsafeBuffer(Arrays.copyOfRange(bytes, from, from + len));
    }

    static int ip(int a, int b, int c, int d) {
        return (a << 24) | (b << 16) | (c << 8) | d;
    }
}
