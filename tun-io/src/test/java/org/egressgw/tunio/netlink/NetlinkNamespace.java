package org.egressgw.tunio.netlink;

import java.io.IOException;
import java.util.concurrent.Callable;

import org.egressgw.tunio.NetNs;
import org.egressgw.tunio.TestNamespace;

/**
 * A network namespace owned by one test, {@code egwnl-<random>}, holding a veth pair {@code v0}
 * (MAC {@link #V0_MAC}) / {@code v1} (MAC {@link #V1_MAC}), both up, with IPv6 disabled so that no
 * router solicitations, MLD reports or IPv6 notifications appear. {@link #delete} removes it with everything in
 * it (once; later calls do nothing); call it from {@code @AfterEach} so it goes even when the test fails.
 */
final class NetlinkNamespace extends TestNamespace {
    static final long V0_MAC = 0x020000000001L;
    static final long V1_MAC = 0x020000000002L;

    private boolean deleted;

    NetlinkNamespace() throws IOException, InterruptedException {
        super("egwnl");
        try {
            disableIpv6();
            ip("link", "add", "v0", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "v1", "address",
                "02:00:00:00:00:02");
            ip("link", "set", "v0", "up");
            ip("link", "set", "v1", "up");
        } catch (IOException | InterruptedException | RuntimeException e) {
            delete();
            throw e;
        }
    }

    /** Runs {@code body} on a thread inside the namespace (sockets it opens stay in the namespace). */
    <T> T call(Callable<T> body) throws Exception {
        return NetNs.call(name, body);
    }

    /** The ifindex {@code ip} reports for an interface ("3: v0@v1: ..."). */
    int ifindex(String interfaceName) throws IOException, InterruptedException {
        final String line = ip("-o", "link", "show", "dev", interfaceName);
        return Integer.parseInt(line.substring(0, line.indexOf(':')).trim());
    }

    @Override
    public void delete() throws IOException, InterruptedException {
        if (!deleted) {
            deleted = true;
            super.delete();
        }
    }
}
