package org.egressgw.core.host;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.egressgw.tunio.netlink.GratuitousArp;
import org.egressgw.tunio.netlink.RtNetlink;
import org.egressgw.tunio.netlink.WriteResult;

/**
 * What brings the replies for one egress IP to the gateway's TUN device, whether or not the IP is assigned to an
 * interface of this host — both mechanisms at once, so that nothing has to switch when keepalived or an operator
 * adds or removes the address (a switch would leave a window in which the kernel answers a reply with a RST):
 *
 * <ul>
 *   <li>tc u32 filters on the egress interface's ingress (one ingress qdisc, shared) redirect TCP and UDP with a
 *       destination port in the NAT range, ICMP echo replies with an identifier in it, and ICMP errors, into the TUN
 *       device before the kernel's IP stack sees them — what makes an assigned (local) IP work;
 *   <li>a route {@code IP/32 dev TUN proto 101} and a proxy-ARP entry on the egress interface — what makes an
 *       unassigned IP reachable and routes what the filters do not match;
 *   <li>an element of the nftables set of untracked addresses, when notrack is on;
 *   <li>gratuitous ARP on the egress interface when the IP is first steered, when the egress link comes back and
 *       when its proxy entry had to be restored, so neighbours learn (again) where it lives.
 * </ul>
 *
 * <p>Each piece carries the gateway's {@link Marks}. The {@code ensure*} methods find a missing piece and restore it
 * (the {@link HostReconciler} calls them); what this class created it removes again, what it found already there
 * (an operator's proxy entry, say) it leaves.
 *
 * <p>Threading: called with the {@link HostPlumbing}'s lock held.
 */
final class EgressIpPlumbing {
    private final Commands cmd;
    private final RtNetlink rt;
    private final PlumbingState state;
    private final PrintStream log;
    private final String egressInterface;
    private final String device;
    private final int portLow;
    private final int portHigh;
    private final BooleanSupplier untracked;
    private final Map<Integer, Steered> ips = new LinkedHashMap<>();
    /**
     * Whether this gateway answers for its egress IPs on the egress segment (proxy ARP, gratuitous ARP): always on
     * its own; in a group only while it is the active member, or two members would claim the same addresses.
     */
    private boolean announcing = true;
    /** tc preferences not to use: a dead gateway's filters, still in place until this one's are. */
    private final Set<Integer> reservedPrefs;

    /** One steered egress IP: its tc preference and whether its proxy entry is the gateway's own. */
    private static final class Steered {
        final int pref;
        boolean proxyOwned;

        Steered(int pref) {
            this.pref = pref;
        }
    }

    EgressIpPlumbing(Commands cmd, RtNetlink rt, PlumbingState state, PrintStream log, String egressInterface,
            String device, int portLow, int portHigh, BooleanSupplier untracked, Set<Integer> reservedPrefs) {
        this.reservedPrefs = Set.copyOf(reservedPrefs);
        this.cmd = cmd;
        this.rt = rt;
        this.state = state;
        this.log = log;
        this.egressInterface = egressInterface;
        this.device = device;
        this.portLow = portLow;
        this.portHigh = portHigh;
        this.untracked = untracked;
    }

    String egressInterface() {
        return egressInterface;
    }

    String device() {
        return device;
    }

    Set<Integer> steered() {
        return Set.copyOf(ips.keySet());
    }

    /** Steers {@code ip} (a no-op if it is already): every piece, then gratuitous ARP. */
    void steer(int ip) throws IOException {
        if (ips.containsKey(ip)) {
            return;
        }
        int pref = Marks.TC_PREF;
        while (prefTaken(pref)) {
            pref++;
        }
        Steered s = new Steered(pref);
        ips.put(ip, s);
        log.println("plumbing: steering replies to egress IP " + Marks.ip(ip) + " into " + device);
        if (untracked.getAsBoolean()) {
            addNftElement(ip);
        }
        ensureQdisc();
        addTcFilters(ip, s.pref);
        addRoute(ip);
        if (announcing) {
            addProxy(ip, s);
            announce(ip);
        }
    }

    boolean announcing() {
        return announcing;
    }

    /**
     * Starts or stops answering for the egress IPs on the egress segment: their proxy-ARP entries are added (and
     * announced with gratuitous ARP) or removed. The filters and routes stay: they are harmless where no traffic
     * arrives, and in place the moment it does.
     */
    void announcing(boolean on) {
        if (on == announcing) {
            return;
        }
        announcing = on;
        for (Map.Entry<Integer, Steered> e : ips.entrySet()) {
            int ip = e.getKey();
            Steered s = e.getValue();
            if (on) {
                try {
                    addProxy(ip, s);
                } catch (IOException ex) {
                    log.println("plumbing: ! " + ex.getMessage());
                }
                announce(ip);
            } else if (s.proxyOwned) {
                netlinkRemove("proxy ARP entry " + Marks.ip(ip) + " dev " + egressInterface,
                        () -> rt.deleteProxyNeighbour(rt.ifindex(egressInterface), ip));
                s.proxyOwned = false;
            }
        }
    }

    private boolean prefTaken(int pref) {
        if (reservedPrefs.contains(pref)) {
            return true;
        }
        for (Steered s : ips.values()) {
            if (s.pref == pref) {
                return true;
            }
        }
        return false;
    }

    /** Removes what was added for {@code ip} (when its last connection is gone after a policy change, or at exit). */
    void release(int ip) {
        Steered s = ips.remove(ip);
        if (s == null) {
            return;
        }
        if (s.proxyOwned) {
            netlinkRemove("proxy ARP entry " + Marks.ip(ip) + " dev " + egressInterface,
                    () -> rt.deleteProxyNeighbour(rt.ifindex(egressInterface), ip));
        }
        netlinkRemove("route " + Marks.ip(ip) + "/32 dev " + device + " proto " + Marks.PROTOCOL,
                () -> rt.deleteRoute(Marks.MAIN_TABLE, ip, 32, 0, Marks.PROTOCOL));
        cmd.remove(List.of("tc", "filter", "del", "dev", egressInterface, "ingress", "pref", Integer.toString(s.pref)));
        if (untracked.getAsBoolean()) {
            cmd.remove(nftElement("delete", ip));
        }
    }

    /** Releases every IP, newest first, then the ingress qdisc if the gateway created it. */
    void releaseAll() {
        List<Integer> all = new ArrayList<>(ips.keySet());
        java.util.Collections.reverse(all);
        for (int ip : all) {
            release(ip);
        }
        if (state.ownsIngressQdisc(egressInterface)) {
            cmd.remove(List.of("tc", "qdisc", "del", "dev", egressInterface, "ingress"));
            try {
                state.ingressQdisc(egressInterface, false);
            } catch (IOException e) {
                log.println("plumbing: ! " + e.getMessage());
            }
        }
    }

    // ---------------------------------------------------------------- the pieces

    /** Puts {@code ip} into the nftables set of untracked addresses. */
    void addNftElement(int ip) throws IOException {
        cmd.add(nftElement("add", ip));
    }

    private static List<String> nftElement(String verb, int ip) {
        return List.of("nft", verb, "element", "ip", Marks.NFT_TABLE, "egress_ips", "{ " + Marks.ip(ip) + " }");
    }

    /** The egress interface's ingress qdisc, created (and recorded as the gateway's) if missing; true if created. */
    boolean ensureQdisc() throws IOException {
        if (Commands.output(List.of("tc", "qdisc", "show", "dev", egressInterface, "ingress")).contains("ingress")) {
            return false;
        }
        state.ingressQdisc(egressInterface, true);
        cmd.add(List.of("tc", "qdisc", "add", "dev", egressInterface, "ingress"));
        return true;
    }

    /** The filters of one egress IP: TCP/UDP and ICMP echo replies per port block, and ICMP errors. */
    private void addTcFilters(int ip, int pref) throws IOException {
        for (List<String> f : tcFilters(ip, pref)) {
            cmd.add(f);
        }
    }

    private List<List<String>> tcFilters(int ip, int pref) {
        String addr = Marks.ip(ip) + "/32";
        String p = Integer.toString(pref);
        String cookie = Marks.tcCookie(ip);
        List<List<String>> filters = new ArrayList<>();
        for (int[] block : PortBlocks.of(portLow, portHigh)) {
            for (String proto : new String[] {"6", "17"}) {
                filters.add(List.of("tc", "filter", "add", "dev", egressInterface, "ingress", "pref", p, "protocol", "ip",
                        "u32", "match", "ip", "dst", addr, "match", "ip", "protocol", proto, "0xff",
                        "match", "ip", "dport", hex(block[0]), hex(block[1]),
                        "action", "mirred", "egress", "redirect", "dev", device, "cookie", cookie));
            }
            // ICMP echo reply (type 0) whose identifier lies in the block; offsets assume no IP options
            filters.add(List.of("tc", "filter", "add", "dev", egressInterface, "ingress", "pref", p, "protocol", "ip",
                    "u32", "match", "ip", "dst", addr, "match", "ip", "protocol", "1", "0xff",
                    "match", "u8", "0", "0xff", "at", "20", "match", "u16", hex(block[0]), hex(block[1]), "at", "24",
                    "action", "mirred", "egress", "redirect", "dev", device, "cookie", cookie));
        }
        // ICMP errors about translated flows (destination unreachable, time exceeded, parameter problem)
        for (String type : new String[] {"3", "11", "12"}) {
            filters.add(List.of("tc", "filter", "add", "dev", egressInterface, "ingress", "pref", p, "protocol", "ip",
                    "u32", "match", "ip", "dst", addr, "match", "ip", "protocol", "1", "0xff",
                    "match", "u8", type, "0xff", "at", "20",
                    "action", "mirred", "egress", "redirect", "dev", device, "cookie", cookie));
        }
        return filters;
    }

    private void addRoute(int ip) throws IOException {
        log.println("plumbing: + ip route add " + Marks.ip(ip) + "/32 dev " + device + " proto " + Marks.PROTOCOL);
        rt.addRoute(Marks.MAIN_TABLE, ip, 32, rt.ifindex(device), Marks.PROTOCOL);
    }

    private void addProxy(int ip, Steered s) throws IOException {
        log.println("plumbing: + ip neigh add proxy " + Marks.ip(ip) + " dev " + egressInterface + " proto " + Marks.PROTOCOL);
        WriteResult r = rt.addProxyNeighbour(rt.ifindex(egressInterface), ip, Marks.PROTOCOL);
        if (r == WriteResult.CREATED) {
            s.proxyOwned = true;
        } else if (rt.proxyNeighbour(rt.ifindex(egressInterface), ip).map(n -> n.protocol() == Marks.PROTOCOL).orElse(false)) {
            s.proxyOwned = true;
        } else {
            log.println("plumbing: = a proxy ARP entry for " + Marks.ip(ip) + " on " + egressInterface
                    + " was already there (not the gateway's: it stays at exit)");
        }
    }

    /** Gratuitous ARP for {@code ip} on the egress interface (best effort: a link that is down cannot send). */
    void announce(int ip) {
        if (announcing) {
            gratuitousArp(egressInterface, ip, log);
        }
    }

    /** Gratuitous ARP for {@code ip} on {@code device}, said in {@code log} (best effort: failures are said, not thrown). */
    static void gratuitousArp(String device, int ip, PrintStream log) {
        try (GratuitousArp garp = GratuitousArp.open(device)) {
            garp.announce(ip, 2, 20, true);
            log.println("plumbing: gratuitous ARP for " + Marks.ip(ip) + " on " + device);
        } catch (IOException | RuntimeException e) {
            log.println("plumbing: ! gratuitous ARP for " + Marks.ip(ip) + " on " + device + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- checks and repairs

    /** Restores the route of {@code ip} if {@code ourRoutes} (destinations of the gateway's /32 routes) lacks it. */
    boolean ensureRoute(int ip, Set<Integer> ourRoutes) throws IOException {
        if (ourRoutes.contains(ip)) {
            return false;
        }
        addRoute(ip);
        return true;
    }

    /** Restores the proxy entry of {@code ip} if {@code proxied} (addresses proxied on the egress interface) lacks it. */
    boolean ensureProxy(int ip, Set<Integer> proxied) throws IOException {
        Steered s = ips.get(ip);
        if (s == null || !announcing || proxied.contains(ip)) {
            return false;
        }
        addProxy(ip, s);
        return true;
    }

    /** Restores the filters of {@code ip} if {@code tcOutput} ({@code tc filter show} of the ingress) lacks any. */
    boolean ensureTcFilters(int ip, String tcOutput) throws IOException {
        Steered s = ips.get(ip);
        if (s == null) {
            return false;
        }
        List<List<String>> want = tcFilters(ip, s.pref);
        if (Leftovers.filtersWithCookie(tcOutput, Marks.tcCookie(ip)) >= want.size()) {
            return false;
        }
        Commands.quietly(List.of("tc", "filter", "del", "dev", egressInterface, "ingress", "pref", Integer.toString(s.pref)));
        for (List<String> f : want) {
            cmd.add(f);
        }
        return true;
    }

    /** Restores the nftables element of {@code ip} if {@code setOutput} ({@code nft list set ...}) lacks it. */
    boolean ensureNftElement(int ip, String setOutput) throws IOException {
        if (setOutput.matches("(?s).*[\\s{,]" + java.util.regex.Pattern.quote(Marks.ip(ip)) + "[\\s},].*")) {
            return false;
        }
        addNftElement(ip);
        return true;
    }

    private void netlinkRemove(String what, NetlinkWrite write) {
        log.println("plumbing: - " + what);
        try {
            write.run();
        } catch (IOException | RuntimeException e) {
            log.println("plumbing: ! " + e.getMessage());
        }
    }

    @FunctionalInterface
    private interface NetlinkWrite {
        WriteResult run() throws IOException;
    }

    private static String hex(int v) {
        return "0x" + Integer.toHexString(v);
    }
}
