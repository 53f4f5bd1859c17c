package org.egressgw.core.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** A bad configuration is refused before anything touches the host, naming file, line and reason. */
class RunCommandTest {
    @TempDir
    Path dir;

    private int run(ByteArrayOutputStream err, String... args) {
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return new CommandLine(new Main()).execute(args);
        } finally {
            System.setErr(old);
        }
    }

    @Test
    void badConfigIsRefusedWithFileLineAndReason() throws Exception {
        Path cfg = dir.resolve("config.yaml");
        Files.writeString(cfg, """
                node:
                  name: gw-1
                tunnel:
                  listen: 198.51.100.2:8472
                  vni: 99999999
                  allowedPeers: [198.51.100.0/24]
                egress:
                  interface: ext0
                cluster:
                  paths: [policies]
                """);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = run(err, "run", "--config", cfg.toString());
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, code, text);
        assertTrue(text.contains("config.yaml:5"), text);
        assertTrue(text.contains("vni"), text);
    }

    @Test
    void unknownKeyIsRefused() throws Exception {
        Path cfg = dir.resolve("config.yaml");
        Files.writeString(cfg, """
                node: {name: gw-1}
                tunnel: {listen: "198.51.100.2:8472", allowedPeers: [198.51.100.0/24]}
                egress: {interface: ext0, devcie: egw0}
                cluster: {paths: [p]}
                """);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = run(err, "run", "--config", cfg.toString());
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(2, code, text);
        assertTrue(text.contains("config.yaml:3") && text.contains("devcie"), text);
    }

    @Test
    void missingConfigFileIsRefused() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = run(err, "run", "--config", dir.resolve("nope.yaml").toString());
        assertEquals(2, code, err.toString(StandardCharsets.UTF_8));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("nope.yaml"));
    }
}
