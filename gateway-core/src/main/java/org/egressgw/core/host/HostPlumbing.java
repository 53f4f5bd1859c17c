package org.egressgw.core.host;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.egressgw.packet.Ipv4Address;

/**
 * Everything the gateway changes on the host, done by explicit commands that are printed as they
 * run ({@code plumbing: + ...}) and undone in reverse order at exit ({@code plumbing: - ...}).
 *
 * <p>Egress IP steering, so that replies reach the TUN device and the kernel never answers them
 * itself (with RSTs or port-unreachables):
 * <ul>
 *   <li>an egress IP that is <b>not</b> assigned to any interface: a host route to it via the TUN
 *       device and a proxy-ARP entry on the egress interface, so the external network can resolve it;
 *   <li>an egress IP that <b>is</b> assigned to an interface (a local address): tc ingress filters on
 *       the egress interface redirect TCP/UDP packets to it whose destination port lies in the NAT
 *       port range, and ICMP echo replies whose identifier does, into the TUN device before the
 *       kernel's IP stack sees them. The host's own connections from that address must then use
 *       ports outside the NAT range ({@code net.ipv4.ip_local_port_range}).
 * </ul>
 */
public final class HostPlumbing implements AutoCloseable {
    /** tc filter preference of the first egress IP's filters; each further IP takes the next one. */
    static final int TC_PREF = 49152;

    private final PrintStream log;
    private final Deque<List<String>> undo = new ArrayDeque<>();
    /** What was done for each steered egress IP, undone when the IP is released or at exit. */
    private final Map<Integer, Deque<List<String>>> egressUndo = new LinkedHashMap<>();
    private final Map<Integer, Integer> tcPrefs = new HashMap<>();
    /** Whether the TUN device got its link-local address (for the first egress IP assigned to this host). */
    private boolean tunAddressed;

    public HostPlumbing(PrintStream log) {
        this.log = log;
    }

    /** Link-local address given to the TUN device under loose reverse-path filtering. */
    static final String TUN_LINK_LOCAL = "169.254.247.2/32";
    /** Link-local address given to the TAP device under loose reverse-path filtering. */
    static final String TAP_LINK_LOCAL = "169.254.247.1/32";
    /**
     * The TAP device's Ethernet address, set by the gateway: frames written to it must be addressed to it, and
     * an address the kernel chose at random may be replaced by udev (MACAddressPolicy) after it was read.
     */
    public static final long TAP_MAC = 0x02_65_67_77_00_01L;

    /** Brings the TUN device up with the given MTU and makes it accept what the gateway writes. */
    public void setUpTun(String device, int mtu) throws IOException {
        run(List.of("ip", "link", "set", "dev", device, "mtu", Integer.toString(mtu), "up"));
        // packets written with an egress IP that is a local address must not be dropped as martians
        acceptLocalSources(device);
        sysctl("net/ipv4/ip_forward", "1", true);
    }

    /** Lets the kernel route what is written into {@code device} with one of this host's addresses as source. */
    private void acceptLocalSources(String device) throws IOException {
        sysctl("net/ipv4/conf/" + device + "/rp_filter", "0", false);
        sysctl("net/ipv4/conf/" + device + "/accept_local", "1", false);
    }

    /**
     * The reverse-path filtering a device of the gateway may end up with: the stricter of
     * {@code net.ipv4.conf.all.rp_filter} and {@code .default.rp_filter} (0 off, 1 strict, 2 loose), 1 if
     * either is 1. The stricter of "all" and a device's own value applies to that device, and a new device
     * starts with "default" — and on systemd hosts udev may set a device's value (to 2) again after the
     * gateway wrote 0, so the gateway plans for this value rather than for its own 0.
     */
    public static int reversePathFilter() throws IOException {
        int all = readInt("/proc/sys/net/ipv4/conf/all/rp_filter");
        int dflt = readInt("/proc/sys/net/ipv4/conf/default/rp_filter");
        return all == 1 || dflt == 1 ? 1 : Math.max(all, dflt);
    }

    private static int readInt(String path) throws IOException {
        return Integer.parseInt(Files.readString(Path.of(path), StandardCharsets.US_ASCII).trim());
    }

    /**
     * Under loose reverse-path filtering the kernel drops a packet whose source is one of its own addresses
     * when it arrives on an interface without any IPv4 address (even with accept_local) - exactly what the
     * gateway writes into its devices. A link-local /32 on the device lets such packets through; it goes
     * with the device. Added whatever the filter says now: udev may turn it on for the device later. Only where
     * needed: an address on the TUN device would become the source of the kernel's own ICMP errors routed
     * through it (a traceroute from a pod would show it), so the TUN device gets one only once an egress IP
     * assigned to this host is steered, the TAP device (never a route's way out) always.
     */
    private void addressForLooseReversePath(String device, String cidr) throws IOException {
        log.println("plumbing: " + device + " gets a link-local address: under loose reverse-path filtering (rp_filter=2,"
                + " e.g. set by systemd on every interface) the kernel drops what is written into an interface without"
                + " an address when its source is local");
        run(List.of("ip", "addr", "add", cidr, "dev", device, "scope", "link"));
    }

    /**
     * Caps the size of the super-packets the kernel hands the TUN device (larger ones it cuts first); best
     * effort, since the datapath drops a super-packet that would not fit anyway ({@code offload_invalid}).
     */
    public void gsoMaxSize(String device, int bytes) {
        try {
            run(List.of("ip", "link", "set", "dev", device, "gso_max_size", Integer.toString(bytes)));
        } catch (IOException e) {
            log.println("plumbing: ! " + e.getMessage());
        }
    }

    /**
     * Brings up the TAP device offloaded tunnel packets are written to: the kernel must route what arrives
     * on it although its source is one of this host's addresses (accept_local, no reverse-path filter), and
     * the device itself has no use for IPv6 (no router solicitations queued on it).
     */
    public void setUpTap(String device, int mtu) throws IOException {
        run(List.of("ip", "link", "set", "dev", device, "address", org.egressgw.packet.MacAddress.toString(TAP_MAC),
                "mtu", Integer.toString(mtu), "up"));
        acceptLocalSources(device);
        sysctl("net/ipv4/conf/" + device + "/forwarding", "1", false);
        if (Files.exists(Path.of("/proc/sys/net/ipv6/conf", device, "disable_ipv6"))) {
            sysctl("net/ipv6/conf/" + device + "/disable_ipv6", "1", false);
        }
        addressForLooseReversePath(device, TAP_LINK_LOCAL);
        if (untracked) {
            run(List.of("nft", "add", "rule", "ip", NFT_TABLE, "prerouting", "iifname", device, "notrack"));
        }
    }

    /** nftables table holding the gateway's notrack rules. */
    static final String NFT_TABLE = "egress_gateway";
    private boolean untracked;

    /**
     * Keeps the kernel's own connection tracking off the gateway's traffic, when something on the
     * host has loaded it (a firewall using conntrack, any NAT rule): the tunnel's datagrams, what the
     * gateway writes into the TUN device and forwards, and replies to egress IPs. Otherwise the
     * kernel would track every translated flow a second time, pay for it per packet, and drop new
     * flows once its own table ({@code nf_conntrack_max}) is full. Best effort: without nft the
     * gateway says so and goes on. A host firewall that accepts forwarded traffic only for tracked
     * connections must also accept untracked ones from the TUN device.
     */
    public synchronized void untrack(String device, int listenIp, int tunnelPort, int tunnelDstPort) {
        if (!commandWorks(List.of("nft", "--version"))) {
            log.println("plumbing: ! nft not found: if the kernel's conntrack is loaded it also tracks the gateway's flows");
            return;
        }
        String ip = Ipv4Address.toString(listenIp);
        try {
            run(List.of("nft", "add", "table", "ip", NFT_TABLE), List.of("nft", "delete", "table", "ip", NFT_TABLE));
            run(List.of("nft", "flush", "table", "ip", NFT_TABLE));
            run(List.of("nft", "add", "set", "ip", NFT_TABLE, "egress_ips", "{ type ipv4_addr; }"));
            run(List.of("nft", "add", "chain", "ip", NFT_TABLE, "prerouting",
                    "{ type filter hook prerouting priority raw; }"));
            run(List.of("nft", "add", "chain", "ip", NFT_TABLE, "output", "{ type filter hook output priority raw; }"));
            run(List.of("nft", "add", "rule", "ip", NFT_TABLE, "prerouting", "iifname", device, "notrack"));
            run(List.of("nft", "add", "rule", "ip", NFT_TABLE, "prerouting", "ip", "daddr", ip, "udp", "dport",
                    Integer.toString(tunnelPort), "notrack"));
            run(List.of("nft", "add", "rule", "ip", NFT_TABLE, "prerouting", "ip", "daddr", "@egress_ips", "notrack"));
            run(List.of("nft", "add", "rule", "ip", NFT_TABLE, "output", "ip", "saddr", ip, "udp", "dport",
                    Integer.toString(tunnelDstPort), "notrack"));
            untracked = true;
        } catch (IOException e) {
            log.println("plumbing: ! could not add notrack rules (" + e.getMessage() + "); the kernel may track the gateway's flows");
        }
    }

    private static boolean commandWorks(List<String> cmd) {
        try {
            return exec(cmd) == null;
        } catch (IOException e) {
            return false;
        }
    }

    /** The egress IPs currently steered. */
    public synchronized java.util.Set<Integer> steered() {
        return java.util.Set.copyOf(egressUndo.keySet());
    }

    /**
     * Steers replies for {@code egressIp} into the TUN device (see the class comment); a no-op
     * for an IP already steered.
     */
    public synchronized void steerEgressIp(int egressIp, boolean assigned, String egressInterface, String device,
            int portLow, int portHigh) throws IOException {
        if (egressUndo.containsKey(egressIp)) {
            return;
        }
        Deque<List<String>> ipUndo = new ArrayDeque<>();
        egressUndo.put(egressIp, ipUndo);
        String ip = Ipv4Address.toString(egressIp);
        log.println("plumbing: egress IP " + ip + (assigned ? " is assigned to this host" : " is not assigned to this host"));
        if (untracked) {
            run(List.of("nft", "add", "element", "ip", NFT_TABLE, "egress_ips", "{ " + ip + " }"));
            ipUndo.push(List.of("nft", "delete", "element", "ip", NFT_TABLE, "egress_ips", "{ " + ip + " }"));
        }
        if (assigned && !tunAddressed) {
            // what the gateway writes into the TUN device now has a local source address
            if (reversePathFilter() == 1) {
                log.println("plumbing: ! net.ipv4.conf.all.rp_filter or .default.rp_filter is 1 (strict): the kernel"
                        + " drops what the gateway writes into " + device + " with " + ip + " as source; set them to"
                        + " 2 (loose) or 0");
            }
            addressForLooseReversePath(device, TUN_LINK_LOCAL);
            tunAddressed = true;
        }
        if (!assigned) {
            run(List.of("ip", "route", "add", ip + "/32", "dev", device));
            ipUndo.push(List.of("ip", "route", "del", ip + "/32", "dev", device));
            run(List.of("ip", "neigh", "add", "proxy", ip, "dev", egressInterface));
            ipUndo.push(List.of("ip", "neigh", "del", "proxy", ip, "dev", egressInterface));
            return;
        }
        ensureIngressQdisc(egressInterface);
        int pref = TC_PREF;
        while (tcPrefs.containsValue(pref)) {
            pref++;
        }
        tcPrefs.put(egressIp, pref);
        String tcPref = Integer.toString(pref);
        ipUndo.push(List.of("tc", "filter", "del", "dev", egressInterface, "ingress", "pref", tcPref));
        for (int[] block : PortBlocks.of(portLow, portHigh)) {
            for (String proto : new String[] {"6", "17"}) {
                run(List.of("tc", "filter", "add", "dev", egressInterface, "ingress", "pref", tcPref,
                        "protocol", "ip", "u32", "match", "ip", "dst", ip + "/32", "match", "ip", "protocol", proto, "0xff",
                        "match", "ip", "dport", hex(block[0]), hex(block[1]),
                        "action", "mirred", "egress", "redirect", "dev", device));
            }
            // ICMP echo reply (type 0) whose identifier lies in the block; offsets assume no IP options
            run(List.of("tc", "filter", "add", "dev", egressInterface, "ingress", "pref", tcPref,
                    "protocol", "ip", "u32", "match", "ip", "dst", ip + "/32", "match", "ip", "protocol", "1", "0xff",
                    "match", "u8", "0", "0xff", "at", "20", "match", "u16", hex(block[0]), hex(block[1]), "at", "24",
                    "action", "mirred", "egress", "redirect", "dev", device));
        }
        // ICMP errors about translated flows (destination unreachable, time exceeded, parameter problem)
        for (String type : new String[] {"3", "11", "12"}) {
            run(List.of("tc", "filter", "add", "dev", egressInterface, "ingress", "pref", tcPref,
                    "protocol", "ip", "u32", "match", "ip", "dst", ip + "/32", "match", "ip", "protocol", "1", "0xff",
                    "match", "u8", type, "0xff", "at", "20",
                    "action", "mirred", "egress", "redirect", "dev", device));
        }
    }

    /** Undoes the steering of {@code egressIp} (when its last connection is gone after a policy change). */
    public synchronized void releaseEgressIp(int egressIp) {
        Deque<List<String>> ipUndo = egressUndo.remove(egressIp);
        tcPrefs.remove(egressIp);
        if (ipUndo != null) {
            runUndo(ipUndo);
        }
    }

    private void ensureIngressQdisc(String dev) throws IOException {
        String qdiscs = output(List.of("tc", "qdisc", "show", "dev", dev, "ingress"));
        if (qdiscs.contains("ingress")) {
            return;
        }
        run(List.of("tc", "qdisc", "add", "dev", dev, "ingress"), List.of("tc", "qdisc", "del", "dev", dev, "ingress"));
    }

    private static String hex(int v) {
        return "0x" + Integer.toHexString(v);
    }

    /** Writes a sysctl; when {@code restore} the previous value is put back at exit if it changed. */
    void sysctl(String key, String value, boolean restore) throws IOException {
        Path p = Path.of("/proc/sys", key);
        String old = Files.readString(p, StandardCharsets.US_ASCII).trim();
        if (old.equals(value)) {
            log.println("plumbing: = sysctl " + key.replace('/', '.') + "=" + value + " (already)");
            return;
        }
        log.println("plumbing: + sysctl " + key.replace('/', '.') + "=" + value + " (was " + old + ")");
        Files.writeString(p, value, StandardCharsets.US_ASCII);
        if (restore) {
            undo.push(List.of("#sysctl", key, old));
        }
    }

    private void run(List<String> cmd, List<String> undoCmd) throws IOException {
        run(cmd);
        undo.push(undoCmd);
    }

    private void run(List<String> cmd) throws IOException {
        log.println("plumbing: + " + String.join(" ", cmd));
        String out = exec(cmd);
        if (out != null) {
            throw new IOException("host plumbing failed: '" + String.join(" ", cmd) + "': " + out.trim());
        }
    }

    private static String output(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + cmd, e);
        }
    }

    /** Runs a command; returns null on success, or its output on failure. */
    private static String exec(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "timed out";
            }
            return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted running " + cmd, e);
        }
    }

    /** Undoes everything, newest first; failures are printed and do not stop the rest. */
    @Override
    public synchronized void close() {
        List<Integer> ips = new ArrayList<>(egressUndo.keySet());
        java.util.Collections.reverse(ips);
        for (int ip : ips) {
            releaseEgressIp(ip);
        }
        runUndo(undo);
    }

    private void runUndo(Deque<List<String>> undo) {
        while (!undo.isEmpty()) {
            List<String> cmd = undo.pop();
            if (cmd.get(0).equals("#sysctl")) {
                try {
                    Files.writeString(Path.of("/proc/sys", cmd.get(1)), cmd.get(2), StandardCharsets.US_ASCII);
                    log.println("plumbing: - sysctl " + cmd.get(1).replace('/', '.') + "=" + cmd.get(2));
                } catch (IOException e) {
                    log.println("plumbing: ! could not restore " + cmd.get(1) + ": " + e.getMessage());
                }
                continue;
            }
            log.println("plumbing: - " + String.join(" ", cmd));
            try {
                String out = exec(cmd);
                if (out != null) {
                    log.println("plumbing: ! " + out.trim());
                }
            } catch (IOException e) {
                log.println("plumbing: ! " + e.getMessage());
            }
        }
    }
}
