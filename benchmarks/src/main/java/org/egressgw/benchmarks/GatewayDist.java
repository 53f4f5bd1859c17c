package org.egressgw.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.function.Consumer;

/** What the end-to-end benchmark and the soak share to run the gateway under test. */
final class GatewayDist {
    private GatewayDist() {
    }

    /**
     * Copies the launcher, the gateway jar and its libraries (the layout {@code bin/egress-gateway}
     * expects) out of the working tree, so a rebuild during the run cannot swap jars under the
     * running gateway; returns {@code dist}.
     */
    static Path snapshot(Path repo, Path dist) throws IOException {
        Path lib = dist.resolve("gateway-core/target/lib");
        Files.createDirectories(lib);
        Files.createDirectories(dist.resolve("bin"));
        Files.copy(repo.resolve("bin/egress-gateway"), dist.resolve("bin/egress-gateway"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.copy(repo.resolve("gateway-core/target/gateway-core.jar"), dist.resolve("gateway-core/target/gateway-core.jar"));
        try (var jars = Files.list(repo.resolve("gateway-core/target/lib"))) {
            for (Path jar : (Iterable<Path>) jars::iterator) {
                Files.copy(jar, lib.resolve(jar.getFileName()));
            }
        }
        return dist;
    }

    /** Waits (60 s at most) until the gateway's log has its ready line; reports that line. */
    static void awaitReady(Process gateway, Path log, Consumer<String> note) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            if (text.contains("egress-gateway ready")) {
                note.accept("gateway: " + text.lines().filter(l -> l.contains("egress-gateway ready")).findFirst().orElse(""));
                return;
            }
            if (!gateway.isAlive()) {
                throw new IOException("gateway exited with " + gateway.exitValue() + " before it was ready:\n" + text);
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("gateway not ready within 60 s:\n" + text);
            }
            Thread.sleep(100);
        }
    }
}
