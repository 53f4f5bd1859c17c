package org.egressgw.testbed;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A throw-away network of namespaces for a gateway group of two members ({@code gwa}, {@code gwb}) that share
 * one underlay segment and one external segment, both emulated by Linux bridges in a switch namespace:
 *
 * <pre>
 *   pod1 10.244.1.10 (app=payment-processor)     pod2 10.244.1.11 (app=frontend)
 *         \ eth0 &lt;-&gt; vpod1 (veth)                 / eth0 &lt;-&gt; vpod2 (veth)
 *   node:   br0 10.244.1.1/24; ul0 198.51.100.1/24; vxlan0 10.99.0.1/24 (VNI 2, UDP 8472, tx checksum off)
 *           remote 198.51.100.40, the group's virtual IP: whichever member holds it gets the tunnel
 *           from 10.244.1.10 to 203.0.113.0/24 -&gt; table 100 -&gt; default via 10.99.0.2 dev vxlan0
 *           everything else: MASQUERADE out of ul0, default via 198.51.100.254 (the switch's router)
 *         | ul0 &lt;-&gt; ul-node
 *   sw:     brul (underlay 198.51.100.0/24): ports ul-node, ul-gwa, ul-gwb; router address 198.51.100.254
 *           brext (external 192.0.2.0/24):  ports ex-gwa, ex-gwb, ex-ext;  router address 192.0.2.254
 *           routes between the two, 203.0.113.0/24 and 198.18.0.0/24 via 192.0.2.1 (the segments' router,
 *           like a top-of-rack switch's SVIs)
 *         | ul-gwa &lt;-&gt; ul0, ex-gwa &lt;-&gt; ext0              | ul-gwb &lt;-&gt; ul0, ex-gwb &lt;-&gt; ext0
 *   gwa:    ul0 198.51.100.31/24; ext0 192.0.2.2/24   gwb: ul0 198.51.100.32/24; ext0 192.0.2.3/24
 *           both: 203.0.113.0/24 and 198.18.0.0/24 via 192.0.2.1, forwarding on; NO virtual IP
 *           (198.51.100.40) and NO egress IP (192.0.2.10): the active member claims them
 *         | ex-ext &lt;-&gt; eth0
 *   ext:    eth0 192.0.2.1/24; 203.0.113.5/32 and 198.18.0.5/32 on lo; 198.51.100.0/24 via 192.0.2.254;
 *           no route to 10.0.0.0/8; HTTP :80 and UDP echo :7 on both lo addresses, TCP echo on 203.0.113.5:7007
 * </pre>
 *
 * <p>pod1's policy traffic can only leave through the member that holds the virtual IP; pod2's (and pod1's to
 * other destinations) is masqueraded by the node to 198.51.100.1 and routed by the switch, so it keeps working
 * whatever the members do. Every member link is a veth pair whose other end is a bridge port in {@code sw}:
 * {@link #cutUnderlay(int)} sets that port down, and the member sees {@code NO-CARRIER} on its {@code ul0}, as
 * with a pulled cable. The bridges run no STP (a port forwards as soon as it is up) and do not call iptables.
 *
 * <p>As in {@link Topology}: pods use MTU {@value Topology#POD_MTU}, rp_filter is off and IPv6 is off
 * everywhere, every namespace is named {@code PREFIX-role} with a prefix claimed from the same registry (so
 * {@link Topology#cleanupStale()} removes what a dead run left), and {@link #close()} (or a shutdown hook)
 * kills every process in the namespaces and deletes them.
 *
 * <p>Thread safety: all methods may be called from any thread; {@link #close()} is idempotent.
 */
public final class HaTopology extends NamespaceRun {

    /** pod1, selected by the policy. */
    public static final String POD1_IP = Topology.POD1_IP;
    /** pod2, not selected. */
    public static final String POD2_IP = Topology.POD2_IP;
    /** The node's underlay address (and what masqueraded pod traffic looks like). */
    public static final String NODE_UNDERLAY_IP = Topology.NODE_UNDERLAY_IP;
    /** The group's virtual IP on the underlay: the node's VXLAN remote; held by the active member only. */
    public static final String VIRTUAL_IP = "198.51.100.40";
    /** gwa's own underlay address. */
    public static final String GWA_UNDERLAY_IP = "198.51.100.31";
    /** gwb's own underlay address. */
    public static final String GWB_UNDERLAY_IP = "198.51.100.32";
    /** The members' underlay addresses, indexed by member number. */
    public static final List<String> MEMBER_UNDERLAY_IPS = List.of(GWA_UNDERLAY_IP, GWB_UNDERLAY_IP);
    /** gwa's own address on the external segment. */
    public static final String GWA_EXT_IP = "192.0.2.2";
    /** gwb's own address on the external segment. */
    public static final String GWB_EXT_IP = "192.0.2.3";
    /** The members' external addresses, indexed by member number. */
    public static final List<String> MEMBER_EXT_IPS = List.of(GWA_EXT_IP, GWB_EXT_IP);
    /** The switch's router address on the underlay: the node's default route (never a member). */
    public static final String SWITCH_UNDERLAY_IP = "198.51.100.254";
    /** The switch's router address on the external segment: ext's route back to the underlay. */
    public static final String SWITCH_EXT_IP = "192.0.2.254";
    /** ext's address on the external segment (the members' next hop for the server prefixes). */
    public static final String EXT_IP = Topology.EXT_IP;
    /** The policy's egress IP; answered on the external segment by the active member only. */
    public static final String EGRESS_IP = Topology.EGRESS_IP;
    /** A server inside the policy's destination CIDR. */
    public static final String SERVER_IP = Topology.SERVER_IP;
    /** A server outside the policy's destination CIDR. */
    public static final String OTHER_SERVER_IP = Topology.OTHER_SERVER_IP;
    /** The gateway group's overlay address (the same on both members). */
    public static final String GW_OVERLAY_IP = Topology.GW_OVERLAY_IP;
    /** The gateway group's overlay MAC (the same on both members, so the node's neighbour entry survives a failover). */
    public static final String GW_MAC = Topology.GW_MAC;
    /** The VXLAN network identifier. */
    public static final int VNI = Topology.VNI;
    /** The VXLAN UDP port. */
    public static final int VXLAN_PORT = Topology.VXLAN_PORT;
    /** The policy's destination CIDR. */
    public static final String DESTINATION_CIDR = Topology.DESTINATION_CIDR;
    /** The prefix of {@value #OTHER_SERVER_IP}. */
    public static final String OTHER_SERVER_CIDR = Topology.OTHER_SERVER_CIDR;
    /** The underlay segment. */
    public static final String UNDERLAY_CIDR = "198.51.100.0/24";
    /** Underlay interface name in the node and the members. */
    public static final String UNDERLAY_IFACE = Topology.UNDERLAY_IFACE;
    /** The members' external interface. */
    public static final String MEMBER_EXT_IFACE = Topology.GW_EXT_IFACE;
    /** ext's interface on the external segment. */
    public static final String EXT_IFACE = Topology.EXT_IFACE;
    /** The pods' interface. */
    public static final String POD_IFACE = Topology.POD_IFACE;
    /** The kernel VXLAN device in the node (and in a member while {@link #kernelTakeover(int)} is in force). */
    public static final String VXLAN_IFACE = Topology.VXLAN_IFACE;
    /** The underlay bridge in {@code sw}. */
    public static final String UNDERLAY_BRIDGE = "brul";
    /** The external bridge in {@code sw}. */
    public static final String EXT_BRIDGE = "brext";
    /** Where each member's admin endpoint listens inside its own namespace. */
    public static final String ADMIN_LISTEN = Topology.ADMIN_LISTEN;
    /** The ext servers' UDP echo port. */
    public static final int UDP_ECHO_PORT = Topology.UDP_ECHO_PORT;
    /** The TCP echo server's port on {@value #SERVER_IP}. */
    public static final int TCP_ECHO_PORT = 7007;
    /** Role (namespace suffix and work-dir subdirectory) of each member, indexed by member number. */
    public static final List<String> MEMBERS = List.of("gwa", "gwb");

    private static final List<String> ROLES = List.of("pod1", "pod2", "node", "gwa", "gwb", "ext", "sw");
    private static final String NODE_PORT = "ul-node";
    private static final String EXT_PORT = "ex-ext";

    private HaTopology(String prefix, Path workDir) {
        super(prefix, workDir, ROLES);
    }

    /**
     * Builds the whole topology, starts the ext servers and waits until they listen. No member holds the virtual
     * IP or the egress IP yet. On failure everything created so far is removed again before the exception
     * propagates.
     *
     * @throws IOException when a setup command fails (the message names it) or the servers do not start
     */
    public static HaTopology create() throws IOException, InterruptedException {
        String prefix = Topology.claimPrefix();
        HaTopology t = new HaTopology(prefix, Topology.createWorkDir(prefix));
        t.setUp(() -> {
            t.build();
            t.startServers();
        });
        return t;
    }

    /** Namespace of pod1. */
    public String pod1() {
        return ns("pod1");
    }

    /** Namespace of pod2. */
    public String pod2() {
        return ns("pod2");
    }

    /** Namespace of the Kubernetes node. */
    public String node() {
        return ns("node");
    }

    /**
     * Namespace of member {@code i}.
     *
     * @param i 0 for {@code gwa}, 1 for {@code gwb}
     * @throws IllegalArgumentException for any other number
     */
    public String member(int i) {
        return ns(MEMBERS.get(checkMember(i)));
    }

    /** Namespace of member 0. */
    public String gwa() {
        return member(0);
    }

    /** Namespace of member 1. */
    public String gwb() {
        return member(1);
    }

    /** Namespace of the external servers. */
    public String ext() {
        return ns("ext");
    }

    /** Namespace of the switch: the two bridges (and the segments' router). */
    public String sw() {
        return ns("sw");
    }

    /**
     * Lines the TCP echo server printed so far, one per accepted connection:
     * {@code connection from <peer ip>:<peer port>}.
     */
    public List<String> tcpEchoLog() {
        return Topology.readLines(tcpEchoLogPath());
    }

    /**
     * Writes member {@code member}'s gateway files under {@code workDir/gwa} or {@code workDir/gwb} (see
     * {@link HaGatewayFiles}): its peer is the other member, the secret goes to {@code ha.key} (mode 0600).
     *
     * @return the path of the member's {@code config.yaml}
     * @throws IllegalArgumentException for an unknown member, a priority out of range or a blank secret
     */
    public Path writeGatewayFiles(int member, int priority, String secret) {
        Path dir = workDir().resolve(MEMBERS.get(checkMember(member)));
        try {
            return HaGatewayFiles.write(dir, member, priority, secret);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write gateway files under " + dir, e);
        }
    }

    /** The bridge port in {@link #sw()} that is the other end of member {@code i}'s {@code ul0}. */
    public String underlayPort(int i) {
        return "ul-" + MEMBERS.get(checkMember(i));
    }

    /** The bridge port in {@link #sw()} that is the other end of member {@code i}'s {@code ext0}. */
    public String externalPort(int i) {
        return "ex-" + MEMBERS.get(checkMember(i));
    }

    /** Cuts member {@code i} off the underlay: its bridge port goes down, its {@code ul0} loses carrier. */
    public void cutUnderlay(int i) throws IOException, InterruptedException {
        setPort(underlayPort(i), "down");
    }

    /** Reconnects member {@code i} to the underlay (the port forwards at once: no STP). */
    public void restoreUnderlay(int i) throws IOException, InterruptedException {
        setPort(underlayPort(i), "up");
    }

    /** Cuts member {@code i} off the external segment: its {@code ext0} loses carrier. */
    public void cutExternal(int i) throws IOException, InterruptedException {
        setPort(externalPort(i), "down");
    }

    /** Reconnects member {@code i} to the external segment. */
    public void restoreExternal(int i) throws IOException, InterruptedException {
        setPort(externalPort(i), "up");
    }

    /**
     * Makes the kernel of member {@code i} the active gateway, as {@link GatewayMode#KERNEL} does in
     * {@link Topology}: the virtual IP as a /32 on {@code ul0}, a VXLAN device from it to the node with the
     * group's overlay address and MAC, SNAT of pod1's policy traffic to the egress IP (a /32 on {@code ext0}),
     * then one gratuitous ARP for each address so that the node and ext move to this member at once.
     * The benchmark baseline for a failover, and the proof that the rig itself is right.
     */
    public void kernelTakeover(int i) throws IOException, InterruptedException {
        String ns = member(i);
        Topology.setupHost(setupLog, "ip", "-n", ns, "addr", "add", VIRTUAL_IP + "/32", "dev", UNDERLAY_IFACE);
        Topology.kernelGateway(setupLog, ns, VIRTUAL_IP);
        announce(ns, UNDERLAY_IFACE, VIRTUAL_IP);
        announce(ns, MEMBER_EXT_IFACE, EGRESS_IP);
    }

    /**
     * Undoes {@link #kernelTakeover(int)} on member {@code i}: deletes its VXLAN device (and the route through
     * it), flushes iptables' nat POSTROUTING chain (the topology puts nothing else there) and removes the egress
     * IP and the virtual IP.
     */
    public void kernelRelease(int i) throws IOException, InterruptedException {
        String ns = member(i);
        Topology.setupHost(setupLog, "ip", "-n", ns, "link", "del", VXLAN_IFACE);
        Topology.setupIn(setupLog, ns, "iptables", "-w", "5", "-t", "nat", "-F", "POSTROUTING");
        Topology.setupHost(setupLog, "ip", "-n", ns, "addr", "del", EGRESS_IP + "/32", "dev", MEMBER_EXT_IFACE);
        Topology.setupHost(setupLog, "ip", "-n", ns, "addr", "del", VIRTUAL_IP + "/32", "dev", UNDERLAY_IFACE);
    }

    /**
     * Sends one gratuitous ARP for {@code ip} from {@code iface} in {@code ns} (a broadcast request with sender
     * and target address {@code ip}, as {@code arping -U} sends; bundled {@code garp.py}, no arping needed).
     * Hosts on the segment that already have a neighbour entry for {@code ip} move it to {@code iface}'s MAC.
     */
    public void announce(String ns, String iface, String ip) throws IOException, InterruptedException {
        Path garp = workDir().resolve("probes").resolve("garp.py");
        if (!Files.exists(garp)) {
            Files.createDirectories(garp.getParent());
            Topology.extractResource("garp.py", garp.getParent());
        }
        Topology.setupIn(setupLog, ns, Topology.PYTHON, garp.toString(), iface, ip);
    }

    /** {@code i} if it names a member; otherwise an exception naming it. */
    static int checkMember(int i) {
        if (i < 0 || i >= MEMBERS.size()) {
            throw new IllegalArgumentException("member must be 0 (gwa) or 1 (gwb), not " + i);
        }
        return i;
    }

    // ---- building ------------------------------------------------------------------------------------------

    private void build() throws IOException, InterruptedException {
        for (String ns : namespaces()) {
            Topology.addNamespace(setupLog, ns);
        }
        buildSwitch();

        // links, each created inside its namespaces, never in the host's
        host("ip", "-n", pod1(), "link", "add", POD_IFACE, "type", "veth", "peer", "name", "vpod1", "netns", node());
        host("ip", "-n", pod2(), "link", "add", POD_IFACE, "type", "veth", "peer", "name", "vpod2", "netns", node());
        plug(node(), UNDERLAY_IFACE, NODE_PORT, UNDERLAY_BRIDGE);
        for (int i = 0; i < MEMBERS.size(); i++) {
            plug(member(i), UNDERLAY_IFACE, underlayPort(i), UNDERLAY_BRIDGE);
            plug(member(i), MEMBER_EXT_IFACE, externalPort(i), EXT_BRIDGE);
        }
        plug(ext(), EXT_IFACE, EXT_PORT, EXT_BRIDGE);

        Topology.pod(setupLog, pod1(), POD1_IP, Topology.POD_MTU);
        Topology.pod(setupLog, pod2(), POD2_IP, Topology.POD_MTU);
        // no static neighbour: the node resolves the gateway's overlay address through the tunnel, i.e. from
        // whichever member is active; both answer with the same MAC
        Topology.buildNode(setupLog, node(), Topology.POD_MTU, VIRTUAL_IP, SWITCH_UNDERLAY_IP, false);
        for (int i = 0; i < MEMBERS.size(); i++) {
            Topology.gatewayLinks(setupLog, member(i), MEMBER_UNDERLAY_IPS.get(i), MEMBER_EXT_IPS.get(i));
        }
        Topology.buildExt(setupLog, ext(), SWITCH_EXT_IP);

        for (String ns : namespaces()) {
            Topology.rpFilterOff(setupLog, ns);
        }
    }

    /** Two bridges that forward as soon as a port is up, and a router between them and to the servers. */
    private void buildSwitch() throws IOException, InterruptedException {
        String sw = sw();
        // a switch does not run the firewall on what it bridges; ignore kernels without br_netfilter
        exec(sw, Duration.ofSeconds(15), "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=0",
                "net.bridge.bridge-nf-call-arptables=0");
        for (String[] bridge : new String[][] {{UNDERLAY_BRIDGE, SWITCH_UNDERLAY_IP}, {EXT_BRIDGE, SWITCH_EXT_IP}}) {
            host("ip", "-n", sw, "link", "add", bridge[0], "type", "bridge", "stp_state", "0");
            host("ip", "-n", sw, "addr", "add", bridge[1] + "/24", "dev", bridge[0]);
            host("ip", "-n", sw, "link", "set", bridge[0], "up");
        }
        for (String prefix : List.of(DESTINATION_CIDR, OTHER_SERVER_CIDR)) {
            host("ip", "-n", sw, "route", "add", prefix, "via", EXT_IP);
        }
        Topology.setupIn(setupLog, sw, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    }

    /** A veth pair from {@code iface} in {@code ns} to {@code port} in {@code sw}, enslaved to {@code bridge}. */
    private void plug(String ns, String iface, String port, String bridge) throws IOException, InterruptedException {
        host("ip", "-n", ns, "link", "add", iface, "type", "veth", "peer", "name", port, "netns", sw());
        host("ip", "-n", sw(), "link", "set", port, "master", bridge, "up");
    }

    private void setPort(String port, String state) throws IOException, InterruptedException {
        host("ip", "-n", sw(), "link", "set", port, state);
    }

    private void startServers() throws IOException, InterruptedException {
        Topology.startServers(this);
        Path dir = workDir().resolve("ext");
        Path echo = Topology.extractResource("tcp_echo_server.py", dir);
        Path ready = dir.resolve("tcp_echo.ready");
        Process p = start(ext(), List.of(Topology.PYTHON, "-u", echo.toString(), SERVER_IP,
                Integer.toString(TCP_ECHO_PORT), ready.toString()), tcpEchoLogPath());
        Topology.awaitReady(p, ready, tcpEchoLogPath());
    }

    private Path tcpEchoLogPath() {
        return workDir().resolve("ext").resolve("tcp_echo.out");
    }

    private void host(String... cmd) throws IOException, InterruptedException {
        Topology.setupHost(setupLog, cmd);
    }
}
