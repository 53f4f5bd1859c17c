package org.egressgw.encap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Ethernet;
import org.egressgw.packet.FrameBuilder;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.MacAddress;
import org.egressgw.packet.PacketError;
import org.junit.jupiter.api.Test;

/**
 * {@link VxlanDecapsulator#classify}: each verdict, then hostile input (every truncation, random
 * mutations) in buffers exactly as long as the data, compared with a slow reference classifier.
 */
class VxlanDecapsulatorTest {
    private static final int VNI = 2;
    private static final long GW_MAC = MacAddress.parse("02:00:c0:00:02:0a");
    private static final long NODE_MAC = MacAddress.parse("02:00:c0:00:02:15");
    private static final long OTHER_MAC = MacAddress.parse("02:00:c0:00:02:99");
    private static final int POD = Ipv4Address.parse("10.244.1.10");
    private static final int SERVER = Ipv4Address.parse("198.51.100.7");
    private static final int GW_OVERLAY = Ipv4Address.parse("10.244.0.254");

    private static final int[] VERDICTS = {
        VxlanDecapsulator.FOR_US, VxlanDecapsulator.ARP, VxlanDecapsulator.WRONG_VNI, VxlanDecapsulator.NOT_OUR_MAC,
        PacketError.VXLAN_TRUNCATED, PacketError.VXLAN_BAD_FLAGS,
    };

    private final VxlanDecapsulator decap = new VxlanDecapsulator(VNI, GW_MAC);

    /** A node's VXLAN payload carrying a pod's UDP packet to {@code dstMac}. */
    static byte[] ipv4Payload(int vni, long dstMac) {
        UnsafeBuffer b = new UnsafeBuffer(new byte[22 + 28 + 30]);
        int ipLen = FrameBuilder.udp(b, 22, POD, SERVER, 5353, 53, 30, true);
        int len = FrameBuilder.vxlan(b, 0, vni, dstMac, NODE_MAC, ipLen);
        assertEquals(b.capacity(), len);
        return b.byteArray();
    }

    /** A node's VXLAN payload carrying an ARP request for the gateway's overlay address. */
    static byte[] arpPayload(int vni) {
        UnsafeBuffer b = new UnsafeBuffer(new byte[22 + 28]);
        assertEquals(b.capacity(), FrameBuilder.vxlanArpRequest(b, 0, vni, NODE_MAC, POD, GW_OVERLAY));
        return b.byteArray();
    }

    /** Classifies {@code len} bytes of {@code data} copied to {@code prefix} in a buffer ending exactly after them. */
    int classify(byte[] data, int len, int prefix) {
        byte[] bytes = new byte[prefix + len];
        System.arraycopy(data, 0, bytes, prefix, len);
        try {
            return decap.classify(new UnsafeBuffer(bytes), prefix, len);
        } catch (RuntimeException e) {
            fail("classify threw at len " + len + " prefix " + prefix, e);
            return Integer.MIN_VALUE;
        }
    }

    int classify(byte[] data) {
        return classify(data, data.length, 0);
    }

    @Test
    void unicastIpv4ToOurMacIsForUs() {
        assertEquals(VxlanDecapsulator.FOR_US, classify(ipv4Payload(VNI, GW_MAC)));
        assertEquals(VxlanDecapsulator.FOR_US, classify(ipv4Payload(VNI, GW_MAC), 80, 28), "after outer headers");
        assertEquals(VxlanDecapsulator.INNER_FRAME_OFFSET, 8);
    }

    @Test
    void otherUnicastFramesToOurMacAreForUsToo() {
        byte[] d = ipv4Payload(VNI, GW_MAC);
        d[20] = (byte) 0x86;
        d[21] = (byte) 0xdd;
        assertEquals(VxlanDecapsulator.FOR_US, classify(d), "documented: any unicast frame to our MAC");
    }

    @Test
    void arpBroadcastAndArpUnicastToUsAreArp() {
        assertEquals(VxlanDecapsulator.ARP, classify(arpPayload(VNI)));
        byte[] unicast = arpPayload(VNI);
        UnsafeBuffer u = new UnsafeBuffer(unicast);
        Ethernet.dstMac(u, 8, GW_MAC);
        assertEquals(VxlanDecapsulator.ARP, classify(unicast));
        // Just the headers: the decapsulator reads nothing beyond the inner Ethernet header.
        assertEquals(VxlanDecapsulator.ARP, classify(arpPayload(VNI), 22, 5));
    }

    @Test
    void wrongVniIsWrongVni() {
        assertEquals(VxlanDecapsulator.WRONG_VNI, classify(ipv4Payload(VNI + 1, GW_MAC)));
        assertEquals(VxlanDecapsulator.WRONG_VNI, classify(ipv4Payload(0, GW_MAC)));
        assertEquals(VxlanDecapsulator.WRONG_VNI, classify(ipv4Payload(VNI | 0x10_0000, GW_MAC)));
        assertEquals(VxlanDecapsulator.WRONG_VNI, classify(arpPayload(VNI + 1)));
        assertEquals(VxlanDecapsulator.FOR_US,
                new VxlanDecapsulator(0xff_ffff, GW_MAC).classify(new UnsafeBuffer(ipv4Payload(0xff_ffff, GW_MAC)), 0, 80));
    }

    @Test
    void framesForOtherMacsAreNotOurs() {
        assertEquals(VxlanDecapsulator.NOT_OUR_MAC, classify(ipv4Payload(VNI, OTHER_MAC)));
        assertEquals(VxlanDecapsulator.NOT_OUR_MAC, classify(ipv4Payload(VNI, MacAddress.BROADCAST)),
                "broadcast that is not ARP");
        assertEquals(VxlanDecapsulator.NOT_OUR_MAC, classify(ipv4Payload(VNI, MacAddress.parse("01:00:5e:00:00:01"))),
                "multicast");
        byte[] arpToOther = arpPayload(VNI);
        Ethernet.dstMac(new UnsafeBuffer(arpToOther), 8, OTHER_MAC);
        assertEquals(VxlanDecapsulator.NOT_OUR_MAC, classify(arpToOther), "ARP unicast to another MAC");
    }

    @Test
    void truncatedPayloadIsVxlanTruncated() {
        byte[] d = ipv4Payload(VNI, GW_MAC);
        for (int len = 0; len < 22; len++) {
            assertEquals(PacketError.VXLAN_TRUNCATED, classify(d, len, 0), "len " + len);
        }
    }

    @Test
    void missingIFlagIsBadFlags() {
        byte[] d = ipv4Payload(VNI, GW_MAC);
        d[0] = 0;
        assertEquals(PacketError.VXLAN_BAD_FLAGS, classify(d));
        d[0] = (byte) 0xf7;
        assertEquals(PacketError.VXLAN_BAD_FLAGS, classify(d), "every bit but I");
        d[0] = (byte) 0xff;
        d[1] = d[2] = d[3] = d[7] = (byte) 0xff;
        assertEquals(VxlanDecapsulator.FOR_US, classify(d), "reserved bits are ignored (RFC 7348)");
    }

    @Test
    void everyTruncationOfEveryKindIsClassifiedWithoutThrowing() {
        byte[][] samples = {ipv4Payload(VNI, GW_MAC), arpPayload(VNI), ipv4Payload(VNI, OTHER_MAC), ipv4Payload(9, GW_MAC)};
        for (byte[] d : samples) {
            int full = classify(d);
            for (int len = 0; len <= d.length; len++) {
                for (int prefix : new int[] {0, 1, 28}) {
                    int got = classify(d, len, prefix);
                    assertEquals(len < 22 ? PacketError.VXLAN_TRUNCATED : full, got, "len " + len);
                }
            }
        }
    }

    /** 100 000 mutated payloads: never throws, always a defined verdict, always the reference's. */
    @Test
    void randomMutationsNeverThrowAndMatchTheReference() {
        Random rnd = new Random(0xDECA_0001L);
        byte[][] samples = {ipv4Payload(VNI, GW_MAC), arpPayload(VNI), ipv4Payload(VNI, MacAddress.BROADCAST)};
        int[] counts = new int[VERDICTS.length];
        for (int i = 0; i < 100_000; i++) {
            byte[] d = samples[rnd.nextInt(samples.length)].clone();
            int mutations = 1 + rnd.nextInt(4);
            for (int m = 0; m < mutations; m++) {
                // Mostly the 22 bytes that matter, sometimes anywhere.
                int at = rnd.nextInt(4) == 0 ? rnd.nextInt(d.length) : rnd.nextInt(22);
                switch (rnd.nextInt(3)) {
                    case 0 -> d[at] = (byte) rnd.nextInt(256);
                    case 1 -> d[at] ^= (byte) (1 << rnd.nextInt(8));
                    default -> d[at] = (byte) (rnd.nextBoolean() ? 0 : 0xff);
                }
            }
            int len = rnd.nextInt(8) == 0 ? rnd.nextInt(d.length + 1) : d.length;
            int prefix = rnd.nextInt(4);
            int got = classify(d, len, prefix);
            int index = indexOf(got);
            assertTrue(index >= 0, "undefined verdict " + got);
            assertEquals(reference(d, len, VNI, GW_MAC), got, "case " + i);
            counts[index]++;
        }
        for (int k = 0; k < VERDICTS.length; k++) {
            assertTrue(counts[k] > 100, "verdict " + VERDICTS[k] + " seen " + counts[k] + " times");
        }
    }

    @Test
    void randomBytesNeverThrow() {
        Random rnd = new Random(0xDECA_0002L);
        for (int i = 0; i < 20_000; i++) {
            byte[] d = new byte[rnd.nextInt(100)];
            rnd.nextBytes(d);
            int got = classify(d, d.length, rnd.nextInt(3));
            assertTrue(indexOf(got) >= 0, "undefined verdict " + got);
            assertEquals(reference(d, d.length, VNI, GW_MAC), got);
        }
    }

    static int indexOf(int verdict) {
        for (int i = 0; i < VERDICTS.length; i++) {
            if (VERDICTS[i] == verdict) {
                return i;
            }
        }
        return -1;
    }

    /** Slow reference written from RFC 7348 and the class contract, byte by byte. */
    static int reference(byte[] d, int len, int vni, long mac) {
        if (len < 8 + 14) {
            return PacketError.VXLAN_TRUNCATED;
        }
        if ((d[0] & 0x08) == 0) {
            return PacketError.VXLAN_BAD_FLAGS;
        }
        int v = ((d[4] & 0xff) << 16) | ((d[5] & 0xff) << 8) | (d[6] & 0xff);
        if (v != vni) {
            return VxlanDecapsulator.WRONG_VNI;
        }
        long dst = 0;
        for (int i = 0; i < 6; i++) {
            dst = (dst << 8) | (d[8 + i] & 0xff);
        }
        boolean arp = ((d[20] & 0xff) << 8 | (d[21] & 0xff)) == 0x0806;
        if (dst == mac) {
            return arp ? VxlanDecapsulator.ARP : VxlanDecapsulator.FOR_US;
        }
        return dst == 0xffff_ffff_ffffL && arp ? VxlanDecapsulator.ARP : VxlanDecapsulator.NOT_OUR_MAC;
    }
}
