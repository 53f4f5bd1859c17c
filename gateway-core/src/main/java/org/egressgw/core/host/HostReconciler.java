package org.egressgw.core.host;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.egressgw.tunio.netlink.AddressInfo;
import org.egressgw.tunio.netlink.LinkInfo;
import org.egressgw.tunio.netlink.Netlink;
import org.egressgw.tunio.netlink.NeighbourInfo;
import org.egressgw.tunio.netlink.RouteInfo;
import org.egressgw.tunio.netlink.RtEvent;
import org.egressgw.tunio.netlink.RtNetlink;

/**
 * Keeps the host plumbing in step with the host's live state: the gateway assumes the host changes under it at any
 * moment — an address moved onto or off the egress interface by keepalived or an operator, a link flapped, a route
 * or proxy entry flushed, a device set down — and restores what it needs within a second, saying so once per
 * repair ({@code plumbing: repaired ...}) and counting it ({@code egw_plumbing_repairs_total{what}}).
 *
 * <p>Driven by rtnetlink notifications (links, IPv4 addresses and routes), with a pass at least every second for
 * what the kernel does not notify (proxy-ARP entries are never notified, not even when a link going down flushes
 * them) and every five seconds, or after any change to the egress link, for what is checked with a command (tc
 * filters, the nftables table). A lost notification ({@code ENOBUFS}) forces a full pass. A pass:
 *
 * <ul>
 *   <li>the gateway's devices (TUN, TAP) exist and are up; the TAP device has its link-local address, the TUN
 *       device has one exactly while an egress IP is assigned to this host (loose reverse-path filtering);
 *   <li>every steered egress IP has its route, its proxy entry (gratuitous ARP after restoring it), its tc filters
 *       and nftables element; an IP that becomes assigned or unassigned is said and announced — nothing has to
 *       switch, as both mechanisms are always in place ({@link EgressIpPlumbing});
 *   <li>the egress interface exists and its link is up: when it comes back, every egress IP is announced again.
 * </ul>
 *
 * <p>{@link #complete()} is what {@code /healthz} reports: true while the last pass found everything in place or
 * restored it. {@link #egressLinkUp()} is part of {@code /readyz}.
 *
 * <p>Threading: one thread ({@code egw-host}) owns the monitor socket and runs the passes, each under the
 * {@link HostPlumbing}'s lock; {@link #passNow()} runs one on the caller's thread (at start, after a policy
 * change). The flags and counters are read by the admin endpoint from any thread.
 */
public final class HostReconciler implements AutoCloseable {
    static final int FAST_PERIOD_MILLIS = 1000;
    static final int SLOW_PERIOD_MILLIS = 5000;

    private final HostPlumbing plumbing;
    private final PrintStream log;
    private final RtNetlink monitor;
    private final Map<String, AtomicLong> repairs = new ConcurrentHashMap<>();
    private final Thread thread;
    private final Map<Integer, Boolean> assigned = new HashMap<>();
    private volatile boolean running = true;
    private volatile boolean complete;
    private volatile boolean egressLinkUp;
    private volatile List<String> problems = List.of("not checked yet");
    /** Interface name → up with carrier, as of the last pass (any thread reads it). */
    private volatile Map<String, Boolean> linksRunning = Map.of();
    private boolean eventSeen;
    private boolean egressEventSeen;
    private Boolean lastEgressRunning;
    private long nextSlow;

    /** Opens the monitor (before the first dump, so no change falls between) and starts the thread. */
    public HostReconciler(HostPlumbing plumbing, PrintStream log) throws IOException {
        this.plumbing = plumbing;
        this.log = log;
        this.monitor = RtNetlink.openMonitor(Netlink.RTMGRP_LINK | Netlink.RTMGRP_IPV4_IFADDR | Netlink.RTMGRP_IPV4_ROUTE,
                1 << 20);
        this.thread = new Thread(this::run, "egw-host");
        this.thread.setDaemon(true);
    }

    /** Starts following the host (after the first {@link #passNow()}). */
    public void start() {
        thread.start();
    }

    private void run() {
        long nextFast = 0;
        while (running) {
            try {
                monitor.receiveEvents(100, this::onEvent);
                long now = System.currentTimeMillis();
                if (eventSeen || now >= nextFast) {
                    boolean slow = egressEventSeen || now >= nextSlow;
                    eventSeen = false;
                    egressEventSeen = false;
                    pass(slow);
                    nextFast = now + FAST_PERIOD_MILLIS;
                }
            } catch (IOException | RuntimeException e) {
                if (!running) {
                    return;
                }
                complete = false;
                problems = List.of("host reconciliation failed: " + e.getMessage());
                log.println("plumbing: ! reconciliation failed: " + e.getMessage());
                sleep();
            }
        }
    }

    private void onEvent(RtEvent e) {
        EgressIpPlumbing ips = plumbing.egressIps();
        String egress = ips == null ? null : ips.egressInterface();
        if (e instanceof RtEvent.LinkChanged l) {
            String name = l.link().name();
            if (name.equals(egress) || name.equals(plumbing.virtualIpDevice())) {
                eventSeen = true;
                egressEventSeen = true;
            } else if (name.equals(plumbing.tun()) || name.equals(plumbing.tap())) {
                eventSeen = true;
            }
        } else if (e instanceof RtEvent.AddressChanged a) {
            eventSeen |= ips != null && ips.steered().contains(a.address().address());
        } else if (e instanceof RtEvent.RouteChanged r) {
            eventSeen |= r.action() == RtEvent.Action.DELETE && r.route().protocol() == Marks.PROTOCOL;
        } else if (e instanceof RtEvent.Overrun) {
            eventSeen = true;
            egressEventSeen = true;
        }
    }

    /** Runs a full pass now, on the caller's thread (at start, and after the set of egress IPs changed). */
    public void passNow() {
        try {
            pass(true);
        } catch (IOException | RuntimeException e) {
            complete = false;
            problems = List.of("host reconciliation failed: " + e.getMessage());
            log.println("plumbing: ! reconciliation failed: " + e.getMessage());
        }
    }

    private void pass(boolean slow) throws IOException {
        synchronized (plumbing) {
            if (plumbing.isClosed()) {
                return;
            }
            plumbing.dropTcLeftovers();
            List<String> missing = new ArrayList<>();
            RtNetlink rt = plumbing.netlink();
            Map<String, LinkInfo> links = new HashMap<>();
            for (LinkInfo l : rt.dumpLinks()) {
                links.put(l.name(), l);
            }
            List<AddressInfo> addresses = rt.dumpAddresses();
            Map<String, Boolean> up = new HashMap<>();
            links.forEach((name, l) -> up.put(name, l.isUp() && l.isRunning()));
            linksRunning = up;
            checkVirtualIp(links, addresses);
            checkDevice(plumbing.tun(), links, missing);
            checkDevice(plumbing.tap(), links, missing);
            if (plumbing.tap() != null && links.containsKey(plumbing.tap())
                    && !hasAddress(addresses, links.get(plumbing.tap()).ifindex(), HostPlumbing.TAP_LINK_LOCAL)) {
                plumbing.addLinkLocal(plumbing.tap(), HostPlumbing.TAP_LINK_LOCAL);
                repaired("link_local_address", "the link-local address of " + plumbing.tap());
            }
            EgressIpPlumbing ips = plumbing.egressIps();
            if (ips != null) {
                egressSide(ips, rt, links, addresses, slow, missing);
            }
            if (slow) {
                nextSlow = System.currentTimeMillis() + SLOW_PERIOD_MILLIS;
            }
            complete = missing.isEmpty();
            problems = List.copyOf(missing);
        }
        log.flush();
    }

    private void egressSide(EgressIpPlumbing ips, RtNetlink rt, Map<String, LinkInfo> links, List<AddressInfo> addresses,
            boolean slow, List<String> missing) throws IOException {
        LinkInfo egress = links.get(ips.egressInterface());
        LinkInfo tun = links.get(ips.device());
        Set<Integer> steered = ips.steered();
        if (egress == null) {
            missing.add("the egress interface " + ips.egressInterface() + " does not exist");
            egressLinkUp = false;
            return;
        }
        boolean running = egress.isUp() && egress.isRunning();
        egressLinkUp = running;
        boolean cameBack = lastEgressRunning != null && !lastEgressRunning && running;
        if (lastEgressRunning == null || lastEgressRunning != running) {
            if (lastEgressRunning != null) {
                log.println("plumbing: egress interface " + ips.egressInterface() + " is " + (running ? "up again"
                        : "down (" + egress.operstateName() + "): nothing leaves until it comes back"));
            }
            lastEgressRunning = running;
        }
        boolean anyAssigned = false;
        for (int ip : steered) {
            boolean now = addresses.stream().anyMatch(a -> a.address() == ip);
            Boolean before = assigned.put(ip, now);
            anyAssigned |= now;
            if (before != null && before != now) {
                log.println("plumbing: egress IP " + Marks.ip(ip) + (now ? " is now assigned to this host"
                        : " is no longer assigned to this host") + "; its replies keep coming to " + ips.device()
                        + " (tc redirect and route + proxy ARP are both in place)");
                ips.announce(ip);
            }
        }
        assigned.keySet().retainAll(steered);
        if (tun != null) {
            boolean hasLinkLocal = hasAddress(addresses, tun.ifindex(), HostPlumbing.TUN_LINK_LOCAL);
            if (anyAssigned && !hasLinkLocal) {
                if (HostPlumbing.reversePathFilter() == 1) {
                    log.println("plumbing: ! net.ipv4.conf.all.rp_filter or .default.rp_filter is 1 (strict): the kernel"
                            + " drops what the gateway writes into " + ips.device() + " with an assigned egress IP as"
                            + " source; set them to 2 (loose) or 0");
                }
                plumbing.addLinkLocal(ips.device(), HostPlumbing.TUN_LINK_LOCAL);
            } else if (!anyAssigned && hasLinkLocal) {
                // not needed any more, and the kernel would make it the source of its ICMP errors routed into the TUN
                plumbing.removeLinkLocal(ips.device(), HostPlumbing.TUN_LINK_LOCAL);
            }
        }
        if (steered.isEmpty()) {
            return;
        }
        Set<Integer> ourRoutes = new HashSet<>();
        for (RouteInfo r : rt.dumpRoutes()) {
            if (r.protocol() == Marks.PROTOCOL && r.prefixLength() == 32 && tun != null && r.oif() == tun.ifindex()) {
                ourRoutes.add(r.destination());
            }
        }
        Set<Integer> proxied = new HashSet<>();
        for (NeighbourInfo n : rt.dumpProxyNeighbours()) {
            if (n.ifindex() == egress.ifindex()) {
                proxied.add(n.address());
            }
        }
        for (int ip : steered) {
            if (tun != null && ips.ensureRoute(ip, ourRoutes)) {
                repaired("route", "the route of " + Marks.ip(ip) + " via " + ips.device());
            }
            if (ips.announcing() && ips.ensureProxy(ip, proxied)) {
                repaired("proxy_arp", "the proxy ARP entry of " + Marks.ip(ip) + " on " + ips.egressInterface());
                if (running) {
                    ips.announce(ip);
                }
            } else if (cameBack) {
                ips.announce(ip);
            }
        }
        if (slow) {
            slowChecks(ips, steered);
        }
    }

    /** What is checked with a command: the ingress qdisc and tc filters, the nftables table and set. */
    private void slowChecks(EgressIpPlumbing ips, Set<Integer> steered) throws IOException {
        if (ips.ensureQdisc()) {
            repaired("tc_qdisc", "the ingress qdisc of " + ips.egressInterface());
        }
        String tc = Commands.output(List.of("tc", "filter", "show", "dev", ips.egressInterface(), "ingress"));
        for (int ip : steered) {
            if (ips.ensureTcFilters(ip, tc)) {
                repaired("tc_filter", "the tc filters of " + Marks.ip(ip) + " on " + ips.egressInterface());
            }
        }
        if (!plumbing.untracked()) {
            return;
        }
        if (!Commands.quietly(List.of("nft", "list", "table", "ip", Marks.NFT_TABLE))) {
            plumbing.restoreNftTable();
            repaired("nft_table", "the nftables table ip " + Marks.NFT_TABLE);
            return;
        }
        String set = Commands.output(List.of("nft", "list", "set", "ip", Marks.NFT_TABLE, "egress_ips"));
        for (int ip : steered) {
            if (ips.ensureNftElement(ip, set)) {
                repaired("nft_element", "the nftables element of " + Marks.ip(ip));
            }
        }
    }

    /** The group's virtual IP, while this member holds it, is still on its device (an operator may remove it). */
    private void checkVirtualIp(Map<String, LinkInfo> links, List<AddressInfo> addresses) throws IOException {
        int vip = plumbing.virtualIp();
        LinkInfo dev = vip == 0 ? null : links.get(plumbing.virtualIpDevice());
        if (dev != null && !hasAddress(addresses, dev.ifindex(), vip)) {
            plumbing.claimVirtualIp(vip, plumbing.virtualIpDevice());
            repaired("virtual_ip", "the group's virtual IP " + Marks.ip(vip) + " on " + plumbing.virtualIpDevice());
        }
    }

    /** True if {@code name} existed with its link up (administratively and with carrier) at the last pass. */
    public boolean linkRunning(String name) {
        return Boolean.TRUE.equals(linksRunning.get(name));
    }

    private void checkDevice(String name, Map<String, LinkInfo> links, List<String> missing) throws IOException {
        if (name == null) {
            return;
        }
        LinkInfo l = links.get(name);
        if (l == null) {
            missing.add("the gateway's device " + name + " is gone");
            return;
        }
        if (!l.isUp()) {
            plumbing.bringUp(name);
            repaired("device_up", name + " (it was set down)");
        }
    }

    private static boolean hasAddress(List<AddressInfo> addresses, int ifindex, int address) {
        return addresses.stream().anyMatch(a -> a.ifindex() == ifindex && a.address() == address);
    }

    private void repaired(String what, String detail) {
        repairs.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
        log.println("plumbing: repaired " + detail);
    }

    private void sleep() {
        try {
            Thread.sleep(FAST_PERIOD_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    /** True while the last pass found the plumbing complete (or restored it). */
    public boolean complete() {
        return complete;
    }

    /** What the last pass found missing and could not restore; empty when complete. */
    public List<String> problems() {
        return problems;
    }

    /** True while the egress interface exists with its link up (administratively and with carrier). */
    public boolean egressLinkUp() {
        return egressLinkUp;
    }

    /** Repairs so far, by what was repaired. */
    public Map<String, Long> repairs() {
        Map<String, Long> m = new HashMap<>();
        repairs.forEach((k, v) -> m.put(k, v.get()));
        return m;
    }

    @Override
    public void close() {
        running = false;
        monitor.close();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
