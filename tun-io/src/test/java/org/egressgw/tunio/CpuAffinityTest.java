package org.egressgw.tunio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class CpuAffinityTest {
    private static String allowedList() throws Exception {
        return Files.readAllLines(Path.of("/proc/thread-self/status")).stream()
                .filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst().orElseThrow()
                .substring("Cpus_allowed_list:".length()).strip();
    }

    @Test
    void pinsOnlyTheCallingThread() throws Exception {
        String before = allowedList();
        // the last CPU this process may use (a container's cpuset need not start at 0)
        String[] ranges = before.split(",");
        String lastRange = ranges[ranges.length - 1];
        int last = Integer.parseInt(lastRange.substring(lastRange.indexOf('-') + 1));
        String pinned = CompletableFuture.supplyAsync(() -> {
            CpuAffinity.pinCurrentThread(last);
            try {
                return allowedList();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, r -> new Thread(r).start()).get();
        assertEquals(Integer.toString(last), pinned);
        assertEquals(before, allowedList(), "the test thread itself is untouched");
    }

    @Test
    void refusesCpusThatDoNotExist() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> CpuAffinity.pinCurrentThread(-1));
        assertThrows(IllegalArgumentException.class, () -> CpuAffinity.pinCurrentThread(CpuAffinity.MAX_CPUS));
        Throwable[] thrown = new Throwable[1];
        Thread t = new Thread(() -> {
            try {
                CpuAffinity.pinCurrentThread(CpuAffinity.MAX_CPUS - 1);
            } catch (Throwable x) {
                thrown[0] = x;
            }
        });
        t.start();
        t.join();
        assertTrue(thrown[0] instanceof UncheckedIOException, String.valueOf(thrown[0]));
        Throwable e = thrown[0];
        assertTrue(e.getMessage().contains("sched_setaffinity"), e.getMessage());
    }
}
