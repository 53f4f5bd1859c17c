package org.egressgw.testbed;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * Traffic a test or the demo sends from inside a {@link Topology}'s (or {@link HaTopology}'s) namespaces, with
 * bounded timeouts.
 * Methods that return a value throw {@link UncheckedIOException} (naming the command and its error) when
 * the probe fails; the {@code *Result} variants return the raw {@link ExecResult} for expected failures.
 *
 * <p>Thread safety: stateless apart from a counter for scratch file names; safe from any thread.
 */
public final class Probes {

    /** Size of the ext servers' {@code /10mb} body. */
    public static final long TEN_MIB = 10L * 1024 * 1024;
    /** The body pattern's period: byte {@code i} of every body is {@code i % 251}. */
    public static final int PATTERN_PERIOD = 251;

    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration DOWNLOAD_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration CAPTURE_START = Duration.ofSeconds(5);

    private final Rig rig;
    private final AtomicLong scratch = new AtomicLong();

    Probes(Rig rig) {
        this.rig = rig;
    }

    /** What probes need from a rig of namespaces; see {@link Topology} for the contract of each method. */
    public interface Rig {
        /** Runs {@code cmd} in {@code ns} and captures its output. */
        ExecResult exec(String ns, Duration timeout, String... cmd);

        /** Starts {@code cmd} in the background in {@code ns}, output to {@code log}; stopped when the rig closes. */
        Process start(String ns, List<String> cmd, Path log);

        /** The rig's scratch directory. */
        Path workDir();

        /** The namespace of the selected pod (pod1): where the benchmarks' and tests' traffic starts. */
        String pod1();

        /** The namespace of the external servers. */
        String ext();
    }

    /** The URL of the 10 MiB body on {@code serverIp}. */
    public static String tenMibUrl(String serverIp) {
        return "http://" + serverIp + "/10mb";
    }

    /** {@code curl -sS --max-time 5 url} in {@code ns}, as run; for requests expected to fail. */
    public ExecResult httpGetResult(String ns, String url) {
        return httpGetResult(ns, url, HTTP_TIMEOUT);
    }

    /** {@code curl -sS --max-time <timeout> url} in {@code ns}, as run (timeout rounded up to milliseconds). */
    public ExecResult httpGetResult(String ns, String url, Duration timeout) {
        return rig.exec(ns, timeout.plusSeconds(2), "curl", "-sS", "--max-time",
                String.format(java.util.Locale.ROOT, "%.3f", Math.max(timeout.toMillis(), 1) / 1000.0), url);
    }

    /**
     * GETs {@code url} from inside {@code ns} and returns the body verbatim (the ext servers answer
     * {@code GET /} with {@code "you are <client ip>\n"}).
     */
    public String httpGet(String ns, String url) {
        return orThrow(httpGetResult(ns, url), "GET " + url + " from " + ns).stdout();
    }

    /**
     * Downloads {@code url} from inside {@code ns} (curl, 60 s at most) and returns what arrived; compare it
     * with {@link #expectedPattern(long)}.
     */
    public Download download(String ns, String url) {
        Path file = rig.workDir().resolve("download-" + scratch.incrementAndGet() + ".bin");
        try {
            ExecResult r = rig.exec(ns, DOWNLOAD_TIMEOUT.plusSeconds(5), "curl", "-sS", "--fail",
                    "--max-time", Long.toString(DOWNLOAD_TIMEOUT.toSeconds()), "-o", file.toString(), url);
            orThrow(r, "download " + url + " from " + ns);
            try (InputStream in = Files.newInputStream(file)) {
                return digest(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                // scratch file in the work dir; close() removes the directory anyway
            }
        }
    }

    /** What a body of {@code length} bytes of the servers' pattern hashes to. */
    public static Download expectedPattern(long length) {
        byte[] period = new byte[PATTERN_PERIOD];
        for (int i = 0; i < PATTERN_PERIOD; i++) {
            period[i] = (byte) i;
        }
        MessageDigest sha = sha256();
        long left = length;
        while (left > 0) {
            int n = (int) Math.min(left, PATTERN_PERIOD);
            sha.update(period, 0, n);
            left -= n;
        }
        return new Download(HexFormat.of().formatHex(sha.digest()), length);
    }

    /** Sends {@code payload} to {@code dstIp:port} over UDP from {@code ns}, three tries of 2 s; as run. */
    public ExecResult udpEchoResult(String ns, String dstIp, int port, String payload) {
        Path client;
        try {
            Path dir = rig.workDir().resolve("probes");
            Files.createDirectories(dir);
            client = dir.resolve("udp_client.py");
            if (!Files.exists(client)) {
                Topology.extractResource("udp_client.py", dir);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rig.exec(ns, Duration.ofSeconds(10), Topology.PYTHON, client.toString(), dstIp,
                Integer.toString(port), payload, "3", "2");
    }

    /** The reply to a UDP datagram {@code payload} sent from {@code ns} to {@code dstIp:port}. */
    public String udpEcho(String ns, String dstIp, int port, String payload) {
        return orThrow(udpEchoResult(ns, dstIp, port, payload),
                "UDP echo to " + dstIp + ":" + port + " from " + ns).stdout();
    }

    /** True when all of {@code count} pings (0.2 s apart, 2 s wait each) from {@code ns} to {@code ip} answer. */
    public boolean ping(String ns, String ip, int count) {
        return pingResult(ns, ip, count).ok();
    }

    /** {@code ping} as run, for its statistics. */
    public ExecResult pingResult(String ns, String ip, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("ping count must be at least 1: " + count);
        }
        return rig.exec(ns, Duration.ofMillis(5_000L + 300L * count), "ping", "-n", "-q",
                "-c", Integer.toString(count), "-i", "0.2", "-W", "2", ip);
    }

    /**
     * Starts {@code tcpdump -i iface -w pcap filter} in {@code ns} and returns once it captures.
     *
     * @param filter a pcap filter expression, or empty for everything
     */
    public Capture tcpdump(String ns, String iface, String filter, Path pcap) {
        Path log = pcap.resolveSibling(pcap.getFileName() + ".log");
        List<String> cmd = new ArrayList<>(List.of("tcpdump", "-i", iface, "-n", "-U", "--immediate-mode", "-Z", "root",
                "-w", pcap.toString()));
        if (!filter.isBlank()) {
            cmd.add(filter);
        }
        Process p = rig.start(ns, cmd, log);
        long deadline = System.nanoTime() + CAPTURE_START.toNanos();
        try {
            while (!logSays(log, "listening on")) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IOException("tcpdump on " + ns + "/" + iface + " did not start: "
                            + Files.readString(log, StandardCharsets.UTF_8).strip());
                }
                Thread.sleep(20);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new UncheckedIOException(new java.io.InterruptedIOException("waiting for tcpdump"));
        }
        return new Capture(p, pcap);
    }

    private static boolean logSays(Path log, String text) throws IOException {
        return Files.exists(log) && Files.readString(log, StandardCharsets.UTF_8).contains(text);
    }

    private static ExecResult orThrow(ExecResult r, String what) {
        try {
            return r.orThrow(what);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Download digest(InputStream in) throws IOException {
        MessageDigest sha = sha256();
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = in.read(buf)) > 0) {
            sha.update(buf, 0, n);
            total += n;
        }
        return new Download(HexFormat.of().formatHex(sha.digest()), total);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * What a download delivered.
     *
     * @param sha256 lower-case hex SHA-256 of the body
     * @param length bytes received
     */
    public record Download(String sha256, long length) {
    }

    /** A running packet capture; {@link #stop()} (or {@link #close()}) ends it and flushes the file. */
    public static final class Capture implements AutoCloseable {
        private static final long SETTLE_MILLIS = 200;
        private static final Pattern TIMESTAMP = Pattern.compile("\\d{2}:\\d{2}:\\d{2}\\.\\d+ ");

        private final Process process;
        private final Path pcap;

        Capture(Process process, Path pcap) {
            this.process = process;
            this.pcap = pcap;
        }

        /** The capture file. */
        public Path pcap() {
            return pcap;
        }

        /**
         * Stops tcpdump (SIGTERM, then SIGKILL after 5 s); idempotent. Waits {@value #SETTLE_MILLIS} ms first:
         * tcpdump drops what it has received but not yet written when it is told to stop.
         */
        public void stop() {
            if (!process.isAlive()) {
                return;
            }
            try {
                Thread.sleep(SETTLE_MILLIS);
                process.destroy();
                if (!process.waitFor(5, TimeUnit.SECONDS)) {
                    CommandRunner.kill(process);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /**
         * The captured packets matching {@code filter} (empty for all) as {@code tcpdump -n -r} prints them,
         * one entry per packet (see {@link #joinContinuations}). Stops the capture first.
         */
        public List<String> packets(String filter) {
            stop();
            List<String> cmd = new ArrayList<>(List.of("tcpdump", "-n", "-r", pcap.toString()));
            if (!filter.isBlank()) {
                cmd.add(filter);
            }
            ExecResult r = Topology.runUnchecked(cmd, Duration.ofSeconds(20));
            orThrow(r, "tcpdump -r " + pcap);
            return joinContinuations(r.stdout());
        }

        @Override
        public void close() {
            stop();
        }

        /**
         * One entry per packet: tcpdump prints an encapsulated packet (VXLAN's inner frame) on a line of its
         * own without a timestamp; such lines are appended to their packet's line after {@code ", "}.
         */
        static List<String> joinContinuations(String tcpdumpOutput) {
            List<String> packets = new ArrayList<>();
            for (String line : tcpdumpOutput.split("\n")) {
                if (line.isBlank()) {
                    continue;
                }
                if (TIMESTAMP.matcher(line).lookingAt() || packets.isEmpty()) {
                    packets.add(line);
                } else {
                    int last = packets.size() - 1;
                    packets.set(last, packets.get(last) + ", " + line.strip());
                }
            }
            return packets;
        }
    }
}
