package org.egressgw.core;

import java.util.List;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.Timeouts;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.policy.PolicyTable;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DatapathSettings;
import org.egressgw.core.datapath.DropObserver;
import org.egressgw.core.datapath.EgressSink;
import org.egressgw.core.datapath.PacketRing;
import org.egressgw.core.datapath.Worker;
import org.egressgw.core.host.HostPlumbing;
import org.egressgw.core.io.EgressReceiver;
import org.egressgw.core.io.GsoTunEgressSink;
import org.egressgw.core.io.InlineTunReader;
import org.egressgw.core.io.OffloadTunnelSink;
import org.egressgw.core.io.RawTunnelSink;
import org.egressgw.core.io.TunEgressSink;
import org.egressgw.core.io.TunnelReceiver;
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

    /**
     * Builds the shard's tables, rings and datapath (policies empty until the first compilation is applied);
     * everything that must be closed is added to {@code resources}.
     *
     * @param tap the TAP queue for the transmit offload, or null without it
     * @param replySlots reply ring slots, {@code replySlot} bytes each
     */
    Shard(int index, GatewayConfig config, TunDevice queue, TunDevice tap, int portLow, int portHigh, int tableEntries,
            int requestSlot, int replySlots, int replySlot, Timeouts timeouts, DropObserver dropObserver,
            List<AutoCloseable> resources) throws Exception {
        this.index = index;
        this.queue = queue;
        this.table = new ConnTable(tableEntries);
        resources.add(table);
        RawIpSender raw = new RawIpSender(64);
        resources.add(raw);
        this.requestRing = new PacketRing(config.pipeline().ringSize(), requestSlot);
        this.replyRing = new PacketRing(replySlots, replySlot);
        DatapathSettings settings = new DatapathSettings(config.tunnel().listenIp(), config.tunnel().dstPort(), config.tunnel().vni(),
                config.tunnel().mac(), config.tunnel().overlayIp().orElse(0), config.tunnel().overlayIp().isPresent(), config.tunnel().allowedPeers(),
                config.tunnel().innerMtu(), config.egress().mssClamp(), portLow, portHigh, Gateway.PORT_TRIES);
        EgressSink egressSink = config.egress().offload() ? new GsoTunEgressSink(queue) : new TunEgressSink(queue);
        this.datapath = new Datapath(settings, table, new Datapath.PolicyView(PolicyTable.EMPTY), egressSink,
                tap != null ? new OffloadTunnelSink(raw, tap, HostPlumbing.TAP_MAC, index * (0x10000 / config.pipeline().shards()))
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
                System::currentTimeMillis, timeouts, config.pipeline().spinWhenIdle());
    }

    /** True while its datapath runs and its inputs are read. */
    boolean healthy() {
        return worker.isRunning() && tunnelReceiver != null && !tunnelReceiver.failed()
                && (inlineTun == null || !inlineTun.failed());
    }
}
