package org.egressgw.core.host;

import java.io.IOException;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.Map;
import org.egressgw.core.datapath.NatStats;
import org.egressgw.packet.Ipv4Address;

/**
 * The egress IPs this gateway steers replies for, and their lifecycle. An IP a policy starts using is steered at
 * once — before the policy table that uses it is swapped in, so replies can come back before the first connection
 * leaves. An IP no policy uses any more drains: its plumbing stays while connections still hold its ports, and goes
 * once two statistics rounds in a row show none.
 *
 * <p>Threading: {@link #apply} runs on the control thread (compilations), {@link #releaseDrained} on the
 * housekeeping thread; both are synchronized.
 */
public final class EgressIps {
    private final HostPlumbing plumbing;
    private final Runnable afterSteering;
    private final PrintStream out;
    /** Draining egress IP → consecutive statistics rounds with no port in use. */
    private final Map<Integer, Integer> draining = new HashMap<>();

    /**
     * @param afterSteering run after new IPs were steered (the reconciler's pass: it follows their assignment)
     */
    public EgressIps(HostPlumbing plumbing, Runnable afterSteering, PrintStream out) {
        this.plumbing = plumbing;
        this.afterSteering = afterSteering;
        this.out = out;
    }

    /** Steers every IP in {@code wanted} (a no-op for those already steered); the others start draining. */
    public synchronized void apply(int[] wanted) {
        boolean steeredNew = false;
        for (int ip : wanted) {
            draining.remove(ip);
            if (plumbing.steered().contains(ip)) {
                continue;
            }
            steeredNew = true;
            try {
                plumbing.steerEgressIp(ip);
            } catch (IOException e) {
                out.println("plumbing: ! could not steer egress IP " + Ipv4Address.toString(ip) + ": " + e.getMessage());
            }
        }
        if (steeredNew) {
            afterSteering.run();
        }
        for (int ip : plumbing.steered()) {
            if (!contains(wanted, ip) && !draining.containsKey(ip)) {
                draining.put(ip, 0);
                out.println("plumbing: egress IP " + Ipv4Address.toString(ip)
                        + " is no longer used by any policy; kept until its connections are gone");
            }
        }
    }

    /** Removes the plumbing of draining IPs once two rounds in a row of {@code stats} show no port in use. */
    public synchronized void releaseDrained(NatStats stats) {
        if (draining.isEmpty()) {
            return;
        }
        for (Map.Entry<Integer, Integer> d : Map.copyOf(draining).entrySet()) {
            int ip = d.getKey();
            int zeroes = inUse(stats, ip) == 0 ? d.getValue() + 1 : 0;
            if (zeroes >= 2) {
                draining.remove(ip);
                out.println("plumbing: egress IP " + Ipv4Address.toString(ip) + " drained");
                plumbing.releaseEgressIp(ip);
            } else {
                draining.put(ip, zeroes);
            }
        }
        out.flush();
    }

    private static long inUse(NatStats stats, int ip) {
        for (int i = 0; i < stats.egressIps().length; i++) {
            if (stats.egressIps()[i] == ip) {
                return stats.inUse()[i];
            }
        }
        return 0;
    }

    private static boolean contains(int[] ips, int ip) {
        for (int i : ips) {
            if (i == ip) {
                return true;
            }
        }
        return false;
    }
}
