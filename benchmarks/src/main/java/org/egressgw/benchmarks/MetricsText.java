package org.egressgw.benchmarks;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A scrape of a Prometheus text exposition: every sample line as {@code name{labels}} → value.
 * Comment lines are skipped; a line whose value does not parse is skipped too (this is a
 * benchmark's reader, not a validator).
 */
final class MetricsText {
    private final Map<String, Double> samples;

    private MetricsText(Map<String, Double> samples) {
        this.samples = samples;
    }

    static MetricsText parse(String text) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            // label values may contain spaces; the value is the last token
            int sp = line.lastIndexOf(' ');
            if (sp <= 0) {
                continue;
            }
            try {
                m.put(line.substring(0, sp).strip(), Double.parseDouble(line.substring(sp + 1)));
            } catch (NumberFormatException e) {
                // not a sample line we understand
            }
        }
        return new MetricsText(m);
    }

    boolean isEmpty() {
        return samples.isEmpty();
    }

    /**
     * Sum of every sample named {@code name} (with any labels) whose label text contains each of
     * {@code labelParts} (e.g. {@code area="heap"}); NaN when none matches.
     */
    double sum(String name, String... labelParts) {
        double total = 0;
        boolean found = false;
        for (Map.Entry<String, Double> e : samples.entrySet()) {
            String key = e.getKey();
            int brace = key.indexOf('{');
            String n = brace < 0 ? key : key.substring(0, brace);
            if (!n.equals(name)) {
                continue;
            }
            String labels = brace < 0 ? "" : key.substring(brace);
            boolean all = true;
            for (String part : labelParts) {
                if (!labels.contains(part)) {
                    all = false;
                    break;
                }
            }
            if (all) {
                total += e.getValue();
                found = true;
            }
        }
        return found ? total : Double.NaN;
    }

    /** The samples whose name is {@code name}, by their full key. */
    Map<String, Double> family(String name) {
        Map<String, Double> out = new LinkedHashMap<>();
        samples.forEach((k, v) -> {
            if (k.equals(name) || k.startsWith(name + "{")) {
                out.put(k, v);
            }
        });
        return out;
    }
}
