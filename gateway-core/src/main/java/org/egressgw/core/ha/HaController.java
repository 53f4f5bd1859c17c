package org.egressgw.core.ha;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.config.HaConfig;
import org.egressgw.core.datapath.ConnectionSync;
import org.egressgw.core.host.HostPlumbing;
import org.egressgw.core.host.HostReconciler;
import org.egressgw.ha.VrrpAgent;
import org.egressgw.ha.VrrpRouter;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.egressgw.tunio.netlink.AddressInfo;
import org.egressgw.tunio.netlink.LinkInfo;
import org.egressgw.tunio.netlink.RtNetlink;

/**
 * This gateway as a member of a group: VRRPv3 ({@link VrrpAgent}) elects the active member, the state sync
 * ({@link StateSync}) keeps every member's connection table, and this class turns a role into host plumbing.
 *
 * <ul>
 *   <li><b>Active</b>: holds the group's virtual IP (the tunnel address the nodes send to) on its underlay interface
 *       and answers for the egress IPs on the egress segment (proxy ARP), announcing both with gratuitous ARP;
 *       its removals of connections reach the peers.
 *   <li><b>Standby</b>: holds neither, keeps a copy of the active member's table, warm: its datapath runs and would
 *       translate the packets of every existing flow the moment they reach it.
 *   <li><b>Priority</b>: a member advertises its configured priority once it holds the current active member's
 *       whole table, priority 1 before — so a returning preferred member takes over (preemption) only after its
 *       resync, and never cuts a flow it does not know.
 *   <li><b>Eligibility</b>: a member whose underlay or egress link is down, or whose datapath stopped, never becomes
 *       active, and an active one gives up at once (and releases everything): a member that lost the segment it
 *       serves must not keep claiming its addresses.
 *   <li><b>Handing over</b> (planned, or to a preferred member after preemption): the member that steps down keeps
 *       serving what still reaches it for {@code ha.releaseDelayMillis}, while the new active member's gratuitous
 *       ARPs move the nodes and the external router over — no packet finds nobody.
 * </ul>
 *
 * <p>Threading: the agent's thread calls the transitions; a scheduler thread ({@code egw-ha}) checks eligibility
 * and the sync every 50 ms and runs delayed releases; {@link #handover} from the admin thread. Role changes are
 * serialized on this object.
 */
public final class HaController implements AutoCloseable {
    static final long CHECK_MILLIS = 50;
    /** Advertisement intervals a starting member listens before it takes "nobody advertises" for an empty group. */
    static final int STARTUP_LISTEN_INTERVALS = 5;
    /**
     * Advertisement intervals without an advertisement failing authentication before a standby may become active:
     * a member whose key does not match its peers' must not take the addresses while the others still serve
     * (it would answer for them too); the active member keeps its role whatever it hears.
     */
    static final int AUTH_QUIET_INTERVALS = 5;
    /** The priority advertised until the active member's table is here. */
    static final int UNSYNCED_PRIORITY = 1;

    /** The member's role, for status and metrics. */
    public enum Role {
        ACTIVE, STANDBY, FAULT
    }

    private final HaConfig ha;
    private final HostPlumbing plumbing;
    private final HostReconciler host;
    private final BooleanSupplier datapathRunning;
    private final List<ConnectionSync> lanes;
    private final PrintStream out;
    private final int memberIp;
    private final String underlayInterface;
    private final String egressInterface;
    private final StateSync sync;
    private final VrrpAgent agent;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "egw-ha");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong transitions = new AtomicLong();
    private volatile Role role = Role.STANDBY;
    private volatile boolean active;
    private volatile boolean holding;
    private volatile boolean eligible = true;
    /** The priority the last check told the agent to advertise. */
    private volatile int advertisedPriority = UNSYNCED_PRIORITY;
    private ScheduledFuture<?> pendingRelease;
    private long startedAt;
    private long authFailuresSeen;
    private long lastAuthFailureAt = Long.MIN_VALUE / 2;

    /**
     * Finds this member's own underlay address and interface (the address in the peers' subnet that is not the
     * virtual IP), stops the egress IPs from being announced (a standby must not), and opens the sync and the VRRP
     * socket; {@link #start} starts them. Call before the first policies are applied.
     */
    public HaController(GatewayConfig config, HostPlumbing plumbing, HostReconciler host, List<ConnTable> tables,
            List<ConnectionSync> lanes, int portSpan, BooleanSupplier datapathRunning, PrintStream out) throws IOException {
        this.ha = config.ha().orElseThrow();
        this.plumbing = plumbing;
        this.host = host;
        this.datapathRunning = datapathRunning;
        this.lanes = List.copyOf(lanes);
        this.out = out;
        this.egressInterface = config.egress().interfaceName();
        int[] self = ownAddress(ha);
        this.memberIp = self[0];
        this.underlayInterface = ha.interfaceName().orElse(interfaceName(self[1]));
        plumbing.announceEgressIps(false);
        out.println("ha: member " + Ipv4Address.toString(memberIp) + " on " + underlayInterface + " of the group with "
                + ha.peers().stream().map(Ipv4Address::toString).toList() + ", virtual IP "
                + Ipv4Address.toString(ha.virtualIp()) + ", priority " + ha.priority() + ", VRRP every " + ha.advertMillis()
                + " ms (vrid " + ha.vrid() + "), state sync on port " + ha.syncPort());
        this.sync = new StateSync(memberIp, ha.peers(), ha.syncPort(), ha.secret(), config.egress().portLow(),
                config.egress().portHigh(), portSpan, config.tunnel().vni(), tables, lanes, () -> active,
                System::currentTimeMillis, out);
        int[] peers = ha.peers().stream().mapToInt(Integer::intValue).toArray();
        this.agent = VrrpAgent.open(new VrrpAgent.Config(ha.vrid(), ha.priority(), ha.advertMillis(), ha.preempt(),
                new int[] {ha.virtualIp()}, peers, ha.secret(), memberIp), new VrrpAgent.Listener() {
                    @Override
                    public void becameMaster() {
                        try {
                            onActive();
                        } catch (RuntimeException e) {
                            out.println("ha: ! taking the active role failed: " + e);
                            out.flush();
                        }
                    }

                    @Override
                    public void becameBackup(VrrpRouter.Reason why) {
                        try {
                            onStandby(why);
                        } catch (RuntimeException e) {
                            out.println("ha: ! giving up the active role failed: " + e);
                            out.flush();
                        }
                    }
                });
    }

    public void start() {
        startedAt = System.currentTimeMillis();
        sync.start();
        agent.effectivePriority(UNSYNCED_PRIORITY);
        agent.start();
        scheduler.scheduleWithFixedDelay(this::check, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** {address, ifindex} of this member's own address in the subnet of its first peer (not the virtual IP). */
    private static int[] ownAddress(HaConfig ha) throws IOException {
        try (RtNetlink rt = RtNetlink.open()) {
            int peer = ha.peers().get(0);
            for (AddressInfo a : rt.dumpAddresses()) {
                if (a.address() != ha.virtualIp() && a.prefixLength() < 32
                        && new Ipv4Cidr(a.address() & Ipv4Cidr.mask(a.prefixLength()), a.prefixLength()).contains(peer)) {
                    return new int[] {a.address(), a.ifindex()};
                }
            }
        }
        throw new IOException("no address of this host is in the subnet of peer " + Ipv4Address.toString(ha.peers().get(0))
                + ": a group's members must share an underlay segment (ha.peers)");
    }

    private static String interfaceName(int ifindex) throws IOException {
        try (RtNetlink rt = RtNetlink.open()) {
            return rt.link(ifindex).map(LinkInfo::name).orElseThrow(() -> new IOException("no interface " + ifindex));
        }
    }

    /**
     * Every 50 ms: eligibility from the links, the datapath and the peers' authentication, the advertised priority
     * from the sync.
     */
    private void check() {
        try {
            long now = System.currentTimeMillis();
            long failures = agent.authFailures();
            if (failures != authFailuresSeen) {
                authFailuresSeen = failures;
                lastAuthFailureAt = now;
            }
            List<String> problems = problems(now);
            boolean ok = problems.isEmpty();
            if (ok != eligible) {
                eligible = ok;
                out.println("ha: " + (ok ? "eligible again"
                        : "not eligible (" + String.join(", ", problems) + "): this member will not be active"));
                out.flush();
            }
            agent.eligible(ok);
            // before any advertisement could have been heard, nobody is known to be active: wait, or this member
            // would count as ready and take over from an active member it has not heard yet
            int master = agent.masterAddress();
            boolean heard = master != 0 || now - startedAt > STARTUP_LISTEN_INTERVALS * ha.advertMillis();
            boolean ready = active || (heard && sync.readyToLead(master));
            advertisedPriority = ready ? ha.priority() : UNSYNCED_PRIORITY;
            agent.effectivePriority(advertisedPriority);
            role = active ? Role.ACTIVE : ok ? Role.STANDBY : Role.FAULT;
        } catch (RuntimeException e) {
            out.println("ha: ! " + e);
        }
    }

    /** Why this member may not be active now (empty: it is eligible). */
    private List<String> problems(long now) {
        List<String> why = new ArrayList<>();
        if (!host.linkRunning(underlayInterface)) {
            why.add("underlay " + underlayInterface + " down");
        }
        if (!host.egressLinkUp()) {
            why.add("egress " + egressInterface + " down");
        }
        if (!datapathRunning.getAsBoolean()) {
            why.add("datapath stopped");
        }
        if (!active && now - lastAuthFailureAt <= AUTH_QUIET_INTERVALS * ha.advertMillis()) {
            why.add("a peer's advertisements fail authentication: is ha.secretFile the same on every member?");
        }
        return why;
    }

    private synchronized void onActive() {
        if (pendingRelease != null) {
            pendingRelease.cancel(false);
            pendingRelease = null;
        }
        active = true;
        role = Role.ACTIVE;
        transitions.incrementAndGet();
        lanes.forEach(l -> l.originatesRemovals(true));
        if (!holding) {
            try {
                plumbing.claimVirtualIp(ha.virtualIp(), underlayInterface);
            } catch (IOException e) {
                out.println("ha: ! could not take the virtual IP: " + e.getMessage());
            }
            holding = true;
        }
        plumbing.announceEgressIps(true);
        out.println("ha: active — holding " + Ipv4Address.toString(ha.virtualIp()) + " and the egress IPs");
        out.flush();
    }

    private synchronized void onStandby(VrrpRouter.Reason why) {
        boolean was = active;
        active = false;
        lanes.forEach(l -> l.originatesRemovals(false));
        if (was) {
            transitions.incrementAndGet();
        }
        role = eligible ? Role.STANDBY : Role.FAULT;
        if (!holding) {
            out.println("ha: standby (" + why.name().toLowerCase(java.util.Locale.ROOT) + ")");
            out.flush();
            return;
        }
        // what still reaches this member keeps being served while the new active member's announcements spread,
        // unless it lost a link (nothing can reach it properly) or stops
        boolean now = why == VrrpRouter.Reason.INELIGIBLE || why == VrrpRouter.Reason.SHUTDOWN || ha.releaseDelayMillis() == 0;
        out.println("ha: standby (" + why.name().toLowerCase(java.util.Locale.ROOT) + ")"
                + (now ? "; releasing the addresses" : "; releasing the addresses in " + ha.releaseDelayMillis() + " ms"));
        out.flush();
        if (now) {
            release();
        } else {
            pendingRelease = scheduler.schedule(this::releaseIfStandby, ha.releaseDelayMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private synchronized void releaseIfStandby() {
        pendingRelease = null;
        if (!active) {
            release();
        }
    }

    private void release() {
        plumbing.announceEgressIps(false);
        plumbing.releaseVirtualIp();
        holding = false;
        out.flush();
    }

    /**
     * Planned handover: hands the active role to a peer that holds this member's whole table; this member keeps
     * serving what still reaches it for {@code ha.releaseDelayMillis}.
     *
     * @return what happened, for the CLI
     * @throws IllegalStateException naming why it cannot (not active, no peer in sync)
     */
    public String handover() {
        if (!active) {
            throw new IllegalStateException("this member is not the active one");
        }
        if (!sync.peerInSync()) {
            throw new IllegalStateException("no peer holds this member's table yet (sync lag " + sync.lag()
                    + " connections); try again in a moment");
        }
        agent.giveUp();
        return "handing over: a peer takes the virtual IP and the egress IPs; this member keeps serving what still"
                + " reaches it for " + ha.releaseDelayMillis() + " ms";
    }

    public Role role() {
        return role;
    }

    public boolean active() {
        return active;
    }

    /** True while this member holds the group's table: it is active, or it has the active member's whole table. */
    public boolean holdsActiveTable() {
        return active || sync.readyToLead(agent.masterAddress());
    }

    public long transitions() {
        return transitions.get();
    }

    public long syncLag() {
        return sync.lag();
    }

    public StateSync sync() {
        return sync;
    }

    public VrrpAgent agent() {
        return agent;
    }

    /** What {@code ha status} shows. */
    public Map<String, Object> status() {
        Map<String, Object> s = new java.util.LinkedHashMap<>();
        s.put("member", Ipv4Address.toString(memberIp));
        s.put("role", role.name().toLowerCase(java.util.Locale.ROOT));
        s.put("priority", ha.priority());
        s.put("advertisedPriority", advertisedPriority);
        s.put("eligible", eligible);
        s.put("virtualIP", Ipv4Address.toString(ha.virtualIp()));
        s.put("holdsVirtualIP", holding);
        int master = agent.masterAddress();
        s.put("active", active ? Ipv4Address.toString(memberIp) : master == 0 ? "unknown" : Ipv4Address.toString(master));
        s.put("syncLag", sync.lag());
        List<Map<String, Object>> peers = new ArrayList<>();
        for (StateSync.PeerState p : sync.peers()) {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("peer", Ipv4Address.toString(p.ip()));
            m.put("sending", p.sending());
            m.put("lag", p.lag());
            m.put("receiving", p.receiving());
            m.put("tableReceived", p.tableReceived());
            if (!p.sending()) {
                m.put("problem", p.lastProblem());
            }
            peers.add(m);
        }
        s.put("peers", peers);
        s.put("transitions", transitions.get());
        s.put("vrrpAuthFailures", agent.authFailures());
        s.put("syncAuthFailures", sync.authFailures());
        return s;
    }

    /** Steps down (priority 0, so a peer takes over at once), releases everything and stops. */
    @Override
    public void close() {
        scheduler.shutdownNow();
        agent.close();
        synchronized (this) {
            if (holding) {
                release();
            }
        }
        sync.close();
    }
}
