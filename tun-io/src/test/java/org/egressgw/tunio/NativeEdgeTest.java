package org.egressgw.tunio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.util.Random;

import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.Test;

/** Unit tests that need no namespace: errno plumbing, name validation, the test packet helper. */
class NativeEdgeTest {

    @Test
    void failedCallLeavesErrnoAndExceptionCarriesStrerror() {
        assertEquals(-1, LibC.C.close(-1));
        assertEquals(LibC.EBADF, LibC.errno());
        final NativeIoException e = new NativeIoException("close(-1)", LibC.EBADF);
        assertEquals(LibC.EBADF, e.errno());
        assertEquals("close(-1): Bad file descriptor (errno 9)", e.getMessage());
    }

    @Test
    void noNativeFunctionTakesSixArguments() {
        // jnr-ffi's x86_64 stubs corrupt a sixth argument (jnr-ffi issue #181).
        for (Method method : LibC.Api.class.getMethods()) {
            assertTrue(method.getParameterCount() <= 5, method.toString());
        }
    }

    @Test
    void interfaceNamesAreValidatedBeforeAnySystemCall() {
        Ifreq.validateName("");
        Ifreq.validateName("tun%d");
        Ifreq.validateName("a23456789012345");
        final String[] hostile = {"a234567890123456", "tun 0", "tun/0", "tun:0", "tün0", "tun\n", "tun\u0000",
            "\u007f"};
        for (String name : hostile) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Ifreq.validateName(name));
            assertTrue(e.getMessage().contains(name), e.getMessage());
        }
        assertThrows(NullPointerException.class, () -> Ifreq.validateName(null));
    }

    @Test
    void ifreqHoldsTheNulTerminatedName() {
        final Ifreq ifreq = new Ifreq("a23456789012345");
        assertEquals("a23456789012345", ifreq.name());
        assertEquals(0, ifreq.buffer.getByte(15), "room for the NUL");
    }

    @Test
    void checksumMatchesKnownHeader() {
        // A textbook IPv4 header whose checksum is 0xb861.
        final int[] header = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[header.length]);
        for (int i = 0; i < header.length; i++) {
            buffer.putByte(i, (byte) header[i]);
        }
        assertEquals(0xb861, Ipv4Udp.checksum(buffer, 0, header.length, 0));
    }

    @Test
    void builtPacketsVerify() {
        final Random random = new Random(42);
        final UnsafeBuffer buffer = new UnsafeBuffer(new byte[2048]);
        for (int i = 0; i < 1000; i++) {
            final byte[] payload = new byte[random.nextInt(1400)];
            random.nextBytes(payload);
            final int src = random.nextInt();
            final int dst = random.nextInt();
            final int length = Ipv4Udp.build(buffer, 0, src, random.nextInt(65536), dst, random.nextInt(65536),
                payload, random.nextInt(65536));
            assertEquals(0, Ipv4Udp.checksum(buffer, 0, Ipv4Udp.IP_HEADER, 0));
            final int udpLength = length - Ipv4Udp.IP_HEADER;
            final long pseudo = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + Ipv4Udp.PROTO_UDP
                + udpLength;
            final int verify = Ipv4Udp.checksum(buffer, Ipv4Udp.IP_HEADER, udpLength, pseudo);
            assertTrue(verify == 0 || verify == 0xffff, "UDP checksum verifies, case " + i);
        }
    }
}
