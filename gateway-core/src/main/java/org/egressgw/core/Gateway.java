package org.egressgw.core;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import io.netty.channel.epoll.LinuxSocket;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.Timeouts;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.config.TunnelConfig;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.source.ClusterSource;
import org.egressgw.control.source.FileClusterSource;
import org.egressgw.core.admin.AdminServer;
import org.egressgw.core.admin.ConntrackReport;
import org.egressgw.core.admin.GatewayMetrics;
import org.egressgw.core.cluster.PolicyController;
import org.egressgw.core.cluster.PolicySnapshot;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DropObserver;
import org.egressgw.core.datapath.NatStats;
import org.egressgw.core.datapath.Worker;
import org.egressgw.core.host.HostPlumbing;
import org.egressgw.core.host.Interfaces;
import org.egressgw.core.io.DirectTunnelReader;
import org.egressgw.core.io.EgressReceiver;
import org.egressgw.core.io.InlineTunReader;
import org.egressgw.core.io.TunnelReceiver;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.kube.KubernetesClusterSource;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.MacAddress;
import org.egressgw.tunio.CpuAffinity;
import org.egressgw.tunio.FlowSteering;
import org.egressgw.tunio.NativeIoException;
import org.egressgw.tunio.TunDevice;
import org.egressgw.tunio.VirtioNetHeader;

/**
 * A running gateway: wires configuration, the cluster source, policies, host plumbing, the rings,
 * the datapath thread and the I/O threads together, and takes them down in reverse order.
 *
 * <pre>
 *  node VXLAN ──► [Netty epoll UDP, recvmmsg] ──► request ring ──┐
 *                                                                ├─► datapath thread ──► TUN write ──► kernel ──► egress iface
 *  egress iface ──► kernel ──► TUN ──► [reader] ──► reply ring ──┘            └──► raw IPv4 sendmmsg ──► node VXLAN
 * </pre>
 *
 * <p>With {@code pipeline.shards: N} there are N such pipelines ({@link Shard}), one thread each, every one
 * with its own tunnel socket (one {@code SO_REUSEPORT} group), TUN queue, connection table and part of the port
 * range; two eBPF programs ({@link FlowSteering}) make the kernel deliver each packet to the shard owning its
 * connection.
 *
 * <p>Policy changes (files edited, Kubernetes objects changed, an egress interface's address
 * changed) are compiled off the packet path and swapped in whole: connections that exist keep
 * their translation — a change never cuts a flow — and new connections follow the new policies.
 * An egress IP no policy uses any more keeps its plumbing until its last connection is gone
 * (graceful drain), then the plumbing is removed.
 */
public final class Gateway implements AutoCloseable {
    /** Ports probed for a new connection before giving up (as Cilium). */
    static final int PORT_TRIES = 32;
    /** The largest reply read whole with transmit offload: what still fits an IPv4 packet once encapsulated. */
    static final int MAX_OFFLOADED_PACKET = 0xffff - VxlanEncapsulator.OVERHEAD;
    /**
     * Reply slot room (after the headroom) with transmit offload: the largest IPv4 packet, plus two cache
     * lines so that consecutive slots do not start at the same offset modulo 64 KiB — with a power-of-two
     * stride every slot's headers would fall into the same cache sets and evict each other within a burst.
     */
    static final int MAX_OFFLOADED_SLOT = 65536 + 128;

    private final GatewayConfig config;
    private final PrintStream out;
    private final DropObserver dropObserver;
    private final List<AutoCloseable> resources = new ArrayList<>();
    /** Draining egress IPs → consecutive stats rounds with no port in use; guarded by plumbingLock. */
    private final Map<Integer, Integer> drainingZeroes = new HashMap<>();
    private final Object plumbingLock = new Object();
    private final ScheduledExecutorService housekeeping = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "egw-housekeeping");
        t.setDaemon(true);
        return t;
    });
    /** The pipelines ({@code pipeline.shards}); filled during start-up, read-only afterwards. */
    private final List<Shard> shards = new java.util.concurrent.CopyOnWriteArrayList<>();
    private HostPlumbing plumbing;
    /** The TUN device's first queue (the device's name and configuration). */
    private TunDevice tun;
    private PolicyController policies;
    private Thread workerThread;
    private Thread egressThread;
    private AdminServer admin;
    private boolean closed;

    private Gateway(GatewayConfig config, PrintStream out, DropObserver dropObserver) {
        this.config = config;
        this.out = out;
        this.dropObserver = dropObserver;
    }

    /** Starts a gateway; on failure everything already set up is taken down again. */
    public static Gateway start(GatewayConfig config, PrintStream out) throws Exception {
        return start(config, out, null);
    }

    /**
     * Starts a gateway whose dropped packets are also shown to {@code dropObserver} (nullable),
     * e.g. a drop capture; on failure everything already set up is taken down again.
     */
    public static Gateway start(GatewayConfig config, PrintStream out, DropObserver dropObserver) throws Exception {
        Gateway g = new Gateway(config, out, dropObserver);
        try {
            g.startUp();
            return g;
        } catch (Exception | Error e) {
            g.close();
            throw e;
        }
    }

    private void startUp() throws Exception {
        int egressMtu = Interfaces.mtu(config.egress().interfaceName());
        int slot = Integer.highestOneBit(Math.max(config.tunnel().mtu(), egressMtu) + Datapath.REPLY_OFFSET - 1) << 1;
        int maxDatagram = slot - Datapath.REQUEST_OFFSET;
        int shardCount = config.pipeline().shards();
        boolean sharded = shardCount > 1;

        // transmit offload: replies are read as TCP super-packets, translated once, and written to a TAP
        // device as VXLAN super-packets the kernel keeps whole to the node (Linux 6.17+ TUN tunnel GSO)
        List<TunDevice> taps = openOffloadTap(shardCount);
        boolean offload = taps != null;
        // with egress offload, TCP segments are coalesced into GSO super-packets on the way out (one write
        // carries many segments; the kernel cuts them again): the TUN device then carries a vnet header.
        // Sharded: one queue per shard (IFF_MULTI_QUEUE)
        List<TunDevice> queues = new ArrayList<>();
        for (int k = 0; k < shardCount; k++) {
            // later queues by the name the kernel gave the first (egress.device may be a pattern like egw%d)
            TunDevice q = TunDevice.open(k == 0 ? config.egress().device() : queues.get(0).name(), false, true,
                    config.egress().offload() ? VirtioNetHeader.LENGTH : 0,
                    offload ? TunDevice.OFFLOAD_CSUM | TunDevice.OFFLOAD_TSO4 : 0, sharded);
            resources.add(q);
            queues.add(q);
        }
        tun = queues.get(0);
        out.println("plumbing: + TUN device " + tun.name() + (config.egress().offload() ? " with GSO offload" : "")
                + (offload ? ", reading TCP super-packets" : "") + (sharded ? ", " + shardCount + " queues" : "")
                + " (removed when the gateway exits)");
        plumbing = new HostPlumbing(out);
        resources.add(plumbing);
        // the TUN device's MTU is the tunnel's inner MTU: when the kernel forwards a reply into it,
        // it answers DF packets that cannot fit with fragmentation-needed and fragments the others
        plumbing.setUpTun(tun.name(), Math.min(egressMtu, config.tunnel().innerMtu()));
        if (offload) {
            // a super-packet must still fit an IPv4 packet once encapsulated: larger ones are cut first
            plumbing.gsoMaxSize(tun.name(), MAX_OFFLOADED_PACKET);
        }
        if (config.egress().notrack()) {
            plumbing.untrack(tun.name(), config.tunnel().listenIp(), config.tunnel().listenPort(), config.tunnel().dstPort());
        }
        if (offload) {
            plumbing.setUpTap(taps.get(0).name(), config.tunnel().mtu());
        }

        // shard k owns ports [low + k * span, low + (k + 1) * span), the last one also the remainder
        int span = (config.egress().portHigh() - config.egress().portLow() + 1) / shardCount;
        if (sharded) {
            FlowSteering replies = FlowSteering.replies(shardCount, config.egress().portLow(), span);
            resources.add(replies);
            replies.attachTo(tun);
            out.println("plumbing: + eBPF queue steering on " + tun.name() + ": a reply goes to the shard owning its"
                    + " destination port (" + span + " ports each from " + config.egress().portLow() + ")");
        }
        Timeouts timeouts = new Timeouts(config.conntrack().timeouts().tcpSynMillis(), config.conntrack().timeouts().tcpEstablishedMillis(),
                config.conntrack().timeouts().tcpClosingMillis(), config.conntrack().timeouts().udpMillis(), config.conntrack().timeouts().icmpMillis());
        DropObserver observer = dropObserver;
        if (sharded && observer != null) {
            // a drop capture has one writer: the shards take turns (drops are off the fast path)
            DropObserver single = observer;
            Object lock = new Object();
            observer = (isReply, why, address, len, peerIp) -> {
                synchronized (lock) {
                    single.onDrop(isReply, why, address, len, peerIp);
                }
            };
        }
        // super-packets need 64 KiB slots: the reply ring then holds 1/32 of the slots in the same memory
        int replySlots = offload ? Math.max(64, config.pipeline().ringSize() / 32) : config.pipeline().ringSize();
        int replySlot = offload ? Datapath.REPLY_OFFSET + MAX_OFFLOADED_SLOT : slot;
        int tableEntries = (config.conntrack().maxEntries() + shardCount - 1) / shardCount;
        for (int k = 0; k < shardCount; k++) {
            int low = config.egress().portLow() + k * span;
            int high = k == shardCount - 1 ? config.egress().portHigh() : low + span - 1;
            shards.add(new Shard(k, config, queues.get(k), offload ? taps.get(k) : null, low, high, tableEntries, slot,
                    replySlots, replySlot, timeouts, observer, resources));
        }
        if (offload) {
            out.println("tunnel: transmit offload: replies are read as TCP super-packets and sent whole through TAP device "
                    + taps.get(0).name() + " (the kernel keeps them one packet to the node)");
        }

        // the first compilation is applied before any packet is read
        ClusterSource source = config.cluster().kubernetes().isPresent()
                ? KubernetesClusterSource.connect(config.cluster().kubernetes().get())
                : new FileClusterSource(config.cluster().paths());
        policies = new PolicyController(source, config.node().name(), config.egress().interfaceName(), Interfaces::firstIpv4,
                this::applyPolicies, out);
        resources.add(policies);
        policies.start();

        InetSocketAddress listen = new InetSocketAddress(Ipv4Address.toString(config.tunnel().listenIp()), config.tunnel().listenPort());
        if (config.pipeline().inline()) {
            startInline(listen, maxDatagram);
        } else {
            startHandoff(listen, maxDatagram);
        }

        config.pipeline().pinCpu().ifPresent(c -> out.println("pipeline: the datapath thread" + (sharded ? "s are" : " is")
                + " pinned to CPU " + c + (sharded ? " and up (shard k on CPU " + c + " + k)" : "")));
        out.println("tunnel: " + (config.tunnel().directReader() ? "recvmmsg straight into ring slots"
                : "Netty datagram channel" + (config.tunnel().gro() ? " with UDP GRO" : "")));
        int n = shards.size();
        Counters[] request = new Counters[2 * n];
        Counters[] reply = new Counters[2 * n];
        Counters[] shardRequest = new Counters[n];
        Counters[] shardReply = new Counters[n];
        List<ConnTable> tables = new ArrayList<>();
        for (Shard s : shards) {
            request[2 * s.index] = shardRequest[s.index] = s.request;
            request[2 * s.index + 1] = s.tunnelRx;
            reply[2 * s.index] = shardReply[s.index] = s.reply;
            reply[2 * s.index + 1] = s.egressRx;
            tables.add(s.table);
        }
        GatewayMetrics metrics = new GatewayMetrics(request, reply, tables, shardRequest, shardReply,
                this::natStatsPerShard, () -> servedCount());
        // the policy view is the same in every shard
        ConntrackReport conntrack = new ConntrackReport(tables, timeouts, System::currentTimeMillis,
                shards.get(0).datapath::policies, request, reply);
        admin = new AdminServer(config.admin().host(), config.admin().port(), metrics, this::healthy, conntrack,
                policies::snapshot);
        housekeeping.scheduleWithFixedDelay(this::releaseDrainedEgressIps, 1, 1, TimeUnit.SECONDS);

        CompiledPolicies compiled = policies.snapshot().compiled();
        out.println("egress-gateway ready: node " + config.node().name() + ", tunnel " + listen.getAddress().getHostAddress()
                + ":" + config.tunnel().listenPort() + " vni " + config.tunnel().vni() + " mac " + MacAddress.toString(config.tunnel().mac())
                + ", egress " + config.egress().interfaceName() + " via " + tun.name() + ", " + compiled.served().size()
                + " policies served, egress IPs " + Arrays.stream(PolicyController.egressIps(compiled))
                        .mapToObj(Ipv4Address::toString).toList()
                + ", admin http://" + config.admin().host() + ":" + admin.port());
        out.flush();
    }

    /**
     * Run to completion: each shard's event loop reads its tunnel socket and its TUN queue and runs its
     * datapath on each batch it read; the rings carry the batch, nobody else is woken. Sharded, the tunnel
     * sockets form one SO_REUSEPORT group (bound in shard order, so socket k is shard k) whose steering
     * program picks the shard from the inner packet.
     */
    private void startInline(InetSocketAddress listen, int maxDatagram) throws Exception {
        boolean sharded = shards.size() > 1;
        long pollNanos = config.pipeline().spinWhenIdle() ? Long.MAX_VALUE : TimeUnit.MICROSECONDS.toNanos(config.pipeline().pollMicros());
        List<LinuxSocket> sockets = new ArrayList<>();
        if (sharded) {
            // the whole group is bound and steered before any socket is read: a flow's first packets must not
            // reach a shard the kernel chose by its own hash while the group was incomplete
            for (int k = 0; k < shards.size(); k++) {
                LinuxSocket socket = DirectTunnelReader.bind(listen, true);
                resources.add(socket::close);
                sockets.add(socket);
            }
            FlowSteering requests = FlowSteering.requests(shards.size());
            resources.add(requests);
            requests.attachToReusePortGroup(sockets.get(0).intValue());
        }
        for (Shard s : shards) {
            Runnable inline = s.worker::pollInline;
            s.egressReceiver = new EgressReceiver(s.queue, s.replyRing.ring(), s.egressRx, inline);
            s.tunnelReceiver = new TunnelReceiver(listen, s.requestRing.ring(), maxDatagram, s.tunnelRx, inline,
                    config.tunnel().gro(), pollNanos, config.tunnel().directReader(),
                    sharded ? "egw-datapath-" + s.index : "egw-datapath", sharded ? sockets.get(s.index) : null);
            s.inlineTun = InlineTunReader.register(s.tunnelReceiver.eventLoop(), s.queue, s.egressReceiver, inline,
                    Worker.EXPIRY_INTERVAL_MILLIS);
            if (config.pipeline().pinCpu().isPresent()) {
                int cpu = config.pipeline().pinCpu().getAsInt() + s.index;
                s.tunnelReceiver.eventLoop().submit(() -> CpuAffinity.pinCurrentThread(cpu)).sync();
            }
        }
        if (sharded) {
            out.println("pipeline: " + shards.size() + " shards, each one thread with its own tunnel socket, TUN queue,"
                    + " connection table (" + shards.get(0).table.capacity() + " entries) and ports; eBPF on the"
                    + " SO_REUSEPORT group steers a request to the shard of its flow");
        }
        out.println("pipeline: inline (one thread reads the tunnel socket and the TUN device and runs the datapath)"
                + (config.pipeline().spinWhenIdle() ? ", busy-polling"
                        : config.pipeline().pollMicros() > 0 ? ", polling until " + config.pipeline().pollMicros() + " µs pass without a packet" : ""));
    }

    /** Three threads joined by the rings: tunnel receiver, TUN receiver, datapath (one shard only). */
    private void startHandoff(InetSocketAddress listen, int maxDatagram) throws Exception {
        Shard s = shards.get(0);
        Worker worker = s.worker;
        OptionalInt cpu = config.pipeline().pinCpu();
        CompletableFuture<Void> pinned = new CompletableFuture<>();
        workerThread = new Thread(() -> {
            try {
                cpu.ifPresent(CpuAffinity::pinCurrentThread);
                pinned.complete(null);
            } catch (RuntimeException e) {
                pinned.completeExceptionally(e);
                return;
            }
            worker.run();
        }, "egw-datapath");
        workerThread.setDaemon(true);
        workerThread.start();
        try {
            // a CPU the kernel refuses (offline, outside the container's cpuset) fails the start
            pinned.join();
        } catch (CompletionException e) {
            throw (RuntimeException) e.getCause();
        }

        s.egressReceiver = new EgressReceiver(s.queue, s.replyRing.ring(), s.egressRx, worker::wake);
        egressThread = new Thread(s.egressReceiver, "egw-egress-rx");
        egressThread.setDaemon(true);
        egressThread.start();

        s.tunnelReceiver = new TunnelReceiver(listen, s.requestRing.ring(), maxDatagram, s.tunnelRx, worker::wake,
                config.tunnel().gro(), 0, config.tunnel().directReader(), "egw-tunnel-rx", null);
        out.println("pipeline: handoff (tunnel receiver, TUN receiver and datapath threads joined by rings)");
    }

    /** Each shard's NAT port usage, in shard order. */
    private List<NatStats> natStatsPerShard() {
        List<NatStats> parts = new ArrayList<>(shards.size());
        for (Shard s : shards) {
            parts.add(s.datapath.natStats());
        }
        return parts;
    }

    /**
     * Opens the TAP device for {@code tunnel.offload} (auto or on), one queue per shard; null when off, or when
     * auto and the kernel refuses UDP-tunnel segmentation on TUN devices (before Linux 6.17), which is said.
     */
    private List<TunDevice> openOffloadTap(int queues) throws IOException {
        if (config.tunnel().offload() == TunnelConfig.Offload.OFF) {
            return null;
        }
        if (HostPlumbing.reversePathFilter() == 1) {
            return offloadOff("net.ipv4.conf.all.rp_filter=1 or .default.rp_filter=1 (strict) would drop every packet"
                    + " forwarded from the TAP device (its source is this host's tunnel address; loose, 2, or 0 would not)",
                    null);
        }
        if (config.tunnel().listenIp() == 0) {
            return offloadOff("tunnel.listen is 0.0.0.0: a packet the kernel forwards needs a real source address", null);
        }
        List<TunDevice> taps = new ArrayList<>();
        for (int k = 0; k < queues; k++) {
            TunDevice tap;
            try {
                tap = TunDevice.open(k == 0 ? config.tunnel().offloadDevice() : taps.get(0).name(), true, true,
                        VirtioNetHeader.TUNNEL_LENGTH,
                        TunDevice.OFFLOAD_CSUM | TunDevice.OFFLOAD_TSO4 | TunDevice.OFFLOAD_UDP_TUNNEL_GSO, queues > 1);
            } catch (NativeIoException e) {
                if (k > 0) {
                    throw e;
                }
                return offloadOff("the kernel refused: " + e.getMessage(), e);
            }
            resources.add(tap);
            taps.add(tap);
        }
        out.println("plumbing: + TAP device " + taps.get(0).name() + (queues > 1 ? " (" + queues + " queues)" : "")
                + " for offloaded tunnel packets (removed when the gateway exits)");
        return taps;
    }

    /** Why the transmit offload cannot be used: refuses to start with {@code on}, says so and returns null with auto. */
    private List<TunDevice> offloadOff(String why, Exception cause) throws IOException {
        if (config.tunnel().offload() == TunnelConfig.Offload.ON) {
            throw new IOException("tunnel.offload is on, but " + why, cause);
        }
        out.println("tunnel: transmit offload off: " + why + "; replies leave one datagram per segment");
        return null;
    }

    private int servedCount() {
        PolicySnapshot s = policies.snapshot();
        return s == null ? 0 : s.compiled().served().size();
    }

    /**
     * Applies a new compilation (control thread): steers new egress IPs first, so replies can come
     * back before the first connection uses them, then swaps the policy table in; egress IPs no
     * longer used start draining.
     */
    private void applyPolicies(CompiledPolicies compiled) {
        synchronized (plumbingLock) {
            applyPoliciesLocked(compiled);
        }
    }

    private void applyPoliciesLocked(CompiledPolicies compiled) {
        int[] wanted = PolicyController.egressIps(compiled);
        for (int ip : wanted) {
            drainingZeroes.remove(ip);
            try {
                plumbing.steerEgressIp(ip, Interfaces.isLocal(ip), config.egress().interfaceName(), tun.name(),
                        config.egress().portLow(), config.egress().portHigh());
            } catch (IOException e) {
                out.println("plumbing: ! could not steer egress IP " + Ipv4Address.toString(ip) + ": " + e.getMessage());
            }
        }
        for (int ip : plumbing.steered()) {
            if (Arrays.stream(wanted).noneMatch(w -> w == ip) && !drainingZeroes.containsKey(ip)) {
                drainingZeroes.put(ip, 0);
                out.println("plumbing: egress IP " + Ipv4Address.toString(ip)
                        + " is no longer used by any policy; kept until its connections are gone");
            }
        }
        Datapath.PolicyView view = new Datapath.PolicyView(compiled.table());
        for (Shard s : shards) {
            s.datapath.policies(view);
        }
    }

    /** Removes the plumbing of draining egress IPs once two stats rounds in a row show no port in use. */
    private void releaseDrainedEgressIps() {
        synchronized (plumbingLock) {
            releaseDrainedLocked();
        }
    }

    private void releaseDrainedLocked() {
        if (drainingZeroes.isEmpty()) {
            return;
        }
        NatStats stats = NatStats.merge(natStatsPerShard());
        for (Map.Entry<Integer, Integer> d : new ArrayList<>(drainingZeroes.entrySet())) {
            long inUse = 0;
            for (int i = 0; i < stats.egressIps().length; i++) {
                if (stats.egressIps()[i] == d.getKey()) {
                    inUse = stats.inUse()[i];
                }
            }
            int zeroes = inUse == 0 ? d.getValue() + 1 : 0;
            if (zeroes >= 2) {
                drainingZeroes.remove(d.getKey());
                out.println("plumbing: egress IP " + Ipv4Address.toString(d.getKey()) + " drained");
                plumbing.releaseEgressIp(d.getKey());
            } else {
                drainingZeroes.put(d.getKey(), zeroes);
            }
        }
        out.flush();
    }

    /** True while every shard's datapath runs and its tunnel socket and TUN queue are being read. */
    public boolean healthy() {
        if (shards.isEmpty()) {
            return false;
        }
        for (Shard s : shards) {
            if (!s.healthy()) {
                return false;
            }
        }
        return true;
    }

    /** Stops every thread and undoes the host plumbing; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        housekeeping.shutdownNow();
        // in reverse shard order: closing a reuseport socket moves the group's last socket into its slot
        for (int k = shards.size() - 1; k >= 0; k--) {
            Shard s = shards.get(k);
            if (s.inlineTun != null) {
                s.inlineTun.cancel();
            }
            if (s.tunnelReceiver != null) {
                s.tunnelReceiver.close();
            }
        }
        if (admin != null) {
            admin.close();
        }
        for (Shard s : shards) {
            if (s.egressReceiver != null) {
                s.egressReceiver.stop();
            }
            s.worker.stop();
        }
        join(egressThread);
        join(workerThread);
        if (workerThread == null) {
            // inline: the event loops that ran the datapaths have terminated; send what they batched
            for (Shard s : shards) {
                s.datapath.flush();
            }
        }
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                out.println("shutdown: " + e.getMessage());
            }
        }
        out.println("egress-gateway stopped");
        out.flush();
    }

    private static void join(Thread t) {
        if (t == null) {
            return;
        }
        try {
            t.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The configuration this gateway runs with. */
    public GatewayConfig config() {
        return config;
    }
}
