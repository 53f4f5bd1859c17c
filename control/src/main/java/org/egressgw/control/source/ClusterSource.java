package org.egressgw.control.source;

import java.util.function.Consumer;
import org.egressgw.control.policy.ClusterState;

/**
 * Where the cluster's state (policies, pods, namespaces, nodes) comes from: files in kubectl's
 * formats, or the Kubernetes API. A source delivers a complete {@link ClusterState} snapshot
 * whenever something changed; consumers compile it and swap the result in atomically.
 *
 * <p>Threading: {@code onChange} is called from the source's own thread, never concurrently with
 * itself. The first snapshot is delivered by {@link #start} before it returns (so a gateway can
 * start with the state it will serve), later ones as changes are seen.
 */
public interface ClusterSource extends AutoCloseable {
    /**
     * Delivers the current state to {@code onChange}, then keeps watching.
     *
     * @throws Exception if the source cannot be read at all (e.g. the API server is unreachable
     *     at start); problems in individual objects are reported inside the state instead
     */
    void start(Consumer<ClusterState> onChange) throws Exception;

    /** A short description for logs, e.g. "files [policies, inventory]" or "kubernetes https://...". */
    String describe();

    /** Stops watching; idempotent. */
    @Override
    void close();
}
