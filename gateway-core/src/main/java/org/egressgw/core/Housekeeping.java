package org.egressgw.core;

import java.io.PrintStream;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's control-side background work (not the datapath's: expiry runs on each datapath thread), each task a
 * duty cycle run at a fixed delay on one daemon thread: releasing the plumbing of drained egress IPs, and whatever
 * else must follow the host. A task that throws is reported and keeps its schedule — a plain scheduled executor
 * would silently stop running it.
 */
final class Housekeeping implements AutoCloseable {
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "egw-housekeeping");
        t.setDaemon(true);
        return t;
    });
    private final PrintStream out;

    Housekeeping(PrintStream out) {
        this.out = out;
    }

    /** Runs {@code task} every {@code periodMillis}, the first time after one period. */
    void every(long periodMillis, String name, Runnable task) {
        thread.scheduleWithFixedDelay(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                out.println("housekeeping: ! " + name + " failed: " + e);
                out.flush();
            }
        }, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        thread.shutdownNow();
        try {
            thread.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
