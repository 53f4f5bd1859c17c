package org.egressgw.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;

/**
 * Soak test of the Java gateway in the namespace topology (userspace mode): N minutes of 64-byte UDP
 * packets at half the measured maximum rate, spread over 100 000 concurrent flows from pod1 to
 * 203.0.113.5, watching whether anything grows: heap after GC, off-heap (NMT committed outside the
 * Java heap, direct buffers), RSS, file descriptors, threads, GC pauses (p99, max) and the drop rate.
 *
 * <p>Sequence: topology; gateway started from a copy of the jars with {@code -Xlog:gc*} and
 * {@code -XX:NativeMemoryTracking=summary} added to its JVM options and a UDP timeout of 120 s;
 * every flow opened once; the maximum measured (the highest packet rate the gateway forwards with
 * &lt; 1 % loss over the same 100 000 flows, by a short search of 2.5 s probes); then warm-up and
 * N minutes at half that rate, sampled every 30 s; start and end samples are followed by a forced
 * full GC ({@code jcmd GC.run}) that gives the live heap. GC pause statistics come from the start
 * and end windows of the GC log (forced GCs left out). Received packets are counted on the server's
 * interface ({@code soak_flows.py count}), drops in the gateway's metrics.
 *
 * <p>Usage: {@code Soak [--minutes M] [--warmup S] [--flows N] [--repo DIR] [--out FILE] [--raw DIR]};
 * needs root, python3, iptables, curl, jcmd and the gateway built. Every namespace is removed at the
 * end, also on failure; a watchdog ends the run if it overstays its budget by 7 minutes.
 */
public final class Soak {
    private static final String SERVER = Topology.SERVER_IP;
    private static final int SPORT_BASE = 10000;
    private static final int SPORTS = 1000;
    private static final int DPORT_BASE = 30000;
    private static final double LOSS_LIMIT = 0.01;
    private static final double PROBE_SECONDS = 2.5;
    /** Probe packets sent before this point are not judged: the first ones meet cold code. */
    private static final double PROBE_SKIP = 0.5;
    private static final int MAX_PROBES = 6;
    /**
     * Sender processes for the probes and the soak, each over its own share of the destination ports:
     * one Python sender tops out near the gateway's rate on this kind of machine, two can exceed it.
     */
    private static final int SENDERS = 2;
    private static final int ESTABLISH_RATE = 20_000;
    private static final long UDP_TIMEOUT_SECONDS = 120;
    private static final long SAMPLE_STEP_SECONDS = 30;
    private static final String DEFAULT_JAVA_OPTS = "-Xms128m -Xmx512m";

    private final double minutes;
    private final long warmupSeconds;
    private final int flows;
    private final Path repo;
    private final Path raw;
    private final StringBuilder log = new StringBuilder();
    private Path script;
    private Path rxFile;
    private Process gateway;
    private long pid;
    private int probeCount;

    private Soak(double minutes, long warmupSeconds, int flows, Path repo, Path raw) {
        this.minutes = minutes;
        this.warmupSeconds = warmupSeconds;
        this.flows = flows;
        this.repo = repo;
        this.raw = raw;
    }

    public static void main(String[] args) throws Exception {
        double minutes = 10;
        long warmup = 60;
        int flows = 100_000;
        Path repo = Path.of(System.getProperty("user.dir"));
        Path out = null;
        Path raw = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--minutes" -> minutes = Double.parseDouble(args[++i]);
                case "--warmup" -> warmup = Long.parseLong(args[++i]);
                case "--flows" -> flows = Integer.parseInt(args[++i]);
                case "--repo" -> repo = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--raw" -> raw = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'; usage: Soak [--minutes M]"
                        + " [--warmup S] [--flows N] [--repo DIR] [--out FILE] [--raw DIR]");
            }
        }
        if (!(minutes > 0) || minutes > 24 * 60) {
            throw new IllegalArgumentException("--minutes must be in (0, 1440]: " + minutes);
        }
        if (warmup < 0 || warmup > 3600) {
            throw new IllegalArgumentException("--warmup must be in [0, 3600] seconds: " + warmup);
        }
        if (flows < SPORTS || flows % SPORTS != 0 || flows > SPORTS * 30_000) {
            throw new IllegalArgumentException("--flows must be a multiple of " + SPORTS + " in [" + SPORTS + ", "
                    + SPORTS * 30_000 + "]: " + flows);
        }
        if (!Files.isExecutable(repo.resolve("bin/egress-gateway"))
                || !Files.exists(repo.resolve("gateway-core/target/gateway-core.jar"))) {
            throw new IllegalArgumentException("no built gateway under --repo " + repo
                    + " (need bin/egress-gateway and gateway-core/target/gateway-core.jar)");
        }
        if (raw == null) {
            raw = Files.createTempDirectory("egw-soak-");
        }
        Files.createDirectories(raw);
        Soak soak = new Soak(minutes, warmup, flows, repo, raw);
        long budget = warmup + Math.round(minutes * 60) + 420;
        Thread watchdog = new Thread(() -> {
            try {
                Thread.sleep(budget * 1000);
                System.err.println("soak: over its time budget of " + budget + " s; exiting (the topology is removed)");
                System.exit(3);
            } catch (InterruptedException e) {
                // finished in time
            }
        }, "soak-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        String report = soak.run();
        watchdog.interrupt();
        System.out.println(report);
        if (out != null) {
            Files.writeString(out, report + "\n--- log ---\n" + soak.log, StandardCharsets.UTF_8);
            System.out.println("(report and log written to " + out + ")");
        }
    }

    // ------------------------------------------------------------------------------------ the run

    private String run() {
        Instant began = Instant.now();
        try (Topology topo = Topology.create(TopologyOptions.userspace())) {
            note("soak: " + fmt(minutes) + " min after " + warmupSeconds + " s warm-up, " + flows + " flows, raw output in "
                    + raw);
            prepareRawDir();
            script = topo.workDir().resolve("soak_flows.py");
            try (InputStream in = Soak.class.getResourceAsStream("soak_flows.py")) {
                if (in == null) {
                    throw new IOException("resource soak_flows.py missing from the benchmarks jar");
                }
                Files.write(script, in.readAllBytes());
            }
            startGateway(topo);
            if (!topo.ping(topo.pod1(), SERVER, 3)) {
                throw new IOException("pod1 cannot ping " + SERVER + " through the gateway");
            }
            topo.exec(topo.ext(), Duration.ofSeconds(10), "iptables", "-w", "5", "-I", "INPUT", "-d", SERVER, "-p", "udp",
                    "--dport", DPORT_BASE + ":" + (DPORT_BASE + dports() - 1), "-j", "DROP")
                    .orThrow("iptables rule in ext (drops the soak's packets before any socket, no ICMP errors)");
            rxFile = raw.resolve("rx-ext.txt");
            topo.start(topo.ext(), List.of(Topology.PYTHON, script.toString(), "count", Topology.EXT_IFACE, rxFile.toString()),
                    raw.resolve("count.log"));

            Probe est = send(topo, "establish", 1, ESTABLISH_RATE, 0, flows);
            sleep(1000);
            MetricsText m = scrape(topo);
            note(String.format(Locale.ROOT, "establish: %d packets at %d pps, %d delivered (%.2f %% lost); conntrack entries %s"
                            + " of capacity %s", est.sent(), ESTABLISH_RATE, Math.round(est.delivered()),
                    100 * (1 - est.delivered() / est.sent()), fmt(m.sum("egw_conntrack_entries")),
                    fmt(m.sum("egw_conntrack_capacity"))));

            List<Probe> probes = new ArrayList<>();
            double max = measureMax(topo, probes);
            double rate = Math.max(1, Math.floor(max / 2 / 100) * 100);
            double cycle = flows / rate;
            note(String.format(Locale.ROOT, "maximum %.0f pps with < 1 %% loss; soak rate %.0f pps: every flow revisited every"
                    + " %.1f s (UDP timeout %d s)", max, rate, cycle, UDP_TIMEOUT_SECONDS));
            if (cycle > UDP_TIMEOUT_SECONDS / 2.0) {
                note("WARNING: flows are revisited less often than half the UDP timeout; some may expire between visits");
            }
            Result r = soak(topo, rate);
            return report(began, est, probes, max, rate, r);
        } catch (Exception e) {
            note("soak aborted: " + e);
            return "soak aborted after " + Duration.between(began, Instant.now()).toSeconds() + " s: " + e + "\n(log:\n" + log
                    + ")";
        }
    }

    private int dports() {
        return flows / SPORTS;
    }

    private void prepareRawDir() throws IOException {
        try (var files = Files.list(raw)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String n = f.getFileName().toString();
                if (n.startsWith("gc.log") || n.endsWith("-status.txt") || n.equals("rx-ext.txt") || n.endsWith(".log")
                        || n.startsWith("nmt-") || n.startsWith("metrics-")) {
                    Files.delete(f);
                }
            }
        }
    }

    // -------------------------------------------------------------------------------- the gateway

    private void startGateway(Topology topo) throws Exception {
        Path config = topo.writeGatewayFiles();
        Files.writeString(config, "conntrack: {timeouts: {udp: " + UDP_TIMEOUT_SECONDS + "s}}\n",
                StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
        String shards = System.getenv("EGW_E2E_SHARDS");
        if (shards != null && !shards.isBlank()) {
            // the soak of a sharded gateway (pipeline.shards), as the end-to-end benchmark's knob
            Files.writeString(config, "pipeline: {shards: " + shards.strip() + "}\n", StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.APPEND);
            note("gateway config: pipeline.shards = " + shards.strip());
        }
        Path dist = GatewayDist.snapshot(repo, topo.workDir().resolve("gateway-dist"));
        String base = System.getenv("EGW_JAVA_OPTS");
        String opts = (base == null || base.isBlank() ? DEFAULT_JAVA_OPTS : base.strip())
                + " -Xlog:gc*:file=" + raw.resolve("gc.log") + ":uptime"
                + " -XX:NativeMemoryTracking=summary"
                // touch the committed heap at start: with (almost) no allocation on the packet path,
                // young collections otherwise reach never-used heap regions for many minutes, and
                // RSS grows by first touches of memory committed long before (seen: +40 MiB)
                + " -XX:+AlwaysPreTouch"
                + " -XX:ErrorFile=" + raw.resolve("hs_err_pid%p.log");
        note("gateway JVM options: " + opts);
        Path gwLog = raw.resolve("gateway.log");
        // env, the launcher and java all exec: the process started is the gateway's JVM itself
        gateway = topo.start(topo.gw(), List.of("env", "EGW_JAVA_OPTS=" + opts, dist.resolve("bin/egress-gateway").toString(),
                "run", "--config", config.toString()), gwLog);
        pid = gateway.pid();
        GatewayDist.awaitReady(gateway, gwLog, this::note);
        String cmdline = Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ');
        if (!cmdline.contains("org.egressgw.core.cli.Main")) {
            throw new IOException("process " + pid + " is not the gateway's JVM: " + cmdline);
        }
        note("gateway pid " + pid);
    }

    private void checkAlive() throws IOException {
        if (!gateway.isAlive()) {
            throw new IOException("the gateway exited with " + gateway.exitValue() + " (see " + raw.resolve("gateway.log")
                    + "; a JVM crash leaves hs_err_pid*.log there)");
        }
    }

    // ------------------------------------------------------------------------------------ traffic

    /**
     * One run of the sender.
     *
     * @param sent      packets sent in the judged window
     * @param delivered packets counted on the server's interface in the same window
     * @param seconds   the judged window's length
     */
    private record Probe(String name, double requested, long sent, double delivered, double seconds, String senderLine) {
        double offered() {
            return sent / seconds;
        }

        double loss() {
            return sent == 0 ? Double.NaN : 1 - delivered / sent;
        }
    }

    /**
     * Runs {@code senders} sender processes to completion, each over its share of the destination
     * ports at {@code rate / senders}; a probe ({@code count == 0}) judges the packets sent after
     * {@link #PROBE_SKIP} seconds until the first sender stopped, a pass ({@code count > 0}) all of them.
     */
    private Probe send(Topology topo, String name, int senders, double rate, double seconds, long count) throws Exception {
        checkAlive();
        List<Process> procs = startSenders(topo, name, senders, rate, seconds, count);
        long limit = seconds > 0 ? (long) seconds + 60 : count / Math.max(1, (long) rate) + 60;
        long deadline = System.nanoTime() + Duration.ofSeconds(limit).toNanos();
        double start = Double.NEGATIVE_INFINITY;
        double end = Double.POSITIVE_INFINITY;
        List<String> lines = new ArrayList<>();
        for (int k = 0; k < procs.size(); k++) {
            Process p = procs.get(k);
            if (!p.waitFor(Math.max(1, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS)) {
                p.destroyForcibly();
                throw new IOException(name + ": sender " + k + " did not finish within " + limit + " s");
            }
            String line = Files.readString(raw.resolve(name + "-" + k + ".log")).strip();
            if (p.exitValue() != 0 || !line.startsWith("sent=")) {
                throw new IOException(name + ": sender " + k + " failed (exit " + p.exitValue() + "): " + line);
            }
            lines.add(line);
            start = Math.max(start, number(line, "start=([0-9.]+)"));
            end = Math.min(end, number(line, "end=([0-9.]+)"));
        }
        // what is still in the gateway's ring when the senders stop reaches the server within this
        sleep(400);
        double from = count > 0 ? start : start + PROBE_SKIP;
        Counter sent = senderCounter(name, senders);
        TimeSeries rx = TimeSeries.read(rxFile);
        // for a complete pass count the drained tail too; a probe judges its window only
        double rxEnd = count > 0 ? end + 0.35 : end;
        String line = String.join("; ", lines);
        Probe p = new Probe(name, rate, Math.round(sent.at(end) - sent.at(from)), rx.at(rxEnd) - rx.at(from), end - from,
                line);
        note(String.format(Locale.ROOT, "%s: %d sender(s), requested %s pps; judged %.2f s: sent %d (%.0f pps), delivered %.0f,"
                        + " loss %.2f %% (%s)", name, senders, rate == 0 ? "unlimited" : fmtRate(rate), p.seconds(), p.sent(),
                p.offered(), p.delivered(), 100 * p.loss(), line));
        return p;
    }

    /** Starts the senders of run {@code name}: sender k writes {@code name-k-status.txt} and {@code name-k.log}. */
    private List<Process> startSenders(Topology topo, String name, int senders, double rate, double seconds, long count) {
        int dports = dports();
        List<Process> procs = new ArrayList<>();
        for (int k = 0; k < senders; k++) {
            int from = k * dports / senders;
            int to = (k + 1) * dports / senders;
            procs.add(topo.start(topo.pod1(), List.of(Topology.PYTHON, script.toString(), "send", Topology.POD1_IP, SERVER,
                    Integer.toString(SPORT_BASE), Integer.toString(SPORTS), Integer.toString(DPORT_BASE + from),
                    Integer.toString(to - from), fmtRate(rate / senders), fmt(seconds),
                    Long.toString(count == 0 ? 0 : count * (to - from) / dports), raw.resolve(name + "-" + k + "-status.txt")
                            .toString()), raw.resolve(name + "-" + k + ".log")));
        }
        return procs;
    }

    /** Packets the senders of run {@code name} had sent, summed, at a monotonic time. */
    private Counter senderCounter(String name, int senders) throws IOException {
        List<TimeSeries> parts = new ArrayList<>();
        for (int k = 0; k < senders; k++) {
            parts.add(TimeSeries.read(raw.resolve(name + "-" + k + "-status.txt")));
        }
        return t -> parts.stream().mapToDouble(x -> x.at(t)).sum();
    }

    /**
     * The highest rate (packets/s, over all flows) the gateway forwards with less than 1 % loss: an
     * unlimited probe first (the sender's ceiling; if that is delivered, the sender is the limit), then
     * bisection starting at what the unlimited probe got through.
     */
    private double measureMax(Topology topo, List<Probe> probes) throws Exception {
        Probe first = send(topo, "probe-" + ++probeCount, SENDERS, 0, PROBE_SECONDS, 0);
        probes.add(first);
        if (first.loss() < LOSS_LIMIT) {
            note("max: the senders' ceiling was delivered with < 1 % loss; the maximum is sender-bound");
            return first.offered();
        }
        double lo = 0;
        double hi = first.offered();
        double candidate = first.delivered() / first.seconds();
        while (probes.size() < MAX_PROBES && (lo == 0 || hi / lo > 1.05)) {
            sleep(300);
            Probe p = send(topo, "probe-" + ++probeCount, SENDERS, candidate, PROBE_SECONDS, 0);
            probes.add(p);
            if (p.loss() < LOSS_LIMIT) {
                lo = Math.max(lo, p.offered());
            } else {
                hi = Math.min(hi, p.offered());
            }
            candidate = lo == 0 ? candidate * 0.7 : (lo + hi) / 2;
        }
        if (lo == 0) {
            throw new IOException("no probed rate had < 1 % loss (lowest offered " + fmtRate(hi) + " pps)");
        }
        return lo;
    }

    // ------------------------------------------------------------------------------------ samples

    /** Everything read from the gateway at one moment. */
    private record Sample(double offset, double mono, Instant wall, double jvmUptime, MetricsText metrics, long rssKb, int fds,
                          Map<String, Long> nmtCommittedKb, String loadavg) {
        double metric(String name, String... labels) {
            return metrics.sum(name, labels);
        }

        long nmtTotalKb() {
            return nmtCommittedKb.getOrDefault("Total", -1L);
        }

        long nmtOffHeapKb() {
            Long heap = nmtCommittedKb.get("Java Heap");
            return heap == null || nmtTotalKb() < 0 ? -1 : nmtTotalKb() - heap;
        }
    }

    private record Result(List<Sample> series, Sample start, Sample end, double heapAfterFullGcStart, double heapAfterFullGcEnd,
                          double windowSeconds, Counter sent, Counter rx, List<GcLogPauses.Pause> pauses,
                          MetricsText last, String senderLine) {
    }

    private Result soak(Topology topo, double rate) throws Exception {
        long soakSeconds = Math.round(minutes * 60);
        long end = warmupSeconds + soakSeconds;
        // start and end windows for GC pauses and rates: a fifth of the soak each (2 min of 10)
        long window = Math.max(20, Math.min(soakSeconds / 2, soakSeconds / 5));
        TreeSet<Long> offsets = new TreeSet<>();
        for (long t = 0; t <= end; t += SAMPLE_STEP_SECONDS) {
            offsets.add(t);
        }
        offsets.addAll(List.of(warmupSeconds, warmupSeconds + window, end - window, end));
        List<Process> senders = startSenders(topo, "soak", SENDERS, rate, end + 120, 0);
        double t0 = mono();
        note(String.format(Locale.ROOT, "soak: sending %.0f pps from %s; samples at %s s", rate, Instant.now()
                .truncatedTo(ChronoUnit.SECONDS), offsets));
        List<Sample> series = new ArrayList<>();
        Sample start = null;
        Sample last = null;
        double heapStart = Double.NaN;
        double heapEnd = Double.NaN;
        boolean attached = false;
        for (long offset : offsets) {
            long waitMillis = Math.round((t0 + offset - mono()) * 1000);
            if (waitMillis > 0) {
                Thread.sleep(waitMillis);
            }
            checkAlive();
            for (int k = 0; k < senders.size(); k++) {
                if (!senders.get(k).isAlive()) {
                    throw new IOException("soak sender " + k + " exited early: " + Files.readString(raw.resolve("soak-" + k + ".log")));
                }
            }
            if (!attached) {
                // the first jcmd starts the target's attach listener (a thread and a socket): before any sample
                jcmd(topo, "VM.uptime");
                attached = true;
            }
            Sample s = sample(topo, offset);
            series.add(s);
            last = s;
            note(String.format(Locale.ROOT, "t=%4d s  conntrack %6.0f  heap %6.1f MiB  NMT off-heap %6.1f MiB  RSS %6.1f MiB"
                            + "  fds %3d  threads %3.0f  drops %8.0f  load %s", offset, s.metric("egw_conntrack_entries"),
                    mib(s.metric("jvm_memory_used_bytes", "area=\"heap\"")), s.nmtOffHeapKb() / 1024.0, s.rssKb() / 1024.0,
                    s.fds(), s.metric("jvm_threads_current"), s.metric("egw_drops_total"), s.loadavg()));
            if (offset == warmupSeconds || offset == end) {
                jcmd(topo, "GC.run");
                double heap = scrape(topo).sum("jvm_memory_used_bytes", "area=\"heap\"");
                note(String.format(Locale.ROOT, "  heap used right after a forced full GC: %.1f MiB", mib(heap)));
                if (offset == warmupSeconds) {
                    start = s;
                    heapStart = heap;
                } else {
                    heapEnd = heap;
                }
            }
        }
        List<String> lines = new ArrayList<>();
        for (int k = 0; k < senders.size(); k++) {
            senders.get(k).destroy();
            senders.get(k).waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        sleep(500);
        for (int k = 0; k < senders.size(); k++) {
            lines.add(Files.readString(raw.resolve("soak-" + k + ".log")).strip());
        }
        String senderLine = String.join("; ", lines);
        note("senders: " + senderLine);
        MetricsText after = scrape(topo);
        Files.writeString(raw.resolve("metrics-end.txt"), scrapeText(topo), StandardCharsets.UTF_8);
        List<GcLogPauses.Pause> pauses = GcLogPauses.read(raw.resolve("gc.log"));
        return new Result(series, start, last, heapStart, heapEnd, window, senderCounter("soak", SENDERS), TimeSeries.read(rxFile),
                pauses, after, senderLine);
    }

    private Sample sample(Topology topo, long offset) throws IOException {
        double mono = mono();
        String text = scrapeText(topo);
        MetricsText m = MetricsText.parse(text);
        if (m.isEmpty()) {
            throw new IOException("empty /metrics scrape");
        }
        long rss = -1;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        int fds;
        try (var list = Files.list(Path.of("/proc/" + pid + "/fd"))) {
            fds = (int) list.count();
        }
        String nmt = jcmd(topo, "VM.native_memory", "summary");
        Files.writeString(raw.resolve(String.format(Locale.ROOT, "nmt-%04d.txt", offset)), nmt, StandardCharsets.UTF_8);
        String loadavg = Files.readString(Path.of("/proc/loadavg")).strip().split(" ")[0];
        return new Sample(offset, mono, Instant.now(), jvmUptime(), m, rss, fds, parseNmt(nmt), loadavg);
    }

    private static final Pattern NMT_TOTAL = Pattern.compile("^Total: reserved=(\\d+)KB, committed=(\\d+)KB");
    private static final Pattern NMT_CATEGORY = Pattern.compile("^-\\s+(.+?) \\(reserved=(\\d+)KB, committed=(\\d+)KB\\)");

    /** Committed KB per NMT category, plus "Total". */
    static Map<String, Long> parseNmt(String text) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            line = line.strip();
            Matcher t = NMT_TOTAL.matcher(line);
            if (t.find()) {
                m.put("Total", Long.parseLong(t.group(2)));
                continue;
            }
            Matcher c = NMT_CATEGORY.matcher(line);
            if (c.find()) {
                m.put(c.group(1).strip(), Long.parseLong(c.group(3)));
            }
        }
        return m;
    }

    /** Seconds since the gateway's JVM started, the clock of the GC log's {@code uptime} decoration. */
    private double jvmUptime() throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        double startTicks = Double.parseDouble(f[19]); // field 22 of stat; field 3 is f[0]
        double boot = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
        return boot - startTicks / 100.0; // USER_HZ is 100 on Linux
    }

    private String jcmd(Topology topo, String... command) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("jcmd", Long.toString(pid)));
        cmd.addAll(List.of(command));
        return topo.exec(topo.gw(), Duration.ofSeconds(60), cmd.toArray(String[]::new)).orThrow("jcmd " + String.join(" ", command))
                .stdout();
    }

    private String scrapeText(Topology topo) throws IOException {
        return topo.exec(topo.gw(), Duration.ofSeconds(15), "curl", "-s", "-m", "10", "http://" + Topology.ADMIN_LISTEN + "/metrics")
                .orThrow("curl /metrics").stdout();
    }

    private MetricsText scrape(Topology topo) throws IOException {
        return MetricsText.parse(scrapeText(topo));
    }

    // ------------------------------------------------------------------------------------- report

    /** A quantity compared start vs end: growth beyond {@code max(relative × start, absolute)} is flagged. */
    private record Check(String name, String unit, double start, double end, double relative, double absolute, String note) {
        boolean judged() {
            return relative >= 0;
        }

        boolean grows() {
            if (!judged() || Double.isNaN(start) || Double.isNaN(end)) {
                return false;
            }
            return end - start > Math.max(relative * Math.abs(start), absolute);
        }

        String allowed() {
            if (!judged()) {
                return "(info)";
            }
            String abs = fmt(absolute) + " " + unit;
            return relative > 0 ? "+max(" + Math.round(relative * 100) + " %, " + abs + ")" : "+" + abs;
        }

        String verdict() {
            if (!judged()) {
                return "";
            }
            if (Double.isNaN(start) || Double.isNaN(end)) {
                return "n/a";
            }
            return grows() ? "**GROWS**" : "ok";
        }
    }

    private String report(Instant began, Probe est, List<Probe> probes, double max, double rate, Result r) throws IOException {
        Sample s = r.start();
        Sample e = r.end();
        double w = r.windowSeconds();
        double upOffset = s.jvmUptime() - s.mono();
        // windows in monotonic time: the first w seconds after the start sample, the last w before the end sample
        double s0 = s.mono();
        double s1 = s.mono() + w;
        double e0 = e.mono() - w;
        double e1 = e.mono();
        Sample sw = nearest(r.series(), s1);
        Sample ew = nearest(r.series(), e0);
        GcLogPauses.Stats gs = GcLogPauses.window(r.pauses(), s0 + upOffset, s1 + upOffset);
        GcLogPauses.Stats ge = GcLogPauses.window(r.pauses(), e0 + upOffset, e1 + upOffset);
        double dropsStart = rate(sw, s, "egw_drops_total");
        double dropsEnd = rate(e, ew, "egw_drops_total");
        double lossStart = loss(r, s0, s1);
        double lossEnd = loss(r, e0, e1);

        List<Check> checks = new ArrayList<>();
        checks.add(new Check("heap used after a forced full GC (live set)", "MiB", mib(r.heapAfterFullGcStart()),
                mib(r.heapAfterFullGcEnd()), 0.10, 4, "jcmd GC.run right after the sample"));
        checks.add(new Check("heap after young GCs, median in window", "MiB", mib(gs.medianYoungAfterBytes()),
                mib(ge.medianYoungAfterBytes()), 0.10, 4, "GC log"));
        checks.add(new Check("heap committed", "MiB", mib(s.metric("jvm_memory_committed_bytes", "area=\"heap\"")),
                mib(e.metric("jvm_memory_committed_bytes", "area=\"heap\"")), -1, 0, "G1 sizing, -Xms128m"));
        checks.add(new Check("NMT committed, total", "MiB", s.nmtTotalKb() / 1024.0, e.nmtTotalKb() / 1024.0, -1, 0,
                "includes the Java heap"));
        checks.add(new Check("NMT committed outside the Java heap (off-heap)", "MiB", s.nmtOffHeapKb() / 1024.0,
                e.nmtOffHeapKb() / 1024.0, 0.05, 8, ""));
        checks.add(new Check("direct + mapped buffer pools", "MiB", mib(s.metric("jvm_buffer_pool_used_bytes")),
                mib(e.metric("jvm_buffer_pool_used_bytes")), 0.05, 1, ""));
        checks.add(new Check("non-heap (metaspace, code cache)", "MiB", mib(s.metric("jvm_memory_used_bytes", "area=\"nonheap\"")),
                mib(e.metric("jvm_memory_used_bytes", "area=\"nonheap\"")), 0.05, 4, ""));
        checks.add(new Check("RSS (VmRSS)", "MiB", s.rssKb() / 1024.0, e.rssKb() / 1024.0, 0.05, 16, ""));
        checks.add(new Check("open file descriptors", "", s.metric("process_open_fds"), e.metric("process_open_fds"), 0, 2, ""));
        checks.add(new Check("threads", "", s.metric("jvm_threads_current"), e.metric("jvm_threads_current"), 0, 1, ""));
        checks.add(new Check("GC pauses in window", "", gs.count(), ge.count(), -1, 0, ""));
        checks.add(new Check("GC pause p50", "ms", gs.p50Millis(), ge.p50Millis(), -1, 0, ""));
        // a GC worker descheduled for one time slice on a loaded 2-vCPU machine adds a few ms to one pause
        checks.add(new Check("GC pause p99", "ms", gs.p99Millis(), ge.p99Millis(), 1.0, 2, ""));
        checks.add(new Check("GC pause max", "ms", gs.maxMillis(), ge.maxMillis(), 1.0, 5, ""));
        checks.add(new Check("gateway drops (egw_drops_total)", "/s", dropsStart, dropsEnd, 0.5, rate * 0.001, ""));
        checks.add(new Check("end-to-end loss (sent vs counted at the server)", "%", 100 * lossStart, 100 * lossEnd, 0.5, 0.1,
                ""));
        checks.add(new Check("conntrack entries", "", s.metric("egw_conntrack_entries"), e.metric("egw_conntrack_entries"), 0.02,
                0, "should sit near " + flows));

        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%nSoak: %s min at %.0f pps (half of the measured maximum %.0f pps) over %d flows,"
                + " %d s warm-up, windows of %.0f s; gateway pid %d; total %d s%n", fmt(minutes), rate, max, flows,
                warmupSeconds, w, pid, Duration.between(began, Instant.now()).toSeconds()));
        out.append("Maximum search (64-byte packets over all flows; loss judged after the first 0.5 s of each probe):\n");
        for (Probe p : probes) {
            out.append(String.format(Locale.ROOT, "  %-8s requested %9s pps  offered %7.0f pps  delivered %7.0f pps  loss %6.2f %%%n",
                    p.name(), p.requested() == 0 ? "unlimited" : fmtRate(p.requested()), p.offered(), p.delivered() / p.seconds(),
                    100 * p.loss()));
        }
        out.append(String.format(Locale.ROOT, "Flows opened: %d packets at %d pps, %.0f delivered%n", est.sent(), ESTABLISH_RATE,
                est.delivered()));
        out.append(String.format(Locale.ROOT, "Soak traffic (%d senders): %s; delivered over the soak window: %.0f of %.0f (%.3f %% lost)%n",
                SENDERS, r.senderLine(), r.rx().at(e1) - r.rx().at(s0), r.sent().at(e1) - r.sent().at(s0),
                100 * loss(r, s0, e1)));
        out.append(String.format(Locale.ROOT, "Load average (1 min): %s at start, %s at end%n%n", s.loadavg(), e.loadavg()));
        out.append("| quantity | unit | start | end | change | allowed growth | verdict |\n|---|---|---:|---:|---:|---|---|\n");
        int grows = 0;
        for (Check c : checks) {
            grows += c.grows() ? 1 : 0;
            double d = c.end() - c.start();
            out.append(String.format(Locale.ROOT, "| %s%s | %s | %s | %s | %s | %s | %s |%n", c.name(),
                    c.note().isEmpty() ? "" : " (" + c.note() + ")", c.unit(), fmt(c.start()), fmt(c.end()),
                    Double.isNaN(d) ? "n/a" : (d >= 0 ? "+" : "") + fmt(d), c.allowed(), c.verdict()));
        }
        out.append(String.format(Locale.ROOT, "%nVerdict: %s%n", grows == 0 ? "PASS (nothing grew beyond noise)"
                : "FAIL (" + grows + " quantities grew)"));
        out.append(nmtDiff(s, e));
        out.append(dropReasons(s, e));
        out.append("\nSeries (every sample; t from the start of the soak traffic, warm-up included):\n");
        out.append("GC pauses and delivered rate are per interval since the previous sample (forced GCs left out).\n");
        out.append("| t s | conntrack | heap used MiB | NMT off-heap MiB | RSS MiB | fds | threads | GC pauses | p50 ms | max ms"
                + " | delivered pps |\n");
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        Sample prev = null;
        for (Sample x : r.series()) {
            double pps = prev == null ? Double.NaN : (r.rx().at(x.mono()) - r.rx().at(prev.mono())) / (x.mono() - prev.mono());
            GcLogPauses.Stats g = prev == null ? GcLogPauses.window(r.pauses(), 0, x.jvmUptime())
                    : GcLogPauses.window(r.pauses(), prev.jvmUptime(), x.jvmUptime());
            out.append(String.format(Locale.ROOT, "| %.0f | %.0f | %.1f | %.1f | %.1f | %.0f | %.0f | %d | %s | %s | %s |%n",
                    x.offset(), x.metric("egw_conntrack_entries"), mib(x.metric("jvm_memory_used_bytes", "area=\"heap\"")),
                    x.nmtOffHeapKb() / 1024.0, x.rssKb() / 1024.0, x.metric("process_open_fds"), x.metric("jvm_threads_current"),
                    g.count(), fmt(g.p50Millis()), fmt(g.maxMillis()), fmt(pps)));
            prev = x;
        }
        return out.toString();
    }

    private static String nmtDiff(Sample s, Sample e) {
        StringBuilder b = new StringBuilder("\nNMT committed by category, start → end (KiB; categories that changed):\n");
        boolean any = false;
        for (Map.Entry<String, Long> x : e.nmtCommittedKb().entrySet()) {
            long a = s.nmtCommittedKb().getOrDefault(x.getKey(), 0L);
            if (a != x.getValue()) {
                b.append(String.format(Locale.ROOT, "  %-28s %9d → %9d  (%+d)%n", x.getKey(), a, x.getValue(), x.getValue() - a));
                any = true;
            }
        }
        return any ? b.toString() : "\nNMT committed: no category changed\n";
    }

    private static String dropReasons(Sample s, Sample e) {
        StringBuilder b = new StringBuilder("Gateway drops during the soak (start sample → end sample, reasons with a change):\n");
        boolean any = false;
        for (Map.Entry<String, Double> x : e.metrics().family("egw_drops_total").entrySet()) {
            double a = s.metrics().family("egw_drops_total").getOrDefault(x.getKey(), 0.0);
            if (x.getValue() != a) {
                b.append(String.format(Locale.ROOT, "  %s +%.0f%n", x.getKey(), x.getValue() - a));
                any = true;
            }
        }
        return any ? b.toString() : "Gateway drops during the soak: none\n";
    }

    private static double rate(Sample later, Sample earlier, String metric) {
        return (later.metric(metric) - earlier.metric(metric)) / (later.mono() - earlier.mono());
    }

    private static double loss(Result r, double from, double to) {
        double sent = r.sent().at(to) - r.sent().at(from);
        return sent <= 0 ? Double.NaN : 1 - (r.rx().at(to) - r.rx().at(from)) / sent;
    }

    private static Sample nearest(List<Sample> series, double mono) {
        Sample best = series.get(0);
        for (Sample x : series) {
            if (Math.abs(x.mono() - mono) < Math.abs(best.mono() - mono)) {
                best = x;
            }
        }
        return best;
    }

    // -------------------------------------------------------------------------------------- misc

    /** A monotonically increasing count as a function of CLOCK_MONOTONIC seconds. */
    private interface Counter {
        double at(double monoSeconds);
    }

    /**
     * A counter sampled over time from a file of "monotonic-seconds value" lines, read by linear
     * interpolation; before the first line it is the first value, after the last the last.
     */
    private record TimeSeries(double[] t, double[] v) implements Counter {
        static TimeSeries read(Path file) throws IOException {
            List<String> lines = Files.exists(file) ? Files.readAllLines(file) : List.of();
            double[] t = new double[lines.size()];
            double[] v = new double[lines.size()];
            int n = 0;
            for (String line : lines) {
                String[] f = line.strip().split("\\s+");
                if (f.length >= 2) {
                    try {
                        t[n] = Double.parseDouble(f[0]);
                        v[n] = Double.parseDouble(f[1]);
                        n++;
                    } catch (NumberFormatException e) {
                        // a line cut short by the writer: skip it
                    }
                }
            }
            return new TimeSeries(java.util.Arrays.copyOf(t, n), java.util.Arrays.copyOf(v, n));
        }

        @Override
        public double at(double time) {
            if (t.length == 0) {
                return Double.NaN;
            }
            if (time <= t[0]) {
                return v[0];
            }
            int i = java.util.Arrays.binarySearch(t, time);
            if (i >= 0) {
                return v[i];
            }
            int hi = -i - 1;
            if (hi >= t.length) {
                return v[t.length - 1];
            }
            int lo = hi - 1;
            return v[lo] + (v[hi] - v[lo]) * (time - t[lo]) / (t[hi] - t[lo]);
        }
    }

    /** CLOCK_MONOTONIC in seconds, as Python's {@code time.monotonic()} reads it. */
    private static double mono() {
        return System.nanoTime() / 1e9;
    }

    private static double number(String text, String regex) throws IOException {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) {
            throw new IOException("no match for " + regex + " in: " + text);
        }
        return Double.parseDouble(m.group(1));
    }

    private static double mib(double bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    private static String fmtRate(double v) {
        return Long.toString(Math.round(v));
    }

    private static String fmt(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e12) {
            return Long.toString((long) v);
        }
        return String.format(Locale.ROOT, Math.abs(v) >= 100 ? "%.0f" : Math.abs(v) >= 10 ? "%.1f" : "%.2f", v);
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
