package org.egressgw.core;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import io.netty.channel.epoll.LinuxSocket;
import org.egressgw.conntrack.ConnTable;
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
import org.egressgw.core.datapath.PipelinePlan;
import org.egressgw.core.datapath.ConnectionSync;
import org.egressgw.core.ha.HaController;
import org.egressgw.core.host.EgressIps;
import org.egressgw.core.host.GatewayLock;
import org.egressgw.core.host.HostReconciler;
import org.egressgw.core.host.HostPlumbing;
import org.egressgw.core.host.Interfaces;
import org.egressgw.core.io.DirectTunnelReader;
import org.egressgw.kube.KubernetesClusterSource;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.MacAddress;
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
    private final GatewayConfig config;
    private final PrintStream out;
    private final DropObserver dropObserver;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private final Housekeeping housekeeping;
    /** The pipelines ({@code pipeline.shards}); filled during start-up, read-only afterwards. */
    private final List<Shard> shards = new java.util.concurrent.CopyOnWriteArrayList<>();
    private HostPlumbing plumbing;
    private HostReconciler reconciler;
    /** The gateway group membership, or null for a gateway on its own. */
    private HaController ha;
    private EgressIps egressIps;
    /** The TUN device's first queue (the device's name and configuration). */
    private TunDevice tun;
    private PolicyController policies;
    private AdminServer admin;
    private boolean closed;

    private Gateway(GatewayConfig config, PrintStream out, DropObserver dropObserver) {
        this.config = config;
        this.out = out;
        this.dropObserver = dropObserver;
        this.housekeeping = new Housekeeping(out);
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
        // one gateway per network namespace; a crashed predecessor's plumbing goes before anything is added
        GatewayLock gatewayLock = GatewayLock.acquire(GatewayLock.runDir());
        resources.add(gatewayLock);
        plumbing = new HostPlumbing(out, gatewayLock.stateFile());
        resources.add(plumbing);
        int egressMtu = Interfaces.mtu(config.egress().interfaceName());
        int shardCount = config.pipeline().shards();
        boolean sharded = shardCount > 1;

        // transmit offload: replies are read as TCP super-packets, translated once, and written to a TAP
        // device as VXLAN super-packets the kernel keeps whole to the node (Linux 6.17+ TUN tunnel GSO)
        List<TunDevice> taps = openOffloadTap(shardCount);
        boolean offload = taps != null;
        PipelinePlan plan = PipelinePlan.of(config, egressMtu, offload, shardCount);
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
        // the TUN device's MTU is the tunnel's inner MTU: when the kernel forwards a reply into it,
        // it answers DF packets that cannot fit with fragmentation-needed and fragments the others
        plumbing.setUpTun(tun.name(), Math.min(egressMtu, config.tunnel().innerMtu()));
        if (offload) {
            // a super-packet must still fit an IPv4 packet once encapsulated: larger ones are cut first
            plumbing.gsoMaxSize(tun.name(), PipelinePlan.MAX_OFFLOADED_PACKET);
        }
        if (config.egress().notrack()) {
            plumbing.untrack(tun.name(), config.tunnel().listenIp(), config.tunnel().listenPort(), config.tunnel().dstPort());
        }
        if (offload) {
            plumbing.setUpTap(taps.get(0).name(), config.tunnel().mtu());
        }
        plumbing.egressSide(config.egress().interfaceName(), tun.name(), config.egress().portLow(), config.egress().portHigh());
        reconciler = new HostReconciler(plumbing, out);
        resources.add(reconciler);
        egressIps = new EgressIps(plumbing, reconciler::passNow, out);
        if (sharded) {
            FlowSteering replies = FlowSteering.replies(shardCount, config.egress().portLow(), plan.portSpan());
            resources.add(replies);
            replies.attachTo(tun);
            out.println("plumbing: + eBPF queue steering on " + tun.name() + ": a reply goes to the shard owning its"
                    + " destination port (" + plan.portSpan() + " ports each from " + config.egress().portLow() + ")");
        }
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
        for (int k = 0; k < shardCount; k++) {
            shards.add(new Shard(k, config, plan, queues.get(k), offload ? taps.get(k) : null, observer, resources));
        }
        List<ConnTable> tables = shards.stream().map(s -> s.table).toList();
        if (config.ha().isPresent()) {
            // before the first policies are applied: a member announces the egress IPs only while it is active
            List<ConnectionSync> lanes = new ArrayList<>();
            for (Shard s : shards) {
                ConnectionSync lane = new ConnectionSync();
                s.sync(lane);
                lanes.add(lane);
            }
            ha = new HaController(config, plumbing, reconciler, tables, lanes, plan.portSpan(), this::datapathRunning, out);
            resources.add(ha);
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
        reconciler.passNow();
        reconciler.start();

        InetSocketAddress listen = new InetSocketAddress(Ipv4Address.toString(config.tunnel().listenIp()), config.tunnel().listenPort());
        if (config.pipeline().inline()) {
            startInline(listen, plan);
        } else {
            List<LinuxSocket> sockets = bindTunnelSockets(listen);
            shards.get(0).startHandoff(listen, plan, config, sockets == null ? null : sockets.get(0));
            out.println("pipeline: handoff (tunnel receiver, TUN receiver and datapath threads joined by rings)");
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
        for (Shard s : shards) {
            request[2 * s.index] = shardRequest[s.index] = s.request;
            request[2 * s.index + 1] = s.tunnelRx;
            reply[2 * s.index] = shardReply[s.index] = s.reply;
            reply[2 * s.index + 1] = s.egressRx;
        }
        GatewayMetrics metrics = new GatewayMetrics(request, reply, tables, shardRequest, shardReply,
                this::natStatsPerShard, () -> servedCount());
        metrics.plumbing(reconciler);
        if (ha != null) {
            metrics.ha(ha);
        }
        // the policy view is the same in every shard
        ConntrackReport conntrack = new ConntrackReport(tables, plan.timeouts(), System::currentTimeMillis,
                shards.get(0).datapath::policies, request, reply);
        admin = new AdminServer(config.admin().host(), config.admin().port(), metrics, this::healthProblems,
                this::readinessProblems, conntrack, policies::snapshot, ha);
        if (ha != null) {
            ha.start();
        }
        housekeeping.every(1000, "release drained egress IPs",
                () -> egressIps.releaseDrained(NatStats.merge(natStatsPerShard())));
        TunnelDropHints hints = new TunnelDropHints(shardRequest, config.tunnel(), out);
        housekeeping.every(1000, "explain tunnel drops", hints::check);

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
    private void startInline(InetSocketAddress listen, PipelinePlan plan) throws Exception {
        boolean sharded = shards.size() > 1;
        List<LinuxSocket> sockets = bindTunnelSockets(listen);
        for (Shard s : shards) {
            s.startInline(listen, plan, config, sockets == null ? null : sockets.get(s.index),
                    sharded ? "egw-datapath-" + s.index : "egw-datapath");
        }
        if (sharded) {
            out.println("pipeline: " + shards.size() + " shards, each one thread with its own tunnel socket, TUN queue,"
                    + " connection table (" + shards.get(0).table.capacity() + " entries) and ports; eBPF on the"
                    + " SO_REUSEPORT group steers a request to the shard of its flow");
        }
        long pollMicros = config.pipeline().pollMicros();
        out.println("pipeline: inline (one thread reads the tunnel socket and the TUN device and runs the datapath)"
                + (config.pipeline().spinWhenIdle() ? ", busy-polling"
                        : pollMicros > 0 ? ", polling until " + pollMicros + " µs pass without a packet" : ""));
    }

    /**
     * Binds the tunnel sockets before any is read when the gateway cannot leave it to the reader: sharded (the
     * SO_REUSEPORT group is bound and steered whole, or a flow's first packets could reach a shard the kernel chose
     * by its own hash while the group was incomplete) or in a group (the floating tunnel address is bound whether
     * or not this member holds it). Null when neither.
     */
    private List<LinuxSocket> bindTunnelSockets(InetSocketAddress listen) throws Exception {
        boolean sharded = shards.size() > 1;
        boolean group = config.ha().isPresent();
        if (!sharded && !group) {
            return null;
        }
        List<LinuxSocket> sockets = new ArrayList<>();
        for (int k = 0; k < shards.size(); k++) {
            LinuxSocket socket = DirectTunnelReader.bind(listen, sharded, group);
            resources.add(socket::close);
            sockets.add(socket);
        }
        if (sharded) {
            FlowSteering requests = FlowSteering.requests(shards.size());
            resources.add(requests);
            requests.attachToReusePortGroup(sockets.get(0).intValue());
        }
        return sockets;
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
     * Applies a new compilation (control thread): steers new egress IPs first, so replies can come back before the
     * first connection uses them, then swaps the policy table in; egress IPs no longer used start draining.
     */
    private void applyPolicies(CompiledPolicies compiled) {
        egressIps.apply(PolicyController.egressIps(compiled));
        Datapath.PolicyView view = new Datapath.PolicyView(compiled.table());
        for (Shard s : shards) {
            s.datapath.policies(view);
        }
    }

    /** True while every shard's datapath runs and its tunnel socket and TUN queue are being read. */
    public boolean datapathRunning() {
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

    /**
     * What keeps the gateway from being healthy ({@code /healthz}; empty: healthy): a datapath that stopped, or host
     * plumbing that is missing and could not be restored (a device gone, the egress interface gone, a command
     * failing).
     */
    public List<String> healthProblems() {
        List<String> problems = new ArrayList<>();
        if (!datapathRunning()) {
            problems.add("datapath not running");
        }
        if (reconciler != null) {
            problems.addAll(reconciler.problems());
        }
        return problems;
    }

    /**
     * What keeps the gateway from taking traffic ({@code /readyz}; empty: ready): anything unhealthy, an egress link
     * that is down, policies not compiled yet.
     */
    public List<String> readinessProblems() {
        List<String> problems = healthProblems();
        if (reconciler != null && reconciler.complete() && !reconciler.egressLinkUp()) {
            problems.add("the egress interface " + config.egress().interfaceName() + " is down");
        }
        if (policies == null || policies.snapshot() == null) {
            problems.add("policies not compiled yet");
        }
        if (ha != null && !ha.holdsActiveTable()) {
            problems.add("standby without the active member's table yet (resync under way)");
        }
        return problems;
    }

    /** Stops every thread and undoes the host plumbing; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        housekeeping.close();
        // in reverse shard order: closing a reuseport socket moves the group's last socket into its slot
        for (int k = shards.size() - 1; k >= 0; k--) {
            shards.get(k).stopInputs();
        }
        if (admin != null) {
            admin.close();
        }
        for (Shard s : shards) {
            s.stopDatapath();
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

    /** The configuration this gateway runs with. */
    public GatewayConfig config() {
        return config;
    }
}
