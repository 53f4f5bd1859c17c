package org.egressgw.core.host;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.egressgw.tunio.netlink.LinkInfo;
import org.egressgw.tunio.netlink.NeighbourInfo;
import org.egressgw.tunio.netlink.RouteInfo;
import org.egressgw.tunio.netlink.RtNetlink;

/**
 * Finds and removes what a gateway that did not exit cleanly (kill -9, OOM killer, a container runtime's timeout)
 * left on the host, by the {@link Marks} the kernel kept: its nftables table, its proxy-ARP entries and routes at
 * once, before anything new is added; its tc filters (which keep redirecting replies into a TUN device that no
 * longer exists) only once the new gateway's own filters are in place — until then the dead filters drop the
 * replies to an assigned egress IP, where without any filter the kernel would answer them with RSTs and kill the
 * connections that could otherwise survive the restart. Runs holding the {@link GatewayLock} (so the dead
 * gateway's successor is the only one looking); says what it removed.
 */
final class Leftovers {
    private Leftovers() {
    }

    /** Removes every leftover; returns how many pieces went. */
    static int remove(RtNetlink rt, Commands cmd, PrintStream log) throws IOException {
        int removed = 0;
        if (Commands.quietly(List.of("nft", "list", "table", "ip", Marks.NFT_TABLE))) {
            cmd.remove(List.of("nft", "delete", "table", "ip", Marks.NFT_TABLE));
            log.println("plumbing: removed leftover nftables table ip " + Marks.NFT_TABLE);
            removed++;
        }
        for (NeighbourInfo n : rt.dumpProxyNeighbours()) {
            if (n.protocol() == Marks.PROTOCOL) {
                rt.deleteProxyNeighbour(n.ifindex(), n.address());
                log.println("plumbing: removed leftover proxy ARP entry " + Marks.ip(n.address()) + " (ifindex "
                        + n.ifindex() + ")");
                removed++;
            }
        }
        for (org.egressgw.tunio.netlink.AddressInfo a : rt.dumpAddresses()) {
            if (a.protocol() == Marks.PROTOCOL) {
                rt.deleteAddress(a.ifindex(), a.address(), a.prefixLength());
                log.println("plumbing: removed leftover address " + Marks.ip(a.address()) + "/" + a.prefixLength()
                        + " (ifindex " + a.ifindex() + "; a group's virtual IP held by a gateway that died)");
                removed++;
            }
        }
        for (RouteInfo r : rt.dumpRoutes()) {
            if (r.protocol() == Marks.PROTOCOL) {
                rt.deleteRoute(r.table(), r.destination(), r.prefixLength(), r.oif(), r.protocol());
                log.println("plumbing: removed leftover route " + Marks.ip(r.destination()) + "/" + r.prefixLength()
                        + " (table " + Integer.toUnsignedString(r.table()) + ")");
                removed++;
            }
        }
        return removed;
    }

    /** A dead gateway's tc filters: their device and preference. */
    record TcFilter(String device, int pref) {
    }

    /** The tc filters a dead gateway left (removed later: {@link #removeTc}). */
    static List<TcFilter> tcFilters(RtNetlink rt) throws IOException {
        List<TcFilter> found = new ArrayList<>();
        for (LinkInfo link : rt.dumpLinks()) {
            for (int pref : ourTcPrefs(link.name())) {
                found.add(new TcFilter(link.name(), pref));
            }
        }
        return found;
    }

    static void removeTc(List<TcFilter> filters, Commands cmd, PrintStream log) {
        for (TcFilter f : filters) {
            cmd.remove(List.of("tc", "filter", "del", "dev", f.device(), "ingress", "pref", Integer.toString(f.pref())));
            log.println("plumbing: removed leftover tc filters (pref " + f.pref() + ") on " + f.device());
        }
    }

    /** The preferences of the ingress filters on {@code device} that carry the gateway's cookie. */
    static List<Integer> ourTcPrefs(String device) {
        return prefsWithCookie(Commands.output(List.of("tc", "filter", "show", "dev", device, "ingress")),
                Marks.TC_COOKIE_PREFIX);
    }

    /**
     * Reads {@code tc filter show} output: each filter starts with a line {@code filter ... pref N ...}, its
     * actions follow, one of them maybe with a line {@code cookie HEX}. Returns the distinct prefs of the filters
     * whose cookie starts with {@code cookiePrefix}.
     */
    static List<Integer> prefsWithCookie(String tcOutput, String cookiePrefix) {
        List<Integer> prefs = new ArrayList<>();
        int pref = -1;
        for (String line : tcOutput.split("\n")) {
            String t = line.trim();
            if (t.startsWith("filter ")) {
                String[] w = t.split("\\s+");
                for (int i = 0; i + 1 < w.length; i++) {
                    if (w[i].equals("pref")) {
                        pref = parse(w[i + 1]);
                    }
                }
            } else if (t.startsWith("cookie " + cookiePrefix) && pref >= 0 && !prefs.contains(pref)) {
                prefs.add(pref);
            }
        }
        return prefs;
    }

    /** How many filters in {@code tc filter show} output carry exactly {@code cookie}. */
    static int filtersWithCookie(String tcOutput, String cookie) {
        int n = 0;
        for (String line : tcOutput.split("\n")) {
            if (line.trim().equals("cookie " + cookie)) {
                n++;
            }
        }
        return n;
    }

    private static int parse(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
