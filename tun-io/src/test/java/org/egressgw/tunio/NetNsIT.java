package org.egressgw.tunio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NetNsIT {
    private TestNamespace ns;

    @BeforeEach
    void createNamespace() throws Exception {
        ns = new TestNamespace();
    }

    @AfterEach
    void deleteNamespace() throws Exception {
        if (ns != null) {
            ns.delete();
        }
    }

    /** "net:[inode]" of the calling thread's network namespace. */
    private static String currentNetns() throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
    }

    @Test
    void bodyRunsInTheNamedNamespaceAndCallerStaysPut() throws Exception {
        final String before = currentNetns();
        final long inode = (Long) Files.getAttribute(Path.of(NetNs.NETNS_RUN_DIR + ns.name), "unix:ino");
        final String inside = NetNs.call(ns.name, NetNsIT::currentNetns);
        assertEquals("net:[" + inode + "]", inside);
        assertNotEquals(before, inside);
        assertEquals(before, currentNetns());
    }

    @Test
    void bodyExceptionIsRethrownAsIs() {
        final IOException thrown = new IOException("from the body");
        assertSame(thrown, assertThrows(IOException.class, () -> NetNs.call(ns.name, () -> {
            throw thrown;
        })));
        final AssertionError error = new AssertionError("failed assertion inside");
        assertSame(error, assertThrows(AssertionError.class, () -> NetNs.call(ns.name, () -> {
            throw error;
        })));
    }

    @Test
    void missingNamespaceIsANativeIoExceptionNamingIt() {
        final String missing = ns.name + "-missing";
        final NativeIoException e = assertThrows(NativeIoException.class, () -> NetNs.call(missing, () -> 1));
        assertEquals(LibC.ENOENT, e.errno());
        assertTrue(e.getMessage().contains(missing), e.getMessage());
    }

    @Test
    void invalidNamesAreRejectedNamingThem() {
        for (String bad : new String[] {"", ".", "..", "../etc", "a/b"}) {
            final IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NetNs.call(bad, () -> 1));
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
    }
}
