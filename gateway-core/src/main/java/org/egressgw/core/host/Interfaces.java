package org.egressgw.core.host;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.OptionalInt;

/** Read-only questions about the host's interfaces (control path). */
public final class Interfaces {
    private Interfaces() {
    }

    /** The first IPv4 address of an interface, as Cilium takes it for {@code interface:}. */
    public static OptionalInt firstIpv4(String name) {
        try {
            NetworkInterface nif = NetworkInterface.getByName(name);
            if (nif == null) {
                return OptionalInt.empty();
            }
            for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                if (a instanceof Inet4Address) {
                    return OptionalInt.of(a.hashCode());
                }
            }
            return OptionalInt.empty();
        } catch (SocketException e) {
            return OptionalInt.empty();
        }
    }

    /** True if the address is assigned to any interface of this network namespace. */
    public static boolean isLocal(int ipv4) {
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    if (a instanceof Inet4Address && a.hashCode() == ipv4) {
                        return true;
                    }
                }
            }
            return false;
        } catch (SocketException e) {
            return false;
        }
    }

    /** The MTU of an interface, from sysfs. */
    public static int mtu(String name) throws IOException {
        Path p = Path.of("/sys/class/net", name, "mtu");
        if (!Files.exists(p)) {
            throw new IOException("egress interface '" + name + "' does not exist");
        }
        return Integer.parseInt(Files.readString(p).trim());
    }
}
