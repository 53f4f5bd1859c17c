package org.egressgw.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.HaTopology;
import org.egressgw.testbed.Probes;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;

/**
 * End-to-end benchmark in the namespace topology: the same traffic through (a) the Linux kernel
 * doing the gateway's job (VXLAN device + iptables SNAT) and (b) the Java gateway
 * ({@code bin/egress-gateway run}), in one run, printing each figure and the ratio b/a.
 *
 * <p>Measured from pod1 to 203.0.113.5 (inside the policy's destination CIDR):
 * <ul>
 *   <li>TCP throughput, iperf3, pod → external with 1 and 4 streams, and a 1-stream download
 *       (external → pod, {@code -R}) (receiver's figure);</li>
 *   <li>small-UDP packet rate: iperf3 {@code -u -b 0} with 64-byte IPv4 packets (36-byte payload),
 *       packets the server received per second;</li>
 *   <li>new flows per second: {@code new_flows.py} sends 64-byte UDP packets from a raw socket, each
 *       with a (source port, destination port) pair not used before, as fast as it can; the server
 *       counts them with an iptables rule (so no listener is the bottleneck). Received ÷ sending time.
 *       The number of flows is capped below the kernels' conntrack limit (node-a tracks them too);</li>
 *   <li>ping RTT every 10 ms: average and 99th percentile of the per-packet times.</li>
 * </ul>
 * Usage: {@code EndToEnd [--short] [--repo DIR] [--out FILE]}; needs root, iperf3, python3, ping,
 * iptables, and the gateway built ({@code gateway-core/target/gateway-core.jar}). Every namespace is
 * removed at the end ({@link Topology#close()}), also on failure.
 */
public final class EndToEnd {
    private static final String SERVER = Topology.SERVER_IP;
    private static final int IPERF_PORT = 5201;
    private static final int FLOW_PORT_BASE = 20000;
    private static final int FLOW_PORTS = 8;
    /** Where the warm-up's new flows go (dropped and counted apart from the measured ones). */
    private static final int WARM_UP_FLOW_PORT_BASE = 20100;
    private static final int SMALL_UDP_PAYLOAD = 36;

    private final boolean shortMode;
    private final Path repo;
    private final int seconds;
    private final int pings;
    private final int flows;
    private final StringBuilder log = new StringBuilder();
    private Path rawDir;
    private String only;
    private String label = "";
    private Process gatewayProcess;

    private EndToEnd(boolean shortMode, Path repo) {
        this.shortMode = shortMode;
        this.repo = repo;
        this.seconds = shortMode ? 4 : 10;
        this.pings = shortMode ? 300 : 1000;
        this.flows = shortMode ? 100_000 : 200_000;
    }

    /** One metric's result in one mode; NaN when it could not be measured. */
    private record Figure(String name, String unit, boolean higherIsBetter) {
    }

    private static final Figure TCP1 = new Figure("TCP, 1 stream", "Gbit/s", true);
    private static final Figure TCP4 = new Figure("TCP, 4 streams", "Gbit/s", true);
    /** The other direction: the pod downloads from the external server (iperf3 -R). */
    private static final Figure TCP_DOWN = new Figure("TCP download, 1 stream", "Gbit/s", true);
    private static final Figure UDP = new Figure("UDP 64-B packets, 64 flows", "kpps", true);
    private static final Figure FLOWS = new Figure("new UDP flows received", "k flows/s", true);
    private static final Figure RTT_AVG = new Figure("ping RTT avg", "us", false);
    private static final Figure RTT_P99 = new Figure("ping RTT p99", "us", false);
    private static final Figure RR_AVG = new Figure("TCP request/response avg", "us", false);
    private static final Figure RR_P99 = new Figure("TCP request/response p99", "us", false);
    private static final List<Figure> FIGURES = List.of(TCP1, TCP4, TCP_DOWN, UDP, FLOWS, RTT_AVG, RTT_P99, RR_AVG, RR_P99);
    private static final int RR_PORT = 7001;

    public static void main(String[] args) throws Exception {
        boolean shortMode = false;
        Path repo = Path.of(System.getProperty("user.dir"));
        Path out = null;
        Path raw = null;
        String only = null;
        boolean ha = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--short" -> shortMode = true;
                case "--repo" -> repo = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--raw" -> raw = Path.of(args[++i]);
                case "--only" -> only = args[++i];
                case "--ha" -> ha = true;
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "'; usage: EndToEnd [--short] [--repo DIR] [--out FILE] [--raw DIR] [--only kernel|gateway]");
            }
        }
        Path launcher = repo.resolve("bin/egress-gateway");
        if (!Files.isExecutable(launcher) || !Files.exists(repo.resolve("gateway-core/target/gateway-core.jar"))) {
            throw new IllegalArgumentException("no built gateway under --repo " + repo
                    + " (need bin/egress-gateway and gateway-core/target/gateway-core.jar)");
        }
        EndToEnd e2e = new EndToEnd(shortMode, repo);
        e2e.only = only;
        if (raw != null) {
            Files.createDirectories(raw);
            e2e.rawDir = raw;
        }
        String report = ha ? e2e.runGroup() : e2e.run();
        System.out.println(report);
        if (out != null) {
            Files.writeString(out, report + "\n--- log ---\n" + e2e.log, StandardCharsets.UTF_8);
            System.out.println("(report and log written to " + out + ")");
        }
    }

    private String run() {
        Instant start = Instant.now();
        note("e2e: " + (shortMode ? "short" : "full") + " mode, " + seconds + " s per throughput test, " + pings
                + " pings, " + flows + " new flows");
        Map<Figure, Double> kernel = "gateway".equals(only) ? Map.of() : measure("kernel", TopologyOptions.kernel());
        Map<Figure, Double> gateway = "kernel".equals(only) ? Map.of() : measure("gateway", TopologyOptions.userspace());
        StringBuilder r = new StringBuilder();
        r.append(String.format(Locale.ROOT, "%n%-28s %-10s %12s %12s %10s%n", "metric", "unit", "kernel (a)",
                "gateway (b)", "b/a"));
        for (Figure f : FIGURES) {
            double a = kernel.getOrDefault(f, Double.NaN);
            double b = gateway.getOrDefault(f, Double.NaN);
            r.append(String.format(Locale.ROOT, "%-28s %-10s %12s %12s %10s%n", f.name(), f.unit(), fmt(a), fmt(b),
                    ratio(b, a)));
        }
        r.append(String.format(Locale.ROOT, "(b/a > 1 is better for throughput and rates, < 1 for RTT; total %d s)%n",
                Duration.between(start, Instant.now()).toSeconds()));
        return r.toString();
    }

    /** The group's shared key in the benchmark. */
    private static final String GROUP_SECRET = "benchmark-group-secret-0123456789";
    private static final List<Figure> GROUP_FIGURES = List.of(UDP, FLOWS, TCP1);

    /**
     * {@code --ha}: the cost of the gateway group's state replication. The same traffic through member gwa of the HA
     * topology (a) alone, without an {@code ha} section (the virtual IP assigned by hand), and (b) as the active
     * member of a two-member group, gwb standing by and installing every connection gwa creates; b/a.
     */
    private String runGroup() {
        Instant start = Instant.now();
        note("e2e --ha: " + seconds + " s per test, " + flows + " new flows; member gwa alone (a), then in a group (b)");
        Map<Figure, Double> alone = measureGroup("alone", false, false);
        Map<Figure, Double> group = measureGroup("group", true, true);
        Map<Figure, Double> shared = measureGroup("group-shared", true, false);
        StringBuilder r = new StringBuilder();
        r.append(String.format(Locale.ROOT, "%n%-28s %-10s %10s %10s %10s %8s %8s%n", "metric", "unit", "alone (a)",
                "group (b)", "shared (c)", "b/a", "c/a"));
        for (Figure f : GROUP_FIGURES) {
            double a = alone.getOrDefault(f, Double.NaN);
            double b = group.getOrDefault(f, Double.NaN);
            double c = shared.getOrDefault(f, Double.NaN);
            r.append(String.format(Locale.ROOT, "%-28s %-10s %10s %10s %10s %8s %8s%n", f.name(), f.unit(), fmt(a), fmt(b),
                    fmt(c), ratio(b, a), ratio(c, a)));
        }
        r.append(String.format(Locale.ROOT, "(b: the standby niced to 19, standing in for the host of its own it has in"
                + " production; c: the standby competing for the same two vCPUs at normal priority. Replication on:"
                + " b/a >= 0.90 is the goal; total %d s)%n", Duration.between(start, Instant.now()).toSeconds()));
        return r.toString();
    }

    private static String ratio(double b, double a) {
        return Double.isNaN(a) || Double.isNaN(b) || a == 0 ? "n/a" : String.format(Locale.ROOT, "%.2f", b / a);
    }

    /** @param niceStandby run the standby at the lowest CPU priority (it has a host of its own in production) */
    private Map<Figure, Double> measureGroup(String label, boolean group, boolean niceStandby) {
        this.label = label;
        this.gatewayProcess = null;
        Map<Figure, Double> results = new LinkedHashMap<>();
        note("== " + label + ": building the HA topology");
        try (HaTopology topo = HaTopology.create()) {
            Path dist = GatewayDist.snapshot(repo, topo.workDir().resolve("gateway-dist"));
            Path configA = topo.writeGatewayFiles(0, 200, GROUP_SECRET);
            if (!group) {
                String yaml = Files.readString(configA);
                Files.writeString(configA, yaml.lines().filter(l -> !l.startsWith("ha:"))
                        .collect(java.util.stream.Collectors.joining("\n", "", "\n")));
                topo.exec(topo.gwa(), Duration.ofSeconds(5), "ip", "addr", "add", HaTopology.VIRTUAL_IP + "/32", "dev",
                        HaTopology.UNDERLAY_IFACE).orThrow("virtual IP on gwa");
            }
            gatewayProcess = startMember(topo, 0, configA, dist, false);
            List<Process> members = new ArrayList<>(List.of(gatewayProcess));
            if (group) {
                members.add(startMember(topo, 1, topo.writeGatewayFiles(1, 100, GROUP_SECRET), dist, niceStandby));
                long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                while (!adminMetrics(topo, 0).contains("egw_ha_active 1.0") && System.nanoTime() < deadline) {
                    sleep(100);
                }
                note(label + ": gwa active: " + adminMetrics(topo, 0).contains("egw_ha_active 1.0"));
            }
            startIperfServer(topo);
            installFlowCounter(topo);
            warmUp(topo);
            warmUpNewFlows(topo, flows / 4);
            tryMeasureCpu(results, UDP, () -> smallUdp(topo), members);
            tryMeasureCpu(results, FLOWS, () -> newFlows(topo), members);
            tryMeasureCpu(results, TCP1, () -> tcp(topo, 1), members);
            for (int m = 0; m < (group ? 2 : 1); m++) {
                note(label + ": member " + HaTopology.MEMBERS.get(m) + " after the run:");
                for (String line : adminMetrics(topo, m).split("\n")) {
                    if (line.startsWith("egw_ha_") || line.startsWith("egw_conntrack_entries ")
                            || line.startsWith("egw_rx_packets_total")) {
                        note("  " + line);
                    }
                }
            }
        } catch (Exception e) {
            note(label + ": aborted: " + e);
        }
        results.forEach((f, v) -> note(label + ": " + f.name() + " = " + fmt(v) + " " + f.unit()));
        return results;
    }

    /**
     * {@link #tryMeasure}, noting the CPU time each member's processes used meanwhile, and by which threads (where
     * replication costs: the datapath's own threads, the sync's, the rest).
     */
    private void tryMeasureCpu(Map<Figure, Double> results, Figure f, Measurement m, List<Process> members) {
        List<Map<String, Long>> before = members.stream().map(EndToEnd::cpuTicksByThread).toList();
        long t0 = System.nanoTime();
        tryMeasure(results, f, m);
        double wall = (System.nanoTime() - t0) / 1e9;
        StringBuilder s = new StringBuilder(label + ": " + f.name() + ": CPU over " + fmt(wall) + " s:");
        for (int i = 0; i < members.size(); i++) {
            Map<String, Long> after = cpuTicksByThread(members.get(i));
            Map<String, Long> was = before.get(i);
            Map<String, Long> used = new java.util.TreeMap<>();
            after.forEach((k, v) -> used.merge(k, v - was.getOrDefault(k, 0L), Long::sum));
            double cpu = used.values().stream().mapToLong(Long::longValue).sum() / 100.0;
            s.append(String.format(Locale.ROOT, "%n  %s %.2f s (%.0f %%):", HaTopology.MEMBERS.get(i), cpu, 100 * cpu / wall));
            used.entrySet().stream().filter(e -> e.getValue() >= 2)
                    .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .forEach(e -> s.append(String.format(Locale.ROOT, " %s %.2f", e.getKey(), e.getValue() / 100.0)));
        }
        note(s.toString());
    }

    /**
     * User + system CPU of a process and its descendants, in clock ticks (USER_HZ, 100 on Linux), by thread name with
     * its numbers and addresses dropped ({@code egw-sync-out-198.51.100.32} counts as {@code egw-sync-out-}).
     */
    private static Map<String, Long> cpuTicksByThread(Process p) {
        Map<String, Long> ticks = new java.util.HashMap<>();
        java.util.stream.Stream.concat(java.util.stream.Stream.of(p.toHandle()), p.descendants()).forEach(h -> {
            try (java.util.stream.Stream<Path> tasks = Files.list(Path.of("/proc/" + h.pid() + "/task"))) {
                tasks.forEach(t -> {
                    try {
                        String stat = Files.readString(t.resolve("stat"));
                        String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[0-9.]+", "");
                        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                        ticks.merge(name, Long.parseLong(f[11]) + Long.parseLong(f[12]), Long::sum); // utime, stime
                    } catch (Exception e) {
                        // the thread ended meanwhile
                    }
                });
            } catch (Exception e) {
                // the process ended meanwhile
            }
        });
        return ticks;
    }

    private Process startMember(HaTopology topo, int member, Path config, Path dist, boolean nice) throws Exception {
        Path log = topo.workDir().resolve(HaTopology.MEMBERS.get(member) + ".log");
        List<String> cmd = new ArrayList<>(nice ? List.of("nice", "-n", "19") : List.of());
        cmd.addAll(List.of(dist.resolve("bin/egress-gateway").toString(), "run", "--config", config.toString()));
        Process p = topo.start(topo.member(member), cmd, log);
        GatewayDist.awaitReady(p, log, this::note);
        return p;
    }

    private static String adminMetrics(HaTopology topo, int member) {
        return adminMetrics(topo, topo.member(member));
    }

    /** The gateway's {@code /metrics} in namespace {@code ns} (empty if it does not answer). */
    private static String adminMetrics(Probes.Rig rig, String ns) {
        return rig.exec(ns, Duration.ofSeconds(10), "curl", "-s", "-m", "5",
                "http://" + Topology.ADMIN_LISTEN + "/metrics").stdout();
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, v >= 100 ? "%.0f" : "%.2f", v);
    }

    private Map<Figure, Double> measure(String label, TopologyOptions options) {
        this.label = label;
        this.gatewayProcess = null;
        Map<Figure, Double> results = new LinkedHashMap<>();
        note("== " + label + ": building the topology");
        try (Topology topo = Topology.create(options)) {
            if (options.mode() == org.egressgw.testbed.GatewayMode.USERSPACE) {
                startGateway(topo);
            }
            if (!topo.ping(topo.pod1(), SERVER, 3)) {
                note(label + ": pod1 cannot ping " + SERVER + "; nothing measured");
                return results;
            }
            startIperfServer(topo);
            installFlowCounter(topo);
            warmUp(topo);
            tryMeasure(results, TCP1, () -> tcp(topo, 1));
            tryMeasure(results, TCP4, () -> tcp(topo, 4));
            tryMeasure(results, TCP_DOWN, () -> tcp(topo, 1, true));
            tryMeasure(results, UDP, () -> smallUdp(topo));
            tryMeasure(results, FLOWS, () -> newFlows(topo));
            double[][] rtt = new double[1][];
            tryMeasure(results, RTT_AVG, () -> (rtt[0] = pingRtt(topo))[0]);
            if (rtt[0] != null) {
                results.put(RTT_P99, rtt[0][1]);
            }
            double[][] rr = new double[1][];
            tryMeasure(results, RR_AVG, () -> (rr[0] = tcpRequestResponse(topo))[0]);
            if (rr[0] != null) {
                results.put(RR_P99, rr[0][1]);
            }
            if (options.mode() == org.egressgw.testbed.GatewayMode.USERSPACE) {
                note(label + ": gateway metrics after the run (non-zero drops and counters):");
                for (String line : adminMetrics(topo, topo.gw()).split("\n")) {
                    if (line.startsWith("egw_") && !line.endsWith(" 0.0") && !line.endsWith(" 0")) {
                        note("  " + line);
                    }
                }
            }
            saveRaw("gateway.log", topo.workDir().resolve("gateway.log"));
            saveRaw("iperf3-server.log", topo.workDir().resolve("iperf3-server.log"));
        } catch (Exception e) {
            note(label + ": aborted: " + e);
        }
        results.forEach((f, v) -> note(label + ": " + f.name() + " = " + fmt(v) + " " + f.unit()));
        return results;
    }

    private interface Measurement {
        double run() throws Exception;
    }

    private void tryMeasure(Map<Figure, Double> results, Figure f, Measurement m) {
        if (gatewayProcess != null && !gatewayProcess.isAlive()) {
            note(f.name() + ": skipped, the gateway process exited with " + gatewayProcess.exitValue()
                    + " (see " + label + "-gateway.log; a JVM crash leaves hs_err_pid*.log)");
            results.put(f, Double.NaN);
            return;
        }
        try {
            results.put(f, m.run());
        } catch (Exception e) {
            note(f.name() + ": failed: " + e.getMessage());
            results.put(f, Double.NaN);
        }
    }

    private void startGateway(Topology topo) throws Exception {
        Path config = topo.writeGatewayFiles();
        // environment variables that change one pipeline setting, to compare settings in one run
        List<String> pipeline = new java.util.ArrayList<>();
        String[][] knobs = {{"EGW_E2E_IDLE", "idle"}, {"EGW_E2E_PIPELINE", "mode"}, {"EGW_E2E_POLL_MILLIS", "pollMillis"},
            {"EGW_E2E_CPU", "cpu"}, {"EGW_E2E_SHARDS", "shards"}};
        for (String[] knob : knobs) {
            String value = System.getenv(knob[0]);
            if (value != null && !value.isBlank()) {
                pipeline.add(knob[1] + ": " + value);
                note("gateway config: pipeline." + knob[1] + " = " + value);
            }
        }
        if (!pipeline.isEmpty()) {
            Files.writeString(config, "pipeline: {" + String.join(", ", pipeline) + "}\n",
                    java.nio.file.StandardOpenOption.APPEND);
        }
        for (String[] knob : new String[][] {{"EGW_E2E_TUNNEL_GRO", "gro"}, {"EGW_E2E_TUNNEL_READER", "reader"},
            {"EGW_E2E_TUNNEL_OFFLOAD", "offload"}}) {
            String value = System.getenv(knob[0]);
            if (value != null && !value.isBlank()) {
                Files.writeString(config, Files.readString(config).replace("tunnel: {", "tunnel: {" + knob[1] + ": " + value + ", "));
                note("gateway config: tunnel." + knob[1] + " = " + value);
            }
        }
        Path gwLog = topo.workDir().resolve("gateway.log");
        Path dist = GatewayDist.snapshot(repo, topo.workDir().resolve("gateway-dist"));
        Process p = topo.start(topo.gw(), List.of(dist.resolve("bin/egress-gateway").toString(), "run", "--config",
                config.toString()), gwLog);
        gatewayProcess = p;
        GatewayDist.awaitReady(p, gwLog, this::note);
    }

    private void startIperfServer(Probes.Rig topo) throws Exception {
        topo.start(topo.ext(), List.of("iperf3", "-s", "-J", "-B", SERVER, "-p", Integer.toString(IPERF_PORT)),
                topo.workDir().resolve("iperf3-server.log"));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            ExecResult ss = topo.exec(topo.ext(), Duration.ofSeconds(5), "ss", "-Hltn", "src", SERVER);
            if (ss.stdout().contains(":" + IPERF_PORT)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new IOException("iperf3 server did not listen on " + SERVER + ":" + IPERF_PORT);
    }

    /** Drops (and thereby counts) the flow test's packets at the server, ahead of any socket. */
    private static void installFlowCounter(Probes.Rig topo) throws IOException {
        dropFlowPorts(topo, FLOW_PORT_BASE);
    }

    /** An iptables rule in ext dropping (and counting) UDP to {@code base .. base + FLOW_PORTS - 1}. */
    private static void dropFlowPorts(Probes.Rig topo, int base) throws IOException {
        topo.exec(topo.ext(), Duration.ofSeconds(10), "iptables", "-w", "5", "-I", "INPUT", "-d", SERVER, "-p", "udp",
                "--dport", base + ":" + (base + FLOW_PORTS - 1), "-j", "DROP")
                .orThrow("iptables counter rule in ext");
    }

    private long flowCounter(Probes.Rig topo) throws IOException {
        ExecResult r = topo.exec(topo.ext(), Duration.ofSeconds(10), "iptables", "-w", "5", "-nvxL", "INPUT")
                .orThrow("iptables -L in ext");
        for (String line : r.stdout().split("\n")) {
            if (line.contains("dpts:" + FLOW_PORT_BASE + ":")) {
                return Long.parseLong(line.strip().split("\\s+")[0]);
            }
        }
        throw new IOException("flow counter rule not found: " + r.stdout());
    }

    /**
     * The same traffic, unmeasured, before the figures: the gateway is a JVM, and its packet path
     * must be compiled (C2) before it runs at speed — a production gateway is measured warm. Done
     * for the kernel too, so both runs see the same sequence.
     */
    private void warmUp(Probes.Rig topo) {
        long t0 = System.nanoTime();
        int secs = shortMode ? 3 : 5;
        topo.exec(topo.pod1(), Duration.ofSeconds(secs + 30L), "iperf3", "-c", SERVER, "-p", Integer.toString(IPERF_PORT),
                "-t", Integer.toString(secs), "-P", "2");
        topo.exec(topo.pod1(), Duration.ofSeconds(secs + 30L), "iperf3", "-c", SERVER, "-p", Integer.toString(IPERF_PORT),
                "-u", "-b", "0", "-P", "8", "-l", Integer.toString(SMALL_UDP_PAYLOAD), "-t", "1");
        topo.exec(topo.pod1(), Duration.ofSeconds(30), "ping", "-n", "-q", "-i", "0.01", "-c", "100", "-W", "1", SERVER);
        // let the JIT compiler threads finish what the warm-up queued
        sleep(1000);
        note(String.format(Locale.ROOT, "warm-up: TCP %d s, 64-B UDP 1 s, 100 pings (%.1f s)", secs,
                (System.nanoTime() - t0) / 1e9));
    }

    private double tcp(Probes.Rig topo, int streams) throws IOException {
        return tcp(topo, streams, false);
    }

    /** @param download the server sends, the pod receives ({@code iperf3 -R}) */
    private double tcp(Probes.Rig topo, int streams, boolean download) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("iperf3", "-c", SERVER, "-p", Integer.toString(IPERF_PORT),
                "-t", Integer.toString(seconds), "-P", Integer.toString(streams), "-J"));
        if (download) {
            cmd.add("-R");
        }
        if (!shortMode) {
            cmd.addAll(List.of("-O", "1"));
        }
        ExecResult r = topo.exec(topo.pod1(), Duration.ofSeconds(seconds + 30L), cmd.toArray(String[]::new));
        saveRaw("tcp-P" + streams + (download ? "-R" : "") + ".json", r);
        String json = r.stdout();
        double bps = number(json, "\"sum_received\"\\s*:\\s*\\{[^}]*?\"bits_per_second\"\\s*:\\s*([0-9.eE+-]+)");
        note("tcp -P " + streams + (download ? " -R" : "") + ": " + fmt(bps / 1e9) + " Gbit/s (exit " + r.exitCode() + ")");
        return bps / 1e9;
    }

    private double smallUdp(Probes.Rig topo) throws IOException {
        ExecResult r = topo.exec(topo.pod1(), Duration.ofSeconds(seconds + 30L), "iperf3", "-c", SERVER, "-p",
                Integer.toString(IPERF_PORT), "-u", "-b", "0", "-P", "64", "-l", Integer.toString(SMALL_UDP_PAYLOAD), "-t",
                Integer.toString(seconds), "-J", "--get-server-output");
        saveRaw("udp-small.json", r);
        String json = r.stdout();
        // the server's own summary: what actually arrived
        String server = after(json, "\"server_output_json\"\\s*:\\s*\\{");
        String serverEnd = after(server, "\"end\"\\s*:\\s*\\{");
        double packets = number(serverEnd, "\"sum\"\\s*:\\s*\\{[^}]*?\"packets\"\\s*:\\s*([0-9]+)");
        double lost = number(serverEnd, "\"sum\"\\s*:\\s*\\{[^}]*?\"lost_packets\"\\s*:\\s*([0-9]+)");
        double secs = number(serverEnd, "\"sum\"\\s*:\\s*\\{[^}]*?\"seconds\"\\s*:\\s*([0-9.eE+-]+)");
        double sent = number(after(json, "\"end\"\\s*:\\s*\\{"),
                "\"sum\"\\s*:\\s*\\{[^}]*?\"packets\"\\s*:\\s*([0-9]+)");
        double kpps = (packets - lost) / secs / 1000;
        note(String.format(Locale.ROOT, "udp -l %d: client sent %.0f, server counted %.0f lost %.0f in %.2f s: %.1f kpps",
                SMALL_UDP_PAYLOAD, sent, packets, lost, secs, kpps));
        return kpps;
    }

    private ExecResult sendNewFlows(Probes.Rig topo, Path script, int count, int portBase) throws IOException {
        return topo.exec(topo.pod1(), Duration.ofSeconds(seconds + 60L), Topology.PYTHON, script.toString(),
                Topology.POD1_IP, SERVER, Integer.toString(count), Integer.toString(portBase),
                Integer.toString(FLOW_PORTS), Integer.toString(seconds * 3)).orThrow("new_flows.py");
    }

    /**
     * Opens {@code count} new flows, unmeasured, so that both members compile what a burst of new flows runs (the
     * active member's change records and sync, the standby's installs) before the measured burst.
     */
    private void warmUpNewFlows(Probes.Rig topo, int count) throws IOException {
        long t0 = System.nanoTime();
        dropFlowPorts(topo, WARM_UP_FLOW_PORT_BASE);
        sendNewFlows(topo, writeNewFlowsScript(topo), count, WARM_UP_FLOW_PORT_BASE);
        sleep(2000);
        note(String.format(Locale.ROOT, "warm-up: %d new flows (%.1f s)", count, (System.nanoTime() - t0) / 1e9));
    }

    private static Path writeNewFlowsScript(Probes.Rig topo) throws IOException {
        Path script = topo.workDir().resolve("new_flows.py");
        try (InputStream in = EndToEnd.class.getResourceAsStream("new_flows.py")) {
            if (in == null) {
                throw new IOException("resource new_flows.py missing from the benchmarks jar");
            }
            Files.write(script, in.readAllBytes());
        }
        return script;
    }

    private double newFlows(Probes.Rig topo) throws IOException {
        Path script = writeNewFlowsScript(topo);
        long before = flowCounter(topo);
        ExecResult r = sendNewFlows(topo, script, flows, FLOW_PORT_BASE);
        // let the last packets drain through the gateway
        sleep(500);
        long received = flowCounter(topo) - before;
        String[] f = r.stdout().strip().split("\\s+");
        long sent = Long.parseLong(f[0]);
        double elapsed = Double.parseDouble(f[1]);
        double rate = received / elapsed / 1000;
        note(String.format(Locale.ROOT, "new flows: sent %d in %.2f s (%s), server counted %d: %.1f k flows/s", sent,
                elapsed, f.length > 2 ? String.join(" ", Arrays.copyOfRange(f, 2, f.length)) : "", received, rate));
        return rate;
    }

    private double[] pingRtt(Topology topo) {
        ExecResult r = topo.exec(topo.pod1(), Duration.ofSeconds(pings / 100 + 30L), "ping", "-n", "-i", "0.01",
                "-c", Integer.toString(pings), "-W", "1", SERVER);
        saveRaw("ping.txt", r);
        Matcher m = Pattern.compile("time=([0-9.]+) ms").matcher(r.stdout());
        List<Double> us = new ArrayList<>();
        while (m.find()) {
            us.add(Double.parseDouble(m.group(1)) * 1000);
        }
        if (us.isEmpty()) {
            note("ping: no replies (exit " + r.exitCode() + "): " + r.stderr().strip());
            return new double[] {Double.NaN, Double.NaN};
        }
        double[] sorted = us.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double avg = Arrays.stream(sorted).average().orElse(Double.NaN);
        double p99 = sorted[Math.min(sorted.length - 1, (int) Math.ceil(0.99 * sorted.length) - 1)];
        note(String.format(Locale.ROOT, "ping: %d of %d replies, avg %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us",
                sorted.length, pings, avg, sorted[sorted.length / 2], p99, sorted[sorted.length - 1]));
        return new double[] {avg, p99};
    }

    /** 1-byte TCP request/response round trips (TCP_NODELAY), python on both ends: {avg, p99} in µs. */
    private double[] tcpRequestResponse(Topology topo) throws Exception {
        Path script = topo.workDir().resolve("tcp_rr.py");
        try (InputStream in = EndToEnd.class.getResourceAsStream("tcp_rr.py")) {
            if (in == null) {
                throw new IOException("resource tcp_rr.py missing from the benchmarks jar");
            }
            Files.write(script, in.readAllBytes());
        }
        topo.start(topo.ext(), List.of(Topology.PYTHON, script.toString(), "server", SERVER, Integer.toString(RR_PORT)),
                topo.workDir().resolve("tcp-rr-server.log"));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!topo.exec(topo.ext(), Duration.ofSeconds(5), "ss", "-Hltn", "src", SERVER).stdout().contains(":" + RR_PORT)) {
            if (System.nanoTime() > deadline) {
                throw new IOException("tcp_rr server did not listen");
            }
            Thread.sleep(50);
        }
        ExecResult r = topo.exec(topo.pod1(), Duration.ofSeconds(60), Topology.PYTHON, script.toString(), "client", SERVER,
                Integer.toString(RR_PORT), Integer.toString(pings)).orThrow("tcp_rr client");
        saveRaw("tcp-rr.txt", r);
        String[] f = r.stdout().strip().split("\\s+");
        note("tcp request/response: " + pings + " round trips, avg " + f[0] + " us, p50 " + f[1] + " us, p99 " + f[2]
                + " us, max " + f[3] + " us");
        return new double[] {Double.parseDouble(f[0]), Double.parseDouble(f[2])};
    }

    /** The text after the first match of {@code regex}. */
    private static String after(String text, String regex) throws IOException {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) {
            throw new IOException("no match for " + regex + " in: "
                    + (text.length() > 600 ? text.substring(0, 600) + "..." : text));
        }
        return text.substring(m.end());
    }

    private static double number(String text, String regex) throws IOException {
        Matcher m = Pattern.compile(regex, Pattern.DOTALL).matcher(text);
        if (!m.find()) {
            throw new IOException("no match for " + regex + " in: "
                    + (text.length() > 600 ? text.substring(0, 600) + "..." : text));
        }
        return Double.parseDouble(m.group(1));
    }

    private void saveRaw(String name, ExecResult r) {
        if (rawDir != null) {
            try {
                Files.writeString(rawDir.resolve(label + "-" + name), r.stdout() + "\n--- stderr (exit " + r.exitCode()
                        + ") ---\n" + r.stderr(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                note("cannot save " + name + ": " + e);
            }
        }
    }

    private void saveRaw(String name, Path file) {
        if (rawDir != null && Files.exists(file)) {
            try {
                Files.copy(file, rawDir.resolve(label + "-" + name), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                note("cannot save " + name + ": " + e);
            }
        }
    }

    private void note(String line) {
        System.out.println(line);
        System.out.flush();
        log.append(line).append('\n');
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
