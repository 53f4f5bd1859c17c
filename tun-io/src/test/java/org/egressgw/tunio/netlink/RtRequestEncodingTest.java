package org.egressgw.tunio.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;

/**
 * Every request this package sends, against bytes worked out by hand from the UAPI structs (little-endian
 * host integers, network-order addresses). Spaces separate nlmsghdr | family header | attributes.
 */
class RtRequestEncodingTest {
    private static final int V0 = 3;
    private static final int ADDRESS = Ipv4Address.parse("192.0.2.10");
    private static final int PROXY = Ipv4Address.parse("192.0.2.77");
    private static final int NET = Ipv4Address.parse("198.51.100.0");

    /** Poisoned so that any byte an encoder forgets to write shows up. */
    private final UnsafeBuffer buffer = poisoned();

    private static UnsafeBuffer poisoned() {
        final UnsafeBuffer b = new UnsafeBuffer(new byte[256]);
        b.setMemory(0, 256, (byte) 0xEE);
        return b;
    }

    private void assertEncoded(String expectedHex, int length) {
        final String expected = expectedHex.replace(" ", "");
        assertEquals(expected.length() / 2, length, "length");
        assertEquals(expected, KernelMessages.hex(buffer, 0, length));
        assertEquals(length, buffer.getInt(0), "nlmsg_len");
    }

    @Test
    void linkDump() {
        // len 40, RTM_GETLINK 18, REQUEST|DUMP 0x301, seq 0x01020304, pid 0 | ifinfomsg AF_UNSPEC, all 0 |
        // IFLA_EXT_MASK (29) = RTEXT_FILTER_SKIP_STATS (8)
        assertEncoded("28000000 1200 0103 04030201 00000000 | 00 00 0000 00000000 00000000 00000000 | 0800 1d00 08000000"
            .replace("|", ""), IfInfoMsg.encodeDump(buffer, 0, 0x01020304));
    }

    @Test
    void linkByIndexAndByName() {
        assertEncoded("28000000 1200 0500 06000000 00000000  00 00 0000 03000000 00000000 00000000  0800 1d00 08000000",
            IfInfoMsg.encodeGetByIndex(buffer, 0, 6, V0));
        // IFLA_IFNAME (3) "v0\0": rta_len 7, padded to 8 with a zero
        assertEncoded("30000000 1200 0500 05000000 00000000  00 00 0000 00000000 00000000 00000000"
            + "  0700 0300 76300000  0800 1d00 08000000", IfInfoMsg.encodeGetByName(buffer, 0, 5, "v0"));
    }

    @Test
    void addressDumpAddAndDelete() {
        // RTM_GETADDR 22 | ifaddrmsg AF_INET
        assertEncoded("18000000 1600 0103 07000000 00000000  02 00 00 00 00000000", IfAddrMsg.encodeDump(buffer, 0, 7));
        // RTM_NEWADDR 20, REQUEST|ACK|EXCL|CREATE 0x605 | AF_INET, /24, flags 0, scope 0 (global), ifindex 3 |
        // IFA_LOCAL (2) 192.0.2.10, IFA_ADDRESS (1) 192.0.2.10
        assertEncoded("28000000 1400 0506 08000000 00000000  02 18 00 00 03000000  0800 0200 c000020a  0800 0100 c000020a",
            IfAddrMsg.encodeAdd(buffer, 0, 8, V0, ADDRESS, 24, RtMsg.RT_SCOPE_UNIVERSE));
        assertEncoded("28000000 1400 0506 08000000 00000000  02 20 00 fd 03000000  0800 0200 c000020a  0800 0100 c000020a",
            IfAddrMsg.encodeAdd(buffer, 0, 8, V0, ADDRESS, 32, RtMsg.RT_SCOPE_LINK));
        // RTM_DELADDR 21, REQUEST|ACK
        assertEncoded("28000000 1500 0500 09000000 00000000  02 18 00 00 03000000  0800 0200 c000020a  0800 0100 c000020a",
            IfAddrMsg.encodeDelete(buffer, 0, 9, V0, ADDRESS, 24));
    }

    @Test
    void neighbourDumpsAndProxyWrites() {
        // RTM_GETNEIGH 30 | ndmsg AF_INET, pads, ifindex 0, state 0, flags 0 / NTF_PROXY 0x08, type 0
        assertEncoded("1c000000 1e00 0103 09000000 00000000  02 00 0000 00000000 0000 00 00",
            NdMsg.encodeDump(buffer, 0, 9, false));
        assertEncoded("1c000000 1e00 0103 09000000 00000000  02 00 0000 00000000 0000 08 00",
            NdMsg.encodeDump(buffer, 0, 9, true));
        // RTM_NEWNEIGH 28, 0x605 | ifindex 3, state NUD_PERMANENT 0x80, flags NTF_PROXY | NDA_DST (1) 192.0.2.77
        assertEncoded("24000000 1c00 0506 0a000000 00000000  02 00 0000 03000000 8000 08 00  0800 0100 c000024d",
            NdMsg.encodeAddProxy(buffer, 0, 10, V0, PROXY));
        // RTM_DELNEIGH 29, REQUEST|ACK, state 0
        assertEncoded("24000000 1d00 0500 0b000000 00000000  02 00 0000 03000000 0000 08 00  0800 0100 c000024d",
            NdMsg.encodeDeleteProxy(buffer, 0, 11, V0, PROXY));
        // RTM_GETNEIGH 30, REQUEST|ACK: state and type must be 0 for the kernel's strict get
        assertEncoded("24000000 1e00 0500 0c000000 00000000  02 00 0000 03000000 0000 08 00  0800 0100 c000024d",
            NdMsg.encodeGetProxy(buffer, 0, 12, V0, PROXY));
    }

    @Test
    void routeDumpAddReplaceDelete() {
        // RTM_GETROUTE 26 | rtmsg AF_INET, everything else 0
        assertEncoded("1c000000 1a00 0103 0b000000 00000000  02 00 00 00 00 00 00 00 00000000", RtMsg.encodeDump(buffer, 0, 11));
        // RTM_NEWROUTE 24, 0x605 | AF_INET, /24, src 0, tos 0, table 100, proto 199, scope link 253, unicast 1 |
        // RTA_TABLE (15) 100, RTA_DST (1) 198.51.100.0, RTA_OIF (4) 3 -- the same body as the kernel's own
        // notification for "ip route add 198.51.100.0/24 dev v0 proto 199 table 100" (KernelMessages.NEWROUTE)
        final String body = "02 18 00 00 64 c7 fd 01 00000000  0800 0f00 64000000  0800 0100 c6336400  0800 0400 03000000";
        assertEncoded("34000000 1800 0506 0c000000 00000000  " + body,
            RtMsg.encodeNew(buffer, 0, 12, Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, 100, NET, 24, V0, 199));
        assertEquals(KernelMessages.NEWROUTE.substring(32), KernelMessages.hex(buffer, 16, 36));
        // replace: REQUEST|ACK|REPLACE|CREATE 0x505
        assertEncoded("34000000 1800 0505 0d000000 00000000  " + body,
            RtMsg.encodeNew(buffer, 0, 13, Netlink.NLM_F_CREATE | Netlink.NLM_F_REPLACE, 100, NET, 24, V0, 199));
        // a table id above 255 lives only in RTA_TABLE (rtm_table RT_TABLE_UNSPEC)
        assertEncoded("34000000 1800 0506 0e000000 00000000  02 18 00 00 00 c7 fd 01 00000000"
            + "  0800 0f00 e8030000  0800 0100 c6336400  0800 0400 03000000",
            RtMsg.encodeNew(buffer, 0, 14, Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, 1000, NET, 24, V0, 199));
        // RTM_DELROUTE 25, REQUEST|ACK | proto 0 = any, scope RT_SCOPE_NOWHERE 255 = any, type RTN_UNSPEC = any |
        // no RTA_OIF when oif is 0
        assertEncoded("2c000000 1900 0500 0f000000 00000000  02 18 00 00 64 00 ff 00 00000000"
            + "  0800 0f00 64000000  0800 0100 c6336400", RtMsg.encodeDelete(buffer, 0, 15, 100, NET, 24, 0, 0));
        assertEncoded("34000000 1900 0500 10000000 00000000  02 18 00 00 64 c7 ff 00 00000000"
            + "  0800 0f00 64000000  0800 0100 c6336400  0800 0400 03000000",
            RtMsg.encodeDelete(buffer, 0, 16, 100, NET, 24, V0, 199));
    }

    @Test
    void encodersWriteAtAnOffset() {
        final int length = RtMsg.encodeDump(buffer, 100, 11);
        assertEquals("1c0000001a0001030b00000000000000" + "020000000000000000000000", KernelMessages.hex(buffer, 100, length));
        assertEquals((byte) 0xEE, buffer.getByte(99));
        assertEquals((byte) 0xEE, buffer.getByte(100 + length));
    }
}
