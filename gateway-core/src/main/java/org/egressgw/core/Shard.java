package org.egressgw.core;

import io.netty.channel.IoEventLoop;
import io.netty.channel.epoll.LinuxSocket;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.config.PipelineConfig;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.core.datapath.ConnectionSync;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DropObserver;
import org.egressgw.core.datapath.EgressSink;
import org.egressgw.core.datapath.PacketRing;
import org.egressgw.core.datapath.PipelinePlan;
import org.egressgw.core.datapath.Worker;
import org.egressgw.core.host.HostPlumbing;
import org.egressgw.core.io.EgressReceiver;
import org.egressgw.core.io.GsoTunEgressSink;
import org.egressgw.core.io.InlineTunReader;
import org.egressgw.core.io.OffloadTunnelSink;
import org.egressgw.core.io.RawTunnelSink;
import org.egressgw.core.io.TunEgressSink;
import org.egressgw.core.io.TunnelReceiver;
import org.egressgw.tunio.CpuAffinity;
import org.egressgw.tunio.RawIpSender;
import org.egressgw.tunio.TunDevice;

/**
 * One pipeline of the gateway: its own TUN queue, rings, connection table, part of the port range (its
 * datapath allocates from {@code portLow..portHigh} only), datapath, counters and — in the inline pipeline —
 * its own event-loop thread reading its own tunnel socket and TUN queue. Nothing in a shard is touched by
 * another shard's thread; the kernel's steering programs ({@link org.egressgw.tunio.FlowSteering}) bring each
 * packet to the shard that owns its connection. A gateway with {@code pipeline.shards: 1} has one shard and no steering.
 */
final class Shard {
    final int index;
    final TunDevice queue;
    final ConnTable table;
    final PacketRing requestRing;
    final PacketRing replyRing;
    final Datapath datapath;
    final Worker worker;
    final Counters request = new Counters();
    final Counters reply = new Counters();
    final Counters tunnelRx = new Counters();
    final Counters egressRx = new Counters();
    TunnelReceiver tunnelReceiver;
    EgressReceiver egressReceiver;
    InlineTunReader inlineTun;
    /** The gateway group's sync lanes of this shard, or null without a group. */
    private ConnectionSync syncLane;
    /** The handoff pipeline's threads (null inline). */
    private Thread workerThread;
    private Thread egressThread;

    /**
     * Builds the shard's tables, rings and datapath as {@code plan} says (policies empty until the first compilation
     * is applied); everything that must be closed is added to {@code resources}.
     *
     * @param tap the TAP queue for the transmit offload, or null without it
     */
    Shard(int index, GatewayConfig config, PipelinePlan plan, TunDevice queue, TunDevice tap, DropObserver dropObserver,
            List<AutoCloseable> resources) throws Exception {
        this.index = index;
        this.queue = queue;
        this.table = new ConnTable(plan.tableEntries());
        resources.add(table);
        RawIpSender raw = new RawIpSender(64);
        resources.add(raw);
        this.requestRing = new PacketRing(plan.ringSize(), plan.requestSlot());
        this.replyRing = new PacketRing(plan.replySlots(), plan.replySlot());
        EgressSink egressSink = config.egress().offload() ? new GsoTunEgressSink(queue) : new TunEgressSink(queue);
        this.datapath = new Datapath(plan.shardSettings().get(index), table, new Datapath.PolicyView(PolicyTable.EMPTY),
                egressSink, tap != null ? new OffloadTunnelSink(raw, tap, HostPlumbing.TAP_MAC, index * (0x10000 / plan.shards()))
                        : new RawTunnelSink(raw),
                request, reply);
        if (tap != null) {
            datapath.replyVnetHeader(queue.vnetHeaderLength());
        }
        if (dropObserver != null) {
            datapath.dropObserver(dropObserver);
        }
        // spin, then yield; the worker itself sleeps after ~2000 idle cycles until a producer wakes it
        this.worker = new Worker(datapath, requestRing, replyRing, new BackoffIdleStrategy(200, 1900, 1000, 1000),
                System::currentTimeMillis, plan.timeouts(), config.pipeline().spinWhenIdle());
    }

    /** Joins the gateway group's state sync; the pipeline's thread applies what peers send as soon as it arrives. */
    void sync(ConnectionSync lane) {
        syncLane = lane;
        datapath.sync(lane);
    }

    /**
     * Inline: one event-loop thread reads the tunnel socket (a bound member of the shards' SO_REUSEPORT group, or
     * null to bind {@code listen} here) and the TUN queue and runs the datapath on each batch it read; the same thread
     * runs the worker's housekeeping (expiry, statistics) every {@link Worker#EXPIRY_INTERVAL_MILLIS}, so the
     * connection table keeps exactly one writer.
     */
    void startInline(InetSocketAddress listen, PipelinePlan plan, GatewayConfig config, LinuxSocket bound, String threadName)
            throws Exception {
        PipelineConfig pc = config.pipeline();
        long pollNanos = pc.spinWhenIdle() ? Long.MAX_VALUE : TimeUnit.MICROSECONDS.toNanos(pc.pollMicros());
        Runnable inline = worker::pollInline;
        egressReceiver = new EgressReceiver(queue, replyRing.ring(), egressRx, inline);
        tunnelReceiver = new TunnelReceiver(listen, requestRing.ring(), plan.maxDatagram(), tunnelRx, inline,
                config.tunnel().gro(), pollNanos, config.tunnel().directReader(), threadName, bound);
        IoEventLoop loop = tunnelReceiver.eventLoop();
        inlineTun = InlineTunReader.register(loop, queue, egressReceiver, inline);
        loop.submit(inline).sync();
        loop.scheduleAtFixedRate(inline, Worker.EXPIRY_INTERVAL_MILLIS, Worker.EXPIRY_INTERVAL_MILLIS, TimeUnit.MILLISECONDS);
        if (syncLane != null) {
            // at most one queued run however often the sync thread asks
            AtomicBoolean queued = new AtomicBoolean();
            Runnable apply = () -> {
                queued.set(false);
                inline.run();
            };
            syncLane.waker(() -> {
                if (queued.compareAndSet(false, true)) {
                    loop.execute(apply);
                }
            });
        }
        if (pc.pinCpu().isPresent()) {
            int cpu = pc.pinCpu().getAsInt() + index;
            loop.submit(() -> CpuAffinity.pinCurrentThread(cpu)).sync();
        }
    }

    /** Handoff: three threads joined by the rings — tunnel receiver, TUN receiver, datapath (one shard only). */
    void startHandoff(InetSocketAddress listen, PipelinePlan plan, GatewayConfig config, LinuxSocket bound) throws Exception {
        OptionalInt cpu = config.pipeline().pinCpu();
        CompletableFuture<Void> pinned = new CompletableFuture<>();
        workerThread = new Thread(() -> {
            try {
                cpu.ifPresent(CpuAffinity::pinCurrentThread);
                pinned.complete(null);
            } catch (RuntimeException e) {
                pinned.completeExceptionally(e);
                return;
            }
            worker.run();
        }, "egw-datapath");
        workerThread.setDaemon(true);
        workerThread.start();
        try {
            // a CPU the kernel refuses (offline, outside the container's cpuset) fails the start
            pinned.join();
        } catch (CompletionException e) {
            throw (RuntimeException) e.getCause();
        }
        if (syncLane != null) {
            syncLane.waker(worker::wake);
        }
        egressReceiver = new EgressReceiver(queue, replyRing.ring(), egressRx, worker::wake);
        egressThread = new Thread(egressReceiver, "egw-egress-rx");
        egressThread.setDaemon(true);
        egressThread.start();
        tunnelReceiver = new TunnelReceiver(listen, requestRing.ring(), plan.maxDatagram(), tunnelRx, worker::wake,
                config.tunnel().gro(), 0, config.tunnel().directReader(), "egw-tunnel-rx", bound);
    }

    /** Stops reading the inputs (first step of shutting down; the tunnel socket closes with its event loop). */
    void stopInputs() {
        if (inlineTun != null) {
            inlineTun.cancel();
        }
        if (tunnelReceiver != null) {
            tunnelReceiver.close();
        }
    }

    /** Stops the datapath and sends what it batched (after {@link #stopInputs}). */
    void stopDatapath() {
        if (egressReceiver != null) {
            egressReceiver.stop();
        }
        worker.stop();
        join(egressThread);
        join(workerThread);
        if (workerThread == null) {
            // inline: the event loop that ran the datapath has terminated; send what it batched
            datapath.flush();
        }
    }

    private static void join(Thread t) {
        if (t == null) {
            return;
        }
        try {
            t.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** True while its datapath runs and its inputs are read. */
    boolean healthy() {
        return worker.isRunning() && tunnelReceiver != null && !tunnelReceiver.failed()
                && (inlineTun == null || !inlineTun.failed());
    }
}
