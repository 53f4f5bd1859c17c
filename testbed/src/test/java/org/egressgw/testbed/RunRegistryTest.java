package org.egressgw.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunRegistryTest {

    private static final RunRegistry.Owner LIVE = new RunRegistry.Owner(100, 5);
    private static final RunRegistry.Owner DEAD = new RunRegistry.Owner(200, 7);

    @TempDir
    Path dir;

    private RunRegistry registry() {
        return new RunRegistry(dir, LIVE::equals);
    }

    @Test
    void prefixesAreShortUniqueAndFitInterfaceAndNamespaceNames() throws IOException {
        RunRegistry r = registry();
        Random random = new Random(42);
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            String prefix = r.claim(LIVE, List.of(), random);
            assertTrue(prefix.matches("egw[0-9a-f]{4}"), prefix);
            assertTrue(seen.add(prefix), "claimed twice: " + prefix);
            assertEquals(Optional.of(prefix), RunRegistry.prefixOf(prefix + "-pod1"));
        }
    }

    @Test
    void claimSkipsPrefixesOfExistingNamespacesAndExistingMarkers() throws IOException {
        RunRegistry r = registry();
        String first = r.claim(LIVE, List.of(), new Random(7));
        // same seed: the first candidate is taken by a marker, so a different prefix comes back
        String second = r.claim(LIVE, List.of(), new Random(7));
        assertNotEquals(first, second);
        String third = r.claim(LIVE, List.of(String.format("egw%04x-node", new Random(9).nextInt(1 << 16))),
                new Random(9));
        assertNotEquals(String.format("egw%04x", new Random(9).nextInt(1 << 16)), third);
    }

    @Test
    void claimGivesUpWhenEverythingIsTaken() throws IOException {
        RunRegistry r = registry();
        Random constant = new Random() {
            @Override
            public int nextInt(int bound) {
                return 0x1234;
            }
        };
        r.claim(LIVE, List.of(), constant);
        assertThrows(IOException.class, () -> r.claim(LIVE, List.of(), constant));
    }

    @Test
    void namespacesOfDeadOrUnknownRunsAreStaleOthersAreNot() throws IOException {
        RunRegistry r = registry();
        String live = r.claim(LIVE, List.of(), new Random(1));
        String dead = r.claim(DEAD, List.of(), new Random(2));
        List<String> all = List.of(live + "-pod1", live + "-gw", dead + "-pod1", dead + "-ext",
                "egwffff-node", // no marker: a run that died before... or never had one; stale either way
                "someone-else", "egw-other", "egw12345-pod1", "EGW1234-pod1");
        assertEquals(List.of(dead + "-pod1", dead + "-ext", "egwffff-node"), r.staleNamespaces(all));
        assertEquals(List.of(dead), r.staleMarkers());
        r.release(dead);
        assertEquals(List.of(), r.staleMarkers());
        assertFalse(r.isStale(live));
    }

    @Test
    void corruptMarkerMeansDeadRun() throws IOException {
        Files.writeString(dir.resolve("egwabcd"), "not a pid\n");
        assertTrue(registry().isStale("egwabcd"));
        assertEquals(List.of("egwabcd"), registry().staleMarkers());
    }

    @Test
    void ownerRoundTripsAndThisJvmIsAlive() {
        RunRegistry.Owner me = RunRegistry.Owner.current();
        assertEquals(Optional.of(me), RunRegistry.Owner.parse(me.toMarker()));
        assertTrue(me.isAlive());
        assertFalse(new RunRegistry.Owner(me.pid(), me.startMillis() + 1_000).isAlive() && me.startMillis() >= 0);
        assertEquals(Optional.empty(), RunRegistry.Owner.parse(""));
        assertEquals(Optional.empty(), RunRegistry.Owner.parse("12 x"));
        assertEquals(Optional.empty(), RunRegistry.Owner.parse("1 2 3"));
    }

    @Test
    void parsesIpNetnsList() {
        assertEquals(List.of("egw1a2b-pod1", "blue", "red"),
                RunRegistry.parseNetnsList("egw1a2b-pod1 (id: 3)\nblue\n\n  red (id: 0)\n"));
        assertEquals(List.of(), RunRegistry.parseNetnsList(""));
    }

    @Test
    void lockedRunsTheActionAndReturnsItsValue() throws Exception {
        assertEquals("done", registry().locked(() -> "done"));
        assertTrue(Files.exists(dir.resolve(".lock")));
        assertEquals(List.of(), registry().staleMarkers(), "the lock file is not a marker");
    }
}
