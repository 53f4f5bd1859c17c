package org.egressgw.control.policy;

import java.util.ArrayList;
import java.util.List;
import org.egressgw.control.k8s.LabelSelector;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;

/**
 * A {@code cilium.io/v2 CiliumEgressGatewayPolicy}, validated.
 *
 * @param gateways from {@code spec.egressGateways} when non-empty (Cilium then ignores
 *     {@code egressGateway}), otherwise the single {@code spec.egressGateway}
 * @param source {@code file:line} of the object
 */
public record EgressPolicy(String name, List<Selector> selectors, List<Ipv4Cidr> destinationCidrs,
                           List<Ipv4Cidr> excludedCidrs, List<GatewaySpec> gateways, String source) {
    public static final String API_VERSION = "cilium.io/v2";
    public static final String KIND = "CiliumEgressGatewayPolicy";
    /** Cilium's limit on {@code spec.egressGateways}. */
    public static final int MAX_GATEWAYS = 64;

    public EgressPolicy {
        selectors = List.copyOf(selectors);
        destinationCidrs = List.copyOf(destinationCidrs);
        excludedCidrs = List.copyOf(excludedCidrs);
        gateways = List.copyOf(gateways);
    }

    /**
     * Binds and validates a policy object. Fields of {@code spec} (and of its selectors and
     * gateways) must be known; outside {@code spec} only apiVersion, kind and metadata.name are read.
     *
     * @param warnings receives {@code file:line: reason} lines for parts that were skipped or
     *     adjusted while the policy itself is still usable (IPv6 CIDRs, CIDRs with host bits set,
     *     excluded CIDRs outside every destination, {@code egressGateway} ignored in favour of
     *     {@code egressGateways})
     * @throws SourceException when the policy must be refused as a whole
     */
    public static EgressPolicy parse(YamlNode obj, List<String> warnings) throws SourceException {
        YamlNode apiVersion = obj.require("apiVersion");
        if (!API_VERSION.equals(apiVersion.string())) {
            throw apiVersion.error("unsupported apiVersion '" + YamlNode.abbreviate(apiVersion.string())
                    + "' for " + KIND + " (expected " + API_VERSION + ")");
        }
        String name = obj.require("metadata").require("name").nonEmptyString();
        YamlNode spec = obj.require("spec");
        spec.allowOnly("selectors", "destinationCIDRs", "excludedCIDRs", "egressGateway", "egressGateways");

        YamlNode selectorsNode = spec.require("selectors");
        List<Selector> selectors = new ArrayList<>();
        for (YamlNode s : selectorsNode.list()) {
            selectors.add(selector(s));
        }
        if (selectors.isEmpty()) {
            throw selectorsNode.error("must list at least one selector");
        }

        YamlNode destNode = spec.require("destinationCIDRs");
        if (destNode.list().isEmpty()) {
            throw destNode.error("must list at least one CIDR");
        }
        List<Ipv4Cidr> destinations = new ArrayList<>();
        for (Entry e : cidrs(destNode, warnings)) {
            destinations.add(e.cidr);
        }
        YamlNode exclNode = spec.get("excludedCIDRs");
        List<Ipv4Cidr> excluded = new ArrayList<>();
        if (exclNode != null) {
            for (Entry e : cidrs(exclNode, warnings)) {
                excluded.add(e.cidr);
                if (destinations.stream().noneMatch(d -> d.contains(e.cidr))) {
                    warnings.add(e.node.error("excluded CIDR " + e.cidr
                            + " lies in no destination CIDR and has no effect").getMessage());
                }
            }
        }

        List<GatewaySpec> gateways = new ArrayList<>();
        YamlNode many = spec.get("egressGateways");
        YamlNode one = spec.get("egressGateway");
        List<YamlNode> manyItems = many == null ? List.of() : many.list();
        if (manyItems.size() > MAX_GATEWAYS) {
            throw many.error("has " + manyItems.size() + " entries, at most " + MAX_GATEWAYS + " are allowed");
        }
        if (!manyItems.isEmpty()) {
            for (YamlNode g : manyItems) {
                gateways.add(gateway(g));
            }
            if (one != null) {
                warnings.add(one.error("ignored because spec.egressGateways is set").getMessage());
            }
        } else if (one != null) {
            gateways.add(gateway(one));
        } else {
            throw spec.error("needs egressGateway or a non-empty egressGateways");
        }
        return new EgressPolicy(name, selectors, destinations, excluded, gateways, obj.where());
    }

    private static Selector selector(YamlNode s) throws SourceException {
        s.allowOnly("podSelector", "namespaceSelector", "nodeSelector");
        YamlNode pod = s.get("podSelector");
        YamlNode ns = s.get("namespaceSelector");
        YamlNode node = s.get("nodeSelector");
        if (pod == null && ns == null) {
            throw s.error(node != null
                    ? "nodeSelector alone is not allowed: add a podSelector or namespaceSelector"
                    : "needs a podSelector or a namespaceSelector");
        }
        return new Selector(pod == null ? null : LabelSelector.parse(pod),
                ns == null ? null : LabelSelector.parse(ns),
                node == null ? null : LabelSelector.parse(node));
    }

    private record Entry(YamlNode node, Ipv4Cidr cidr) {
    }

    /**
     * IPv4 CIDRs of a list, without duplicates; IPv6 entries are reported and skipped. A CIDR with
     * host bits set (203.0.113.5/24) is masked to its network with a warning, as Cilium accepts it
     * (Go's netip.ParsePrefix does not require a masked address and the BPF LPM map ignores the
     * host bits).
     */
    private static List<Entry> cidrs(YamlNode list, List<String> warnings) throws SourceException {
        List<Entry> out = new ArrayList<>();
        for (YamlNode c : list.list()) {
            String text = c.string().trim();
            if (text.indexOf(':') >= 0) {
                warnings.add(c.error("IPv6 not supported yet: '" + YamlNode.abbreviate(text)
                        + "' skipped").getMessage());
                continue;
            }
            if (text.indexOf('/') < 0 && Ipv4Address.isValid(text)) {
                // Cilium's CRD requires the prefix length (its pattern ends in /0../32): a policy means the same on both
                throw c.error("not a CIDR: '" + YamlNode.abbreviate(text) + "' has no prefix length, which Cilium refuses"
                        + " too (write '" + YamlNode.abbreviate(text) + "/32' for one address)");
            }
            Ipv4Cidr cidr = masked(text);
            if (cidr != null) {
                warnings.add(c.error("'" + text + "' has host bits set, used as " + cidr + " (as Cilium does)")
                        .getMessage());
            } else {
                cidr = c.ipv4Cidr();
            }
            Ipv4Cidr found = cidr;
            if (out.stream().noneMatch(e -> e.cidr.equals(found))) {
                out.add(new Entry(c, cidr));
            }
        }
        return out;
    }

    /** {@code a.b.c.d/n} with host bits set, masked; null for anything else. */
    private static Ipv4Cidr masked(String text) {
        int slash = text.indexOf('/');
        if (slash <= 0) {
            return null;
        }
        String addr = text.substring(0, slash);
        String len = text.substring(slash + 1);
        if (!Ipv4Address.isValid(addr) || !len.matches("[0-9]{1,2}") || Integer.parseInt(len) > 32) {
            return null;
        }
        int prefix = Integer.parseInt(len);
        int ip = Ipv4Address.parse(addr);
        int mask = Ipv4Cidr.mask(prefix);
        return (ip & mask) == ip ? null : new Ipv4Cidr(ip & mask, prefix);
    }

    private static GatewaySpec gateway(YamlNode g) throws SourceException {
        g.allowOnly("nodeSelector", "egressIP", "interface");
        LabelSelector nodeSelector = LabelSelector.parse(g.require("nodeSelector"));
        YamlNode ipNode = g.get("egressIP");
        YamlNode ifNode = g.get("interface");
        if (ipNode != null && ifNode != null) {
            throw g.error("egressIP and interface are mutually exclusive");
        }
        Integer ip = null;
        if (ipNode != null) {
            ip = ipNode.ipv4();
        }
        return new GatewaySpec(nodeSelector, ip, ifNode == null ? null : ifNode.nonEmptyString());
    }
}
