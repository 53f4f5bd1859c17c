package org.egressgw.control.config;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlFiles;
import org.egressgw.control.yaml.YamlNode;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.egressgw.packet.MacAddress;

/**
 * The gateway's own configuration file, validated once at load and immutable afterwards (safe to
 * share between threads). Every missing required key, wrong type, bad value or unknown key is a
 * {@link SourceException} naming the file, line and field.
 *
 * <pre>
 * node:      {name}                                          # required
 * tunnel:    {listen, vni, allowedPeers, overlayIP, mac, mtu, port, gro, reader, offload, offloadDevice}
 * egress:    {interface, device, portRange, mss, offload, notrack}
 * cluster:   {paths} or {kubernetes: {kubeconfig, context, resyncSeconds}}   # exactly one
 * admin:     {listen}
 * conntrack: {maxEntries, timeouts: {tcpSyn, tcpEstablished, tcpClosing, udp, icmp}}
 * pipeline:  {ringSize, idle, mode, cpu, pollMillis}
 * </pre>
 */
public final class GatewayConfig {
    /** IANA-assigned VXLAN port is 4789; Linux's vxlan device and Cilium use 8472. */
    public static final int DEFAULT_TUNNEL_PORT = 8472;
    /** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
    public static final int ENCAP_OVERHEAD = 50;
    /** IPv4 (20) + TCP (20) without options. */
    public static final int TCP_IP_HEADERS = 40;
    public static final int MIN_MSS = 536;
    public static final int MAX_MSS = 65495;
    /** Smallest underlay MTU whose inner MTU still carries the IPv4 minimum of 576 bytes. */
    public static final int MIN_UNDERLAY_MTU = 576 + ENCAP_OVERHEAD;
    public static final int MAX_UNDERLAY_MTU = 65535;
    /** Linux IFNAMSIZ (16) including the terminating NUL. */
    public static final int MAX_INTERFACE_NAME = 15;

    private static final Pattern DURATION = Pattern.compile("([0-9]{1,9})(ms|s|m|h)");
    private static final Pattern PORT_RANGE = Pattern.compile("([0-9]{1,5})(?:-([0-9]{1,5}))?");

    private final Path source;
    private final String nodeName;
    private final int tunnelListenIp;
    private final int tunnelListenPort;
    private final int vni;
    private final List<Ipv4Cidr> allowedPeers;
    private final OptionalInt overlayIp;
    private final long gatewayMac;
    private final int underlayMtu;
    private final int tunnelDstPort;
    private final String egressInterface;
    private final String egressDevice;
    private final int portRangeLow;
    private final int portRangeHigh;
    private final int mssClamp;
    private final boolean egressOffload;
    private final Offload tunnelOffload;
    private final String tunnelOffloadDevice;
    private final boolean tunnelGro;
    private final boolean tunnelDirectReader;
    private final boolean egressNotrack;
    private final List<Path> clusterPaths;
    private final Optional<KubernetesSettings> clusterKubernetes;
    private final String adminHost;
    private final int adminPort;
    private final int conntrackMaxEntries;
    private final long timeoutTcpSynMillis;
    private final long timeoutTcpEstablishedMillis;
    private final long timeoutTcpClosingMillis;
    private final long timeoutUdpMillis;
    private final long timeoutIcmpMillis;
    private final int ringSize;
    private final boolean spinWhenIdle;
    private final boolean inlinePipeline;
    private final int shards;
    /** Most shards {@code pipeline.shards} accepts. */
    public static final int MAX_SHARDS = 64;
    /** Fewest translated ports a shard may own. */
    public static final int MIN_PORTS_PER_SHARD = 64;
    private final int pinCpu;
    private final long pollMicros;
    /** {@code pipeline.pollMillis} when the file does not say. */
    public static final long DEFAULT_POLL_MICROS = 0;
    /** {@code pipeline.mode} when the file does not say. */
    public static final boolean DEFAULT_INLINE_PIPELINE = true;

    /**
     * Reads and validates a configuration file.
     *
     * @throws SourceException for unreadable files (line 0), malformed YAML and every invalid value
     */
    public static GatewayConfig load(Path file) throws SourceException {
        List<YamlNode> docs;
        try {
            docs = YamlFiles.read(file);
        } catch (IOException e) {
            throw new SourceException(file.toString(), 0, "cannot read: " + e);
        }
        if (docs.isEmpty()) {
            throw new SourceException(file.toString(), 1, "configuration is empty");
        }
        if (docs.size() > 1) {
            throw docs.get(1).error("expected a single YAML document");
        }
        return new GatewayConfig(file, docs.get(0));
    }

    private GatewayConfig(Path file, YamlNode root) throws SourceException {
        this.source = file;
        root.allowOnly("node", "tunnel", "egress", "cluster", "admin", "conntrack", "pipeline");

        YamlNode node = root.require("node");
        node.allowOnly("name");
        this.nodeName = node.require("name").nonEmptyString();

        YamlNode tunnel = root.require("tunnel");
        tunnel.allowOnly("listen", "vni", "allowedPeers", "overlayIP", "mac", "mtu", "port", "gro", "reader", "offload",
                "offloadDevice");
        YamlNode gro = tunnel.get("gro");
        this.tunnelGro = gro != null && gro.booleanValue();
        YamlNode reader = tunnel.get("reader");
        if (reader == null) {
            this.tunnelDirectReader = !tunnelGro;
        } else {
            String v = reader.string();
            if (!v.equals("direct") && !v.equals("channel")) {
                throw reader.error("must be 'direct' or 'channel', not '" + v + "'");
            }
            if (v.equals("direct") && tunnelGro) {
                throw reader.error("'direct' cannot be combined with tunnel.gro: true (GRO needs the channel reader)");
            }
            this.tunnelDirectReader = v.equals("direct");
        }
        YamlNode listen = tunnel.require("listen");
        long hostPort = ipv4AndPort(listen, DEFAULT_TUNNEL_PORT);
        this.tunnelListenIp = (int) (hostPort >>> 16);
        this.tunnelListenPort = (int) (hostPort & 0xffff);
        YamlNode vniNode = tunnel.get("vni");
        this.vni = vniNode == null ? 2 : vniNode.intValue(0, 0xff_ffff);
        YamlNode peers = tunnel.require("allowedPeers");
        List<Ipv4Cidr> peerList = new ArrayList<>();
        for (YamlNode p : peers.list()) {
            peerList.add(cidr(p));
        }
        if (peerList.isEmpty()) {
            throw peers.error("must list at least one CIDR");
        }
        this.allowedPeers = List.copyOf(peerList);
        YamlNode overlay = tunnel.get("overlayIP");
        this.overlayIp = overlay == null ? OptionalInt.empty() : OptionalInt.of(ipv4(overlay));
        YamlNode mac = tunnel.get("mac");
        if (mac == null) {
            int base = overlayIp.orElse(tunnelListenIp);
            this.gatewayMac = 0x0200_0000_0000L | (base & 0xffff_ffffL);
        } else {
            this.gatewayMac = unicastMac(mac);
        }
        YamlNode mtu = tunnel.get("mtu");
        this.underlayMtu = mtu == null ? 1500 : mtu.intValue(MIN_UNDERLAY_MTU, MAX_UNDERLAY_MTU);
        YamlNode port = tunnel.get("port");
        this.tunnelDstPort = port == null ? tunnelListenPort : port.intValue(1, 65535);

        YamlNode egress = root.require("egress");
        egress.allowOnly("interface", "device", "portRange", "mss", "offload", "notrack");
        this.egressInterface = interfaceName(egress.require("interface"));
        YamlNode device = egress.get("device");
        this.egressDevice = device == null ? "egw0" : interfaceName(device);
        YamlNode range = egress.get("portRange");
        if (range == null) {
            this.portRangeLow = 32768;
            this.portRangeHigh = 65535;
        } else {
            int[] lh = portRange(range);
            this.portRangeLow = lh[0];
            this.portRangeHigh = lh[1];
        }
        YamlNode notrack = egress.get("notrack");
        this.egressNotrack = notrack == null || notrack.booleanValue();
        YamlNode offload = egress.get("offload");
        this.egressOffload = offload == null || offload.booleanValue();
        YamlNode tunnelOffloadNode = tunnel.get("offload");
        if (tunnelOffloadNode == null) {
            this.tunnelOffload = egressOffload ? Offload.AUTO : Offload.OFF;
        } else {
            String v = tunnelOffloadNode.string();
            this.tunnelOffload = switch (v) {
                case "auto" -> Offload.AUTO;
                case "on" -> Offload.ON;
                case "off" -> Offload.OFF;
                default -> throw tunnelOffloadNode.error("must be 'auto', 'on' or 'off', not '" + v + "'");
            };
            if (tunnelOffload == Offload.ON && tunnelListenIp == 0) {
                throw tunnelOffloadNode.error("'on' needs a tunnel.listen address other than 0.0.0.0 (what the kernel"
                        + " forwards for the gateway needs a real source address)");
            }
            if (tunnelOffload != Offload.OFF && !egressOffload) {
                throw tunnelOffloadNode.error("'" + v + "' needs egress.offload: true (super-packets are read through"
                        + " the egress TUN device's virtio-net header)");
            }
        }
        YamlNode offloadDevice = tunnel.get("offloadDevice");
        this.tunnelOffloadDevice = offloadDevice == null ? "egwtx0" : interfaceName(offloadDevice);
        if (tunnelOffloadDevice.equals(egressDevice)) {
            throw offloadDevice != null ? offloadDevice.error("must differ from egress.device ('" + egressDevice + "')")
                    : egress.require("device").error("must differ from tunnel.offloadDevice ('" + tunnelOffloadDevice + "')");
        }
        YamlNode mss = egress.get("mss");
        this.mssClamp = mss == null ? innerMtu() - TCP_IP_HEADERS : mss(mss, innerMtu());

        YamlNode cluster = root.require("cluster");
        cluster.allowOnly("paths", "kubernetes");
        Path dir = file.toAbsolutePath().getParent();
        boolean hasPaths = cluster.has("paths");
        boolean hasKube = cluster.has("kubernetes");
        if (hasPaths == hasKube) {
            throw cluster.error(hasPaths ? "give either paths or kubernetes, not both"
                    : "missing required field: paths (files and directories) or kubernetes (the API server)");
        }
        if (hasPaths) {
            YamlNode paths = cluster.require("paths");
            List<Path> pathList = new ArrayList<>();
            for (YamlNode p : paths.list()) {
                pathList.add(path(p, dir));
            }
            if (pathList.isEmpty()) {
                throw paths.error("must list at least one file or directory");
            }
            this.clusterPaths = List.copyOf(pathList);
            this.clusterKubernetes = Optional.empty();
        } else {
            this.clusterPaths = List.of();
            this.clusterKubernetes = Optional.of(kubernetes(cluster.get("kubernetes"), dir));
        }

        YamlNode admin = root.get("admin");
        if (admin != null) {
            admin.allowOnly("listen");
        }
        YamlNode adminListen = admin == null ? null : admin.get("listen");
        if (adminListen == null) {
            this.adminHost = "127.0.0.1";
            this.adminPort = 9464;
        } else {
            String[] hp = hostAndPort(adminListen);
            this.adminHost = hp[0];
            this.adminPort = Integer.parseInt(hp[1]);
        }

        YamlNode ct = root.get("conntrack");
        if (ct != null) {
            ct.allowOnly("maxEntries", "timeouts");
        }
        YamlNode max = ct == null ? null : ct.get("maxEntries");
        this.conntrackMaxEntries = max == null ? 524288 : max.intValue(1024, 16777216);
        YamlNode timeouts = ct == null ? null : ct.get("timeouts");
        if (timeouts != null) {
            timeouts.allowOnly("tcpSyn", "tcpEstablished", "tcpClosing", "udp", "icmp");
        }
        this.timeoutTcpSynMillis = duration(timeouts, "tcpSyn", 60_000);
        this.timeoutTcpEstablishedMillis = duration(timeouts, "tcpEstablished", 8_000_000);
        this.timeoutTcpClosingMillis = duration(timeouts, "tcpClosing", 10_000);
        this.timeoutUdpMillis = duration(timeouts, "udp", 60_000);
        this.timeoutIcmpMillis = duration(timeouts, "icmp", 60_000);

        YamlNode pipeline = root.get("pipeline");
        if (pipeline != null) {
            pipeline.allowOnly("ringSize", "idle", "mode", "cpu", "pollMillis", "shards");
        }
        YamlNode ring = pipeline == null ? null : pipeline.get("ringSize");
        if (ring == null) {
            this.ringSize = 16384;
        } else {
            int r = ring.intValue(64, 1048576);
            if (Integer.bitCount(r) != 1) {
                throw ring.error(r + " is not a power of two");
            }
            this.ringSize = r;
        }
        this.spinWhenIdle = pipeline != null && oneOf(pipeline.get("idle"), "sleep", "spin", "sleep").equals("spin");
        YamlNode poll = pipeline == null ? null : pipeline.get("pollMillis");
        this.pollMicros = poll == null ? DEFAULT_POLL_MICROS : millisToMicros(poll, 60_000);
        YamlNode cpu = pipeline == null ? null : pipeline.get("cpu");
        this.pinCpu = cpu == null ? -1 : cpu.intValue(0, 1023);
        this.inlinePipeline = pipeline == null ? DEFAULT_INLINE_PIPELINE
                : oneOf(pipeline.get("mode"), "inline", "handoff", DEFAULT_INLINE_PIPELINE ? "inline" : "handoff")
                        .equals("inline");
        YamlNode shardsNode = pipeline == null ? null : pipeline.get("shards");
        this.shards = shardsNode == null ? 1 : shardsNode.intValue(1, MAX_SHARDS);
        if (shards > 1) {
            if (!inlinePipeline) {
                throw shardsNode.error(shards + " shards need pipeline.mode: inline (each shard is one thread that reads"
                        + " its own tunnel socket and TUN queue)");
            }
            if (!tunnelDirectReader) {
                throw shardsNode.error(shards + " shards need tunnel.reader: direct (and no tunnel.gro)");
            }
            int ports = portRangeHigh - portRangeLow + 1;
            if (ports / shards < MIN_PORTS_PER_SHARD) {
                throw shardsNode.error("the port range " + portRangeLow + "-" + portRangeHigh + " (" + ports
                        + " ports) is too small for " + shards + " shards: each shard owns an equal part of it and needs"
                        + " at least " + MIN_PORTS_PER_SHARD);
            }
        }
    }

    /** A number of milliseconds with at most three decimals (0.25 = 250 µs), within 0..max, as microseconds. */
    private static long millisToMicros(YamlNode node, int max) throws SourceException {
        String v = node.string().trim();
        java.math.BigDecimal ms;
        try {
            ms = new java.math.BigDecimal(v);
        } catch (NumberFormatException e) {
            throw node.error("'" + v + "' is not a number of milliseconds");
        }
        if (ms.signum() < 0 || ms.compareTo(java.math.BigDecimal.valueOf(max)) > 0) {
            throw node.error(v + " is not within 0.." + max);
        }
        java.math.BigDecimal micros = ms.movePointRight(3);
        if (micros.stripTrailingZeros().scale() > 0) {
            throw node.error(v + " has more than three decimals (the step is one microsecond)");
        }
        return micros.longValueExact();
    }

    /** A field that names one of two choices; {@code absent} when the field is missing. */
    private static String oneOf(YamlNode node, String a, String b, String absent) throws SourceException {
        if (node == null) {
            return absent;
        }
        String v = node.string();
        if (!v.equals(a) && !v.equals(b)) {
            throw node.error("must be '" + a + "' or '" + b + "', not '" + v + "'");
        }
        return v;
    }

    // ---------------------------------------------------------------- value parsers

    private static Path path(YamlNode p, Path dir) throws SourceException {
        String s = p.nonEmptyString();
        try {
            return dir == null ? Path.of(s) : dir.resolve(s);
        } catch (InvalidPathException e) {
            throw p.error("not a valid path: '" + YamlNode.abbreviate(s) + "'");
        }
    }

    /** {@code kubernetes:} alone (null) or {@code {}} means all defaults. */
    private static KubernetesSettings kubernetes(YamlNode k, Path dir) throws SourceException {
        if (k == null) {
            return new KubernetesSettings(null, null, KubernetesSettings.DEFAULT_RESYNC_SECONDS);
        }
        k.allowOnly("kubeconfig", "context", "resyncSeconds");
        YamlNode kc = k.get("kubeconfig");
        YamlNode ctx = k.get("context");
        YamlNode resync = k.get("resyncSeconds");
        return new KubernetesSettings(
                kc == null ? null : path(kc, dir),
                ctx == null ? null : ctx.nonEmptyString(),
                resync == null ? KubernetesSettings.DEFAULT_RESYNC_SECONDS
                        : resync.intValue(0, KubernetesSettings.MAX_RESYNC_SECONDS));
    }

    private static int ipv4(YamlNode n) throws SourceException {
        return n.ipv4();
    }

    private static Ipv4Cidr cidr(YamlNode n) throws SourceException {
        return n.ipv4Cidr();
    }

    /** {@code a.b.c.d[:port]} packed as {@code ip << 16 | port}. */
    private static long ipv4AndPort(YamlNode n, int defaultPort) throws SourceException {
        String s = n.string().trim();
        int colon = s.indexOf(':');
        String ip = colon < 0 ? s : s.substring(0, colon);
        int port = defaultPort;
        if (colon >= 0) {
            port = port(n, s.substring(colon + 1), 1, s);
        }
        if (!Ipv4Address.isValid(ip)) {
            throw n.error("not an IPv4 address with optional port: '" + YamlNode.abbreviate(s) + "'");
        }
        return ((Ipv4Address.parse(ip) & 0xffff_ffffL) << 16) | port;
    }

    /** {@code host:port}, host may be an IPv6 literal in brackets; port 0 means any free port. */
    private static String[] hostAndPort(YamlNode n) throws SourceException {
        String s = n.string().trim();
        int colon = s.lastIndexOf(':');
        if (colon <= 0) {
            throw n.error("expected host:port, got '" + YamlNode.abbreviate(s) + "'");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]") && host.length() > 2) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":") || host.contains("[") || host.contains("]")) {
            throw n.error("expected host:port (IPv6 literals in brackets), got '" + YamlNode.abbreviate(s) + "'");
        }
        if (host.isBlank() || host.chars().anyMatch(Character::isWhitespace)) {
            throw n.error("expected host:port, got '" + YamlNode.abbreviate(s) + "'");
        }
        int port = port(n, s.substring(colon + 1), 0, s);
        return new String[] {host, Integer.toString(port)};
    }

    private static int port(YamlNode n, String text, int min, String whole) throws SourceException {
        if (text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw n.error("bad port in '" + YamlNode.abbreviate(whole) + "'");
        }
        int port = Integer.parseInt(text);
        if (port < min || port > 65535) {
            throw n.error("port " + port + " is not within " + min + "..65535");
        }
        return port;
    }

    private static long unicastMac(YamlNode n) throws SourceException {
        String s = n.string();
        long mac;
        try {
            mac = MacAddress.parse(s);
        } catch (IllegalArgumentException e) {
            throw n.error("not a MAC address: '" + YamlNode.abbreviate(s) + "'");
        }
        if (MacAddress.isMulticast(mac) || mac == 0) {
            throw n.error("not a unicast MAC address: '" + s + "'");
        }
        return mac;
    }

    private static String interfaceName(YamlNode n) throws SourceException {
        String s = n.nonEmptyString();
        if (s.length() > MAX_INTERFACE_NAME) {
            throw n.error("interface name '" + YamlNode.abbreviate(s) + "' is longer than "
                    + MAX_INTERFACE_NAME + " characters");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= ' ' || c == '/' || c == ':' || c >= 0x7f) {
                throw n.error("not a valid interface name: '" + s + "'");
            }
        }
        if (s.equals(".") || s.equals("..")) {
            throw n.error("not a valid interface name: '" + s + "'");
        }
        return s;
    }

    private static int[] portRange(YamlNode n) throws SourceException {
        String s = n.string().trim();
        Matcher m = PORT_RANGE.matcher(s);
        if (!m.matches()) {
            throw n.error("expected a port range like 32768-65535, got '" + YamlNode.abbreviate(s) + "'");
        }
        int lo = Integer.parseInt(m.group(1));
        int hi = m.group(2) == null ? lo : Integer.parseInt(m.group(2));
        if (lo < 1 || hi > 65535 || lo > hi) {
            throw n.error("port range " + s + " must satisfy 1 <= low <= high <= 65535");
        }
        return new int[] {lo, hi};
    }

    private static int mss(YamlNode n, int innerMtu) throws SourceException {
        String s = n.isScalar() ? n.string().trim() : null;
        if ("auto".equals(s)) {
            return innerMtu - TCP_IP_HEADERS;
        }
        if ("off".equals(s)) {
            return 0;
        }
        if (s == null || !s.matches("[0-9]{1,9}")) {
            throw n.error("expected auto, off or a number " + MIN_MSS + ".." + MAX_MSS
                    + (s == null ? ", got " + n.kindName() : ", got '" + YamlNode.abbreviate(s) + "'"));
        }
        return n.intValue(MIN_MSS, MAX_MSS);
    }

    private static long duration(YamlNode timeouts, String key, long defaultMillis) throws SourceException {
        YamlNode n = timeouts == null ? null : timeouts.get(key);
        if (n == null) {
            return defaultMillis;
        }
        String s = n.isScalar() ? n.string().trim() : "";
        Matcher m = DURATION.matcher(s);
        if (!n.isScalar() || !m.matches()) {
            throw n.error("expected a duration such as 500ms, 60s, 5m or 2h"
                    + (n.isScalar() ? ", got '" + YamlNode.abbreviate(s) + "'" : ", got " + n.kindName()));
        }
        long v = Long.parseLong(m.group(1));
        long millis = switch (m.group(2)) {
            case "ms" -> v;
            case "s" -> v * 1_000L;
            case "m" -> v * 60_000L;
            default -> v * 3_600_000L;
        };
        if (millis <= 0) {
            throw n.error("duration must be positive");
        }
        return millis;
    }

    // ---------------------------------------------------------------- accessors

    /** The configuration file this was loaded from. */
    public Path source() {
        return source;
    }

    /** This gateway's Kubernetes node name, matched against policies' gateway nodeSelectors. */
    public String nodeName() {
        return nodeName;
    }

    /** Underlay address the VXLAN socket binds to, network order. */
    public int tunnelListenIp() {
        return tunnelListenIp;
    }

    public int tunnelListenPort() {
        return tunnelListenPort;
    }

    public int vni() {
        return vni;
    }

    /** Underlay sources from which VXLAN packets are accepted. */
    public List<Ipv4Cidr> allowedPeers() {
        return allowedPeers;
    }

    /** The gateway's address inside the tunnel, whose ARP requests it answers. */
    public OptionalInt overlayIp() {
        return overlayIp;
    }

    /** The gateway's inner MAC (48 bits in the low bits). */
    public long gatewayMac() {
        return gatewayMac;
    }

    public int underlayMtu() {
        return underlayMtu;
    }

    /** {@link #underlayMtu()} minus the VXLAN encapsulation overhead. */
    public int innerMtu() {
        return underlayMtu - ENCAP_OVERHEAD;
    }

    /** UDP destination port of packets the gateway sends to nodes. */
    public int tunnelDstPort() {
        return tunnelDstPort;
    }

    public String egressInterface() {
        return egressInterface;
    }

    /** TUN device name. */
    public String egressDevice() {
        return egressDevice;
    }

    public int portRangeLow() {
        return portRangeLow;
    }

    public int portRangeHigh() {
        return portRangeHigh;
    }

    /** TCP MSS to clamp SYNs to, 0 when clamping is off. */
    /**
     * Whether the gateway keeps the kernel's conntrack off its traffic with nftables notrack rules
     * ({@code egress.notrack}, default true).
     */
    public boolean egressNotrack() {
        return egressNotrack;
    }

    /**
     * Whether the tunnel socket asks the kernel for UDP GRO ({@code tunnel.gro}, default false): a
     * flow's datagrams arrive coalesced in one read and are split again by the receiver. Off by
     * default: measured slower in the test rig (benchmarks/RESULTS.md).
     */
    public boolean tunnelGro() {
        return tunnelGro;
    }

    /**
     * {@code tunnel.reader}: {@code direct} (default) reads the tunnel socket with recvmmsg straight
     * into ring slots; {@code channel} reads it through a Netty datagram channel (a pooled buffer
     * and a copy per datagram; the default when {@code tunnel.gro} is on, which needs it).
     */
    public boolean tunnelDirectReader() {
        return tunnelDirectReader;
    }

    /**
     * Whether TCP segments written to the TUN device are coalesced into GSO super-packets
     * ({@code egress.offload}, default true).
     */
    public boolean egressOffload() {
        return egressOffload;
    }

    /** Whether the transmit offload towards the nodes is used. */
    public enum Offload {
        /** Used when the kernel supports it, else the gateway says so and sends one datagram per segment. */
        AUTO,
        /** Required: the gateway does not start without it. */
        ON,
        /** Not used. */
        OFF
    }

    /**
     * Whether replies are read from the TUN device as TCP super-packets, translated once, and handed to the
     * kernel through a TAP device ({@link #tunnelOffloadDevice()}) as VXLAN super-packets that stay whole to
     * the node ({@code tunnel.offload}: auto, on or off; default auto, off when egress.offload is false).
     */
    public Offload tunnelOffload() {
        return tunnelOffload;
    }

    /** The TAP device offloaded tunnel packets are written to ({@code tunnel.offloadDevice}, default egwtx0). */
    public String tunnelOffloadDevice() {
        return tunnelOffloadDevice;
    }

    public int mssClamp() {
        return mssClamp;
    }

    /**
     * Files and directories of cluster objects ({@code cluster.paths}), relative ones resolved
     * against the config's directory; empty when {@link #clusterKubernetes()} is used instead.
     */
    public List<Path> clusterPaths() {
        return clusterPaths;
    }

    /**
     * The Kubernetes API settings ({@code cluster.kubernetes}); empty when {@link #clusterPaths()}
     * is used instead. Exactly one of the two is configured.
     */
    public Optional<KubernetesSettings> clusterKubernetes() {
        return clusterKubernetes;
    }

    public String adminHost() {
        return adminHost;
    }

    /** 0 means any free port. */
    public int adminPort() {
        return adminPort;
    }

    public int conntrackMaxEntries() {
        return conntrackMaxEntries;
    }

    public long timeoutTcpSynMillis() {
        return timeoutTcpSynMillis;
    }

    public long timeoutTcpEstablishedMillis() {
        return timeoutTcpEstablishedMillis;
    }

    public long timeoutTcpClosingMillis() {
        return timeoutTcpClosingMillis;
    }

    public long timeoutUdpMillis() {
        return timeoutUdpMillis;
    }

    public long timeoutIcmpMillis() {
        return timeoutIcmpMillis;
    }

    /**
     * {@code pipeline.mode}: {@code inline} runs the datapath on the tunnel socket's event loop,
     * which also reads the TUN device (one thread, no hand-off); {@code handoff} has a receiver
     * thread per side publishing into rings that a separate datapath thread drains.
     */
    public boolean inlinePipeline() {
        return inlinePipeline;
    }

    /**
     * {@code pipeline.shards} (default 1): independent pipelines, one thread each, every one with its own tunnel
     * socket ({@code SO_REUSEPORT}), TUN queue, connection table and part of the port range; the kernel steers each
     * packet to the shard owning its connection.
     */
    public int shards() {
        return shards;
    }

    /**
     * {@code pipeline.pollMillis} in microseconds (inline pipeline, {@code idle: sleep}; the file gives
     * milliseconds with up to three decimals): the event loop keeps polling until this long passes
     * without a packet, then blocks in {@code epoll_wait}; 0 blocks as soon as nothing is ready. With
     * e.g. 20 ms the thread never has to be woken while traffic flows (measured: ping 1.8x -> ~1.1x
     * the kernel's); the price is a core kept busy whenever packets come more often than that.
     */
    public long pollMicros() {
        return pollMicros;
    }

    /**
     * {@code pipeline.cpu}: the CPU the datapath thread is pinned to (inline: the event loop;
     * handoff: the datapath thread), or -1 (default) for no pinning.
     */
    public OptionalInt pinCpu() {
        return pinCpu < 0 ? OptionalInt.empty() : OptionalInt.of(pinCpu);
    }

    /**
     * {@code pipeline.idle}: {@code sleep} (default) lets the datapath thread sleep when idle and be
     * woken by the receivers; {@code spin} keeps it polling (spin, then yield) — lower latency for a
     * gateway with a core to spare.
     */
    public boolean spinWhenIdle() {
        return spinWhenIdle;
    }

    /** Power of two. */
    public int ringSize() {
        return ringSize;
    }
}
