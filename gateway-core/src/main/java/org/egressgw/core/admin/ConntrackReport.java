package org.egressgw.core.admin;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.egressgw.conntrack.ConnState;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.conntrack.TimeoutPolicy;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.Datapath;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.packet.Ipv4Address;

/**
 * The live connection table as text or JSON lines for {@code egress-gateway conntrack list} and
 * {@code conntrack stats}. Runs on the admin thread and reads the table with its lock-free
 * readers: each row is consistent per field, and an entry removed while the listing runs may
 * appear or not (a snapshot of a moving table, like {@code conntrack -L}).
 */
public final class ConntrackReport {
    /** One table per shard. */
    private final List<ConnTable> tables;
    private final TimeoutPolicy timeouts;
    private final LongSupplier clock;
    private final Supplier<Datapath.PolicyView> policies;
    private final Counters[] request;
    private final Counters[] reply;

    public ConntrackReport(List<ConnTable> tables, TimeoutPolicy timeouts, LongSupplier clock,
            Supplier<Datapath.PolicyView> policies, Counters[] request, Counters[] reply) {
        this.tables = List.copyOf(tables);
        this.timeouts = timeouts;
        this.clock = clock;
        this.policies = policies;
        this.request = request;
        this.reply = reply;
    }

    /**
     * One line per connection, at most {@code limit}, an equal share from each shard; {@code json} gives one JSON
     * object per line (with the shard that owns the connection).
     */
    public String list(boolean json, int limit) {
        long now = clock.getAsLong();
        StringBuilder sb = new StringBuilder();
        Datapath.PolicyView view = policies.get();
        // a limited listing takes an equal share from every shard's table, not the first table's entries
        int share = (int) Math.min(limit, ((long) limit + tables.size() - 1) / tables.size());
        for (int k = 0; k < tables.size(); k++) {
            int shard = k;
            int[] rows = {0};
            tables.get(k).forEach((t, e) -> {
                if (rows[0]++ >= share) {
                    return;
                }
                long oh = t.origHi(e);
                long ol = t.origLo(e);
                long rh = t.replyHi(e);
                long rl = t.replyLo(e);
                int proto = FlowKey.protocol(ol);
                int state = t.state(e);
                long left = Math.max(0, timeouts.timeoutMillis(proto, state) - (now - t.lastSeen(e))) / 1000;
                int policy = t.policy(e);
                String policyName = policy >= 0 && policy < view.table().policyCount() ? view.table().policyName(policy) : "-";
                String orig = endpoint(FlowKey.srcIp(oh), FlowKey.srcPort(ol)) + " -> " + endpoint(FlowKey.dstIp(oh), FlowKey.dstPort(ol));
                String rep = endpoint(FlowKey.srcIp(rh), FlowKey.srcPort(rl)) + " -> " + endpoint(FlowKey.dstIp(rh), FlowKey.dstPort(rl));
                if (json) {
                    sb.append("{\"protocol\":\"").append(protoName(proto))
                            .append("\",\"original\":\"").append(orig)
                            .append("\",\"reply\":\"").append(rep)
                            .append("\",\"state\":\"").append(ConnState.name(state))
                            .append("\",\"expiresInSeconds\":").append(left)
                            .append(",\"policy\":\"").append(jsonEscape(policyName))
                            .append("\",\"node\":\"").append(Ipv4Address.toString(t.vtep(e)))
                            .append("\",\"packets\":[").append(t.packets(e, false)).append(',').append(t.packets(e, true))
                            .append("],\"bytes\":[").append(t.bytes(e, false)).append(',').append(t.bytes(e, true))
                            .append("],\"shard\":").append(shard)
                            .append("}\n");
                } else {
                    sb.append(String.format("%-4s %-44s reply %-44s %-16s %6ds  %-28s node %-15s pkts %d/%d bytes %d/%d",
                            protoName(proto), orig, rep, ConnState.name(state), left, policyName,
                            Ipv4Address.toString(t.vtep(e)), t.packets(e, false), t.packets(e, true), t.bytes(e, false),
                            t.bytes(e, true)));
                    if (tables.size() > 1) {
                        sb.append(" shard ").append(shard);
                    }
                    sb.append(System.lineSeparator());
                }
            });
        }
        return sb.toString();
    }

    /** Counts by state and the non-zero drop counters. */
    public String stats() {
        Map<String, Integer> byState = new TreeMap<>();
        long size = 0;
        long capacity = 0;
        for (ConnTable table : tables) {
            table.forEach((t, e) -> byState.merge(ConnState.name(t.state(e)), 1, Integer::sum));
            size += table.size();
            capacity += table.capacity();
        }
        StringBuilder sb = new StringBuilder();
        sb.append("entries ").append(size).append(" / ").append(capacity);
        if (tables.size() > 1) {
            sb.append(" (").append(tables.size()).append(" shards of ").append(tables.get(0).capacity()).append(')');
        }
        sb.append('\n');
        sb.append("created ").append(Counters.sum(request, Counters.CONN_CREATED))
                .append(" expired ").append(Counters.sum(request, Counters.CONN_EXPIRED))
                .append(" evicted ").append(Counters.sum(request, Counters.CONN_EVICTED)).append('\n');
        sb.append("by state:\n");
        byState.forEach((k, v) -> sb.append("  ").append(k).append(' ').append(v).append('\n'));
        sb.append("drops (request / reply):\n");
        List<String> drops = new ArrayList<>();
        for (int r = 0; r < DropReason.COUNT; r++) {
            long a = Counters.sum(request, Counters.DROPS + r);
            long b = Counters.sum(reply, Counters.DROPS + r);
            if (a != 0 || b != 0) {
                drops.add("  " + DropReason.name(r) + " " + a + " / " + b);
            }
        }
        if (drops.isEmpty()) {
            drops.add("  none");
        }
        drops.forEach(d -> sb.append(d).append('\n'));
        return sb.toString();
    }

    private static String endpoint(int ip, int port) {
        return Ipv4Address.toString(ip) + ":" + port;
    }

    private static String protoName(int proto) {
        return switch (proto) {
            case 6 -> "tcp";
            case 17 -> "udp";
            case 1 -> "icmp";
            default -> Integer.toString(proto);
        };
    }

    private static String jsonEscape(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
