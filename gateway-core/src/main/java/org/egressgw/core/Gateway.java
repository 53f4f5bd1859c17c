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
import org.agrona.concurrent.BackoffIdleStrategy;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.Timeouts;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.control.source.ClusterSource;
import org.egressgw.control.source.FileClusterSource;
import org.egressgw.core.admin.AdminServer;
import org.egressgw.core.admin.ConntrackReport;
import org.egressgw.core.admin.GatewayMetrics;
import org.egressgw.core.cluster.PolicyController;
import org.egressgw.core.cluster.PolicySnapshot;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DatapathSettings;
import org.egressgw.core.datapath.DropObserver;
import org.egressgw.core.datapath.NatStats;
import org.egressgw.core.datapath.PacketRing;
import org.egressgw.core.datapath.Worker;
import org.egressgw.core.host.HostPlumbing;
import org.egressgw.core.host.Interfaces;
import org.egressgw.core.datapath.EgressSink;
import org.egressgw.core.io.EgressReceiver;
import org.egressgw.core.io.InlineTunReader;
import org.egressgw.core.io.OffloadTunnelSink;
import org.egressgw.tunio.CpuAffinity;
import org.egressgw.core.io.GsoTunEgressSink;
import org.egressgw.core.io.RawTunnelSink;
import org.egressgw.core.io.TunEgressSink;
import org.egressgw.core.io.TunnelReceiver;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.kube.KubernetesClusterSource;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.MacAddress;
import org.egressgw.tunio.RawIpSender;
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
    private HostPlumbing plumbing;
    private TunDevice tun;
    private Datapath datapath;
    private PolicyController policies;
    private Worker worker;
    private EgressReceiver egressReceiver;
    private Thread workerThread;
    private Thread egressThread;
    private TunnelReceiver tunnelReceiver;
    private InlineTunReader inlineTun;
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
        int egressMtu = Interfaces.mtu(config.egressInterface());
        int slot = Integer.highestOneBit(Math.max(config.underlayMtu(), egressMtu) + Datapath.REPLY_OFFSET - 1) << 1;
        int maxDatagram = slot - Datapath.REQUEST_OFFSET;

        // transmit offload: replies are read as TCP super-packets, translated once, and written to a TAP
        // device as VXLAN super-packets the kernel keeps whole to the node (Linux 6.17+ TUN tunnel GSO)
        TunDevice tap = openOffloadTap();
        boolean offload = tap != null;
        // with egress offload, TCP segments are coalesced into GSO super-packets on the way out (one write
        // carries many segments; the kernel cuts them again): the TUN device then carries a vnet header
        tun = TunDevice.open(config.egressDevice(), false, true, config.egressOffload() ? VirtioNetHeader.LENGTH : 0,
                offload ? TunDevice.OFFLOAD_CSUM | TunDevice.OFFLOAD_TSO4 : 0);
        resources.add(tun);
        out.println("plumbing: + TUN device " + tun.name() + (config.egressOffload() ? " with GSO offload" : "")
                + (offload ? ", reading TCP super-packets" : "") + " (removed when the gateway exits)");
        plumbing = new HostPlumbing(out);
        resources.add(plumbing);
        // the TUN device's MTU is the tunnel's inner MTU: when the kernel forwards a reply into it,
        // it answers DF packets that cannot fit with fragmentation-needed and fragments the others
        plumbing.setUpTun(tun.name(), Math.min(egressMtu, config.innerMtu()));
        if (offload) {
            // a super-packet must still fit an IPv4 packet once encapsulated: larger ones are cut first
            plumbing.gsoMaxSize(tun.name(), MAX_OFFLOADED_PACKET);
        }
        if (config.egressNotrack()) {
            plumbing.untrack(tun.name(), config.tunnelListenIp(), config.tunnelListenPort(), config.tunnelDstPort());
        }
        if (offload) {
            plumbing.setUpTap(tap.name(), config.underlayMtu());
        }

        ConnTable table = new ConnTable(config.conntrackMaxEntries());
        resources.add(table);
        RawIpSender raw = new RawIpSender(64);
        resources.add(raw);
        PacketRing requestRing = new PacketRing(config.ringSize(), slot);
        // super-packets need 64 KiB slots: the reply ring then holds 1/32 of the slots in the same memory
        PacketRing replyRing = offload
                ? new PacketRing(Math.max(64, config.ringSize() / 32), Datapath.REPLY_OFFSET + MAX_OFFLOADED_SLOT)
                : new PacketRing(config.ringSize(), slot);

        DatapathSettings settings = new DatapathSettings(config.tunnelListenIp(), config.tunnelDstPort(), config.vni(),
                config.gatewayMac(), config.overlayIp().orElse(0), config.overlayIp().isPresent(), config.allowedPeers(),
                config.innerMtu(), config.mssClamp(), config.portRangeLow(), config.portRangeHigh(), PORT_TRIES);
        Counters request = new Counters();
        Counters reply = new Counters();
        Counters tunnelRx = new Counters();
        Counters egressRx = new Counters();
        EgressSink egressSink = config.egressOffload() ? new GsoTunEgressSink(tun) : new TunEgressSink(tun);
        datapath = new Datapath(settings, table, new Datapath.PolicyView(PolicyTable.EMPTY), egressSink,
                offload ? new OffloadTunnelSink(raw, tap, HostPlumbing.TAP_MAC) : new RawTunnelSink(raw),
                request, reply);
        if (offload) {
            datapath.replyVnetHeader(tun.vnetHeaderLength());
            out.println("tunnel: transmit offload: replies are read as TCP super-packets and sent whole through TAP device "
                    + tap.name() + " (the kernel keeps them one packet to the node)");
        }
        if (dropObserver != null) {
            datapath.dropObserver(dropObserver);
        }

        // the first compilation is applied before any packet is read
        ClusterSource source = config.clusterKubernetes().isPresent()
                ? KubernetesClusterSource.connect(config.clusterKubernetes().get())
                : new FileClusterSource(config.clusterPaths());
        policies = new PolicyController(source, config.nodeName(), config.egressInterface(), Interfaces::firstIpv4,
                this::applyPolicies, out);
        resources.add(policies);
        policies.start();

        Timeouts timeouts = new Timeouts(config.timeoutTcpSynMillis(), config.timeoutTcpEstablishedMillis(),
                config.timeoutTcpClosingMillis(), config.timeoutUdpMillis(), config.timeoutIcmpMillis());
        // spin, then yield; the worker itself sleeps after ~2000 idle cycles until a producer wakes it
        worker = new Worker(datapath, requestRing, replyRing, new BackoffIdleStrategy(200, 1900, 1000, 1000),
                System::currentTimeMillis, timeouts, config.spinWhenIdle());
        InetSocketAddress listen = new InetSocketAddress(Ipv4Address.toString(config.tunnelListenIp()), config.tunnelListenPort());
        if (config.inlinePipeline()) {
            // run to completion: the tunnel socket's event loop also reads the TUN device and runs
            // the datapath on each batch it read; the rings carry the batch, nobody else is woken
            Runnable inline = worker::pollInline;
            egressReceiver = new EgressReceiver(tun, replyRing.ring(), egressRx, inline);
            long pollNanos = config.spinWhenIdle() ? Long.MAX_VALUE : TimeUnit.MICROSECONDS.toNanos(config.pollMicros());
            tunnelReceiver = new TunnelReceiver(listen, requestRing.ring(), maxDatagram, tunnelRx, inline, config.tunnelGro(),
                    pollNanos, config.tunnelDirectReader(), "egw-datapath");
            inlineTun = InlineTunReader.register(tunnelReceiver.eventLoop(), tun, egressReceiver, inline,
                    Worker.EXPIRY_INTERVAL_MILLIS);
            if (config.pinCpu().isPresent()) {
                int cpu = config.pinCpu().getAsInt();
                tunnelReceiver.eventLoop().submit(() -> CpuAffinity.pinCurrentThread(cpu)).sync();
            }
            out.println("pipeline: inline (one thread reads the tunnel socket and the TUN device and runs the datapath)"
                    + (config.spinWhenIdle() ? ", busy-polling"
                            : config.pollMicros() > 0 ? ", polling until " + config.pollMicros() + " µs pass without a packet" : ""));
        } else {
            OptionalInt cpu = config.pinCpu();
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

            egressReceiver = new EgressReceiver(tun, replyRing.ring(), egressRx, worker::wake);
            egressThread = new Thread(egressReceiver, "egw-egress-rx");
            egressThread.setDaemon(true);
            egressThread.start();

            tunnelReceiver = new TunnelReceiver(listen, requestRing.ring(), maxDatagram, tunnelRx, worker::wake, config.tunnelGro(),
                    0, config.tunnelDirectReader(), "egw-tunnel-rx");
            out.println("pipeline: handoff (tunnel receiver, TUN receiver and datapath threads joined by rings)");
        }

        config.pinCpu().ifPresent(c -> out.println("pipeline: the datapath thread is pinned to CPU " + c));
        out.println("tunnel: " + (config.tunnelDirectReader() ? "recvmmsg straight into ring slots"
                : "Netty datagram channel" + (config.tunnelGro() ? " with UDP GRO" : "")));
        Counters[] requestCounters = {request, tunnelRx};
        Counters[] replyCounters = {reply, egressRx};
        GatewayMetrics metrics = new GatewayMetrics(requestCounters, replyCounters, table, datapath::natStats,
                () -> servedCount());
        ConntrackReport conntrack = new ConntrackReport(table, timeouts, System::currentTimeMillis, datapath::policies,
                requestCounters, replyCounters);
        admin = new AdminServer(config.adminHost(), config.adminPort(), metrics, this::healthy, conntrack,
                policies::snapshot);
        housekeeping.scheduleWithFixedDelay(this::releaseDrainedEgressIps, 1, 1, TimeUnit.SECONDS);

        CompiledPolicies compiled = policies.snapshot().compiled();
        out.println("egress-gateway ready: node " + config.nodeName() + ", tunnel " + listen.getAddress().getHostAddress()
                + ":" + config.tunnelListenPort() + " vni " + config.vni() + " mac " + MacAddress.toString(config.gatewayMac())
                + ", egress " + config.egressInterface() + " via " + tun.name() + ", " + compiled.served().size()
                + " policies served, egress IPs " + Arrays.stream(PolicyController.egressIps(compiled))
                        .mapToObj(Ipv4Address::toString).toList()
                + ", admin http://" + config.adminHost() + ":" + admin.port());
        out.flush();
    }

    /**
     * Opens the TAP device for {@code tunnel.offload} (auto or on); null when off, or when auto and the kernel
     * refuses UDP-tunnel segmentation on TUN devices (before Linux 6.17), which is said.
     */
    private TunDevice openOffloadTap() throws IOException {
        if (config.tunnelOffload() == GatewayConfig.Offload.OFF) {
            return null;
        }
        if (HostPlumbing.reversePathFilter() == 1) {
            return offloadOff("net.ipv4.conf.all.rp_filter=1 or .default.rp_filter=1 (strict) would drop every packet"
                    + " forwarded from the TAP device (its source is this host's tunnel address; loose, 2, or 0 would not)",
                    null);
        }
        if (config.tunnelListenIp() == 0) {
            return offloadOff("tunnel.listen is 0.0.0.0: a packet the kernel forwards needs a real source address", null);
        }
        TunDevice tap;
        try {
            tap = TunDevice.open(config.tunnelOffloadDevice(), true, true, VirtioNetHeader.TUNNEL_LENGTH,
                    TunDevice.OFFLOAD_CSUM | TunDevice.OFFLOAD_TSO4 | TunDevice.OFFLOAD_UDP_TUNNEL_GSO);
        } catch (NativeIoException e) {
            return offloadOff("the kernel refused: " + e.getMessage(), e);
        }
        resources.add(tap);
        out.println("plumbing: + TAP device " + tap.name() + " for offloaded tunnel packets (removed when the gateway exits)");
        return tap;
    }

    /** Why the transmit offload cannot be used: refuses to start with {@code on}, says so and returns null with auto. */
    private TunDevice offloadOff(String why, Exception cause) throws IOException {
        if (config.tunnelOffload() == GatewayConfig.Offload.ON) {
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
                plumbing.steerEgressIp(ip, Interfaces.isLocal(ip), config.egressInterface(), tun.name(),
                        config.portRangeLow(), config.portRangeHigh());
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
        datapath.policies(new Datapath.PolicyView(compiled.table()));
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
        NatStats stats = datapath.natStats();
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

    /** True while the datapath runs and the tunnel socket is being read. */
    public boolean healthy() {
        return worker != null && worker.isRunning() && tunnelReceiver != null && !tunnelReceiver.failed()
                && (inlineTun == null || !inlineTun.failed());
    }

    /** Stops every thread and undoes the host plumbing; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        housekeeping.shutdownNow();
        if (inlineTun != null) {
            inlineTun.cancel();
        }
        if (tunnelReceiver != null) {
            tunnelReceiver.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (egressReceiver != null) {
            egressReceiver.stop();
            join(egressThread);
        }
        if (worker != null) {
            worker.stop();
            join(workerThread);
            if (workerThread == null && datapath != null) {
                // inline: the event loop that ran the datapath has terminated; send what it batched
                datapath.flush();
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
