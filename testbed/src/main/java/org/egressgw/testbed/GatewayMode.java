package org.egressgw.testbed;

/** Who does the gateway's job inside the {@code gw-1} namespace of a {@link Topology}. */
public enum GatewayMode {
    /**
     * The Java gateway, started later by the caller inside {@code gw-1}; the topology adds nothing for it
     * beyond the underlay and egress interfaces (the gateway creates its own TUN device and plumbing).
     */
    USERSPACE,
    /**
     * The Linux kernel: a VXLAN device, an iptables SNAT rule and the egress IP on {@code ext0}. This is the
     * benchmark baseline and the proof that the rig itself is right.
     */
    KERNEL
}
