package org.egressgw.kube;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.egressgw.control.policy.ClusterState;

/**
 * The {@code onChange} of a test: keeps every delivered snapshot, the threads they came from,
 * and whether two deliveries ever overlapped. Thread-safe.
 */
final class StateRecorder implements Consumer<ClusterState> {
    final List<ClusterState> delivered = new CopyOnWriteArrayList<>();
    final Set<String> threads = ConcurrentHashMap.newKeySet();
    private final AtomicInteger inside = new AtomicInteger();
    volatile boolean overlapped;
    private volatile ClusterState latest;

    @Override
    public void accept(ClusterState state) {
        if (inside.incrementAndGet() > 1) {
            overlapped = true;
        }
        try {
            threads.add(Thread.currentThread().getName());
            delivered.add(state);
            latest = state;
            Thread.sleep(2); // widen the window in which an overlapping delivery would be seen
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            inside.decrementAndGet();
        }
    }

    ClusterState latest() {
        return latest;
    }

    /**
     * Waits until the latest delivered snapshot satisfies {@code condition}, polling every 5 ms,
     * and fails after {@code timeout} naming {@code what}.
     */
    ClusterState await(String what, Duration timeout, Predicate<ClusterState> condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            ClusterState s = latest;
            if (s != null && condition.test(s)) {
                if (Boolean.getBoolean("egw.kube.timing")) {
                    System.out.println("TIMING " + what + ": "
                            + (System.nanoTime() - deadline + timeout.toNanos()) / 1_000_000 + " ms");
                }
                return s;
            }
            if (System.nanoTime() - deadline > 0) {
                fail("not delivered within " + timeout.toMillis() + " ms: " + what + "; latest snapshot: "
                        + (s == null ? "none" : describe(s)));
            }
            Thread.sleep(5);
        }
    }

    static String describe(ClusterState s) {
        return "pods=" + s.pods() + " namespaces=" + s.namespaces() + " nodes=" + s.nodes()
                + " policies=" + s.policies().stream().map(p -> p.name()).toList() + " problems=" + s.problems();
    }
}
