package org.egressgw.core;

import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.Timeouts;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.policy.ClusterLoader;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.policy.PolicyCompiler;
import org.egressgw.control.policy.ServedPolicy;
import org.egressgw.core.admin.AdminServer;
import org.egressgw.core.admin.ConntrackReport;
import org.egressgw.core.admin.GatewayMetrics;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DatapathSettings;
import org.egressgw.core.datapath.DropObserver;
import org.egressgw.core.datapath.PacketRing;
import org.egressgw.core.datapath.Worker;
import org.egressgw.core.host.HostPlumbing;
import org.egressgw.core.host.Interfaces;
import org.egressgw.core.io.EgressReceiver;
import org.egressgw.core.io.RawTunnelSink;
import org.egressgw.core.io.TunEgressSink;
import org.egressgw.core.io.TunnelReceiver;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.MacAddress;
import org.egressgw.tunio.RawIpSender;
import org.egressgw.tunio.TunDevice;

/**
 * A running gateway: wires configuration, policies, host plumbing, the rings, the datapath thread
 * and the I/O threads together, and takes them down in reverse order.
 *
 * <pre>
 *  node VXLAN ──► [Netty epoll UDP, recvmmsg] ──► request ring ──┐
 *                                                                ├─► datapath thread ──► TUN write ──► kernel ──► egress iface
 *  egress iface ──► kernel ──► TUN ──► [reader] ──► reply ring ──┘            └──► raw IPv4 sendmmsg ──► node VXLAN
 * </pre>
 */
public final class Gateway implements AutoCloseable {
    /** Ports probed for a new connection before giving up (as Cilium). */
    static final int PORT_TRIES = 32;

    private final GatewayConfig config;
    private final PrintStream out;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private HostPlumbing plumbing;
    private Worker worker;
    private EgressReceiver egressReceiver;
    private Thread workerThread;
    private Thread egressThread;
    private TunnelReceiver tunnelReceiver;
    private AdminServer admin;
    private boolean closed;

    private final DropObserver dropObserver;

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
        ClusterState state = ClusterLoader.load(config.clusterPaths());
        for (String p : state.problems()) {
            out.println("refused: " + p);
        }
        CompiledPolicies compiled = PolicyCompiler.compile(state, config.nodeName(), Interfaces::firstIpv4,
                config.egressInterface());
        for (String p : compiled.problems()) {
            out.println("refused: " + p);
        }
        int[] egressIps = compiled.served().stream().mapToInt(ServedPolicy::egressIp).distinct().toArray();
        for (ServedPolicy s : compiled.served()) {
            out.println("policy: serving " + s.name() + " via egress IP " + Ipv4Address.toString(s.egressIp()));
        }
        if (compiled.served().isEmpty()) {
            out.println("policy: this gateway (node " + config.nodeName() + ") serves no policy yet; all tunnelled traffic is dropped");
        }

        int egressMtu = Interfaces.mtu(config.egressInterface());
        int slot = Integer.highestOneBit(Math.max(config.underlayMtu(), egressMtu) + Datapath.REPLY_OFFSET - 1) << 1;
        int maxDatagram = slot - Datapath.REQUEST_OFFSET;

        TunDevice tun = TunDevice.open(config.egressDevice(), true);
        resources.add(tun);
        out.println("plumbing: + TUN device " + tun.name() + " (removed when the gateway exits)");
        plumbing = new HostPlumbing(out);
        resources.add(plumbing);
        // the TUN device's MTU is the tunnel's inner MTU: when the kernel forwards a reply into it,
        // it answers DF packets that cannot fit with fragmentation-needed and fragments the others
        plumbing.setUpTun(tun.name(), Math.min(egressMtu, config.innerMtu()));
        for (int ip : egressIps) {
            boolean assigned = Interfaces.isLocal(ip);
            out.println("plumbing: egress IP " + Ipv4Address.toString(ip) + (assigned ? " is assigned to this host" : " is not assigned to this host"));
            plumbing.steerEgressIp(ip, assigned, config.egressInterface(), tun.name(), config.portRangeLow(), config.portRangeHigh());
        }

        ConnTable table = new ConnTable(config.conntrackMaxEntries());
        resources.add(table);
        RawIpSender raw = new RawIpSender(64);
        resources.add(raw);
        PacketRing requestRing = new PacketRing(config.ringSize(), slot);
        PacketRing replyRing = new PacketRing(config.ringSize(), slot);

        DatapathSettings settings = new DatapathSettings(config.tunnelListenIp(), config.tunnelDstPort(), config.vni(),
                config.gatewayMac(), config.overlayIp().orElse(0), config.overlayIp().isPresent(), config.allowedPeers(),
                config.innerMtu(), config.mssClamp(), config.portRangeLow(),
                config.portRangeHigh(), PORT_TRIES);
        Counters request = new Counters();
        Counters reply = new Counters();
        Counters tunnelRx = new Counters();
        Counters egressRx = new Counters();
        Datapath.PolicyView view = new Datapath.PolicyView(compiled.table());
        Datapath datapath = new Datapath(settings, table, view, new TunEgressSink(tun), new RawTunnelSink(raw), request, reply);
        if (dropObserver != null) {
            datapath.dropObserver(dropObserver);
        }
        Timeouts timeouts = new Timeouts(config.timeoutTcpSynMillis(), config.timeoutTcpEstablishedMillis(),
                config.timeoutTcpClosingMillis(), config.timeoutUdpMillis(), config.timeoutIcmpMillis());
        worker = new Worker(datapath, requestRing.poller(), replyRing.poller(),
                new BackoffIdleStrategy(100, 10, TimeUnit.MICROSECONDS.toNanos(1), TimeUnit.MICROSECONDS.toNanos(100)),
                System::currentTimeMillis, timeouts);
        workerThread = new Thread(worker, "egw-datapath");
        workerThread.setDaemon(true);
        workerThread.start();

        egressReceiver = new EgressReceiver(tun, replyRing.ring(), egressRx);
        egressThread = new Thread(egressReceiver, "egw-egress-rx");
        egressThread.setDaemon(true);
        egressThread.start();

        InetSocketAddress listen = new InetSocketAddress(Ipv4Address.toString(config.tunnelListenIp()), config.tunnelListenPort());
        tunnelReceiver = new TunnelReceiver(listen, requestRing.ring(), maxDatagram, tunnelRx);

        GatewayMetrics metrics = new GatewayMetrics(new Counters[] {request, tunnelRx}, new Counters[] {reply, egressRx},
                table, datapath::natStats, () -> compiled.served().size());
        ConntrackReport conntrack = new ConntrackReport(table, timeouts, System::currentTimeMillis, datapath::policies,
                new Counters[] {request, tunnelRx}, new Counters[] {reply, egressRx});
        admin = new AdminServer(config.adminHost(), config.adminPort(), metrics, worker::isRunning, conntrack);

        out.println("egress-gateway ready: node " + config.nodeName() + ", tunnel " + listen.getAddress().getHostAddress()
                + ":" + config.tunnelListenPort() + " vni " + config.vni() + " mac " + MacAddress.toString(config.gatewayMac())
                + ", egress " + config.egressInterface() + " via " + tun.name() + ", " + compiled.served().size()
                + " policies served, egress IPs " + Arrays.stream(egressIps).mapToObj(Ipv4Address::toString).toList()
                + ", admin http://" + config.adminHost() + ":" + admin.port());
        out.flush();
    }

    /** True while the datapath thread runs. */
    public boolean healthy() {
        return worker != null && worker.isRunning();
    }

    /** Stops every thread and undoes the host plumbing; idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
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
