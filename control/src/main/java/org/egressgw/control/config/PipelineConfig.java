package org.egressgw.control.config;

import java.util.OptionalInt;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;

/**
 * {@code pipeline:} — how the packet path is threaded.
 *
 * @param ringSize slots per Disruptor ring (a power of two)
 * @param spinWhenIdle {@code idle: spin}: the datapath thread never blocks (lowest latency, costs a core);
 *     {@code sleep} (default): it blocks when idle
 * @param inline {@code mode: inline} (default): one thread reads the tunnel socket and the TUN device and runs the
 *     datapath on what it read; {@code handoff}: a receiver thread per side and a datapath thread, joined by rings
 * @param shards independent pipelines, one thread each, every one with its own tunnel socket, TUN queue,
 *     connection table and part of the port range; the kernel steers each packet to the shard owning its connection
 * @param pinCpu the CPU the datapath thread is pinned to (shard k: pinCpu + k), or empty for no pinning
 * @param pollMicros inline, {@code idle: sleep}: the event loop keeps polling until this long passes without a
 *     packet, then blocks in {@code epoll_wait} (the file gives {@code pollMillis} with up to three decimals);
 *     0 blocks as soon as nothing is ready
 */
public record PipelineConfig(int ringSize, boolean spinWhenIdle, boolean inline, int shards, OptionalInt pinCpu,
        long pollMicros) {
    public static final int DEFAULT_RING_SIZE = 16384;
    /** {@code pipeline.pollMillis} when the file does not say. */
    public static final long DEFAULT_POLL_MICROS = 0;
    /** {@code pipeline.mode} when the file does not say. */
    public static final boolean DEFAULT_INLINE = true;
    /** Most shards {@code pipeline.shards} accepts. */
    public static final int MAX_SHARDS = 64;
    /** Fewest translated ports a shard may own. */
    public static final int MIN_PORTS_PER_SHARD = 64;

    /** @param pipeline the section, or null when absent (all defaults) */
    static PipelineConfig parse(YamlNode pipeline, TunnelConfig tunnel, EgressConfig egress) throws SourceException {
        if (pipeline != null) {
            pipeline.allowOnly("ringSize", "idle", "mode", "cpu", "pollMillis", "shards");
        }
        YamlNode ring = ConfigValues.child(pipeline, "ringSize");
        int ringSize = DEFAULT_RING_SIZE;
        if (ring != null) {
            ringSize = ring.intValue(64, 1048576);
            if (Integer.bitCount(ringSize) != 1) {
                throw ring.error(ringSize + " is not a power of two");
            }
        }
        boolean spin = ConfigValues.oneOf(ConfigValues.child(pipeline, "idle"), "sleep", "sleep", "spin").equals("spin");
        YamlNode poll = ConfigValues.child(pipeline, "pollMillis");
        long pollMicros = poll == null ? DEFAULT_POLL_MICROS : ConfigValues.millisToMicros(poll, 60_000);
        YamlNode cpu = ConfigValues.child(pipeline, "cpu");
        OptionalInt pinCpu = cpu == null ? OptionalInt.empty() : OptionalInt.of(cpu.intValue(0, 1023));
        boolean inline = ConfigValues.oneOf(ConfigValues.child(pipeline, "mode"), DEFAULT_INLINE ? "inline" : "handoff",
                "inline", "handoff").equals("inline");
        YamlNode shardsNode = ConfigValues.child(pipeline, "shards");
        int shards = shardsNode == null ? 1 : shardsNode.intValue(1, MAX_SHARDS);
        if (shards > 1) {
            if (!inline) {
                throw shardsNode.error(shards + " shards need pipeline.mode: inline (each shard is one thread that reads"
                        + " its own tunnel socket and TUN queue)");
            }
            if (!tunnel.directReader()) {
                throw shardsNode.error(shards + " shards need tunnel.reader: direct (and no tunnel.gro)");
            }
            int ports = egress.portHigh() - egress.portLow() + 1;
            if (ports / shards < MIN_PORTS_PER_SHARD) {
                throw shardsNode.error("the port range " + egress.portLow() + "-" + egress.portHigh() + " (" + ports
                        + " ports) is too small for " + shards + " shards: each shard owns an equal part of it and needs"
                        + " at least " + MIN_PORTS_PER_SHARD);
            }
        }
        return new PipelineConfig(ringSize, spin, inline, shards, pinCpu, pollMicros);
    }
}
