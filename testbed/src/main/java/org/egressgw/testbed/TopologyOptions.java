package org.egressgw.testbed;

import java.util.Objects;

/**
 * How {@link Topology#create(TopologyOptions)} sets up the gateway namespace and the node.
 *
 * @param mode             who plays the gateway
 * @param egressIpAssigned {@link GatewayMode#USERSPACE} only: also assign {@value Topology#EGRESS_IP}/24 to
 *                         {@code ext0} (the gateway must cope with its egress IP being a local address);
 *                         ignored in {@link GatewayMode#KERNEL} mode, which always assigns it as a /32
 * @param staticNeighbour  node-a gets a permanent neighbour entry and an FDB entry for the gateway's
 *                         overlay address (as Cilium programs its datapath); false (the default) leaves
 *                         node-a's kernel to resolve it by ARP through the tunnel, which the gateway answers
 * @param podMtu           the pods' interface MTU: 1450 as Cilium sets in tunnel mode, or 1500 so that
 *                         pods announce an MSS the tunnel cannot carry and the gateway's clamping matters
 */
public record TopologyOptions(GatewayMode mode, boolean egressIpAssigned, boolean staticNeighbour, int podMtu) {

    /** Rejects a missing mode and an MTU outside what the topology can carry. */
    public TopologyOptions {
        Objects.requireNonNull(mode, "mode");
        if (podMtu < 576 || podMtu > 1500) {
            throw new IllegalArgumentException("pod MTU " + podMtu + " is not within 576..1500");
        }
    }

    /** The Java gateway's topology with the egress IP not assigned to any interface. */
    public static TopologyOptions userspace() {
        return new TopologyOptions(GatewayMode.USERSPACE, false, false, Topology.POD_MTU);
    }

    /** The Java gateway's topology with the egress IP assigned to {@code ext0}. */
    public static TopologyOptions userspaceWithAssignedEgressIp() {
        return new TopologyOptions(GatewayMode.USERSPACE, true, false, Topology.POD_MTU);
    }

    /** The kernel-as-gateway baseline. */
    public static TopologyOptions kernel() {
        return new TopologyOptions(GatewayMode.KERNEL, false, false, Topology.POD_MTU);
    }

    /** The same with static neighbour and FDB entries for the gateway on node-a. */
    public TopologyOptions withStaticNeighbour() {
        return new TopologyOptions(mode, egressIpAssigned, true, podMtu);
    }

    /** The same with another pod MTU. */
    public TopologyOptions withPodMtu(int mtu) {
        return new TopologyOptions(mode, egressIpAssigned, staticNeighbour, mtu);
    }
}
