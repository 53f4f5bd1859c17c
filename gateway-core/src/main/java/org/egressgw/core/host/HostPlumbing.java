package org.egressgw.core.host;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.tunio.netlink.RtNetlink;

/**
 * Everything the gateway changes on the host, printed as it is done ({@code plumbing: + ...}) and undone in
 * reverse order at exit ({@code plumbing: - ...}): its devices' settings, sysctls, the nftables notrack table, and
 * through {@link EgressIpPlumbing} the steering of each egress IP's replies. Before anything is added, what a
 * gateway that did not exit cleanly left behind is found by its {@link Marks} and removed ({@link Leftovers}).
 * {@link HostReconciler} checks all of it continuously and restores what the host lost.
 *
 * <p>Threading: every method is synchronized on this object — the control thread (policy changes), the
 * housekeeping thread (drained egress IPs) and the reconciler take turns; the netlink request socket is used only
 * under this lock.
 */
public final class HostPlumbing implements AutoCloseable {
    /** Link-local address given to the TUN device under loose reverse-path filtering. */
    static final int TUN_LINK_LOCAL = Ipv4Address.parse("169.254.247.2");
    /** Link-local address given to the TAP device under loose reverse-path filtering. */
    static final int TAP_LINK_LOCAL = Ipv4Address.parse("169.254.247.1");
    /**
     * The TAP device's Ethernet address, set by the gateway: frames written to it must be addressed to it, and an
     * address the kernel chose at random may be replaced by udev (MACAddressPolicy) after it was read.
     */
    public static final long TAP_MAC = 0x02_65_67_77_00_01L;

    private final PrintStream log;
    private final Commands cmd;
    private final RtNetlink rt;
    private final PlumbingState state;
    private final Deque<List<String>> undo = new ArrayDeque<>();
    private EgressIpPlumbing ips;
    private String tun;
    private int tunMtu;
    private String tap;
    private int tapMtu;
    private boolean untracked;
    private int[] untrackArgs;
    private boolean closed;
    private int virtualIp;
    private String virtualIpDevice;
    /** A dead gateway's tc filters, removed once this one's are in place ({@link #dropTcLeftovers}). */
    private List<Leftovers.TcFilter> tcLeftovers;

    /**
     * Opens the netlink socket, reads what a crashed predecessor recorded in {@code stateFile} and removes its
     * leftovers — call with the {@link GatewayLock} held.
     *
     * @param stateFile where the state that has no mark on the host is kept; null for none (tests)
     */
    public HostPlumbing(PrintStream log, Path stateFile) throws IOException {
        this.log = log;
        this.cmd = new Commands(log);
        this.rt = RtNetlink.open();
        try {
            this.state = new PlumbingState(stateFile);
            int removed = Leftovers.remove(rt, cmd, log);
            tcLeftovers = Leftovers.tcFilters(rt);
            if (!tcLeftovers.isEmpty()) {
                log.println("plumbing: found " + tcLeftovers.size() + " sets of leftover tc filters; they go once this"
                        + " gateway's own are in place");
            }
            if (removed > 0 || state.inherited()) {
                log.println("plumbing: a gateway that did not exit cleanly left " + removed + " pieces of plumbing"
                        + " (removed)" + (state.inherited() ? " and its record of the host's original settings (kept)" : ""));
            }
        } catch (IOException | RuntimeException e) {
            rt.close();
            throw e;
        }
    }

    /** Brings the TUN device up with the given MTU and makes it accept what the gateway writes. */
    public synchronized void setUpTun(String device, int mtu) throws IOException {
        this.tun = device;
        this.tunMtu = mtu;
        cmd.add(List.of("ip", "link", "set", "dev", device, "mtu", Integer.toString(mtu), "up"));
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
     * {@code net.ipv4.conf.all.rp_filter} and {@code .default.rp_filter} (0 off, 1 strict, 2 loose), 1 if either
     * is 1. The stricter of "all" and a device's own value applies to that device, and a new device starts with
     * "default" — and on systemd hosts udev may set a device's value (to 2) again after the gateway wrote 0, so the
     * gateway plans for this value rather than for its own 0.
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
     * Caps the size of the super-packets the kernel hands the TUN device (larger ones it cuts first); best effort,
     * since the datapath drops a super-packet that would not fit anyway ({@code offload_invalid}).
     */
    public synchronized void gsoMaxSize(String device, int bytes) {
        try {
            cmd.add(List.of("ip", "link", "set", "dev", device, "gso_max_size", Integer.toString(bytes)));
        } catch (IOException e) {
            log.println("plumbing: ! " + e.getMessage());
        }
    }

    /**
     * Brings up the TAP device offloaded tunnel packets are written to: the kernel must route what arrives on it
     * although its source is one of this host's addresses (accept_local, no reverse-path filter), and the device
     * itself has no use for IPv6 (no router solicitations queued on it). Under loose reverse-path filtering the
     * kernel drops a packet with a local source arriving on an interface without any IPv4 address, so it gets a
     * link-local /32 (it goes with the device).
     */
    public synchronized void setUpTap(String device, int mtu) throws IOException {
        this.tap = device;
        this.tapMtu = mtu;
        cmd.add(List.of("ip", "link", "set", "dev", device, "address", org.egressgw.packet.MacAddress.toString(TAP_MAC),
                "mtu", Integer.toString(mtu), "up"));
        acceptLocalSources(device);
        sysctl("net/ipv4/conf/" + device + "/forwarding", "1", false);
        if (Files.exists(Path.of("/proc/sys/net/ipv6/conf", device, "disable_ipv6"))) {
            sysctl("net/ipv6/conf/" + device + "/disable_ipv6", "1", false);
        }
        addLinkLocal(device, TAP_LINK_LOCAL);
        if (untracked) {
            cmd.add(List.of("nft", "add", "rule", "ip", Marks.NFT_TABLE, "prerouting", "iifname", device, "notrack"));
        }
    }

    /** A link-local /32 on one of the gateway's devices (goes with the device). */
    void addLinkLocal(String device, int address) throws IOException {
        log.println("plumbing: + ip addr add " + Ipv4Address.toString(address) + "/32 dev " + device + " scope link"
                + " (under loose reverse-path filtering the kernel drops what is written into an interface without"
                + " an address when its source is local)");
        rt.addAddress(rt.ifindex(device), address, 32, org.egressgw.tunio.netlink.RtMsg.RT_SCOPE_LINK);
    }

    void removeLinkLocal(String device, int address) throws IOException {
        log.println("plumbing: - ip addr del " + Ipv4Address.toString(address) + "/32 dev " + device);
        rt.deleteAddress(rt.ifindex(device), address, 32);
    }

    /**
     * Keeps the kernel's own connection tracking off the gateway's traffic, when something on the host has loaded it
     * (a firewall using conntrack, any NAT rule): the tunnel's datagrams, what the gateway writes into the TUN device
     * and forwards, and replies to egress IPs. Otherwise the kernel would track every translated flow a second time,
     * pay for it per packet, and drop new flows once its own table ({@code nf_conntrack_max}) is full. Best effort:
     * without nft the gateway says so and goes on. A host firewall that accepts forwarded traffic only for tracked
     * connections must also accept untracked ones from the TUN device.
     */
    public synchronized void untrack(String device, int listenIp, int tunnelPort, int tunnelDstPort) {
        if (!Commands.quietly(List.of("nft", "--version"))) {
            log.println("plumbing: ! nft not found: if the kernel's conntrack is loaded it also tracks the gateway's flows");
            return;
        }
        untrackArgs = new int[] {listenIp, tunnelPort, tunnelDstPort};
        try {
            addNftTable(device);
            undo.push(List.of("nft", "delete", "table", "ip", Marks.NFT_TABLE));
            untracked = true;
        } catch (IOException e) {
            log.println("plumbing: ! could not add notrack rules (" + e.getMessage() + "); the kernel may track the gateway's flows");
        }
    }

    private void addNftTable(String device) throws IOException {
        String t = Marks.NFT_TABLE;
        String ip = Ipv4Address.toString(untrackArgs[0]);
        cmd.add(List.of("nft", "add", "table", "ip", t, "{ comment \"egress-gateway: notrack for its traffic\"; }"));
        cmd.add(List.of("nft", "flush", "table", "ip", t));
        cmd.add(List.of("nft", "add", "set", "ip", t, "egress_ips", "{ type ipv4_addr; }"));
        cmd.add(List.of("nft", "add", "chain", "ip", t, "prerouting", "{ type filter hook prerouting priority raw; }"));
        cmd.add(List.of("nft", "add", "chain", "ip", t, "output", "{ type filter hook output priority raw; }"));
        cmd.add(List.of("nft", "add", "rule", "ip", t, "prerouting", "iifname", device, "notrack"));
        cmd.add(List.of("nft", "add", "rule", "ip", t, "prerouting", "ip", "daddr", ip, "udp", "dport",
                Integer.toString(untrackArgs[1]), "notrack"));
        cmd.add(List.of("nft", "add", "rule", "ip", t, "prerouting", "ip", "daddr", "@egress_ips", "notrack"));
        cmd.add(List.of("nft", "add", "rule", "ip", t, "output", "ip", "saddr", ip, "udp", "dport",
                Integer.toString(untrackArgs[2]), "notrack"));
        if (tap != null) {
            cmd.add(List.of("nft", "add", "rule", "ip", t, "prerouting", "iifname", tap, "notrack"));
        }
    }

    /** Sets up the steering of egress IPs' replies into {@code device} (after {@link #setUpTun}). */
    public synchronized void egressSide(String egressInterface, String device, int portLow, int portHigh) {
        Set<Integer> reserved = new java.util.HashSet<>();
        for (Leftovers.TcFilter f : tcLeftovers) {
            if (f.device().equals(egressInterface)) {
                reserved.add(f.pref());
            }
        }
        this.ips = new EgressIpPlumbing(cmd, rt, state, log, egressInterface, device, portLow, portHigh, () -> untracked,
                reserved);
    }

    /** Removes a dead gateway's tc filters, once this gateway's are in place (the reconciler's passes call it). */
    void dropTcLeftovers() {
        if (!tcLeftovers.isEmpty()) {
            Leftovers.removeTc(tcLeftovers, cmd, log);
            tcLeftovers = List.of();
        }
    }

    /** The egress IPs currently steered. */
    public synchronized Set<Integer> steered() {
        return ips == null ? Set.of() : ips.steered();
    }

    /** Steers replies for {@code egressIp} into the TUN device ({@link EgressIpPlumbing}); a no-op if it is already. */
    public synchronized void steerEgressIp(int egressIp) throws IOException {
        ips.steer(egressIp);
    }

    /** Whether the egress IPs are answered for on the egress segment (in a group: while this member is active). */
    public synchronized void announceEgressIps(boolean on) {
        ips.announcing(on);
    }

    /**
     * Takes the group's floating tunnel address onto {@code device} (a /32, marked {@code proto 101} so that a
     * successor removes it if this gateway dies holding it) and announces it with gratuitous ARP.
     */
    public synchronized void claimVirtualIp(int address, String device) throws IOException {
        virtualIp = address;
        virtualIpDevice = device;
        log.println("plumbing: + ip addr add " + Ipv4Address.toString(address) + "/32 dev " + device + " proto "
                + Marks.PROTOCOL + " (the group's virtual IP)");
        rt.addAddress(rt.ifindex(device), address, 32, org.egressgw.tunio.netlink.RtMsg.RT_SCOPE_UNIVERSE, Marks.PROTOCOL);
        EgressIpPlumbing.gratuitousArp(device, address, log);
    }

    /** Gives the floating tunnel address back (a no-op if this member does not hold it). */
    public synchronized void releaseVirtualIp() {
        if (virtualIp == 0) {
            return;
        }
        log.println("plumbing: - ip addr del " + Ipv4Address.toString(virtualIp) + "/32 dev " + virtualIpDevice);
        try {
            rt.deleteAddress(rt.ifindex(virtualIpDevice), virtualIp, 32);
        } catch (IOException | RuntimeException e) {
            log.println("plumbing: ! " + e.getMessage());
        }
        virtualIp = 0;
    }

    /** The floating address this member holds, or 0. */
    synchronized int virtualIp() {
        return virtualIp;
    }

    String virtualIpDevice() {
        return virtualIpDevice;
    }

    /** Undoes the steering of {@code egressIp} (when its last connection is gone after a policy change). */
    public synchronized void releaseEgressIp(int egressIp) {
        ips.release(egressIp);
    }

    /** Writes a sysctl; when {@code restore} the original value is put back at exit (even after a crash in between). */
    void sysctl(String key, String value, boolean restore) throws IOException {
        Path p = Path.of("/proc/sys", key);
        String current = Files.readString(p, StandardCharsets.US_ASCII).trim();
        String original = restore && state.originalSysctl(key) != null ? state.originalSysctl(key) : current;
        if (restore && !original.equals(value)) {
            state.sysctlChanged(key, original);
            undo.push(List.of("#sysctl", key, original));
        }
        if (current.equals(value)) {
            log.println("plumbing: = sysctl " + key.replace('/', '.') + "=" + value + " (already"
                    + (original.equals(current) ? "" : "; " + original + " before a previous gateway changed it") + ")");
            return;
        }
        log.println("plumbing: + sysctl " + key.replace('/', '.') + "=" + value + " (was " + current + ")");
        Files.writeString(p, value, StandardCharsets.US_ASCII);
    }

    // ---------------------------------------------------------------- for the reconciler (under this lock)

    RtNetlink netlink() {
        return rt;
    }

    EgressIpPlumbing egressIps() {
        return ips;
    }

    String tun() {
        return tun;
    }

    String tap() {
        return tap;
    }

    boolean untracked() {
        return untracked;
    }

    /** Brings one of the gateway's devices up again (with its MTU) after something took it down. */
    void bringUp(String device) throws IOException {
        int mtu = device.equals(tun) ? tunMtu : tapMtu;
        cmd.add(List.of("ip", "link", "set", "dev", device, "mtu", Integer.toString(mtu), "up"));
    }

    /** Re-creates the nftables table and its elements after something deleted it. */
    void restoreNftTable() throws IOException {
        addNftTable(tun);
        for (int ip : ips.steered()) {
            ips.addNftElement(ip);
        }
    }

    boolean isClosed() {
        return closed;
    }

    /** Undoes everything, newest first; failures are printed and do not stop the rest. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        dropTcLeftovers();
        releaseVirtualIp();
        if (ips != null) {
            ips.releaseAll();
        }
        while (!undo.isEmpty()) {
            List<String> c = undo.pop();
            if (c.get(0).equals("#sysctl")) {
                try {
                    Files.writeString(Path.of("/proc/sys", c.get(1)), c.get(2), StandardCharsets.US_ASCII);
                    state.sysctlRestored(c.get(1));
                    log.println("plumbing: - sysctl " + c.get(1).replace('/', '.') + "=" + c.get(2));
                } catch (IOException e) {
                    log.println("plumbing: ! could not restore " + c.get(1) + ": " + e.getMessage());
                }
                continue;
            }
            cmd.remove(c);
        }
        state.delete();
        rt.close();
    }
}
