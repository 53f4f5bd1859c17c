package org.egressgw.control.source;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.policy.ClusterState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileClusterSourceTest {
    @TempDir
    Path dir;

    private final BlockingQueue<ClusterState> states = new LinkedBlockingQueue<>();
    private FileClusterSource source;

    @AfterEach
    void stop() {
        if (source != null) {
            source.close();
        }
    }

    private static String pods(String... names) {
        StringBuilder sb = new StringBuilder();
        for (String n : names) {
            sb.append("---\napiVersion: v1\nkind: Pod\nmetadata: {name: ").append(n).append(", namespace: default}\n");
        }
        return sb.toString();
    }

    /** Writes as editors do: a temporary file renamed over the target. */
    private void write(Path f, String text) throws Exception {
        Path tmp = f.resolveSibling("." + f.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static List<String> names(ClusterState s) {
        return s.pods().stream().map(Pod::name).sorted().toList();
    }

    private ClusterState start(Path... paths) throws Exception {
        source = new FileClusterSource(List.of(paths));
        source.start(states::add);
        ClusterState first = states.poll();
        assertNotNull(first, "the first state is delivered before start returns");
        return first;
    }

    /** Waits for the next state and checks it came within 1 s of {@code since}. */
    private ClusterState next(long since) throws Exception {
        ClusterState s = states.poll(2, TimeUnit.SECONDS);
        assertNotNull(s, "no state delivered");
        long ms = (System.nanoTime() - since) / 1_000_000;
        assertTrue(ms < 1000, "change applied after " + ms + " ms");
        return s;
    }

    @Test
    void changeIsAppliedWithinASecondAndNothingElseIsDelivered() throws Exception {
        Path a = dir.resolve("a.yaml");
        write(a, pods("p1"));
        assertEquals(List.of("p1"), names(start(dir)));

        long t = System.nanoTime();
        write(a, pods("p1", "p2"));
        assertEquals(List.of("p1", "p2"), names(next(t)));

        t = System.nanoTime();
        write(dir.resolve("b.yml"), pods("p3"));
        assertEquals(List.of("p1", "p2", "p3"), names(next(t)));

        // same content rewritten, timestamps moved: not a change
        write(a, pods("p1", "p2"));
        Files.setLastModifiedTime(a, FileTime.fromMillis(System.currentTimeMillis() + 5000));
        Files.writeString(dir.resolve("ignored.txt"), "not a cluster file");
        assertNull(states.poll(900, TimeUnit.MILLISECONDS), "no callback when nothing changed");
    }

    @Test
    void badEditKeepsTheFilesLastGoodObjectsAndDeleteRemovesThem() throws Exception {
        Path a = dir.resolve("a.yaml");
        Path b = dir.resolve("b.yaml");
        write(a, pods("p1", "p2"));
        write(b, pods("q1"));
        assertEquals(List.of("p1", "p2", "q1"), names(start(dir)));

        long t = System.nanoTime();
        write(a, "apiVersion: v1\nkind: Pod\nmetadata: {name: [broken\n");
        ClusterState bad = next(t);
        assertEquals(List.of("p1", "p2", "q1"), names(bad), "last good objects of a.yaml are kept");
        assertEquals(1, bad.problems().size(), bad.problems().toString());
        assertTrue(bad.problems().get(0).startsWith(a + ":"), bad.problems().get(0));
        assertTrue(bad.problems().get(0).endsWith("(file skipped); keeping its last good 2 object(s)"), bad.problems().get(0));

        t = System.nanoTime();
        write(a, pods("p1"));
        ClusterState fixed = next(t);
        assertEquals(List.of("p1", "q1"), names(fixed));
        assertEquals(List.of(), fixed.problems());

        t = System.nanoTime();
        Files.delete(a);
        assertEquals(List.of("q1"), names(next(t)), "deleting a file removes its objects");

        t = System.nanoTime();
        write(b, "\u0000not yaml: [");
        ClusterState broken = next(t);
        assertEquals(List.of("q1"), names(broken));
    }

    @Test
    void configMapSymlinkSwapIsSeen() throws Exception {
        // the layout kubelet uses for a mounted ConfigMap: name -> ..data/name, ..data -> ..<timestamp>
        Path v1 = Files.createDirectory(dir.resolve("..2026_01_01_v1"));
        Files.writeString(v1.resolve("pods.yaml"), pods("old"));
        Path v2 = Files.createDirectory(dir.resolve("..2026_01_02_v2"));
        Files.writeString(v2.resolve("pods.yaml"), pods("new")); // same size as v1's
        Files.createSymbolicLink(dir.resolve("..data"), v1.getFileName());
        Files.createSymbolicLink(dir.resolve("pods.yaml"), Path.of("..data", "pods.yaml"));
        Files.setLastModifiedTime(v2.resolve("pods.yaml"), Files.getLastModifiedTime(v1.resolve("pods.yaml")));
        assertEquals(List.of("old"), names(start(dir)));

        long t = System.nanoTime();
        Path tmpLink = dir.resolve("..data_tmp");
        Files.createSymbolicLink(tmpLink, v2.getFileName());
        Files.move(tmpLink, dir.resolve("..data"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        assertEquals(List.of("new"), names(next(t)));
    }

    @Test
    void missingPathIsAProblemUntilItAppears() throws Exception {
        Path later = dir.resolve("later.yaml");
        ClusterState first = start(later);
        assertEquals(List.of(later + ": no such file or directory"), first.problems());
        long t = System.nanoTime();
        write(later, pods("x"));
        ClusterState s = next(t);
        assertEquals(List.of("x"), names(s));
        assertEquals(List.of(), s.problems());
        source.close();
        source.close(); // idempotent
        write(later, pods("y"));
        assertNull(states.poll(700, TimeUnit.MILLISECONDS), "closed: no more callbacks");
        assertTrue(source.describe().contains("later.yaml"));
    }
}
