package org.egressgw.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The stop-the-world pauses of a unified JVM GC log written with {@code -Xlog:gc*:file=F:uptime}:
 * the one summary line per pause that the {@code gc} tag prints, e.g.
 * {@code [65.123s] GC(12) Pause Young (Normal) (G1 Evacuation Pause) 40M->12M(128M) 2.345ms}
 * (also {@code Pause Remark}, {@code Pause Cleanup}, {@code Pause Full}; level and tag decorations,
 * if present, are skipped). Pause start lines (no sizes), phase lines and concurrent phases are
 * ignored.
 */
final class GcLogPauses {
    private static final Pattern PAUSE = Pattern.compile(
            "^\\[(\\d+\\.\\d+)s\\](?:\\[[^\\]]*\\])* GC\\((\\d+)\\) (Pause .*?) (\\d+)([KMG])->(\\d+)([KMG])\\((\\d+)([KMG])\\) (\\d+\\.\\d+)ms\\s*$");

    /**
     * One pause.
     *
     * @param uptimeSeconds JVM uptime at the end of the pause (the log's decoration)
     * @param kind          e.g. {@code Pause Young (Normal) (G1 Evacuation Pause)}
     * @param afterBytes    heap used after the pause
     * @param millis        pause length
     */
    record Pause(double uptimeSeconds, String kind, long afterBytes, double millis) {
        /** Pauses the soak itself asked for ({@code jcmd GC.run}: "Diagnostic Command") are not the gateway's. */
        boolean requested() {
            return kind.contains("Diagnostic Command") || kind.contains("System.gc()");
        }

        boolean young() {
            return kind.startsWith("Pause Young");
        }
    }

    /** Count, percentiles and heap-after-GC of the pauses in one window. */
    record Stats(int count, double p50Millis, double p99Millis, double maxMillis, double medianYoungAfterBytes) {
    }

    private GcLogPauses() {
    }

    /** Every pause in {@code file} and in its rotated siblings ({@code file.0}, {@code file.1}, ...), by time. */
    static List<Pause> read(Path file) throws IOException {
        List<Pause> pauses = new ArrayList<>();
        Path dir = file.toAbsolutePath().getParent();
        String name = file.getFileName().toString();
        try (var files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String n = f.getFileName().toString();
                if (n.equals(name) || n.matches(Pattern.quote(name) + "\\.\\d+")) {
                    for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
                        Pause p = parse(line);
                        if (p != null) {
                            pauses.add(p);
                        }
                    }
                }
            }
        }
        pauses.sort((a, b) -> Double.compare(a.uptimeSeconds(), b.uptimeSeconds()));
        return pauses;
    }

    /** The pause a line reports, or null when it is not a pause summary line. */
    static Pause parse(String line) {
        Matcher m = PAUSE.matcher(line);
        if (!m.matches()) {
            return null;
        }
        return new Pause(Double.parseDouble(m.group(1)), m.group(3), bytes(m.group(6), m.group(7)),
                Double.parseDouble(m.group(10)));
    }

    private static long bytes(String n, String unit) {
        long v = Long.parseLong(n);
        return switch (unit) {
            case "K" -> v << 10;
            case "M" -> v << 20;
            default -> v << 30;
        };
    }

    /** Statistics of the pauses ending in [fromUptime, toUptime), leaving out requested ones. */
    static Stats window(List<Pause> pauses, double fromUptime, double toUptime) {
        List<Pause> in = pauses.stream()
                .filter(p -> !p.requested() && p.uptimeSeconds() >= fromUptime && p.uptimeSeconds() < toUptime)
                .toList();
        if (in.isEmpty()) {
            return new Stats(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        }
        double[] ms = in.stream().mapToDouble(Pause::millis).sorted().toArray();
        double[] after = in.stream().filter(Pause::young).mapToDouble(Pause::afterBytes).sorted().toArray();
        return new Stats(ms.length, percentile(ms, 0.50), percentile(ms, 0.99), ms[ms.length - 1],
                after.length == 0 ? Double.NaN : percentile(after, 0.50));
    }

    /** Nearest-rank percentile of sorted values. */
    static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }
}
