package org.egressgw.core.admin;

import org.egressgw.core.host.HostReconciler;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;
import java.util.function.Supplier;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.core.datapath.NatStats;
import org.egressgw.packet.Ipv4Address;

/**
 * Exposes the datapath's counters as Prometheus metrics. Values are read at scrape time from the
 * counters the datapath threads own (callbacks), so the hot path never touches a metrics library.
 */
public final class GatewayMetrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();

    /**
     * @param request counters of the request direction, one per writer thread
     * @param reply counters of the reply direction, one per writer thread
     * @param tables the connection tables, one per shard
     * @param shardRequest the datapath's request counters of each shard, in shard order
     * @param shardReply the datapath's reply counters of each shard, in shard order
     * @param natPerShard each shard's NAT statistics (each shard allocates from its own part of the port range)
     */
    public GatewayMetrics(Counters[] request, Counters[] reply, List<ConnTable> tables, Counters[] shardRequest,
            Counters[] shardReply, Supplier<List<NatStats>> natPerShard, Supplier<Integer> policiesServed) {
        Supplier<NatStats> nat = () -> NatStats.merge(natPerShard.get());
        counter("egw_rx_packets", "Packets received, by direction (request: from the tunnel; reply: from the egress side)",
                Counters.RX_PACKETS, request, reply);
        counter("egw_rx_bytes", "Bytes received, by direction", Counters.RX_BYTES, request, reply);
        counter("egw_tx_packets", "Packets sent, by direction (request: out of the egress side; reply: into the tunnel)",
                Counters.TX_PACKETS, request, reply);
        counter("egw_tx_bytes", "Bytes sent, by direction", Counters.TX_BYTES, request, reply);
        CounterWithCallback.builder().name("egw_drops").help("Packets dropped, by direction and reason")
                .labelNames("direction", "reason")
                .callback(cb -> {
                    for (int r = 0; r < DropReason.COUNT; r++) {
                        cb.call(Counters.sum(request, Counters.DROPS + r), "request", DropReason.name(r));
                        cb.call(Counters.sum(reply, Counters.DROPS + r), "reply", DropReason.name(r));
                    }
                }).register(registry);
        CounterWithCallback.builder().name("egw_shard_rx_packets")
                .help("Packets each shard's datapath received, by direction (pipeline.shards; a lasting imbalance"
                        + " means a few flows carry most of the traffic)")
                .labelNames("shard", "direction")
                .callback(cb -> {
                    for (int k = 0; k < shardRequest.length; k++) {
                        cb.call(shardRequest[k].get(Counters.RX_PACKETS), Integer.toString(k), "request");
                        cb.call(shardReply[k].get(Counters.RX_PACKETS), Integer.toString(k), "reply");
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("egw_shard_conntrack_entries").help("Connections in each shard's table")
                .labelNames("shard")
                .callback(cb -> {
                    for (int k = 0; k < tables.size(); k++) {
                        cb.call(tables.get(k).size(), Integer.toString(k));
                    }
                }).register(registry);
        single("egw_arp_replies", "ARP requests answered over the tunnel", Counters.ARP_REPLIES, request);
        counter("egw_mss_clamped", "SYN and SYN-ACK segments whose MSS was lowered to fit the tunnel",
                Counters.MSS_CLAMPED, request, reply);
        single("egw_icmp_frag_needed_sent", "ICMP fragmentation-needed messages sent for replies too big for the tunnel",
                Counters.FRAG_NEEDED_SENT, reply);
        counter("egw_icmp_errors_sent", "ICMP time exceeded messages the gateway sent as an IP hop",
                Counters.ICMP_ERRORS_SENT, request, reply);
        single("egw_icmp_errors_translated", "ICMP errors from outside translated back to the pod (RFC 5508)",
                Counters.ICMP_ERRORS_TRANSLATED, reply);
        single("egw_super_packets", "Replies that arrived as one TCP super-packet of several segments and were"
                + " translated and tunnelled whole (tunnel.offload)", Counters.SUPER_PACKETS, reply);
        single("egw_replies_fragmented", "Replies too big for the tunnel, without DF, that the gateway cut into"
                + " fragments (each counted once as sent)", Counters.FRAGMENTED, reply);
        single("egw_connections_created", "Connections tracked", Counters.CONN_CREATED, request);
        single("egw_connections_expired", "Connections removed after their idle timeout", Counters.CONN_EXPIRED, request);
        single("egw_connections_evicted", "Unreplied connections evicted early because the table was full",
                Counters.CONN_EVICTED, request);
        GaugeWithCallback.builder().name("egw_conntrack_entries").help("Connections in the table")
                .callback(cb -> cb.call(tables.stream().mapToLong(ConnTable::size).sum())).register(registry);
        GaugeWithCallback.builder().name("egw_conntrack_capacity").help("Maximum connections in the table")
                .callback(cb -> cb.call(tables.stream().mapToLong(ConnTable::capacity).sum())).register(registry);
        GaugeWithCallback.builder().name("egw_nat_ports_in_use").help("Translated ports in use, per egress IP")
                .labelNames("egress_ip")
                .callback(cb -> {
                    NatStats s = nat.get();
                    for (int i = 0; i < s.egressIps().length; i++) {
                        cb.call(s.inUse()[i], Ipv4Address.toString(s.egressIps()[i]));
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("egw_nat_destination_ports_in_use")
                .help("Translated ports in use towards the busiest destinations (top 30), per egress IP, protocol and destination")
                .labelNames("egress_ip", "protocol", "destination")
                .callback(cb -> {
                    for (NatStats.Destination d : nat.get().busiest()) {
                        cb.call(d.inUse(), Ipv4Address.toString(d.egressIp()), protoName(d.protocol()),
                                Ipv4Address.toString(d.remoteIp()) + ":" + d.remotePort());
                    }
                }).register(registry);
        GaugeWithCallback.builder().name("egw_nat_saturation_percent")
                .help("Ports in use towards the busiest destination, in percent of the port range (alert before 100);"
                        + " with shards, of the fullest shard's part of the range: new connections to a destination"
                        + " fail once the part of the shard they hash to is used up")
                .callback(cb -> cb.call(natPerShard.get().stream().flatMap(s -> s.busiest().stream())
                        .mapToDouble(NatStats.Destination::saturationPercent).max().orElse(0))).register(registry);
        // heap, GC, buffer pools, threads, file descriptors: what a soak watches for growth
        JvmMetrics.builder().register(registry);
        GaugeWithCallback.builder().name("egw_policies_served").help("Egress gateway policies this gateway serves")
                .callback(cb -> cb.call(policiesServed.get())).register(registry);
    }

    /** The host plumbing's state and repairs ({@link HostReconciler}). */
    public void plumbing(HostReconciler host) {
        CounterWithCallback.builder().name("egw_plumbing_repairs")
                .help("Host plumbing the gateway found missing and restored (route, proxy_arp, tc_filter, tc_qdisc,"
                        + " nft_table, nft_element, device_up, link_local_address)")
                .labelNames("what")
                .callback(cb -> host.repairs().forEach((what, n) -> cb.call(n, what))).register(registry);
        GaugeWithCallback.builder().name("egw_plumbing_complete")
                .help("1 while every piece of host plumbing is in place (what /healthz checks besides the datapath)")
                .callback(cb -> cb.call(host.complete() ? 1 : 0)).register(registry);
        GaugeWithCallback.builder().name("egw_egress_link_up")
                .help("1 while the egress interface is up with carrier (part of /readyz)")
                .callback(cb -> cb.call(host.egressLinkUp() ? 1 : 0)).register(registry);
    }

    /** The gateway group: role, transitions, sync ({@link HaController}). */
    public void ha(org.egressgw.core.ha.HaController ha) {
        GaugeWithCallback.builder().name("egw_ha_active").help("1 on the group's active member, 0 otherwise")
                .callback(cb -> cb.call(ha.active() ? 1 : 0)).register(registry);
        GaugeWithCallback.builder().name("egw_ha_role").help("1 for this member's role (active, standby, fault)")
                .labelNames("role")
                .callback(cb -> {
                    for (org.egressgw.core.ha.HaController.Role r : org.egressgw.core.ha.HaController.Role.values()) {
                        cb.call(ha.role() == r ? 1 : 0, r.name().toLowerCase(java.util.Locale.ROOT));
                    }
                }).register(registry);
        CounterWithCallback.builder().name("egw_ha_transitions").help("Changes of this member between active and not")
                .callback(cb -> cb.call(ha.transitions())).register(registry);
        GaugeWithCallback.builder().name("egw_ha_sync_lag_entries")
                .help("Connections sent to a peer and not acknowledged yet (the most over the peers)")
                .callback(cb -> cb.call(ha.syncLag())).register(registry);
        CounterWithCallback.builder().name("egw_ha_auth_failures")
                .help("HA messages refused: another key, altered or replayed (VRRP advertisements, sync frames)")
                .labelNames("channel")
                .callback(cb -> {
                    cb.call(ha.agent().authFailures(), "vrrp");
                    cb.call(ha.sync().authFailures(), "sync");
                }).register(registry);
        CounterWithCallback.builder().name("egw_ha_sync_records").help("Connection records sent to and received from peers")
                .labelNames("direction")
                .callback(cb -> {
                    cb.call(ha.sync().recordsSent(), "sent");
                    cb.call(ha.sync().recordsReceived(), "received");
                }).register(registry);
        CounterWithCallback.builder().name("egw_ha_sync_records_lost")
                .help("Connection changes a datapath could not queue for the sync (its ring full); the next refresh"
                        + " sends the connection anyway")
                .callback(cb -> cb.call(ha.sync().recordsLost())).register(registry);
    }

    private void counter(String name, String help, int index, Counters[] request, Counters[] reply) {
        CounterWithCallback.builder().name(name).help(help).labelNames("direction")
                .callback(cb -> {
                    cb.call(Counters.sum(request, index), "request");
                    cb.call(Counters.sum(reply, index), "reply");
                }).register(registry);
    }

    private void single(String name, String help, int index, Counters[] counters) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(Counters.sum(counters, index))).register(registry);
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    static String protoName(int proto) {
        return switch (proto) {
            case 6 -> "tcp";
            case 17 -> "udp";
            case 1 -> "icmp";
            default -> Integer.toString(proto);
        };
    }
}
