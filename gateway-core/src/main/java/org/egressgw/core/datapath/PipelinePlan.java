package org.egressgw.core.datapath;

import java.util.ArrayList;
import java.util.List;
import org.egressgw.conntrack.Timeouts;
import org.egressgw.control.config.EgressConfig;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.config.TunnelConfig;
import org.egressgw.encap.VxlanEncapsulator;
import org.egressgw.nat.PortAllocator;

/**
 * What the pipeline is sized and parameterised by, derived from the configuration in one place — for the gateway,
 * each of its shards, and the replay alike.
 *
 * @param shards independent pipelines; shard k owns ports {@code low + k·span … low + (k+1)·span − 1} of the range,
 *     the last one also the remainder
 * @param ringSize request ring slots
 * @param requestSlot bytes per request slot: the largest tunnel datagram or egress packet behind the headroom
 * @param maxDatagram the longest tunnel datagram a request slot takes (longer ones are dropped as {@code oversize})
 * @param replySlots reply ring slots: with the transmit offload 1/32 of the ring, as its slots take 64 KiB
 *     super-packets (the same memory)
 * @param replySlot bytes per reply slot
 * @param tableEntries connection table entries per shard ({@code conntrack.maxEntries / shards}, rounded up)
 * @param timeouts idle timeouts
 * @param shardSettings each shard's datapath settings (its part of the port range)
 */
public record PipelinePlan(int shards, int ringSize, int requestSlot, int maxDatagram, int replySlots, int replySlot,
        int tableEntries, Timeouts timeouts, List<DatapathSettings> shardSettings) {
    /** The largest reply read whole with the transmit offload: what still fits an IPv4 packet once encapsulated. */
    public static final int MAX_OFFLOADED_PACKET = 0xffff - VxlanEncapsulator.OVERHEAD;
    /**
     * Reply slot room (after the headroom) with the transmit offload: the largest IPv4 packet, plus two cache lines
     * so that consecutive slots do not start at the same offset modulo 64 KiB — with a power-of-two stride every
     * slot's headers would fall into the same cache sets and evict each other within a burst.
     */
    static final int MAX_OFFLOADED_SLOT = 65536 + 128;
    /** The fewest reply slots with the transmit offload. */
    static final int MIN_OFFLOADED_SLOTS = 64;

    /**
     * @param egressMtu the egress interface's MTU (a reply read from the TUN device is at most that long)
     * @param transmitOffload whether replies are read as TCP super-packets ({@code tunnel.offload} in use)
     * @param shards the pipelines to plan for ({@code pipeline.shards}; the replay runs one)
     */
    public static PipelinePlan of(GatewayConfig c, int egressMtu, boolean transmitOffload, int shards) {
        TunnelConfig t = c.tunnel();
        EgressConfig e = c.egress();
        int requestSlot = PacketRing.slotSize(Math.max(t.mtu(), egressMtu));
        int ring = c.pipeline().ringSize();
        int span = (e.portHigh() - e.portLow() + 1) / shards;
        List<DatapathSettings> settings = new ArrayList<>(shards);
        for (int k = 0; k < shards; k++) {
            int low = e.portLow() + k * span;
            int high = k == shards - 1 ? e.portHigh() : low + span - 1;
            settings.add(new DatapathSettings(t.listenIp(), t.dstPort(), t.vni(), t.mac(), t.overlayIp().orElse(0),
                    t.overlayIp().isPresent(), t.allowedPeers(), t.innerMtu(), e.mssClamp(), low, high,
                    PortAllocator.DEFAULT_MAX_TRIES));
        }
        return new PipelinePlan(shards, ring, requestSlot, requestSlot - PacketEvent.REQUEST_OFFSET,
                transmitOffload ? Math.max(MIN_OFFLOADED_SLOTS, ring / 32) : ring,
                transmitOffload ? PacketEvent.REPLY_OFFSET + MAX_OFFLOADED_SLOT : requestSlot,
                (c.conntrack().maxEntries() + shards - 1) / shards, c.conntrack().timeouts(), List.copyOf(settings));
    }

    /** Translated ports each shard owns (the last one also the remainder). */
    public int portSpan() {
        return shardSettings.get(0).portHigh() - shardSettings.get(0).portLow() + 1;
    }
}
