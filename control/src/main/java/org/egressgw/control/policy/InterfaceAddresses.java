package org.egressgw.control.policy;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.function.Function;

/**
 * The first IPv4 address of each interface policies take their egress IP from, polled so that an
 * address change is followed without a restart (Cilium reads it once: cilium#47761). The gateway
 * calls {@link #refresh} every second and recompiles when it returns true; {@link #get} serves a
 * stable snapshot to {@link PolicyCompiler#compile} as its resolver.
 *
 * <p>Concurrency: {@link #refresh} from one control thread; {@link #get} from any thread, reading
 * an immutable snapshot published through a volatile field.
 */
public final class InterfaceAddresses {
    private final Function<String, OptionalInt> resolver;
    private volatile Map<String, OptionalInt> snapshot = Map.of();

    /** @param resolver first IPv4 of an interface by name (network order), empty when it has none */
    public InterfaceAddresses(Function<String, OptionalInt> resolver) {
        this.resolver = Objects.requireNonNull(resolver, "resolver");
    }

    /**
     * Re-reads the addresses of {@code interfaces} (the set to watch; others are forgotten).
     *
     * @return true when any interface's first IPv4 differs from the previous refresh (including an
     *     interface that is new to the set); the first call returns true unless the set is empty
     */
    public boolean refresh(Collection<String> interfaces) {
        Map<String, OptionalInt> old = snapshot;
        Map<String, OptionalInt> next = new HashMap<>();
        boolean changed = false;
        for (String iface : interfaces) {
            if (iface == null || next.containsKey(iface)) {
                continue;
            }
            OptionalInt a;
            try {
                a = resolver.apply(iface);
            } catch (RuntimeException e) {
                a = OptionalInt.empty(); // the interface vanished between listing and reading
            }
            a = a == null ? OptionalInt.empty() : a;
            next.put(iface, a);
            changed |= !a.equals(old.get(iface));
        }
        snapshot = Map.copyOf(next);
        return changed;
    }

    /**
     * The address seen by the last {@link #refresh}; an interface never refreshed is resolved now
     * (and not remembered, so that the snapshot stays what the last refresh saw).
     */
    public OptionalInt get(String iface) {
        OptionalInt a = snapshot.get(iface);
        if (a != null) {
            return a;
        }
        OptionalInt r = resolver.apply(iface);
        return r == null ? OptionalInt.empty() : r;
    }

    /** The interfaces policies of {@code state} need: their {@code interface}s plus the default. */
    public static java.util.Set<String> needed(ClusterState state, String defaultInterface) {
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (EgressPolicy p : state.policies()) {
            for (GatewaySpec g : p.gateways()) {
                if (g.interfaceName() != null) {
                    out.add(g.interfaceName());
                } else if (g.egressIp() == null && defaultInterface != null) {
                    out.add(defaultInterface);
                }
            }
        }
        return out;
    }
}
