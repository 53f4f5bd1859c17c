package org.egressgw.tunio.netlink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import org.egressgw.packet.Ipv4Address;
import org.egressgw.tunio.LibC;
import org.egressgw.tunio.NativeIoException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * RtNetlink against the real kernel, in a namespace of the test's own with a veth pair (root). Changes are made
 * with {@code ip} and observed through events and dumps, or made through RtNetlink and observed with {@code ip}.
 * Every wait is bounded; the namespace (and with it every interface, address, route and neighbour) is deleted
 * after each test, passed or failed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RtNetlinkIT {
    private static final int ADDRESS = Ipv4Address.parse("192.0.2.10");
    private static final int PROXY = Ipv4Address.parse("192.0.2.77");
    private static final int NET = Ipv4Address.parse("198.51.100.0");
    private static final int TABLE = 100;
    /** A private rtm_protocol, as the gateway would use to recognise its own routes. */
    private static final int OUR_PROTOCOL = 197;
    private static final long EVENT_WAIT_MILLIS = 5000;

    private NetlinkNamespace ns;
    private RtNetlink rt;
    private RtNetlink monitor;
    private int v0;
    private int v1;
    /** Events read from the monitor but not yet looked at. */
    private final ArrayDeque<RtEvent> pending = new ArrayDeque<>();

    @BeforeEach
    void createNamespaceAndSockets() throws Exception {
        ns = new NetlinkNamespace();
        v0 = ns.ifindex("v0");
        v1 = ns.ifindex("v1");
        rt = ns.call(RtNetlink::open);
        monitor = ns.call(() -> RtNetlink.openMonitor(RtNetlink.ALL_GROUPS));
    }

    @AfterEach
    void closeAndDelete() throws Exception {
        try {
            if (monitor != null) {
                monitor.close();
            }
            if (rt != null) {
                rt.close();
            }
        } finally {
            if (ns != null) {
                ns.delete();
            }
        }
    }

    // ---------------------------------------------------------------- events for changes made with ip

    @Test
    void addressAddAndDeleteAreNotified() throws Exception {
        ns.ip("addr", "add", "192.0.2.10/24", "dev", "v0");
        final RtEvent.AddressChanged added = awaitEvent(RtEvent.AddressChanged.class,
            e -> e.action() == RtEvent.Action.NEW && e.address().address() == ADDRESS);
        assertEquals(new AddressInfo(v0, ADDRESS, 24, RtMsg.RT_SCOPE_UNIVERSE, IfAddrMsg.IFA_F_PERMANENT, "v0", 0),
            added.address());

        ns.ip("addr", "del", "192.0.2.10/24", "dev", "v0");
        final RtEvent.AddressChanged deleted = awaitEvent(RtEvent.AddressChanged.class,
            e -> e.action() == RtEvent.Action.DELETE && e.address().address() == ADDRESS);
        assertEquals(v0, deleted.address().ifindex());
        assertEquals(24, deleted.address().prefixLength());
    }

    @Test
    void linkDownAndUpAreNotifiedWithFlagsAndOperstate() throws Exception {
        ns.ip("link", "set", "v0", "down");
        final LinkInfo down = awaitEvent(RtEvent.LinkChanged.class, e -> e.link().ifindex() == v0 && !e.link().isUp())
            .link();
        assertEquals("v0", down.name());
        assertEquals(IfInfoMsg.IF_OPER_DOWN, down.operstate());
        assertFalse(down.isRunning());
        assertEquals(NetlinkNamespace.V0_MAC, down.macAddress());
        // the peer loses its carrier
        final LinkInfo peer = awaitEvent(RtEvent.LinkChanged.class, e -> e.link().ifindex() == v1 && !e.link().isLowerUp())
            .link();
        assertTrue(peer.isUp());
        assertEquals(IfInfoMsg.IF_OPER_LOWERLAYERDOWN, peer.operstate());

        ns.ip("link", "set", "v0", "up");
        final LinkInfo up = awaitEvent(RtEvent.LinkChanged.class, e -> e.link().ifindex() == v0 && e.link().isRunning())
            .link();
        assertTrue(up.isUp());
        assertTrue(up.isOperUp(), up.toString());
        assertTrue(up.isLowerUp());
    }

    @Test
    void routeAddAndDeleteAreNotified() throws Exception {
        ns.ip("route", "add", "198.51.100.0/24", "dev", "v0", "proto", "199", "table", "100");
        final RouteInfo added = awaitEvent(RtEvent.RouteChanged.class,
            e -> e.action() == RtEvent.Action.NEW && e.route().destination() == NET).route();
        assertEquals(new RouteInfo(TABLE, NET, 24, v0, 0, 199, RtMsg.RT_SCOPE_LINK, RtMsg.RTN_UNICAST, 0, 0), added);

        ns.ip("route", "del", "198.51.100.0/24", "dev", "v0", "table", "100");
        assertEquals(added, awaitEvent(RtEvent.RouteChanged.class,
            e -> e.action() == RtEvent.Action.DELETE && e.route().destination() == NET).route());
    }

    @Test
    void arpEntriesAreNotifiedButProxyEntriesAreNot() throws Exception {
        // an ordinary (ARP cache) entry is notified
        ns.ip("neigh", "add", "192.0.2.99", "lladdr", "02:00:00:00:00:02", "dev", "v0", "nud", "permanent");
        final NeighbourInfo arp = awaitEvent(RtEvent.NeighbourChanged.class, e -> e.action() == RtEvent.Action.NEW)
            .neighbour();
        assertEquals(new NeighbourInfo(v0, Ipv4Address.parse("192.0.2.99"), NdMsg.NUD_PERMANENT, 0, NetlinkNamespace.V1_MAC, 0),
            arp);

        // a proxy entry is not: add it, then make a sentinel change and read everything up to the sentinel
        ns.ip("neigh", "add", "proxy", "192.0.2.77", "dev", "v0");
        List<RtEvent> events = eventsUntilSentinel("192.0.2.201");
        assertFalse(events.stream().anyMatch(e -> e instanceof RtEvent.NeighbourChanged), events.toString());
        ns.ip("neigh", "del", "proxy", "192.0.2.77", "dev", "v0");
        events = eventsUntilSentinel("192.0.2.202");
        assertFalse(events.stream().anyMatch(e -> e instanceof RtEvent.NeighbourChanged), events.toString());
        assertTrue(rt.dumpProxyNeighbours().isEmpty(), "the proxy entry is gone all the same");
    }

    // ---------------------------------------------------------------- dumps of what ip made

    @Test
    void dumpsListWhatIpCreated() throws Exception {
        ns.ip("addr", "add", "192.0.2.10/24", "dev", "v0");
        ns.ip("neigh", "add", "proxy", "192.0.2.77", "dev", "v0");
        ns.ip("neigh", "add", "192.0.2.99", "lladdr", "02:00:00:00:00:02", "dev", "v0", "nud", "permanent");
        ns.ip("route", "add", "198.51.100.0/24", "dev", "v0", "proto", "199", "table", "100");

        final List<LinkInfo> links = rt.dumpLinks();
        assertEquals(List.of("lo", "v1", "v0"), links.stream().map(LinkInfo::name).collect(Collectors.toList()));
        final LinkInfo link0 = links.get(2);
        assertEquals(v0, link0.ifindex());
        assertEquals(NetlinkNamespace.V0_MAC, link0.macAddress());
        assertEquals(1500, link0.mtu());
        assertTrue(link0.isRunning());
        assertEquals(v1, links.get(1).ifindex());
        assertEquals(0L, links.get(0).macAddress(), "lo has an all-zero address");

        assertTrue(rt.dumpAddresses().contains(new AddressInfo(v0, ADDRESS, 24, 0, IfAddrMsg.IFA_F_PERMANENT, "v0", 0)),
            rt.dumpAddresses().toString());

        assertEquals(List.of(new NeighbourInfo(v0, PROXY, 0, NdMsg.NTF_PROXY, LinkInfo.NO_MAC, 0)), rt.dumpProxyNeighbours());
        final List<NeighbourInfo> arp = rt.dumpNeighbours();
        assertEquals(List.of(new NeighbourInfo(v0, Ipv4Address.parse("192.0.2.99"), NdMsg.NUD_PERMANENT, 0,
            NetlinkNamespace.V1_MAC, 0)), arp, "the ARP cache without proxy entries");

        final List<RouteInfo> routes = rt.dumpRoutes();
        assertTrue(routes.contains(new RouteInfo(TABLE, NET, 24, v0, 0, 199, RtMsg.RT_SCOPE_LINK, RtMsg.RTN_UNICAST, 0, 0)),
            routes.toString());
        assertTrue(routes.contains(new RouteInfo(RtMsg.RT_TABLE_MAIN, Ipv4Address.parse("192.0.2.0"), 24, v0, 0,
            RtMsg.RTPROT_KERNEL, RtMsg.RT_SCOPE_LINK, RtMsg.RTN_UNICAST, 0, ADDRESS)), "prefix route " + routes);
        assertTrue(routes.stream().anyMatch(r -> r.table() == RtMsg.RT_TABLE_LOCAL && r.type() == RtMsg.RTN_LOCAL
            && r.destination() == ADDRESS), "local route " + routes);
    }

    @Test
    void manyRoutesDumpAcrossSeveralDatagrams() throws Exception {
        // the node agent's scale: 1000 /32 routes in one table
        final int base = Ipv4Address.parse("10.128.0.0");
        for (int i = 0; i < 1000; i++) {
            assertEquals(WriteResult.CREATED, rt.addRoute(TABLE, base + i, 32, v0, OUR_PROTOCOL));
        }
        final List<RouteInfo> ours = rt.dumpRoutes().stream().filter(r -> r.protocol() == OUR_PROTOCOL)
            .collect(Collectors.toList());
        assertEquals(1000, ours.size());
        assertEquals(1000, ours.stream().mapToInt(RouteInfo::destination).distinct().count());
        assertEquals(1000, ns.ip("route", "show", "table", "100", "proto", String.valueOf(OUR_PROTOCOL)).lines().count());
        for (int i = 0; i < 1000; i++) {
            assertEquals(WriteResult.DELETED, rt.deleteRoute(TABLE, base + i, 32, v0, OUR_PROTOCOL));
        }
        assertTrue(rt.dumpRoutes().stream().noneMatch(r -> r.protocol() == OUR_PROTOCOL));
    }

    // ---------------------------------------------------------------- writes seen by ip

    @Test
    void addressWritesAreIdempotentAndVisibleToIp() throws Exception {
        assertEquals(WriteResult.CREATED, rt.addAddress(v0, ADDRESS, 24, RtMsg.RT_SCOPE_UNIVERSE));
        assertTrue(ns.ip("-4", "-o", "addr", "show", "dev", "v0").contains("inet 192.0.2.10/24 scope global v0"));
        assertEquals(WriteResult.EXISTED, rt.addAddress(v0, ADDRESS, 24, RtMsg.RT_SCOPE_UNIVERSE));
        assertEquals(WriteResult.CREATED, rt.addAddress(v0, Ipv4Address.parse("203.0.113.5"), 32, RtMsg.RT_SCOPE_HOST));
        assertTrue(ns.ip("-4", "-o", "addr", "show", "dev", "v0").contains("inet 203.0.113.5/32 scope host v0"));

        assertEquals(WriteResult.DELETED, rt.deleteAddress(v0, ADDRESS, 24));
        assertFalse(ns.ip("-4", "-o", "addr", "show", "dev", "v0").contains("192.0.2.10"));
        assertEquals(WriteResult.ABSENT, rt.deleteAddress(v0, ADDRESS, 24));
        assertEquals(WriteResult.ABSENT, rt.deleteAddress(v0, Ipv4Address.parse("203.0.113.5"), 24),
            "the prefix length is part of the key");
    }

    @Test
    void proxyNeighbourWritesAreIdempotentAndVisibleToIp() throws Exception {
        assertEquals(Optional.empty(), rt.proxyNeighbour(v0, PROXY));
        assertEquals(WriteResult.CREATED, rt.addProxyNeighbour(v0, PROXY));
        assertEquals("192.0.2.77 dev v0 proxy", ns.ip("neigh", "show", "proxy").trim());
        assertEquals(WriteResult.EXISTED, rt.addProxyNeighbour(v0, PROXY));
        assertEquals(Optional.of(new NeighbourInfo(v0, PROXY, 0, NdMsg.NTF_PROXY, LinkInfo.NO_MAC, 0)),
            rt.proxyNeighbour(v0, PROXY));
        assertEquals(Optional.empty(), rt.proxyNeighbour(v1, PROXY), "entries are per interface");

        assertEquals(WriteResult.DELETED, rt.deleteProxyNeighbour(v0, PROXY));
        assertEquals("", ns.ip("neigh", "show", "proxy").trim());
        assertEquals(WriteResult.ABSENT, rt.deleteProxyNeighbour(v0, PROXY));
    }

    @Test
    void anAddressCarriesItsOwnersProtocol() throws Exception {
        assertEquals(WriteResult.CREATED, rt.addAddress(v0, Ipv4Address.parse("198.51.100.40"), 32, RtMsg.RT_SCOPE_UNIVERSE,
            OUR_PROTOCOL));
        String shown = ns.ip("-4", "-o", "addr", "show", "dev", "v0");
        assertTrue(shown.contains("inet 198.51.100.40/32 scope global"), shown);
        // iproute2 prints an address's protocol only from 6.2 on (Debian 12 has 6.1): where it does, it is ours
        assertTrue(!shown.contains(" proto ") || shown.contains(" proto " + OUR_PROTOCOL + " "), shown);
        assertTrue(rt.dumpAddresses().stream().anyMatch(a -> a.address() == Ipv4Address.parse("198.51.100.40")
            && a.protocol() == OUR_PROTOCOL), rt.dumpAddresses().toString());
    }

    @Test
    void aProxyEntryCarriesItsOwnersProtocol() throws Exception {
        assertEquals(WriteResult.CREATED, rt.addProxyNeighbour(v0, PROXY, OUR_PROTOCOL));
        assertEquals("192.0.2.77 dev v0 proxy proto " + OUR_PROTOCOL, ns.ip("neigh", "show", "proxy").trim());
        assertEquals(List.of(new NeighbourInfo(v0, PROXY, 0, NdMsg.NTF_PROXY, LinkInfo.NO_MAC, OUR_PROTOCOL)),
            rt.dumpProxyNeighbours());
        assertEquals(OUR_PROTOCOL, rt.proxyNeighbour(v0, PROXY).orElseThrow().protocol());
        assertEquals(WriteResult.EXISTED, rt.addProxyNeighbour(v0, PROXY, 7), "an existing entry keeps its mark");
        assertEquals(OUR_PROTOCOL, rt.proxyNeighbour(v0, PROXY).orElseThrow().protocol());
    }

    @Test
    void routeWritesCarryTheProtocolAndAreIdempotent() throws Exception {
        assertEquals(WriteResult.CREATED, rt.addRoute(TABLE, NET, 24, v0, OUR_PROTOCOL));
        assertEquals("198.51.100.0/24 dev v0 scope link",
            ns.ip("route", "show", "table", "100", "proto", String.valueOf(OUR_PROTOCOL)).trim());
        assertEquals("", ns.ip("route", "show", "table", "100", "proto", "199").trim());
        assertEquals(WriteResult.EXISTED, rt.addRoute(TABLE, NET, 24, v0, OUR_PROTOCOL));
        assertEquals(WriteResult.EXISTED, rt.addRoute(TABLE, NET, 24, v1, 199),
            "EEXIST is about table and prefix, not device or protocol");

        assertEquals(WriteResult.REPLACED, rt.replaceRoute(TABLE, NET, 24, v1, OUR_PROTOCOL));
        assertEquals("198.51.100.0/24 dev v1 proto " + OUR_PROTOCOL + " scope link",
            ns.ip("route", "show", "table", "100").trim());

        assertEquals(WriteResult.ABSENT, rt.deleteRoute(TABLE, NET, 24, 0, 199), "another owner's protocol");
        assertEquals(WriteResult.ABSENT, rt.deleteRoute(TABLE, NET, 24, v0, 0), "another device");
        assertEquals(WriteResult.DELETED, rt.deleteRoute(TABLE, NET, 24, v1, OUR_PROTOCOL));
        assertEquals("", ns.ip("route", "show", "table", "100").trim());
        assertEquals(WriteResult.ABSENT, rt.deleteRoute(TABLE, NET, 24, 0, 0));
        assertEquals(WriteResult.ABSENT, rt.deleteRoute(12345, NET, 24, 0, 0), "a table that does not exist");

        // table ids above 255 travel in RTA_TABLE only
        assertEquals(WriteResult.CREATED, rt.addRoute(1000, NET, 24, v0, OUR_PROTOCOL));
        assertEquals("198.51.100.0/24 dev v0 proto " + OUR_PROTOCOL + " scope link",
            ns.ip("route", "show", "table", "1000").trim());
        assertTrue(rt.dumpRoutes().contains(new RouteInfo(1000, NET, 24, v0, 0, OUR_PROTOCOL, RtMsg.RT_SCOPE_LINK,
            RtMsg.RTN_UNICAST, 0, 0)));
    }

    @Test
    void lookupsByNameAndIndex() throws Exception {
        assertEquals(v0, rt.ifindex("v0"));
        final LinkInfo byIndex = rt.link(v1).orElseThrow();
        assertEquals("v1", byIndex.name());
        assertEquals(NetlinkNamespace.V1_MAC, byIndex.macAddress());
        assertEquals(Optional.of(byIndex), rt.link("v1"));
        assertEquals(Optional.empty(), rt.link("nosuch0"));
        assertEquals(Optional.empty(), rt.link(99_999));
        final NativeIoException e = assertThrows(NativeIoException.class, () -> rt.ifindex("nosuch0"));
        assertEquals(LibC.ENODEV, e.errno());
        assertTrue(e.getMessage().contains("nosuch0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> rt.link("a-name-longer-than-15"));
    }

    @Test
    void kernelErrorsNameTheOperationAndCarryErrnoAndText() throws Exception {
        NativeIoException e = assertThrows(NativeIoException.class,
            () -> rt.addAddress(99_999, ADDRESS, 24, RtMsg.RT_SCOPE_UNIVERSE));
        assertEquals(LibC.ENODEV, e.errno());
        assertTrue(e.getMessage().contains("RTM_NEWADDR 192.0.2.10/24") && e.getMessage().contains("99999"),
            e.getMessage());

        ns.ip("link", "set", "v1", "down");
        e = assertThrows(NativeIoException.class, () -> rt.addRoute(TABLE, NET, 24, v1, OUR_PROTOCOL));
        assertEquals(LibC.ENETDOWN, e.errno());
        assertTrue(e.getMessage().contains("RTM_NEWROUTE 198.51.100.0/24 dev " + v1) && e.getMessage().contains("[kernel: "),
            "the kernel's extended-ack text is included: " + e.getMessage());

        e = assertThrows(NativeIoException.class, () -> rt.addProxyNeighbour(99_999, PROXY));
        assertEquals(LibC.ENODEV, e.errno());

        assertThrows(IllegalArgumentException.class, () -> rt.addRoute(TABLE, NET + 1, 24, v0, OUR_PROTOCOL),
            "host bits");
        assertThrows(IllegalArgumentException.class, () -> rt.addRoute(TABLE, NET, 33, v0, OUR_PROTOCOL));
        assertThrows(IllegalArgumentException.class, () -> rt.addRoute(TABLE, NET, 24, v0, 256));
        assertThrows(IllegalArgumentException.class, () -> rt.addRoute(0, NET, 24, v0, OUR_PROTOCOL));
    }

    @Test
    void rolesAreKeptApart() throws Exception {
        assertThrows(IllegalStateException.class, () -> monitor.dumpLinks());
        assertThrows(IllegalStateException.class, () -> rt.receiveEvents(0, e -> { }));
        assertThrows(IllegalArgumentException.class, () -> RtNetlink.openMonitor(0));
        assertThrows(IllegalArgumentException.class, () -> RtNetlink.openMonitor(0x100));
        rt.close();
        rt.close();
        assertEquals(LibC.EBADF, assertThrows(NativeIoException.class, () -> rt.dumpLinks()).errno());
        monitor.close();
        assertEquals(0, monitor.receiveEvents(0, e -> { }));
    }

    // ---------------------------------------------------------------- what the kernel does on link down

    @Test
    void linkDownSilentlyFlushesRoutesAndProxyEntriesButKeepsAddresses() throws Exception {
        assertEquals(WriteResult.CREATED, rt.addAddress(v0, ADDRESS, 24, RtMsg.RT_SCOPE_UNIVERSE));
        assertEquals(WriteResult.CREATED, rt.addProxyNeighbour(v0, PROXY));
        assertEquals(WriteResult.CREATED, rt.addRoute(TABLE, NET, 24, v0, OUR_PROTOCOL));
        eventsUntilSentinel("192.0.2.203"); // drain the notifications of the setup

        ns.ip("link", "set", "v0", "down");
        final List<RtEvent> downEvents = eventsUntilSentinel("192.0.2.204");
        assertTrue(downEvents.stream().anyMatch(e -> e instanceof RtEvent.LinkChanged
            && ((RtEvent.LinkChanged) e).link().ifindex() == v0 && !((RtEvent.LinkChanged) e).link().isUp()), downEvents.toString());
        // (the previous sentinel's own local route may trail in as a NEW; nothing is deleted)
        assertFalse(downEvents.stream().anyMatch(e -> e instanceof RtEvent.RouteChanged
            && (((RtEvent.RouteChanged) e).action() == RtEvent.Action.DELETE || ((RtEvent.RouteChanged) e).route().oif() == v0)
            || e instanceof RtEvent.NeighbourChanged || e instanceof RtEvent.AddressChanged
            && ((RtEvent.AddressChanged) e).address().address() == ADDRESS),
            "no notification for what the kernel flushed: " + downEvents);
        assertTrue(rt.dumpProxyNeighbours().isEmpty(), "proxy entry flushed");
        assertTrue(rt.dumpRoutes().stream().noneMatch(r -> r.oif() == v0 && r.type() != RtMsg.RTN_LOCAL),
            "routes through v0 flushed in every table (local routes stay): " + rt.dumpRoutes());
        assertTrue(rt.dumpRoutes().stream().anyMatch(r -> r.oif() == v0 && r.type() == RtMsg.RTN_LOCAL));
        assertTrue(rt.dumpAddresses().stream().anyMatch(a -> a.address() == ADDRESS), "the address stays");

        ns.ip("link", "set", "v0", "up");
        awaitEvent(RtEvent.LinkChanged.class, e -> e.link().ifindex() == v0 && e.link().isRunning());
        final List<RtEvent> upEvents = eventsUntilSentinel("192.0.2.205");
        assertTrue(rt.dumpRoutes().stream().anyMatch(r -> r.protocol() == RtMsg.RTPROT_KERNEL && r.prefixLength() == 24
            && r.oif() == v0), "the kernel re-adds its prefix route");
        assertTrue(rt.dumpRoutes().stream().noneMatch(r -> r.protocol() == OUR_PROTOCOL), "ours stays gone");
        assertTrue(rt.dumpProxyNeighbours().isEmpty(), "the proxy entry stays gone");
        assertFalse(upEvents.stream().anyMatch(e -> e instanceof RtEvent.RouteChanged
            && ((RtEvent.RouteChanged) e).route().protocol() == OUR_PROTOCOL), upEvents.toString());
        assertEquals(WriteResult.CREATED, rt.addProxyNeighbour(v0, PROXY), "the caller must re-create it");
        assertEquals(WriteResult.CREATED, rt.addRoute(TABLE, NET, 24, v0, OUR_PROTOCOL));
    }

    @Test
    void carrierLossFlushesNothingAndProxyEntriesMadeWhileDownSurvive() throws Exception {
        assertEquals(WriteResult.CREATED, rt.addProxyNeighbour(v1, PROXY));
        assertEquals(WriteResult.CREATED, rt.addRoute(TABLE, NET, 24, v1, OUR_PROTOCOL));
        ns.ip("link", "set", "v0", "down"); // v1 stays up but loses its carrier
        awaitEvent(RtEvent.LinkChanged.class, e -> e.link().ifindex() == v1 && !e.link().isLowerUp());
        assertEquals(IfInfoMsg.IF_OPER_LOWERLAYERDOWN, rt.link(v1).orElseThrow().operstate());
        assertEquals(1, rt.dumpProxyNeighbours().size(), "proxy entry kept");
        assertTrue(rt.dumpRoutes().stream().anyMatch(r -> r.protocol() == OUR_PROTOCOL), "route kept");
        assertTrue(ns.ip("route", "show", "table", "100").contains("linkdown"));

        // v0 is administratively down: routes through it are refused, proxy entries are not, and they survive up
        assertEquals(LibC.ENETDOWN, assertThrows(NativeIoException.class,
            () -> rt.addRoute(TABLE + 1, NET, 24, v0, OUR_PROTOCOL)).errno());
        assertEquals(WriteResult.CREATED, rt.addProxyNeighbour(v0, PROXY));
        ns.ip("link", "set", "v0", "up");
        awaitEvent(RtEvent.LinkChanged.class, e -> e.link().ifindex() == v0 && e.link().isRunning());
        assertTrue(rt.proxyNeighbour(v0, PROXY).isPresent());
    }

    // ---------------------------------------------------------------- overrun

    @Test
    void droppedNotificationsAreReportedAsAnOverrun() throws Exception {
        monitor.close();
        pending.clear();
        // the smallest receive buffer the kernel allows: a few notifications fill it
        monitor = ns.call(() -> RtNetlink.openMonitor(Netlink.RTMGRP_IPV4_IFADDR | Netlink.RTMGRP_IPV4_ROUTE, 1));
        final int base = Ipv4Address.parse("10.1.0.0");
        for (int i = 1; i <= 200; i++) {
            rt.addAddress(v0, base + i, 32, RtMsg.RT_SCOPE_UNIVERSE);
        }
        final List<RtEvent> events = new ArrayList<>();
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EVENT_WAIT_MILLIS);
        while (System.nanoTime() < deadline && monitor.receiveEvents(100, events::add) > 0) {
            // drain what the kernel kept
        }
        assertTrue(events.stream().anyMatch(e -> e instanceof RtEvent.Overrun), events.size() + " events, no overrun");
        assertTrue(events.stream().filter(e -> e instanceof RtEvent.AddressChanged).count() < 200);
        assertTrue(monitor.overrunCount() >= 1);
        // resync by dump: everything is there
        assertEquals(200, rt.dumpAddresses().stream().filter(a -> a.ifindex() == v0).count());
        // and the monitor works on after the overrun
        rt.deleteAddress(v0, base + 1, 32);
        awaitEvent(RtEvent.AddressChanged.class, e -> e.action() == RtEvent.Action.DELETE && e.address().address() == base + 1);
    }

    // ---------------------------------------------------------------- helpers

    /** The next event, reading more from the monitor when none is queued; null at the deadline. */
    private RtEvent nextEvent(long deadlineNanos) throws Exception {
        while (pending.isEmpty() && System.nanoTime() < deadlineNanos) {
            monitor.receiveEvents(100, pending::add);
        }
        return pending.poll();
    }

    /** Reads events until one of {@code type} matches, failing with what arrived if none does in time. */
    private <T extends RtEvent> T awaitEvent(Class<T> type, Predicate<T> match) throws Exception {
        final List<RtEvent> seen = new ArrayList<>();
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EVENT_WAIT_MILLIS);
        for (RtEvent event = nextEvent(deadline); event != null; event = nextEvent(deadline)) {
            seen.add(event);
            if (type.isInstance(event) && match.test(type.cast(event))) {
                return type.cast(event);
            }
        }
        throw new AssertionError("no matching " + type.getSimpleName() + " within " + EVENT_WAIT_MILLIS + " ms; saw " + seen);
    }

    /**
     * Adds {@code sentinel}/32 to v1 and returns every event up to (not including) its notification: since the
     * kernel notifies in order, whatever a change before the sentinel caused has arrived by then.
     */
    private List<RtEvent> eventsUntilSentinel(String sentinel) throws Exception {
        final int address = Ipv4Address.parse(sentinel);
        ns.ip("addr", "add", sentinel + "/32", "dev", "v1");
        final List<RtEvent> before = new ArrayList<>();
        final long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(EVENT_WAIT_MILLIS);
        for (RtEvent event = nextEvent(deadline); event != null; event = nextEvent(deadline)) {
            if (event instanceof RtEvent.AddressChanged && ((RtEvent.AddressChanged) event).address().address() == address) {
                return before;
            }
            before.add(event);
        }
        throw new AssertionError("sentinel " + sentinel + " not notified within " + EVENT_WAIT_MILLIS + " ms; saw " + before);
    }
}
