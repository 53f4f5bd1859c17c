package org.egressgw.testbed;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away network of Linux network namespaces that plays a Kubernetes node, an egress gateway node
 * and an external server:
 *
 * <pre>
 *   pod1 10.244.1.10 (app=payment-processor)     pod2 10.244.1.11 (app=frontend)
 *         \ eth0 &lt;-&gt; vpod1 (veth)                 / eth0 &lt;-&gt; vpod2 (veth)
 *   node-a: br0 10.244.1.1/24; ul0 198.51.100.1/24; vxlan0 10.99.0.1/24 (VNI 2, UDP 8472, tx checksum off)
 *           from 10.244.1.10 to 203.0.113.0/24 -&gt; table 100 -&gt; default via 10.99.0.2 dev vxlan0
 *           everything else: MASQUERADE out of ul0, default via 198.51.100.2
 *         | ul0 &lt;-&gt; ul0 (veth, 198.51.100.0/24)
 *   gw-1:   ul0 198.51.100.2/24; ext0 192.0.2.2/24; 203.0.113.0/24 and 198.18.0.0/24 via 192.0.2.1;
 *           forwards the node's masqueraded traffic; the gateway (Java or kernel) works here
 *         | ext0 &lt;-&gt; eth0 (veth, 192.0.2.0/24)
 *   ext:    eth0 192.0.2.1/24; 203.0.113.5/32 and 198.18.0.5/32 on lo; 198.51.100.0/24 via 192.0.2.2;
 *           no route to 10.0.0.0/8; HTTP :80 and UDP echo :7 on both lo addresses
 * </pre>
 *
 * <p>Pods use MTU {@value #POD_MTU}, as Cilium does in tunnel mode, so that nothing needs fragmenting once
 * VXLAN's 50 bytes are added on a 1500-byte underlay. rp_filter is off everywhere, IPv6 is off (quiet
 * captures), {@code node-a}'s kernel knows the gateway's overlay MAC statically (no ARP through the tunnel).
 *
 * <p>Every namespace name starts with a per-run prefix ({@link #prefix()}), so concurrent runs never collide.
 * {@link #close()} kills every process in the namespaces and deletes them; a JVM shutdown hook does the same
 * if the caller forgets, and {@link #cleanupStale()} removes what dead runs left behind.
 *
 * <p>Thread safety: all methods may be called from any thread; {@link #close()} is idempotent.
 */
public final class Topology extends NamespaceRun {

    /** pod1, selected by the policy. */
    public static final String POD1_IP = "10.244.1.10";
    /** pod2, not selected. */
    public static final String POD2_IP = "10.244.1.11";
    /** node-a's underlay address (and what masqueraded pod traffic looks like). */
    public static final String NODE_UNDERLAY_IP = "198.51.100.1";
    /** gw-1's underlay address: the tunnel endpoint. */
    public static final String GW_UNDERLAY_IP = "198.51.100.2";
    /** gw-1's address on the egress link. */
    public static final String GW_EXT_IP = "192.0.2.2";
    /** ext's address on the egress link (next hop for the server prefixes). */
    public static final String EXT_IP = "192.0.2.1";
    /** The policy's egress IP. */
    public static final String EGRESS_IP = "192.0.2.10";
    /** A server inside the policy's destination CIDR. */
    public static final String SERVER_IP = "203.0.113.5";
    /** A server outside the policy's destination CIDR. */
    public static final String OTHER_SERVER_IP = "198.18.0.5";
    /** The prefix of {@value #OTHER_SERVER_IP}, routed to ext like the policy's destination. */
    public static final String OTHER_SERVER_CIDR = "198.18.0.0/24";
    /** node-a's overlay (vxlan0) address. */
    public static final String NODE_OVERLAY_IP = "10.99.0.1";
    /** The gateway's overlay address. */
    public static final String GW_OVERLAY_IP = "10.99.0.2";
    /** The gateway's overlay MAC; node-a has a permanent neighbour entry for it. */
    public static final String GW_MAC = "02:00:0a:63:00:02";
    /** node-a's vxlan0 MAC (fixed, so the gateway can address replies without learning it). */
    public static final String NODE_MAC = "02:00:0a:63:00:01";
    /** The VXLAN network identifier. */
    public static final int VNI = 2;
    /** The VXLAN UDP port (Cilium's default). */
    public static final int VXLAN_PORT = 8472;
    /** The policy's destination CIDR; only pod1's traffic to it enters the tunnel. */
    public static final String DESTINATION_CIDR = "203.0.113.0/24";
    /** The cluster's pod CIDR (masqueraded on node-a). */
    public static final String POD_CIDR = "10.244.0.0/16";
    /** MTU of the pods' interfaces: 1500 minus VXLAN overhead. */
    public static final int POD_MTU = 1450;
    /** Underlay interface name in node-a and gw-1. */
    public static final String UNDERLAY_IFACE = "ul0";
    /** gw-1's egress interface. */
    public static final String GW_EXT_IFACE = "ext0";
    /** ext's interface towards gw-1. */
    public static final String EXT_IFACE = "eth0";
    /** The pods' interface. */
    public static final String POD_IFACE = "eth0";
    /** The kernel VXLAN device in node-a (and in gw-1 in KERNEL mode). */
    public static final String VXLAN_IFACE = "vxlan0";
    /** Where the gateway's admin endpoint listens inside gw-1. */
    public static final String ADMIN_LISTEN = "127.0.0.1:9464";
    /** The ext servers' HTTP port. */
    public static final int HTTP_PORT = 80;
    /** The ext servers' UDP echo port. */
    public static final int UDP_ECHO_PORT = 7;
    /** Debian's interpreter (not whatever python3 comes first on PATH). */
    public static final String PYTHON = "/usr/bin/python3";

    /** Routing table node-a uses for pod1's policy traffic. */
    static final int POLICY_TABLE = 100;

    private static final Duration SETUP_STEP = Duration.ofSeconds(15);
    private static final Duration SERVER_START = Duration.ofSeconds(15);
    private static final List<String> ROLES = List.of("pod1", "pod2", "node", "gw", "ext");

    private final TopologyOptions options;

    private Topology(TopologyOptions options, String prefix, Path workDir) {
        super(prefix, workDir, ROLES);
        this.options = options;
    }

    /**
     * Builds the whole topology, starts the ext servers and waits until they listen.
     * On failure everything created so far is removed again before the exception propagates.
     *
     * @throws IOException when a setup command fails (the message names it) or the servers do not start
     */
    public static Topology create(TopologyOptions o) throws IOException, InterruptedException {
        String prefix = claimPrefix();
        Topology t = new Topology(o, prefix, createWorkDir(prefix));
        t.setUp(() -> {
            t.build();
            startServers(t);
        });
        return t;
    }

    /** The options this topology was built with. */
    public TopologyOptions options() {
        return options;
    }

    /** Namespace of pod1. */
    public String pod1() {
        return ns("pod1");
    }

    /** Namespace of pod2. */
    public String pod2() {
        return ns("pod2");
    }

    /** Namespace of node-a. */
    public String node() {
        return ns("node");
    }

    /** Namespace of gw-1. */
    public String gw() {
        return ns("gw");
    }

    /** Namespace of the external servers. */
    public String ext() {
        return ns("ext");
    }

    /**
     * Writes the Java gateway's files under {@code workDir/gateway} (see {@link GatewayFiles}).
     *
     * @return the path of {@code config.yaml}
     */
    public Path writeGatewayFiles() {
        try {
            return GatewayFiles.write(workDir().resolve("gateway"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write gateway files under " + workDir(), e);
        }
    }

    /** Shorthand for {@link Probes#httpGet(String, String)}. */
    public String httpGet(String ns, String url) {
        return probes().httpGet(ns, url);
    }

    /** Shorthand for {@link Probes#download(String, String)}. */
    public Probes.Download download(String ns, String url) {
        return probes().download(ns, url);
    }

    /** Shorthand for {@link Probes#udpEcho(String, String, int, String)}. */
    public String udpEcho(String ns, String dstIp, int port, String payload) {
        return probes().udpEcho(ns, dstIp, port, payload);
    }

    /** Shorthand for {@link Probes#ping(String, String, int)}. */
    public boolean ping(String ns, String ip, int count) {
        return probes().ping(ns, ip, count);
    }

    /** Shorthand for {@link Probes#tcpdump(String, String, String, Path)}. */
    public Probes.Capture tcpdump(String ns, String iface, String filter, Path pcap) {
        return probes().tcpdump(ns, iface, filter, pcap);
    }

    /**
     * Deletes namespaces (and their processes) and markers left behind by runs whose process is gone.
     * Safe while other runs are alive: only runs whose owning process is dead are touched.
     *
     * @return the namespaces deleted
     */
    public static List<String> cleanupStale() throws IOException, InterruptedException {
        RunRegistry registry = RunRegistry.system();
        return registry.locked(() -> {
            List<String> stale = registry.staleNamespaces(listNamespaces());
            for (String ns : stale) {
                killAndDelete(ns);
            }
            for (String prefix : registry.staleMarkers()) {
                registry.release(prefix);
            }
            return stale;
        });
    }

    /** Namespace names that exist right now (anyone's). */
    public static List<String> listNamespaces() throws IOException, InterruptedException {
        ExecResult r = runHost(List.of("ip", "netns", "list"), SETUP_STEP).orThrow("ip netns list");
        return RunRegistry.parseNetnsList(r.stdout());
    }

    // ---- building ------------------------------------------------------------------------------------------

    private void build() throws IOException, InterruptedException {
        String p1 = pod1();
        String p2 = pod2();
        String node = node();
        String gw = gw();
        String ext = ext();
        for (String ns : namespaces()) {
            addNamespace(setupLog, ns);
        }

        // links, each created inside its namespaces, never in the host's
        host("ip", "-n", p1, "link", "add", POD_IFACE, "type", "veth", "peer", "name", "vpod1", "netns", node);
        host("ip", "-n", p2, "link", "add", POD_IFACE, "type", "veth", "peer", "name", "vpod2", "netns", node);
        host("ip", "-n", node, "link", "add", UNDERLAY_IFACE, "type", "veth", "peer", "name", UNDERLAY_IFACE,
                "netns", gw);
        host("ip", "-n", gw, "link", "add", GW_EXT_IFACE, "type", "veth", "peer", "name", EXT_IFACE, "netns", ext);

        pod(setupLog, p1, POD1_IP, options.podMtu());
        pod(setupLog, p2, POD2_IP, options.podMtu());
        buildNode(setupLog, node, options.podMtu(), GW_UNDERLAY_IP, GW_UNDERLAY_IP, options.staticNeighbour());
        buildGateway(gw);
        buildExt(setupLog, ext, GW_EXT_IP);

        for (String ns : namespaces()) {
            rpFilterOff(setupLog, ns);
        }
    }

    /**
     * Creates namespace {@code ns} with rp_filter off (before any interface exists, so every new one inherits
     * it), IPv6 off and {@code lo} up.
     */
    static void addNamespace(Path setupLog, String ns) throws IOException, InterruptedException {
        setupHost(setupLog, "ip", "netns", "add", ns);
        // before any interface exists, so every new one inherits "off"
        setupIn(setupLog, ns, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0");
        // IPv6 chatter (RS, MLD, DAD) would only clutter captures; ignore kernels without IPv6
        execIn(ns, SETUP_STEP, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1");
        setupHost(setupLog, "ip", "-n", ns, "link", "set", "lo", "up");
    }

    /** Sets rp_filter to 0 on every interface {@code ns} has now. */
    static void rpFilterOff(Path setupLog, String ns) throws IOException, InterruptedException {
        setupIn(setupLog, ns, "sh", "-c", "for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 0 > \"$f\"; done");
    }

    /** A pod: {@code ip}/24 on its {@value #POD_IFACE} (already created), default route via the node's bridge. */
    static void pod(Path setupLog, String ns, String ip, int mtu) throws IOException, InterruptedException {
        setupHost(setupLog, "ip", "-n", ns, "addr", "add", ip + "/24", "dev", POD_IFACE);
        setupHost(setupLog, "ip", "-n", ns, "link", "set", POD_IFACE, "mtu", Integer.toString(mtu), "up");
        setupHost(setupLog, "ip", "-n", ns, "route", "add", "default", "via", "10.244.1.1");
    }

    /**
     * node-a: a bridge for the pods' veth ends {@code vpod1}/{@code vpod2}, {@value #NODE_UNDERLAY_IP} on
     * {@value #UNDERLAY_IFACE} (both already created), a VXLAN device towards {@code tunnelRemote}, pod1's policy
     * traffic routed into it and everything else masqueraded out of the underlay via {@code defaultVia}.
     */
    static void buildNode(Path setupLog, String ns, int podMtu, String tunnelRemote, String defaultVia,
            boolean staticNeighbour) throws IOException, InterruptedException {
        setupHost(setupLog, "ip", "-n", ns, "link", "add", "br0", "type", "bridge");
        setupHost(setupLog, "ip", "-n", ns, "addr", "add", "10.244.1.1/24", "dev", "br0");
        for (String port : List.of("vpod1", "vpod2")) {
            setupHost(setupLog, "ip", "-n", ns, "link", "set", port, "mtu", Integer.toString(podMtu),
                    "master", "br0", "up");
        }
        setupHost(setupLog, "ip", "-n", ns, "link", "set", "br0", "up");

        setupHost(setupLog, "ip", "-n", ns, "addr", "add", NODE_UNDERLAY_IP + "/24", "dev", UNDERLAY_IFACE);
        setupHost(setupLog, "ip", "-n", ns, "link", "set", UNDERLAY_IFACE, "up");

        setupHost(setupLog, "ip", "-n", ns, "link", "add", VXLAN_IFACE, "address", NODE_MAC, "type", "vxlan",
                "id", Integer.toString(VNI), "dstport", Integer.toString(VXLAN_PORT),
                "local", NODE_UNDERLAY_IP, "remote", tunnelRemote, "dev", UNDERLAY_IFACE);
        setupHost(setupLog, "ip", "-n", ns, "addr", "add", NODE_OVERLAY_IP + "/24", "dev", VXLAN_IFACE);
        setupHost(setupLog, "ip", "-n", ns, "link", "set", VXLAN_IFACE, "up");
        // a real NIC would finish partial checksums before the wire; over veth only this makes them final
        setupIn(setupLog, ns, "ethtool", "-K", VXLAN_IFACE, "tx", "off");
        if (staticNeighbour) {
            setupHost(setupLog, "ip", "-n", ns, "neigh", "replace", GW_OVERLAY_IP, "lladdr", GW_MAC,
                    "dev", VXLAN_IFACE, "nud", "permanent");
            setupHost(setupLog, "bridge", "-n", ns, "fdb", "append", GW_MAC, "dev", VXLAN_IFACE, "dst", tunnelRemote);
        }

        setupHost(setupLog, "ip", "-n", ns, "route", "add", "default", "via", defaultVia);
        setupHost(setupLog, "ip", "-n", ns, "rule", "add", "from", POD1_IP, "to", DESTINATION_CIDR,
                "lookup", Integer.toString(POLICY_TABLE), "priority", "100");
        setupHost(setupLog, "ip", "-n", ns, "route", "add", "default", "via", GW_OVERLAY_IP, "dev", VXLAN_IFACE,
                "table", Integer.toString(POLICY_TABLE));
        setupIn(setupLog, ns, "iptables", "-w", "5", "-t", "nat", "-A", "POSTROUTING", "-s", POD_CIDR,
                "-o", UNDERLAY_IFACE, "-j", "MASQUERADE");
        setupIn(setupLog, ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    }

    private void buildGateway(String ns) throws IOException, InterruptedException {
        gatewayLinks(setupLog, ns, GW_UNDERLAY_IP, GW_EXT_IP);
        if (options.mode() == GatewayMode.USERSPACE) {
            if (options.egressIpAssigned()) {
                host("ip", "-n", ns, "addr", "add", EGRESS_IP + "/24", "dev", GW_EXT_IFACE);
            }
            return;
        }
        kernelGateway(setupLog, ns, GW_UNDERLAY_IP);
    }

    /**
     * A gateway host's own addresses on {@value #UNDERLAY_IFACE} and {@value #GW_EXT_IFACE} (both already
     * created), its routes to the server prefixes via ext, and forwarding on.
     */
    static void gatewayLinks(Path setupLog, String ns, String underlayIp, String extIp)
            throws IOException, InterruptedException {
        setupHost(setupLog, "ip", "-n", ns, "addr", "add", underlayIp + "/24", "dev", UNDERLAY_IFACE);
        setupHost(setupLog, "ip", "-n", ns, "link", "set", UNDERLAY_IFACE, "up");
        setupHost(setupLog, "ip", "-n", ns, "addr", "add", extIp + "/24", "dev", GW_EXT_IFACE);
        setupHost(setupLog, "ip", "-n", ns, "link", "set", GW_EXT_IFACE, "up");
        setupHost(setupLog, "ip", "-n", ns, "route", "add", DESTINATION_CIDR, "via", EXT_IP);
        setupHost(setupLog, "ip", "-n", ns, "route", "add", OTHER_SERVER_CIDR, "via", EXT_IP);
        setupIn(setupLog, ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
    }

    /**
     * The kernel as the gateway in {@code ns}: a VXLAN device from {@code localUnderlayIp} to node-a with the
     * gateway's overlay address and MAC, SNAT of pod1's policy traffic to the egress IP (assigned as a /32 to
     * {@value #GW_EXT_IFACE}) and the route back to the pods through the tunnel. {@link GatewayMode#KERNEL}.
     */
    static void kernelGateway(Path setupLog, String ns, String localUnderlayIp)
            throws IOException, InterruptedException {
        setupHost(setupLog, "ip", "-n", ns, "link", "add", VXLAN_IFACE, "address", GW_MAC, "type", "vxlan",
                "id", Integer.toString(VNI), "dstport", Integer.toString(VXLAN_PORT),
                "local", localUnderlayIp, "remote", NODE_UNDERLAY_IP, "dev", UNDERLAY_IFACE);
        setupHost(setupLog, "ip", "-n", ns, "addr", "add", GW_OVERLAY_IP + "/24", "dev", VXLAN_IFACE);
        setupHost(setupLog, "ip", "-n", ns, "link", "set", VXLAN_IFACE, "up");
        setupIn(setupLog, ns, "iptables", "-w", "5", "-t", "nat", "-A", "POSTROUTING", "-s", POD1_IP + "/32",
                "-d", DESTINATION_CIDR, "-o", GW_EXT_IFACE, "-j", "SNAT", "--to-source", EGRESS_IP);
        setupHost(setupLog, "ip", "-n", ns, "addr", "add", EGRESS_IP + "/32", "dev", GW_EXT_IFACE);
        setupHost(setupLog, "ip", "-n", ns, "route", "add", "10.244.1.0/24", "via", NODE_OVERLAY_IP,
                "dev", VXLAN_IFACE);
    }

    /**
     * ext: {@value #EXT_IP} on {@value #EXT_IFACE} (already created), both server addresses on {@code lo}, and
     * the underlay prefix (where masqueraded node traffic comes from) via {@code underlayVia}.
     */
    static void buildExt(Path setupLog, String ns, String underlayVia) throws IOException, InterruptedException {
        setupHost(setupLog, "ip", "-n", ns, "addr", "add", EXT_IP + "/24", "dev", EXT_IFACE);
        setupHost(setupLog, "ip", "-n", ns, "link", "set", EXT_IFACE, "up");
        setupHost(setupLog, "ip", "-n", ns, "addr", "add", SERVER_IP + "/32", "dev", "lo");
        setupHost(setupLog, "ip", "-n", ns, "addr", "add", OTHER_SERVER_IP + "/32", "dev", "lo");
        setupHost(setupLog, "ip", "-n", ns, "route", "add", "198.51.100.0/24", "via", underlayVia);
    }

    /**
     * Starts the HTTP and UDP echo servers in the rig's ext namespace on both server addresses, logging to
     * {@link #serverLogPath(Path)}, and waits until they listen.
     */
    static void startServers(Probes.Rig rig) throws IOException, InterruptedException {
        String extNs = rig.ext();
        Path workDir = rig.workDir();
        Path dir = workDir.resolve("ext");
        Files.createDirectories(dir);
        Path http = extractResource("http_server.py", dir);
        Path udp = extractResource("udp_echo.py", dir);
        Path log = serverLogPath(workDir);
        Files.deleteIfExists(log);
        Path httpReady = dir.resolve("http.ready");
        Path udpReady = dir.resolve("udp.ready");
        Process h = rig.start(extNs, List.of(PYTHON, http.toString(), log.toString(), httpReady.toString(),
                Integer.toString(HTTP_PORT), SERVER_IP, OTHER_SERVER_IP), dir.resolve("http_server.out"));
        Process u = rig.start(extNs, List.of(PYTHON, udp.toString(), log.toString(), udpReady.toString(),
                Integer.toString(UDP_ECHO_PORT), SERVER_IP, OTHER_SERVER_IP), dir.resolve("udp_echo.out"));
        awaitReady(h, httpReady, dir.resolve("http_server.out"));
        awaitReady(u, udpReady, dir.resolve("udp_echo.out"));
    }

    /** Waits until {@code p} creates {@code ready}; fails with its output {@code out} if it dies or is slow. */
    static void awaitReady(Process p, Path ready, Path out) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + SERVER_START.toNanos();
        while (!Files.exists(ready)) {
            if (!p.isAlive()) {
                throw new IOException("ext server exited with " + p.exitValue() + " before " + ready
                        + " appeared: " + readQuietly(out));
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("ext server did not create " + ready + " within " + SERVER_START + ": "
                        + readQuietly(out));
            }
            Thread.sleep(20);
        }
    }

    /** Where the ext servers of a rig with work directory {@code workDir} log their requests. */
    static Path serverLogPath(Path workDir) {
        return workDir.resolve("ext").resolve("servers.log");
    }

    /** All lines of {@code file}; none when it does not exist (yet). */
    static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies the testbed resource {@code name} into {@code dir}. */
    static Path extractResource(String name, Path dir) throws IOException {
        Path target = dir.resolve(name);
        try (InputStream in = Topology.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("resource " + name + " missing from the testbed jar");
            }
            Files.write(target, in.readAllBytes());
        }
        return target;
    }

    // ---- run lifecycle, shared with HaTopology ------------------------------------------------------------

    /** Removes what dead runs left behind, then claims a fresh prefix for this JVM. */
    static String claimPrefix() throws IOException, InterruptedException {
        cleanupStale();
        RunRegistry registry = RunRegistry.system();
        return registry.locked(() ->
                registry.claim(RunRegistry.Owner.current(), listNamespaces(), new SecureRandom()));
    }

    /** A fresh work directory for {@code prefix}; releases the prefix again if it cannot be made. */
    static Path createWorkDir(String prefix) throws IOException {
        try {
            return Files.createTempDirectory("egw-testbed-" + prefix + "-");
        } catch (IOException e) {
            RunRegistry.system().release(prefix);
            throw e;
        }
    }

    /** Whether work directories are kept by default: {@code -Degw.testbed.keep=true} or {@code EGW_TESTBED_KEEP}. */
    static boolean keepWorkDirByDefault() {
        return Boolean.getBoolean("egw.testbed.keep") || System.getenv("EGW_TESTBED_KEEP") != null;
    }

    /** {@code cmd} inside {@code ns}, as run; see {@link #exec(String, Duration, String...)}. */
    static ExecResult execIn(String ns, Duration timeout, String... cmd) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(List.of(cmd));
        return runUnchecked(full, timeout);
    }

    /** Starts {@code cmd} inside {@code ns} as {@link #start(String, List, Path)} does, without tracking it. */
    static Process launch(String ns, List<String> cmd, Path log) {
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(cmd);
        try {
            Path parent = log.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            return new ProcessBuilder(full)
                    .redirectInput(new File("/dev/null"))
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + cmd + " in " + ns, e);
        }
    }

    /**
     * What {@link #close()} does once: stops {@code toStop}, kills what still runs in {@code namespaces} and
     * deletes them, releases {@code prefix} and deletes {@code workDir} (null: keep it). Never throws; problems
     * are reported on standard error, an interrupt is kept for the caller.
     */
    static void teardown(String prefix, Thread shutdownHook, List<Process> toStop, List<String> namespaces,
            Path workDir) {
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: we are (or run beside) the hook itself
        }
        boolean interrupted = Thread.interrupted();
        try {
            stopProcesses(toStop);
            for (String ns : namespaces) {
                killAndDelete(ns);
            }
            RunRegistry registry = RunRegistry.system();
            registry.locked(() -> {
                registry.release(prefix);
                return null;
            });
            if (workDir != null) {
                deleteWorkDir(workDir);
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("egw-testbed: cleanup of " + prefix + " incomplete: " + e);
        } catch (InterruptedException e) {
            interrupted = true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    // ---- commands ------------------------------------------------------------------------------------------

    /** Runs a host-side {@code ip} command (which may act inside a namespace via -n); fails loudly. */
    private void host(String... cmd) throws IOException, InterruptedException {
        setupHost(setupLog, cmd);
    }

    /** Runs a host-side setup command, recorded in {@code setupLog}; fails loudly. */
    static void setupHost(Path setupLog, String... cmd) throws IOException, InterruptedException {
        logSetup(setupLog, cmd);
        runHost(List.of(cmd), SETUP_STEP).orThrow(String.join(" ", cmd));
    }

    /** Runs a setup command inside {@code ns}, recorded in {@code setupLog}; fails loudly. */
    static void setupIn(Path setupLog, String ns, String... cmd) throws IOException, InterruptedException {
        logSetup(setupLog, "ip", "netns", "exec", ns, String.join(" ", cmd));
        List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", ns));
        full.addAll(List.of(cmd));
        runHost(full, SETUP_STEP).orThrow("in " + ns + ": " + String.join(" ", cmd));
    }

    private static void logSetup(Path setupLog, String... cmd) throws IOException {
        Files.writeString(setupLog, String.join(" ", cmd) + "\n", StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    static ExecResult runUnchecked(List<String> cmd, Duration timeout) {
        try {
            return runHost(cmd, timeout);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + cmd, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new InterruptedIOException("interrupted while running " + cmd));
        }
    }

    private static ExecResult runHost(List<String> cmd, Duration timeout) throws IOException, InterruptedException {
        return CommandRunner.run(cmd, timeout, Path.of(System.getProperty("java.io.tmpdir")));
    }

    // ---- teardown ------------------------------------------------------------------------------------------

    private static void stopProcesses(List<Process> toStop) throws InterruptedException {
        for (Process p : toStop) {
            p.destroy();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (Process p : toStop) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !p.waitFor(left, TimeUnit.NANOSECONDS)) {
                CommandRunner.kill(p);
            }
        }
    }

    /** Kills whatever still runs in {@code ns} (TERM, then KILL after a grace period) and deletes it. */
    private static void killAndDelete(String ns) throws IOException, InterruptedException {
        if (!Files.exists(Path.of("/run/netns", ns))) {
            return;
        }
        List<ProcessHandle> inside = pidsIn(ns);
        inside.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (inside.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        inside.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle leftover : pidsIn(ns)) {
            leftover.destroyForcibly();
        }
        runHost(List.of("ip", "netns", "del", ns), SETUP_STEP).orThrow("ip netns del " + ns);
    }

    private static List<ProcessHandle> pidsIn(String ns) throws IOException, InterruptedException {
        ExecResult r = runHost(List.of("ip", "netns", "pids", ns), SETUP_STEP);
        List<ProcessHandle> handles = new ArrayList<>();
        if (!r.ok()) {
            return handles;
        }
        for (String line : r.stdout().split("\\s+")) {
            if (!line.isBlank()) {
                Optional<ProcessHandle> h = ProcessHandle.of(Long.parseLong(line.strip()));
                h.ifPresent(handles::add);
            }
        }
        return handles;
    }

    private static String readQuietly(Path p) {
        try {
            return Files.readString(p, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return "(no output: " + e + ")";
        }
    }

    /**
     * A caller's thread may still be copying a dead process's output into the work dir (its own pipe pump),
     * so a file can appear while the tree is being deleted; try a few times.
     */
    private static void deleteWorkDir(Path workDir) throws IOException, InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                deleteTree(workDir);
                return;
            } catch (DirectoryNotEmptyException e) {
                if (attempt == 5) {
                    throw e;
                }
                Thread.sleep(100L * attempt);
            }
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
