package org.egressgw.core.replay;

import com.lmax.disruptor.RingBuffer;
import java.io.IOException;
import java.io.PrintStream;
import java.util.OptionalInt;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.NoOpIdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.Timeouts;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.policy.ClusterLoader;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.policy.PolicyCompiler;
import org.egressgw.control.policy.ServedPolicy;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DatapathSettings;
import org.egressgw.core.datapath.PipelinePlan;
import org.egressgw.core.datapath.DropObserver;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.core.datapath.EgressSink;
import org.egressgw.core.datapath.NatStats;
import org.egressgw.core.datapath.PacketEvent;
import org.egressgw.core.datapath.PacketRing;
import org.egressgw.core.datapath.TunnelSink;
import org.egressgw.core.datapath.Worker;

/**
 * The production pipeline — {@link Datapath} behind two {@link PacketRing}s, drained by a
 * {@link Worker} — driven on the calling thread with a clock the caller sets, so the same input
 * always gives the same output. Where production has a UDP socket and a TUN reader, the caller
 * offers packets ({@link #request}, {@link #reply}); where it has a TUN writer and a raw socket, the
 * packets go to two {@link PacketConsumer}s.
 *
 * <p>Every offer publishes one ring slot and runs the worker's duty cycle until it is idle, so a
 * packet is completely handled (and its outputs delivered) before the call returns, and connection
 * expiry runs on the offered clock exactly as the production worker runs it on the wall clock.
 *
 * <p>Not thread-safe: one caller thread plays the I/O threads and the datapath thread at once.
 */
public final class ReplayPipeline implements AutoCloseable {
    /** Receives a copy of each packet the pipeline sends. */
    @FunctionalInterface
    public interface PacketConsumer {
        void accept(byte[] packet);
    }

    private static final int RING_SIZE = 64;

    private final ConnTable table;
    private final Datapath datapath;
    private final Worker worker;
    private final RingBuffer<PacketEvent> requests;
    private final RingBuffer<PacketEvent> replies;
    private final int slotSize;
    private final Counters request = new Counters();
    private final Counters reply = new Counters();
    private final Counters tunnelPort = new Counters();
    private final Counters egressPort = new Counters();
    private final int[] egressIps;
    private long now;

    /**
     * @param tableEntries connection table capacity
     * @param slotSize ring slot size in bytes (as production: {@link PacketRing#slotSize})
     * @param egressOut what the gateway would write to the TUN device
     * @param tunnelOut what the gateway would send to the nodes (complete outer IPv4 packets)
     */
    public ReplayPipeline(DatapathSettings settings, org.egressgw.control.policy.PolicyTable policies, int[] egressIps,
            Timeouts timeouts, int tableEntries, int slotSize, PacketConsumer egressOut, PacketConsumer tunnelOut) {
        this.egressIps = egressIps.clone();
        this.slotSize = slotSize;
        this.table = new ConnTable(tableEntries);
        EgressSink egress = (address, length) -> {
            egressOut.accept(copy(address, length));
            return length;
        };
        TunnelSink tunnel = new TunnelSink() {
            @Override
            public boolean add(long address, int length, int dstIp) {
                tunnelOut.accept(copy(address, length));
                return true;
            }

            @Override
            public int flush() {
                return 0;
            }
        };
        PacketRing requestRing = new PacketRing(RING_SIZE, slotSize);
        PacketRing replyRing = new PacketRing(RING_SIZE, slotSize);
        this.requests = requestRing.ring();
        this.replies = replyRing.ring();
        this.datapath = new Datapath(settings, table, new Datapath.PolicyView(policies), egress, tunnel,
                request, reply);
        this.worker = new Worker(datapath, requestRing, replyRing, NoOpIdleStrategy.INSTANCE,
                () -> now, timeouts);
    }

    /**
     * Builds the pipeline a gateway started with {@code config} would run: its policies compiled for
     * its node (interfaces are not looked up: a policy that names only an interface has no egress IP
     * here), its datapath settings, timeouts and table size.
     *
     * @param log where refused policies and the served ones are reported
     * @param tableEntries connection table capacity, or 0 for the configuration's
     */
    public static ReplayPipeline fromConfig(GatewayConfig config, PrintStream log, int tableEntries,
            PacketConsumer egressOut, PacketConsumer tunnelOut) throws IOException {
        ClusterState state = ClusterLoader.load(config.cluster().paths());
        for (String p : state.problems()) {
            log.println("refused: " + p);
        }
        CompiledPolicies compiled = PolicyCompiler.compile(state, config.node().name(), name -> OptionalInt.empty(),
                config.egress().interfaceName());
        for (String p : compiled.problems()) {
            log.println("refused: " + p);
        }
        for (ServedPolicy s : compiled.served()) {
            log.println("policy: serving " + s.name() + " via egress IP " + org.egressgw.packet.Ipv4Address.toString(s.egressIp()));
        }
        int[] egressIps = compiled.served().stream().mapToInt(ServedPolicy::egressIp).distinct().toArray();
        // as a gateway of one shard on an egress interface of 1500 bytes, without the transmit offload
        PipelinePlan plan = PipelinePlan.of(config, REPLAY_EGRESS_MTU, false, 1);
        return new ReplayPipeline(plan.shardSettings().get(0), compiled.table(), egressIps, plan.timeouts(),
                tableEntries > 0 ? tableEntries : plan.tableEntries(), plan.requestSlot(), egressOut, tunnelOut);
    }

    /** The egress interface MTU a replay assumes. */
    static final int REPLAY_EGRESS_MTU = 1500;

    /** Shows every dropped packet to {@code observer} as well (e.g. a {@code DropCapture}). */
    public void dropObserver(DropObserver observer) {
        datapath.dropObserver(observer);
    }

    /**
     * Handles one UDP payload (VXLAN header onwards) received from {@code peerIp} on the tunnel port,
     * at {@code nowMillis}. A payload larger than a ring slot is counted as {@link DropReason#OVERSIZE}
     * on the tunnel port, as the production receiver does.
     */
    public void request(DirectBuffer src, int off, int len, int peerIp, long nowMillis) {
        if (len > slotSize - PacketEvent.REQUEST_OFFSET) {
            tunnelPort.dropReceived(DropReason.OVERSIZE, len);
            return;
        }
        long seq = requests.next();
        PacketEvent ev = requests.get(seq);
        ev.buffer.putBytes(PacketEvent.REQUEST_OFFSET, src, off, len);
        ev.offset = PacketEvent.REQUEST_OFFSET;
        ev.length = len;
        ev.peerIp = peerIp;
        requests.publish(seq);
        run(nowMillis);
    }

    /** Handles one IPv4 packet read from the TUN device at {@code nowMillis}. */
    public void reply(DirectBuffer src, int off, int len, long nowMillis) {
        if (len > slotSize - PacketEvent.REPLY_OFFSET) {
            egressPort.dropReceived(DropReason.OVERSIZE, len);
            return;
        }
        long seq = replies.next();
        PacketEvent ev = replies.get(seq);
        ev.buffer.putBytes(PacketEvent.REPLY_OFFSET, src, off, len);
        ev.offset = PacketEvent.REPLY_OFFSET;
        ev.length = len;
        ev.peerIp = 0;
        replies.publish(seq);
        run(nowMillis);
    }

    /** Lets time pass to {@code nowMillis} (connections expire) without a packet. */
    public void advance(long nowMillis) {
        run(nowMillis);
    }

    private void run(long nowMillis) {
        now = Math.max(now, nowMillis);
        try {
            while (worker.doWork() > 0) {
                // until idle: the packet is handled and expiry caught up
            }
        } catch (Exception e) {
            // a bug, not bad input (bad input is counted inside the datapath): production's worker stops here too
            throw new IllegalStateException("datapath failed at " + now + " ms", e);
        }
    }

    /** Request-direction counters of the datapath. */
    public Counters requestCounters() {
        return request;
    }

    /** Reply-direction counters of the datapath. */
    public Counters replyCounters() {
        return reply;
    }

    /** Drops before the datapath on the tunnel side (oversize datagrams). */
    public Counters tunnelPortCounters() {
        return tunnelPort;
    }

    /** Drops before the datapath on the egress side (oversize packets). */
    public Counters egressPortCounters() {
        return egressPort;
    }

    public ConnTable table() {
        return table;
    }

    /** NAT ports in use per egress IP and the busiest destinations, as of now. */
    public NatStats natStats() {
        datapath.publishStats();
        return datapath.natStats();
    }

    /** NAT ports in use, summed over every egress IP. */
    public long natPortsInUse() {
        long n = 0;
        for (long u : natStats().inUse()) {
            n += u;
        }
        return n;
    }

    /** The egress IPs the compiled policies use (what the egress side's captures are filtered by). */
    public int[] egressIps() {
        return egressIps.clone();
    }

    /** True when {@code ip} is one of {@link #egressIps()}. */
    public boolean isEgressIp(int ip) {
        for (int e : egressIps) {
            if (e == ip) {
                return true;
            }
        }
        return false;
    }

    /** The clock the pipeline last ran at. */
    public long nowMillis() {
        return now;
    }

    private static byte[] copy(long address, int length) {
        byte[] b = new byte[length];
        new UnsafeBuffer(address, length).getBytes(0, b);
        return b;
    }

    @Override
    public void close() {
        table.close();
    }
}
