package org.egressgw.core;

import java.io.PrintStream;
import org.egressgw.control.config.TunnelConfig;
import org.egressgw.core.datapath.Counters;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.MacAddress;

/**
 * Explains, once each, the tunnel drops that mean a node and the gateway disagree on configuration rather than a bad
 * packet: inner frames for another MAC ({@code not_our_mac}) and another VNI ({@code wrong_vni}). The counters say how
 * many; the log says once what to change, so a new user's "it forwards nothing" has an answer where they look first.
 * Run from housekeeping (any thread; the counters are read racily, which is fine for "more than zero").
 */
final class TunnelDropHints {
    private final Counters[] request;
    private final TunnelConfig tunnel;
    private final PrintStream out;
    private boolean saidMac;
    private boolean saidVni;

    /** @param request each shard's request-direction counters */
    TunnelDropHints(Counters[] request, TunnelConfig tunnel, PrintStream out) {
        this.request = request;
        this.tunnel = tunnel;
        this.out = out;
    }

    /** Says what a first drop of each kind means (once per kind for the life of the process). */
    void check() {
        if (!saidMac && Counters.sum(request, Counters.DROPS + DropReason.NOT_OUR_MAC) > 0) {
            saidMac = true;
            out.println("tunnel: ! inner frames addressed to a MAC other than this gateway's " + MacAddress.toString(tunnel.mac())
                    + " are dropped (counted as not_our_mac): a node must address the gateway with that MAC — let the node"
                    + " resolve it by ARP over the tunnel (answered here for "
                    + (tunnel.overlayIp().isPresent() ? "tunnel.overlayIP " + Ipv4Address.toString(tunnel.overlayIp().getAsInt())
                            : "any address the node asks for")
                    + "), or set tunnel.mac to the MAC the nodes' neighbour entries use. Said once.");
            out.flush();
        }
        if (!saidVni && Counters.sum(request, Counters.DROPS + DropReason.WRONG_VNI) > 0) {
            saidVni = true;
            out.println("tunnel: ! VXLAN frames with a VNI other than tunnel.vni " + tunnel.vni()
                    + " are dropped (counted as wrong_vni): the nodes' VXLAN devices must use id " + tunnel.vni() + ". Said once.");
            out.flush();
        }
    }
}
