package org.egressgw.tunio.netlink;

import static org.egressgw.tunio.LibC.C;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.Consumer;
import java.util.function.IntUnaryOperator;

import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.tunio.LibC;
import org.egressgw.tunio.NativeIoException;

/**
 * A NETLINK_ROUTE socket ({@code socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE)}):
 * either a <em>request</em> socket ({@link #open()}) that dumps and changes links, IPv4 addresses, proxy
 * neighbours and IPv4 routes, or a <em>monitor</em> ({@link #openMonitor}) bound to rtnetlink multicast groups
 * whose {@link #receiveEvents} delivers the kernel's change notifications. The two roles are kept on separate
 * sockets so that replies and notifications never interleave: a request on a monitor, or
 * {@link #receiveEvents} on a request socket, is an {@link IllegalStateException}.
 *
 * <h2>Protocol</h2>
 * Requests carry {@code NLM_F_REQUEST}, a sequence number of their own and, unless they are dumps,
 * {@code NLM_F_ACK}; the reply ends with an {@code NLMSG_ERROR} whose {@code error} is 0 or {@code -errno}.
 * A non-zero error becomes a {@link NativeIoException} naming the operation and the kernel's own text
 * (extended ack, {@code NETLINK_EXT_ACK}) with {@link NativeIoException#errno()} telling the cause; the writes map
 * the "already there" / "already gone" errnos to a {@link WriteResult} instead. Dumps ({@code NLM_F_DUMP}) read
 * multi-part replies until {@code NLMSG_DONE} and are repeated (up to {@value #MAX_DUMP_ATTEMPTS} times) when the
 * kernel flags them {@code NLM_F_DUMP_INTR} (changed while dumping). Replies with another sequence number (late
 * answers to a request that timed out, the rest of an abandoned dump) are skipped, and datagrams not sent by
 * the kernel (port id 0) are dropped. Each wait for a reply datagram is bounded by
 * {@value #REQUEST_TIMEOUT_MILLIS} ms ({@code ETIMEDOUT}).
 *
 * <h2>Memory</h2>
 * One off-heap slab allocated at construction and parsed with {@link UnsafeBuffer}: a request area of
 * {@value #REQUEST_CAPACITY} bytes, a receive area of {@value #RECEIVE_CAPACITY} bytes (a datagram larger than
 * that — the kernel sizes dump datagrams at most 32 KiB — is reported, never silently cut), and the
 * {@code struct msghdr}/{@code iovec}/{@code sockaddr_nl}/{@code pollfd} the calls need (layouts in
 * {@link LibC}). Decoded records are allocated: this is the control path.
 *
 * <h2>Kernel behaviour callers must know (checked on Linux 6.18 by {@code RtNetlinkIT})</h2>
 * <ul>
 * <li>A link set administratively down removes, <em>without any notification</em>, every IPv4 route through
 * it (all tables, including routes added here; the kernel's own prefix and broadcast routes too, but not the
 * {@code local} route of an address) and every proxy-ARP entry on it. The only events are an
 * {@code RTM_NEWLINK} without {@code IFF_UP} (operstate DOWN) and, for a veth, one for the peer (operstate
 * LOWERLAYERDOWN). Addresses stay.
 * <li>On link up the kernel sends an {@code RTM_NEWLINK} with {@code IFF_UP} but not yet {@code IFF_RUNNING}
 * (operstate LOWERLAYERDOWN), re-adds its own prefix and broadcast routes (notified), then sends an
 * {@code RTM_NEWLINK} with {@code IFF_RUNNING} (operstate UP). It does not restore the caller's routes and
 * proxy entries: re-create them once {@link LinkInfo#isUp()} is seen again (a route through a link that is not
 * up is refused with ENETDOWN; a proxy entry is accepted even then and survives the link coming up).
 * <li>Loss of carrier alone (operstate LOWERLAYERDOWN, {@code IFF_UP} still set, e.g. the veth peer went down)
 * flushes nothing: routes stay (flagged linkdown) and so do proxy entries.
 * <li>Proxy entries are never notified (add, delete or flush); adding one that exists is accepted silently, so
 * {@link #addProxyNeighbour} looks it up first to report {@link WriteResult#EXISTED}.
 * <li>Adding an address is notified as {@code RTM_NEWADDR} followed by the kernel's {@code local}, prefix and
 * broadcast routes; deleting it as {@code RTM_DELADDR} followed by their {@code RTM_DELROUTE}s.
 * <li>EEXIST for a route means "this table has a route for this prefix" whatever its device and protocol;
 * deleting a route that is not there is ESRCH, an address EADDRNOTAVAIL, a proxy entry ENOENT.
 * </ul>
 *
 * <h2>Threads</h2>
 * Not thread-safe: one owner thread makes every call (the socket is bound to the network namespace of the
 * thread that opened it, and may be used from any thread afterwards, one at a time). {@link #close} may be
 * called from any thread and is idempotent, but must not race a call in progress on another thread (the
 * descriptor number could be reused): a monitor thread should loop on {@link #receiveEvents} with a short
 * timeout, check a stop flag, and close the socket itself.
 *
 * <h2>Subscribing and resynchronising</h2>
 * Open the monitor <em>before</em> dumping: every change after the dump then also arrives as an event, so
 * applying events after the dump converges even though some predate it. After an {@link RtEvent.Overrun},
 * dump again.
 */
public final class RtNetlink implements AutoCloseable {
    /** Every group this class decodes. */
    public static final int ALL_GROUPS = Netlink.RTMGRP_LINK | Netlink.RTMGRP_IPV4_IFADDR | Netlink.RTMGRP_NEIGH
        | Netlink.RTMGRP_IPV4_ROUTE;
    static final int REQUEST_CAPACITY = 1024;
    static final int RECEIVE_CAPACITY = 64 * 1024;
    static final int REQUEST_TIMEOUT_MILLIS = 5000;
    static final int MAX_DUMP_ATTEMPTS = 5;
    /** Datagrams one {@link #receiveEvents} call reads at most, so a flood cannot keep it from returning. */
    static final int MAX_DATAGRAMS_PER_RECEIVE = 256;

    private static final int REQUEST_OFFSET = 0;
    private static final int RECEIVE_OFFSET = REQUEST_OFFSET + REQUEST_CAPACITY;
    private static final int SEND_MSGHDR_OFFSET = RECEIVE_OFFSET + RECEIVE_CAPACITY;
    private static final int RECV_MSGHDR_OFFSET = SEND_MSGHDR_OFFSET + LibC.SIZEOF_MSGHDR;
    private static final int SEND_IOVEC_OFFSET = RECV_MSGHDR_OFFSET + LibC.SIZEOF_MSGHDR;
    private static final int RECV_IOVEC_OFFSET = SEND_IOVEC_OFFSET + LibC.SIZEOF_IOVEC;
    private static final int SEND_ADDR_OFFSET = RECV_IOVEC_OFFSET + LibC.SIZEOF_IOVEC;
    private static final int RECV_ADDR_OFFSET = SEND_ADDR_OFFSET + 16;
    private static final int POLLFD_OFFSET = RECV_ADDR_OFFSET + 16;
    private static final int OPTION_OFFSET = POLLFD_OFFSET + LibC.SIZEOF_POLLFD;
    private static final int SLAB_SIZE = OPTION_OFFSET + 8;
    /** Updates {@link #fd}, for {@link LibC#closeOnce}. */
    private static final AtomicIntegerFieldUpdater<RtNetlink> FD = AtomicIntegerFieldUpdater.newUpdater(
        RtNetlink.class, "fd");

    /** Parses one reply message; returns null to skip it; throws only for a malformed one. */
    @FunctionalInterface
    private interface Decoder<T> {
        T decode(DirectBuffer buffer, int offset, int length) throws IOException;
    }

    private final int groups;
    private volatile int fd;
    private final UnsafeBuffer slab;
    private final long slabAddress;
    private final UnsafeBuffer request;
    private final UnsafeBuffer receive;
    private final RtEventDecoder eventDecoder = new RtEventDecoder();

    private int seq;
    /** Sequence number of a dump whose DONE has not been read (abandoned by an exception); 0 if none. */
    private int openDumpSeq;
    private boolean dumpInterrupted;
    /** The kernel's text for the last error reply, or null. */
    private String kernelMessage;
    private long overrunCount;
    private long foreignCount;

    private RtNetlink(int groups, int socketReceiveBufferBytes) throws IOException {
        this.groups = groups;
        slab = new UnsafeBuffer(BufferUtil.allocateDirectAligned(SLAB_SIZE, 64));
        slab.setMemory(0, SLAB_SIZE, (byte) 0);
        slabAddress = slab.addressOffset();
        request = new UnsafeBuffer(slab, REQUEST_OFFSET, REQUEST_CAPACITY);
        receive = new UnsafeBuffer(slab, RECEIVE_OFFSET, RECEIVE_CAPACITY);

        slab.putShort(SEND_ADDR_OFFSET + LibC.SOCKADDR_NL_FAMILY_OFFSET, (short) LibC.AF_NETLINK); // pid 0: the kernel
        slab.putLong(SEND_MSGHDR_OFFSET + LibC.MSGHDR_NAME_OFFSET, slabAddress + SEND_ADDR_OFFSET);
        slab.putInt(SEND_MSGHDR_OFFSET + LibC.MSGHDR_NAMELEN_OFFSET, LibC.SIZEOF_SOCKADDR_NL);
        slab.putLong(SEND_MSGHDR_OFFSET + LibC.MSGHDR_IOV_OFFSET, slabAddress + SEND_IOVEC_OFFSET);
        slab.putLong(SEND_MSGHDR_OFFSET + LibC.MSGHDR_IOVLEN_OFFSET, 1L);
        slab.putLong(SEND_IOVEC_OFFSET + LibC.IOVEC_BASE_OFFSET, slabAddress + REQUEST_OFFSET);
        slab.putLong(RECV_MSGHDR_OFFSET + LibC.MSGHDR_NAME_OFFSET, slabAddress + RECV_ADDR_OFFSET);
        slab.putLong(RECV_MSGHDR_OFFSET + LibC.MSGHDR_IOV_OFFSET, slabAddress + RECV_IOVEC_OFFSET);
        slab.putLong(RECV_MSGHDR_OFFSET + LibC.MSGHDR_IOVLEN_OFFSET, 1L);
        slab.putLong(RECV_IOVEC_OFFSET + LibC.IOVEC_BASE_OFFSET, slabAddress + RECEIVE_OFFSET);
        slab.putLong(RECV_IOVEC_OFFSET + LibC.IOVEC_LEN_OFFSET, RECEIVE_CAPACITY);

        final String what = "socket(AF_NETLINK, NETLINK_ROUTE, groups 0x" + Integer.toHexString(groups) + ")";
        final int fd = C.socket(LibC.AF_NETLINK, LibC.SOCK_RAW | LibC.SOCK_CLOEXEC | LibC.SOCK_NONBLOCK,
            LibC.NETLINK_ROUTE);
        if (fd < 0) {
            throw new NativeIoException(what, LibC.errno());
        }
        try {
            // optional: the kernel's error text in acks, and acks that do not echo the request
            setIntOption(fd, LibC.SOL_NETLINK, LibC.NETLINK_EXT_ACK, 1);
            setIntOption(fd, LibC.SOL_NETLINK, LibC.NETLINK_CAP_ACK, 1);
            if (socketReceiveBufferBytes > 0
                && setIntOption(fd, LibC.SOL_SOCKET, LibC.SO_RCVBUFFORCE, socketReceiveBufferBytes) != 0
                && setIntOption(fd, LibC.SOL_SOCKET, LibC.SO_RCVBUF, socketReceiveBufferBytes) != 0) {
                throw new NativeIoException(what + ": SO_RCVBUF " + socketReceiveBufferBytes, LibC.errno());
            }
            slab.putShort(RECV_ADDR_OFFSET + LibC.SOCKADDR_NL_FAMILY_OFFSET, (short) LibC.AF_NETLINK);
            slab.putInt(RECV_ADDR_OFFSET + LibC.SOCKADDR_NL_GROUPS_OFFSET, groups);
            if (C.bind(fd, slabAddress + RECV_ADDR_OFFSET, LibC.SIZEOF_SOCKADDR_NL) != 0) {
                throw new NativeIoException(what + ": bind", LibC.errno());
            }
        } catch (IOException | RuntimeException e) {
            C.close(fd);
            throw e;
        }
        this.fd = fd;
    }

    private int setIntOption(int fd, int level, int name, int value) {
        slab.putInt(OPTION_OFFSET, value);
        return C.setsockopt(fd, level, name, slabAddress + OPTION_OFFSET, 4);
    }

    /**
     * A request socket in the calling thread's network namespace, for dumps, lookups and writes.
     *
     * @throws NativeIoException if the socket cannot be created or bound
     */
    public static RtNetlink open() throws IOException {
        return new RtNetlink(0, 0);
    }

    /**
     * A monitor in the calling thread's network namespace, subscribed to {@code groups} (any of
     * {@link Netlink#RTMGRP_LINK}, {@link Netlink#RTMGRP_IPV4_IFADDR}, {@link Netlink#RTMGRP_NEIGH},
     * {@link Netlink#RTMGRP_IPV4_ROUTE}; {@link #ALL_GROUPS}) with the kernel's default socket receive buffer.
     */
    public static RtNetlink openMonitor(int groups) throws IOException {
        return openMonitor(groups, 0);
    }

    /**
     * As {@link #openMonitor(int)} with the socket receive buffer set to {@code socketReceiveBufferBytes}
     * ({@code SO_RCVBUFFORCE}, falling back to {@code SO_RCVBUF} which {@code net.core.rmem_max} caps; the
     * kernel doubles the value for bookkeeping). A larger buffer makes overruns rarer when changes come in
     * bursts (e.g. a link down taking hundreds of routes); 0 keeps the default.
     *
     * @throws IllegalArgumentException naming the value if {@code groups} is 0 or has bits outside
     *         {@link #ALL_GROUPS}, or the buffer size is negative
     */
    public static RtNetlink openMonitor(int groups, int socketReceiveBufferBytes) throws IOException {
        if (groups == 0 || (groups & ~ALL_GROUPS) != 0) {
            throw new IllegalArgumentException("multicast groups 0x" + Integer.toHexString(groups)
                + " are not a non-empty subset of 0x" + Integer.toHexString(ALL_GROUPS));
        }
        if (socketReceiveBufferBytes < 0) {
            throw new IllegalArgumentException("socket receive buffer " + socketReceiveBufferBytes + " is negative");
        }
        return new RtNetlink(groups, socketReceiveBufferBytes);
    }

    /** True for a socket from {@link #openMonitor}. */
    public boolean isMonitor() {
        return groups != 0;
    }

    // ------------------------------------------------------------------ dumps

    /** Every link ({@code RTM_GETLINK} dump; statistics skipped). */
    public List<LinkInfo> dumpLinks() throws IOException {
        return dump("RTM_GETLINK dump", seq -> IfInfoMsg.encodeDump(request, 0, seq), RtNetlink::decodeLink);
    }

    /** Every IPv4 address of every interface ({@code RTM_GETADDR} dump, AF_INET). */
    public List<AddressInfo> dumpAddresses() throws IOException {
        return dump("RTM_GETADDR dump", seq -> IfAddrMsg.encodeDump(request, 0, seq), RtNetlink::decodeAddress);
    }

    /** The IPv4 ARP cache ({@code RTM_GETNEIGH} dump, AF_INET), without proxy entries. */
    public List<NeighbourInfo> dumpNeighbours() throws IOException {
        return dump("RTM_GETNEIGH dump", seq -> NdMsg.encodeDump(request, 0, seq, false), RtNetlink::decodeNeighbour);
    }

    /** The IPv4 proxy-ARP table ({@code RTM_GETNEIGH} dump with {@code ndm_flags = NTF_PROXY}). */
    public List<NeighbourInfo> dumpProxyNeighbours() throws IOException {
        return dump("RTM_GETNEIGH proxy dump", seq -> NdMsg.encodeDump(request, 0, seq, true),
            RtNetlink::decodeNeighbour);
    }

    /** Every IPv4 route of every table ({@code RTM_GETROUTE} dump, AF_INET); filter by table in the caller. */
    public List<RouteInfo> dumpRoutes() throws IOException {
        return dump("RTM_GETROUTE dump", seq -> RtMsg.encodeDump(request, 0, seq), RtNetlink::decodeRoute);
    }

    // ------------------------------------------------------------------ lookups

    /** The link with this index, or empty if there is none (ENODEV). */
    public Optional<LinkInfo> link(int ifindex) throws IOException {
        checkIfindex(ifindex);
        final String operation = "RTM_GETLINK ifindex " + ifindex;
        return get(operation, IfInfoMsg.encodeGetByIndex(request, 0, nextSeq(), ifindex), RtNetlink::decodeLink,
            LibC.ENODEV);
    }

    /**
     * The link with this name, or empty if there is none (ENODEV).
     *
     * @throws IllegalArgumentException naming it if the name is empty, longer than 15 characters or not
     *         printable ASCII
     */
    public Optional<LinkInfo> link(String name) throws IOException {
        checkName(name);
        final String operation = "RTM_GETLINK '" + name + "'";
        return get(operation, IfInfoMsg.encodeGetByName(request, 0, nextSeq(), name), RtNetlink::decodeLink,
            LibC.ENODEV);
    }

    /**
     * The index of the interface with this name.
     *
     * @throws NativeIoException with ENODEV, naming the interface, if there is none
     */
    public int ifindex(String name) throws IOException {
        final Optional<LinkInfo> link = link(name);
        if (link.isEmpty()) {
            throw new NativeIoException("no interface '" + name + "'", LibC.ENODEV);
        }
        return link.get().ifindex();
    }

    /** The proxy-ARP entry for {@code address} on {@code ifindex}, or empty (ENOENT). */
    public Optional<NeighbourInfo> proxyNeighbour(int ifindex, int address) throws IOException {
        checkIfindex(ifindex);
        final String operation = "RTM_GETNEIGH proxy " + Ipv4Address.toString(address) + " on ifindex " + ifindex;
        return get(operation, NdMsg.encodeGetProxy(request, 0, nextSeq(), ifindex, address), RtNetlink::decodeNeighbour,
            LibC.ENOENT);
    }

    // ------------------------------------------------------------------ writes

    /**
     * Adds {@code address/prefixLength} to the interface ({@code ip addr add A/N dev X scope S}).
     *
     * @param scope {@link RtMsg#RT_SCOPE_UNIVERSE} (global), {@link RtMsg#RT_SCOPE_LINK} or
     *        {@link RtMsg#RT_SCOPE_HOST}
     * @return {@link WriteResult#CREATED}, or {@link WriteResult#EXISTED} if the interface already has this
     *         address with this prefix length (its scope or label may differ)
     * @throws NativeIoException e.g. ENODEV for an unknown ifindex
     */
    public WriteResult addAddress(int ifindex, int address, int prefixLength, int scope) throws IOException {
        return addAddress(ifindex, address, prefixLength, scope, 0);
    }

    /**
     * As {@link #addAddress(int, int, int, int)}, the address marked with {@code protocol} ({@code IFA_PROTO}, shown
     * by {@code ip addr} as {@code proto N}) so that its owner finds it again; 0 for no mark.
     */
    public WriteResult addAddress(int ifindex, int address, int prefixLength, int scope, int protocol) throws IOException {
        checkByte("protocol", protocol);
        checkIfindex(ifindex);
        checkPrefixLength(prefixLength);
        checkByte("scope", scope);
        final String operation = "RTM_NEWADDR " + Ipv4Address.toString(address) + "/" + prefixLength + " scope " + scope
            + " on ifindex " + ifindex;
        final int length = IfAddrMsg.encodeAdd(request, 0, nextSeq(), ifindex, address, prefixLength, scope, protocol);
        return write(operation, length, WriteResult.CREATED, LibC.EEXIST, WriteResult.EXISTED);
    }

    /**
     * Deletes {@code address/prefixLength} from the interface.
     *
     * @return {@link WriteResult#DELETED}, or {@link WriteResult#ABSENT} if it was not there (EADDRNOTAVAIL)
     * @throws NativeIoException e.g. ENODEV for an unknown ifindex
     */
    public WriteResult deleteAddress(int ifindex, int address, int prefixLength) throws IOException {
        checkIfindex(ifindex);
        checkPrefixLength(prefixLength);
        final String operation = "RTM_DELADDR " + Ipv4Address.toString(address) + "/" + prefixLength + " on ifindex "
            + ifindex;
        final int length = IfAddrMsg.encodeDelete(request, 0, nextSeq(), ifindex, address, prefixLength);
        return write(operation, length, WriteResult.DELETED, LibC.EADDRNOTAVAIL, WriteResult.ABSENT);
    }

    /**
     * Adds a proxy-ARP entry ({@code ip neigh add proxy A dev X}): the kernel answers ARP requests for
     * {@code address} on the interface (with {@code net.ipv4.conf.X.proxy_arp} off this is all it takes). The
     * kernel does not report whether the entry existed, so it is looked up first; a concurrent writer of the
     * same entry could make a {@link WriteResult#CREATED} really mean "existed".
     *
     * @return {@link WriteResult#CREATED} or {@link WriteResult#EXISTED}
     * @throws NativeIoException e.g. ENODEV for an unknown ifindex
     */
    public WriteResult addProxyNeighbour(int ifindex, int address) throws IOException {
        return addProxyNeighbour(ifindex, address, 0);
    }

    /**
     * As {@link #addProxyNeighbour(int, int)}, the entry marked with {@code protocol} ({@code NDA_PROTOCOL}, shown by
     * {@code ip neigh show proxy} as {@code proto N}) so that its owner can find it again; an entry that already
     * exists keeps its own mark.
     */
    public WriteResult addProxyNeighbour(int ifindex, int address, int protocol) throws IOException {
        checkByte("protocol", protocol);
        if (proxyNeighbour(ifindex, address).isPresent()) {
            return WriteResult.EXISTED;
        }
        final String operation = "RTM_NEWNEIGH proxy " + Ipv4Address.toString(address) + " on ifindex " + ifindex;
        final int length = NdMsg.encodeAddProxy(request, 0, nextSeq(), ifindex, address, protocol);
        return write(operation, length, WriteResult.CREATED, LibC.EEXIST, WriteResult.EXISTED);
    }

    /**
     * Deletes a proxy-ARP entry ({@code ip neigh del proxy A dev X}).
     *
     * @return {@link WriteResult#DELETED}, or {@link WriteResult#ABSENT} if there was none (ENOENT)
     */
    public WriteResult deleteProxyNeighbour(int ifindex, int address) throws IOException {
        checkIfindex(ifindex);
        final String operation = "RTM_DELNEIGH proxy " + Ipv4Address.toString(address) + " on ifindex " + ifindex;
        final int length = NdMsg.encodeDeleteProxy(request, 0, nextSeq(), ifindex, address);
        return write(operation, length, WriteResult.DELETED, LibC.ENOENT, WriteResult.ABSENT);
    }

    /**
     * Adds the unicast, link-scope route {@code destination/prefixLength dev oif proto protocol table table}
     * (as {@code ip route add} would), failing softly if the table already has a route for this prefix.
     *
     * @param table 1..2^32-1 as an unsigned int ({@link RtMsg#RT_TABLE_MAIN} = 254); a new table id just works
     * @param destination network order, host bits zero
     * @param oif the output interface
     * @param protocol 0..255, the {@code rtm_protocol} that marks who owns the route ({@code ip route show proto
     *        N}); use a private number to recognise one's own routes after a crash
     * @return {@link WriteResult#CREATED}, or {@link WriteResult#EXISTED} if the table has a route for this
     *         prefix (and metric 0), whatever its device or protocol
     * @throws IllegalArgumentException naming the value if one is out of range or the destination has host bits
     * @throws NativeIoException e.g. ENODEV for an unknown oif, ENETDOWN if it is down
     */
    public WriteResult addRoute(int table, int destination, int prefixLength, int oif, int protocol) throws IOException {
        final String operation = routeOperation("RTM_NEWROUTE", table, destination, prefixLength, oif, protocol, false);
        final int length = RtMsg.encodeNew(request, 0, nextSeq(), Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, table,
            destination, prefixLength, oif, protocol);
        return write(operation, length, WriteResult.CREATED, LibC.EEXIST, WriteResult.EXISTED);
    }

    /**
     * Adds the route as {@link #addRoute} does, or replaces the table's route for this prefix
     * ({@code NLM_F_CREATE | NLM_F_REPLACE}, {@code ip route replace}).
     *
     * @return {@link WriteResult#REPLACED} (created or replaced: the kernel does not say which)
     */
    public WriteResult replaceRoute(int table, int destination, int prefixLength, int oif, int protocol)
            throws IOException {
        final String operation = routeOperation("RTM_NEWROUTE replace", table, destination, prefixLength, oif, protocol,
            false);
        final int length = RtMsg.encodeNew(request, 0, nextSeq(), Netlink.NLM_F_CREATE | Netlink.NLM_F_REPLACE, table,
            destination, prefixLength, oif, protocol);
        return write(operation, length, WriteResult.REPLACED, 0, null);
    }

    /**
     * Deletes the route for {@code destination/prefixLength} in {@code table}, of any scope and type.
     *
     * @param oif only a route through this interface; 0 = any
     * @param protocol only a route with this {@code rtm_protocol}; 0 = any (so a caller can never delete
     *        another owner's route by passing its own protocol)
     * @return {@link WriteResult#DELETED}, or {@link WriteResult#ABSENT} if nothing matched (ESRCH, also when
     *         the table does not exist)
     */
    public WriteResult deleteRoute(int table, int destination, int prefixLength, int oif, int protocol)
            throws IOException {
        final String operation = routeOperation("RTM_DELROUTE", table, destination, prefixLength, oif, protocol, true);
        final int length = RtMsg.encodeDelete(request, 0, nextSeq(), table, destination, prefixLength, oif,
            protocol);
        return write(operation, length, WriteResult.DELETED, LibC.ESRCH, WriteResult.ABSENT);
    }

    private static String routeOperation(String what, int table, int destination, int prefixLength, int oif,
            int protocol, boolean delete) {
        if (table == 0) {
            throw new IllegalArgumentException("route table 0 (RT_TABLE_UNSPEC) is not a table");
        }
        checkPrefixLength(prefixLength);
        if (prefixLength < 32 && (destination & (int) (0xFFFFFFFFL >>> prefixLength)) != 0) {
            throw new IllegalArgumentException("route destination " + Ipv4Address.toString(destination) + "/"
                + prefixLength + " has host bits set");
        }
        if (delete ? oif < 0 : oif <= 0) {
            throw new IllegalArgumentException("output ifindex " + oif + " is not " + (delete ? "0 or " : "")
                + "a positive interface index");
        }
        checkByte("protocol", protocol);
        return what + " " + Ipv4Address.toString(destination) + "/" + prefixLength + " dev " + oif + " proto " + protocol
            + " table " + Integer.toUnsignedString(table);
    }

    // ------------------------------------------------------------------ events

    /**
     * Waits up to {@code timeoutMillis} for notifications, then reads what is queued (at most
     * {@value #MAX_DATAGRAMS_PER_RECEIVE} datagrams) and hands each event to {@code handler} in the kernel's
     * order. An {@code ENOBUFS} from the socket (the kernel dropped notifications because the receive buffer was
     * full), a datagram larger than the receive area or a message that does not parse is handed over as an
     * {@link RtEvent.Overrun}: the caller must resynchronise with dumps. If the handler throws, the exception
     * propagates and the rest of that datagram is lost: treat it as an overrun too.
     *
     * @param timeoutMillis 0 = do not wait; must not be negative (every wait is bounded)
     * @return the number of events handed over; 0 on timeout or after {@link #close}
     * @throws IllegalStateException on a request socket
     * @throws NativeIoException if the socket fails otherwise
     */
    public int receiveEvents(int timeoutMillis, Consumer<? super RtEvent> handler) throws IOException {
        if (!isMonitor()) {
            throw new IllegalStateException("receiveEvents on a request socket (open it with openMonitor)");
        }
        if (timeoutMillis < 0) {
            throw new IllegalArgumentException("timeout " + timeoutMillis + " ms is negative");
        }
        if (!awaitReadable(timeoutMillis)) {
            return 0;
        }
        int delivered = 0;
        for (int i = 0; i < MAX_DATAGRAMS_PER_RECEIVE; i++) {
            final int fd = this.fd;
            if (fd < 0) {
                break;
            }
            final long received = receiveDatagram(fd);
            if (received < 0) {
                final int errno = LibC.errno();
                if (errno == LibC.EINTR) {
                    continue;
                }
                if (errno == LibC.EAGAIN) {
                    break;
                }
                if (errno == LibC.ENOBUFS) {
                    overrunCount++;
                    handler.accept(new RtEvent.Overrun("ENOBUFS: the kernel dropped notifications (receive buffer full)"));
                    delivered++;
                    continue;
                }
                throw new NativeIoException("recvmsg(rtnetlink monitor, groups 0x" + Integer.toHexString(groups) + ")",
                    errno);
            }
            if (!fromKernel()) {
                foreignCount++;
                continue;
            }
            if (truncated(received)) {
                overrunCount++;
                handler.accept(new RtEvent.Overrun("a notification datagram of " + received + " bytes exceeds the "
                    + RECEIVE_CAPACITY + "-byte receive area"));
                delivered++;
                continue;
            }
            delivered += eventDecoder.decode(receive, (int) received, handler);
        }
        return delivered;
    }

    /** Overruns seen: ENOBUFS from the kernel and datagrams too large for the receive area. */
    public long overrunCount() {
        return overrunCount;
    }

    /** Notification messages that did not parse (each was also reported as an {@link RtEvent.Overrun}). */
    public long malformedCount() {
        return eventDecoder.malformedCount();
    }

    /** Notification messages skipped: other address families, bridge-port link messages, other types. */
    public long ignoredCount() {
        return eventDecoder.ignoredCount();
    }

    /** Datagrams dropped because they did not come from the kernel (another process's port id). */
    public long foreignCount() {
        return foreignCount;
    }

    /** Closes the socket once; later calls fail (requests) or return 0 ({@link #receiveEvents}). */
    @Override
    public void close() {
        LibC.closeOnce(FD, this);
    }

    @Override
    public String toString() {
        return "RtNetlink[" + (isMonitor() ? "monitor 0x" + Integer.toHexString(groups) : "requests") + ", fd=" + fd + "]";
    }

    // ------------------------------------------------------------------ request machinery

    private int nextSeq() {
        seq++;
        if (seq == 0) {
            seq = 1;
        }
        return seq;
    }

    /** Sends the non-dump request of {@code length} bytes in {@link #request}; returns 0 or a positive errno. */
    private int request(String operation, int length) throws IOException {
        return transact(operation, length, false, null);
    }

    /**
     * Sends the write request of {@code length} bytes in {@link #request}: {@code done} if the kernel accepted it,
     * {@code soft} if it answered {@code softErrno} (the "already there" / "already gone" errno; 0 for none),
     * otherwise throws the kernel's error.
     */
    private WriteResult write(String operation, int length, WriteResult done, int softErrno, WriteResult soft)
            throws IOException {
        final int error = request(operation, length);
        if (error == 0) {
            return done;
        }
        if (softErrno != 0 && error == softErrno) {
            return soft;
        }
        throw kernelError(operation, error);
    }

    private <T> Optional<T> get(String operation, int length, Decoder<T> decoder, int absentErrno) throws IOException {
        final List<T> found = new ArrayList<>(1);
        final int error = transact(operation, length, false, (buffer, offset, messageLength) -> {
            final T item = decoder.decode(buffer, offset, messageLength);
            if (item != null && found.isEmpty()) {
                found.add(item);
            }
        });
        if (error == absentErrno) {
            return Optional.empty();
        }
        if (error != 0) {
            throw kernelError(operation, error);
        }
        return found.isEmpty() ? Optional.empty() : Optional.of(found.get(0));
    }

    private <T> List<T> dump(String operation, IntUnaryOperator encoder, Decoder<T> decoder) throws IOException {
        for (int attempt = 1;; attempt++) {
            final List<T> result = new ArrayList<>();
            final int dumpSeq = nextSeq();
            final int length = encoder.applyAsInt(dumpSeq);
            dumpInterrupted = false;
            final int error = transact(operation, length, true, (buffer, offset, messageLength) -> {
                final T item = decoder.decode(buffer, offset, messageLength);
                if (item != null) {
                    result.add(item);
                }
            });
            if (error != 0) {
                throw kernelError(operation, error);
            }
            if (!dumpInterrupted) {
                return result;
            }
            if (attempt == MAX_DUMP_ATTEMPTS) {
                throw new NativeIoException(operation + " interrupted by concurrent changes " + attempt + " times in a row",
                    LibC.EINTR);
            }
        }
    }

    @FunctionalInterface
    private interface MessageHandler {
        void onMessage(DirectBuffer buffer, int offset, int length) throws IOException;
    }

    /**
     * Sends the request in {@link #request} and reads replies with its sequence number, handing data messages to
     * {@code handler}, until the NLMSG_ERROR (non-dumps) or NLMSG_DONE (dumps).
     *
     * @return 0, or the positive errno the kernel answered (its text in {@link #kernelMessage})
     */
    private int transact(String operation, int length, boolean dump, MessageHandler handler) throws IOException {
        if (isMonitor()) {
            throw new IllegalStateException(operation + " on a monitor socket (use a socket from RtNetlink.open())");
        }
        if (openDumpSeq != 0) {
            drainDump(operation);
        }
        final int expectedSeq = request.getInt(Netlink.SEQ_OFFSET);
        kernelMessage = null;
        send(operation, length);
        if (dump) {
            openDumpSeq = expectedSeq;
        }
        while (true) {
            final int limit = receiveReply(operation);
            int offset = 0;
            while (offset < limit) {
                final int messageLength = Netlink.validate(receive, offset, limit);
                if (messageLength < 0) {
                    throw new IOException(operation + ": malformed reply: " + Malformed.describe(messageLength));
                }
                if (Netlink.seq(receive, offset) == expectedSeq) {
                    final int type = Netlink.type(receive, offset);
                    if ((Netlink.flags(receive, offset) & Netlink.NLM_F_DUMP_INTR) != 0) {
                        dumpInterrupted = true;
                    }
                    if (type == Netlink.NLMSG_ERROR) {
                        if (messageLength < Netlink.ERROR_MIN_LENGTH) {
                            throw new IOException(operation + ": malformed reply: "
                                + Malformed.describe(Malformed.TRUNCATED_ERROR));
                        }
                        openDumpSeq = 0;
                        return finishWith(Netlink.errorCode(receive, offset), offset, messageLength);
                    }
                    if (type == Netlink.NLMSG_DONE) {
                        if (dump) {
                            openDumpSeq = 0;
                            final int error = messageLength >= Netlink.HEADER_LENGTH + 4
                                ? receive.getInt(offset + Netlink.HEADER_LENGTH) : 0;
                            return finishWith(error, offset, messageLength);
                        }
                    } else if (type != Netlink.NLMSG_NOOP && handler != null) {
                        handler.onMessage(receive, offset, messageLength);
                    }
                }
                offset = Netlink.next(offset, messageLength, limit);
            }
        }
    }

    private int finishWith(int error, int offset, int messageLength) {
        if (error == 0) {
            return 0;
        }
        kernelMessage = Netlink.errorMessage(receive, offset, messageLength);
        return error < 0 ? -error : error;
    }

    /** Reads and drops the rest of an abandoned dump, so the kernel accepts a new one (it allows one at a time). */
    private void drainDump(String operation) throws IOException {
        final int abandoned = openDumpSeq;
        try {
            boolean done = false;
            while (!done) {
                final int limit = receiveReply(operation + " (draining an abandoned dump)");
                int offset = 0;
                while (offset < limit) {
                    final int messageLength = Netlink.validate(receive, offset, limit);
                    if (messageLength < 0) {
                        break;
                    }
                    final int type = Netlink.type(receive, offset);
                    if (Netlink.seq(receive, offset) == abandoned
                        && (type == Netlink.NLMSG_DONE || type == Netlink.NLMSG_ERROR)) {
                        done = true;
                    }
                    offset = Netlink.next(offset, messageLength, limit);
                }
            }
        } finally {
            // drained, or failed trying: either way do not try again before every later request
            openDumpSeq = 0;
        }
    }

    private NativeIoException kernelError(String operation, int errno) {
        return new NativeIoException(kernelMessage == null ? operation : operation + " [kernel: " + kernelMessage + "]",
            errno);
    }

    private void send(String operation, int length) throws IOException {
        slab.putLong(SEND_IOVEC_OFFSET + LibC.IOVEC_LEN_OFFSET, length);
        while (true) {
            final int fd = requireOpen(operation);
            final long sent = C.sendmsg(fd, slabAddress + SEND_MSGHDR_OFFSET, 0);
            if (sent == length) {
                return;
            }
            final int errno = sent < 0 ? LibC.errno() : LibC.EMSGSIZE;
            if (errno != LibC.EINTR) {
                throw new NativeIoException(operation + ": sendmsg", errno);
            }
        }
    }

    /**
     * Receives one reply datagram from the kernel into {@link #receive}, waiting at most
     * {@value #REQUEST_TIMEOUT_MILLIS} ms for it; returns its length.
     */
    private int receiveReply(String operation) throws IOException {
        final long deadline = System.nanoTime() + REQUEST_TIMEOUT_MILLIS * 1_000_000L;
        while (true) {
            final int fd = requireOpen(operation);
            final long received = receiveDatagram(fd);
            if (received >= 0) {
                if (!fromKernel()) {
                    foreignCount++;
                    continue;
                }
                if (truncated(received)) {
                    throw new IOException(operation + ": a reply datagram of " + received + " bytes exceeds the "
                        + RECEIVE_CAPACITY + "-byte receive area");
                }
                return (int) received;
            }
            final int errno = LibC.errno();
            if (errno == LibC.EINTR) {
                continue;
            }
            if (errno != LibC.EAGAIN) {
                throw new NativeIoException(operation + ": recvmsg", errno);
            }
            final long remainingMillis = (deadline - System.nanoTime()) / 1_000_000L;
            if (remainingMillis <= 0) {
                throw new NativeIoException(operation + ": no reply from the kernel within " + REQUEST_TIMEOUT_MILLIS
                    + " ms", LibC.ETIMEDOUT);
            }
            awaitReadable((int) remainingMillis);
        }
    }

    /** One non-blocking recvmsg into the receive area; the real datagram length even if larger (MSG_TRUNC). */
    private long receiveDatagram(int fd) {
        slab.putInt(RECV_MSGHDR_OFFSET + LibC.MSGHDR_NAMELEN_OFFSET, LibC.SIZEOF_SOCKADDR_NL);
        slab.putInt(RECV_MSGHDR_OFFSET + LibC.MSGHDR_FLAGS_OFFSET, 0);
        slab.putInt(RECV_ADDR_OFFSET + LibC.SOCKADDR_NL_PID_OFFSET, -1);
        return C.recvmsg(fd, slabAddress + RECV_MSGHDR_OFFSET, LibC.MSG_DONTWAIT | LibC.MSG_TRUNC);
    }

    private boolean fromKernel() {
        return slab.getInt(RECV_ADDR_OFFSET + LibC.SOCKADDR_NL_PID_OFFSET) == 0;
    }

    private boolean truncated(long received) {
        return received > RECEIVE_CAPACITY
            || (slab.getInt(RECV_MSGHDR_OFFSET + LibC.MSGHDR_FLAGS_OFFSET) & LibC.MSG_TRUNC) != 0;
    }

    /** poll(2) for POLLIN (errors such as ENOBUFS also wake it); false on timeout, EINTR or a closed socket. */
    private boolean awaitReadable(int timeoutMillis) {
        final int fd = this.fd;
        if (fd < 0) {
            return false;
        }
        slab.putInt(POLLFD_OFFSET + LibC.POLLFD_FD_OFFSET, fd);
        slab.putShort(POLLFD_OFFSET + LibC.POLLFD_EVENTS_OFFSET, LibC.POLLIN);
        slab.putShort(POLLFD_OFFSET + LibC.POLLFD_REVENTS_OFFSET, (short) 0);
        final int ready = C.poll(slabAddress + POLLFD_OFFSET, 1, timeoutMillis);
        return ready > 0 && (slab.getShort(POLLFD_OFFSET + LibC.POLLFD_REVENTS_OFFSET) & LibC.POLLNVAL) == 0;
    }

    private int requireOpen(String operation) throws NativeIoException {
        final int fd = this.fd;
        if (fd < 0) {
            throw new NativeIoException(operation + " on a closed rtnetlink socket", LibC.EBADF);
        }
        return fd;
    }

    // ------------------------------------------------------------------ decoding replies

    private static LinkInfo decodeLink(DirectBuffer buffer, int offset, int length) throws IOException {
        if (Netlink.type(buffer, offset) != Netlink.RTM_NEWLINK) {
            return null;
        }
        final int check = IfInfoMsg.check(buffer, offset, length);
        if (check < 0) {
            throw malformed(Netlink.RTM_NEWLINK, check);
        }
        return IfInfoMsg.family(buffer, offset) == IfInfoMsg.AF_UNSPEC ? IfInfoMsg.decode(buffer, offset, length) : null;
    }

    private static AddressInfo decodeAddress(DirectBuffer buffer, int offset, int length) throws IOException {
        if (Netlink.type(buffer, offset) != Netlink.RTM_NEWADDR) {
            return null;
        }
        final int check = IfAddrMsg.check(buffer, offset, length);
        if (check < 0) {
            throw malformed(Netlink.RTM_NEWADDR, check);
        }
        return IfAddrMsg.family(buffer, offset) == LibC.AF_INET ? IfAddrMsg.decode(buffer, offset, length) : null;
    }

    private static NeighbourInfo decodeNeighbour(DirectBuffer buffer, int offset, int length) throws IOException {
        if (Netlink.type(buffer, offset) != Netlink.RTM_NEWNEIGH) {
            return null;
        }
        final int check = NdMsg.check(buffer, offset, length);
        if (check < 0) {
            throw malformed(Netlink.RTM_NEWNEIGH, check);
        }
        return NdMsg.family(buffer, offset) == LibC.AF_INET ? NdMsg.decode(buffer, offset, length) : null;
    }

    private static RouteInfo decodeRoute(DirectBuffer buffer, int offset, int length) throws IOException {
        if (Netlink.type(buffer, offset) != Netlink.RTM_NEWROUTE) {
            return null;
        }
        final int check = RtMsg.check(buffer, offset, length);
        if (check < 0) {
            throw malformed(Netlink.RTM_NEWROUTE, check);
        }
        return RtMsg.family(buffer, offset) == LibC.AF_INET ? RtMsg.decode(buffer, offset, length) : null;
    }

    private static IOException malformed(int type, int code) {
        return new IOException("malformed " + Netlink.typeName(type) + " from the kernel: " + Malformed.describe(code));
    }

    // ------------------------------------------------------------------ argument checks

    private static void checkIfindex(int ifindex) {
        if (ifindex <= 0) {
            throw new IllegalArgumentException("ifindex " + ifindex + " is not a positive interface index");
        }
    }

    private static void checkPrefixLength(int prefixLength) {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("IPv4 prefix length " + prefixLength + " is not in 0..32");
        }
    }

    private static void checkByte(String what, int value) {
        if (value < 0 || value > 255) {
            throw new IllegalArgumentException(what + " " + value + " is not in 0..255");
        }
    }

    private static void checkName(String name) {
        if (name == null || name.isEmpty() || name.length() > 15) {
            throw new IllegalArgumentException("interface name '" + name + "' is not 1..15 characters");
        }
        for (int i = 0; i < name.length(); i++) {
            final char c = name.charAt(i);
            if (c <= ' ' || c >= 0x7f) {
                throw new IllegalArgumentException("interface name '" + name + "' has an invalid character at index " + i);
            }
        }
    }
}
