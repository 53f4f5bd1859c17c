package org.egressgw.core.host;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Properties;

/**
 * What the gateway cannot mark on the host itself but must know again after a crash, in a small file next to its
 * lock ({@link GatewayLock#stateFile()}): the values sysctls had before the gateway changed them (a successor must
 * restore those, not the values the dead gateway set), and the ingress qdisc it created. Written before the change
 * it describes (atomically, by rename), removed at a clean exit. Everything else the gateway adds carries a mark the
 * kernel keeps (see {@link Leftovers}).
 *
 * <p>Threading: called under the plumbing's lock.
 */
final class PlumbingState {
    private final Path file;
    private final Properties values = new Properties();

    /** Reads the file if a previous gateway left one (after a crash), else starts empty. */
    PlumbingState(Path file) throws IOException {
        this.file = file;
        if (file != null && Files.exists(file)) {
            try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                values.load(r);
            }
        }
    }

    /** True if a gateway that did not exit cleanly left this state. */
    boolean inherited() {
        return !values.isEmpty();
    }

    /** A sysctl's value before any gateway changed it, if one did. */
    String originalSysctl(String key) {
        return values.getProperty("sysctl." + key);
    }

    /** Records a sysctl's original value, once: a later change keeps the first original. */
    void sysctlChanged(String key, String original) throws IOException {
        if (values.putIfAbsent("sysctl." + key, original) == null) {
            save();
        }
    }

    void sysctlRestored(String key) throws IOException {
        if (values.remove("sysctl." + key) != null) {
            save();
        }
    }

    /** True if the gateway created the ingress qdisc of {@code device}. */
    boolean ownsIngressQdisc(String device) {
        return values.containsKey("qdisc." + device);
    }

    void ingressQdisc(String device, boolean owned) throws IOException {
        if (owned) {
            values.setProperty("qdisc." + device, "ingress");
        } else {
            values.remove("qdisc." + device);
        }
        save();
    }

    private void save() throws IOException {
        if (file == null) {
            return;
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            values.store(w, "egress-gateway host plumbing: what to undo after a crash");
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** At a clean exit, after everything was undone. */
    void delete() {
        if (file == null) {
            return;
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // nothing left to undo with it; a successor finds only stale, harmless values
        }
    }
}
