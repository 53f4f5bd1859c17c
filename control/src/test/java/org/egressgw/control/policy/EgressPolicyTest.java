package org.egressgw.control.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.egressgw.control.k8s.LabelSelector;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlFiles;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.junit.jupiter.api.Test;

public class EgressPolicyTest {
    /** Cilium's documentation example, verbatim. */
    public static final String CILIUM_EXAMPLE = """
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata:
              name: payment-processor-egress
            spec:
              selectors:
              - podSelector:
                  matchLabels:
                    app: payment-processor
              destinationCIDRs:
              - "203.0.113.0/24"
              egressGateway:
                nodeSelector:
                  matchLabels:
                    node-role.kubernetes.io/egress-gateway: "true"
                egressIP: "192.0.2.10"
            """;

    private final List<String> warnings = new ArrayList<>();

    private EgressPolicy parse(String yaml) throws SourceException {
        return EgressPolicy.parse(YamlFiles.parse("policies/pay.yaml", yaml).get(0), warnings);
    }

    private String fails(String yaml) {
        return assertThrows(SourceException.class, () -> parse(yaml)).getMessage();
    }

    @Test
    void ciliumExample() throws Exception {
        EgressPolicy p = parse(CILIUM_EXAMPLE);
        assertEquals("payment-processor-egress", p.name());
        assertEquals(1, p.selectors().size());
        Selector s = p.selectors().get(0);
        assertEquals(LabelSelector.of(Map.of("app", "payment-processor")), s.podSelector());
        assertNull(s.namespaceSelector());
        assertNull(s.nodeSelector());
        assertEquals(List.of(Ipv4Cidr.parse("203.0.113.0/24")), p.destinationCidrs());
        assertEquals(List.of(), p.excludedCidrs());
        assertEquals(1, p.gateways().size());
        GatewaySpec g = p.gateways().get(0);
        assertEquals(LabelSelector.of(Map.of("node-role.kubernetes.io/egress-gateway", "true")), g.nodeSelector());
        assertEquals(Ipv4Address.parse("192.0.2.10"), g.egressIp());
        assertNull(g.interfaceName());
        assertEquals("policies/pay.yaml:1", p.source());
        assertEquals(List.of(), warnings);
    }

    @Test
    void fullSpec() throws Exception {
        EgressPolicy p = parse("""
                apiVersion: cilium.io/v2
                kind: CiliumEgressGatewayPolicy
                metadata: {name: full, labels: {x: y}, annotations: {a: b}}
                spec:
                  selectors:
                  - namespaceSelector: {matchLabels: {team: pay}}
                    nodeSelector: {matchLabels: {zone: a}}
                  - podSelector: {}
                  destinationCIDRs: ["0.0.0.0/0", "2001:db8::/32"]
                  excludedCIDRs: ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"]
                  egressGateway:
                    nodeSelector: {matchLabels: {ignored: "true"}}
                  egressGateways:
                  - nodeSelector: {matchLabels: {gw: a}}
                    interface: eth1
                  - nodeSelector: {matchLabels: {gw: b}}
                status: {anything: goes}
                """);
        assertEquals(2, p.selectors().size());
        assertEquals(LabelSelector.of(Map.of("zone", "a")), p.selectors().get(0).nodeSelector());
        assertTrue(p.selectors().get(1).podSelector().isEmpty());
        assertEquals(List.of(Ipv4Cidr.parse("0.0.0.0/0")), p.destinationCidrs());
        assertEquals(List.of(Ipv4Cidr.parse("10.0.0.0/8"), Ipv4Cidr.parse("192.168.0.0/16")), p.excludedCidrs());
        assertEquals(2, p.gateways().size());
        assertEquals("eth1", p.gateways().get(0).interfaceName());
        assertNull(p.gateways().get(1).egressIp());
        assertEquals(List.of(
                "policies/pay.yaml:9: spec.destinationCIDRs[1]: IPv6 not supported yet: '2001:db8::/32' skipped",
                "policies/pay.yaml:10: spec.excludedCIDRs[2]: IPv6 not supported yet: 'fd00::/8' skipped",
                "policies/pay.yaml:11: spec.egressGateway: ignored because spec.egressGateways is set"), warnings);
    }

    @Test
    void excludedOutsideDestinationsIsAWarning() throws Exception {
        EgressPolicy p = parse(CILIUM_EXAMPLE.replace("  egressGateway:", "  excludedCIDRs: [198.51.100.0/24]\n  egressGateway:"));
        assertEquals(List.of(Ipv4Cidr.parse("198.51.100.0/24")), p.excludedCidrs());
        assertEquals(List.of("policies/pay.yaml:12: spec.excludedCIDRs[0]: excluded CIDR 198.51.100.0/24 lies in no "
                + "destination CIDR and has no effect"), warnings);
    }

    private static String edit(String from, String to) {
        String s = CILIUM_EXAMPLE.replace(from, to);
        if (s.equals(CILIUM_EXAMPLE)) {
            throw new AssertionError("edit does not apply: " + from);
        }
        return s;
    }

    @Test
    void invalidPolicies() {
        assertEquals("policies/pay.yaml:3: metadata.name: missing required field",
                fails(edit("  name: payment-processor-egress\n", "  labels: {}\n")));
        assertEquals("policies/pay.yaml:1: apiVersion: unsupported apiVersion 'cilium.io/v2alpha1' for "
                + "CiliumEgressGatewayPolicy (expected cilium.io/v2)",
                fails(edit("cilium.io/v2", "cilium.io/v2alpha1")));
        assertEquals("policies/pay.yaml:5: spec.selectors: missing required field",
                fails(edit("""
                          selectors:
                          - podSelector:
                              matchLabels:
                                app: payment-processor
                        """, "")));
        assertEquals("policies/pay.yaml:6: spec.selectors: must list at least one selector",
                fails(edit("""
                          selectors:
                          - podSelector:
                              matchLabels:
                                app: payment-processor
                        """, "  selectors: []\n")));
        assertEquals("policies/pay.yaml:7: spec.selectors[0]: needs a podSelector or a namespaceSelector",
                fails(edit("  - podSelector:\n      matchLabels:\n        app: payment-processor\n", "  - {}\n")));
        assertEquals("policies/pay.yaml:7: spec.selectors[0]: nodeSelector alone is not allowed: add a "
                + "podSelector or namespaceSelector", fails(edit("- podSelector:", "- nodeSelector:")));
        assertEquals("policies/pay.yaml:5: spec.destinationCIDRs: missing required field",
                fails(edit("  destinationCIDRs:\n  - \"203.0.113.0/24\"\n", "")));
        assertEquals("policies/pay.yaml:10: spec.destinationCIDRs: must list at least one CIDR",
                fails(edit("  destinationCIDRs:\n  - \"203.0.113.0/24\"\n", "  destinationCIDRs: []\n")));
        assertEquals("policies/pay.yaml:12: spec.destinationCIDRs[1]: not an IPv4 CIDR: '203.0.113.0/33'",
                fails(edit("  - \"203.0.113.0/24\"\n", "  - \"203.0.113.0/24\"\n  - \"203.0.113.0/33\"\n")));
        assertEquals("policies/pay.yaml:11: spec.destinationCIDRs[0]: not an IPv4 CIDR: 'example.com'",
                fails(edit("\"203.0.113.0/24\"", "example.com")));
        assertEquals("policies/pay.yaml:5: spec: needs egressGateway or a non-empty egressGateways",
                fails(CILIUM_EXAMPLE.substring(0, CILIUM_EXAMPLE.indexOf("  egressGateway:"))));
        assertEquals("policies/pay.yaml:5: spec: needs egressGateway or a non-empty egressGateways",
                fails(CILIUM_EXAMPLE.substring(0, CILIUM_EXAMPLE.indexOf("  egressGateway:")) + "  egressGateways: []\n"));
        assertEquals("policies/pay.yaml:12: spec.egressGateway: egressIP and interface are mutually exclusive",
                fails(edit("    egressIP: \"192.0.2.10\"\n", "    egressIP: \"192.0.2.10\"\n    interface: eth1\n")));
        assertEquals("policies/pay.yaml:16: spec.egressGateway.egressIP: not an IPv4 address: '192.0.2.300'",
                fails(edit("192.0.2.10", "192.0.2.300")));
        assertEquals("policies/pay.yaml:12: spec.egressGateway.nodeSelector: missing required field",
                fails(edit("""
                            nodeSelector:
                              matchLabels:
                                node-role.kubernetes.io/egress-gateway: "true"
                        """, "")));
        assertEquals("policies/pay.yaml:16: spec.egressGateway.egressIp: unknown field (allowed: nodeSelector, egressIP, interface)", fails(edit("egressIP:", "egressIp:")));
        assertEquals("policies/pay.yaml:10: spec.destinationCidrs: unknown field (allowed: selectors, "
                + "destinationCIDRs, excludedCIDRs, egressGateway, egressGateways)", fails(edit("destinationCIDRs", "destinationCidrs")));
        assertEquals("policies/pay.yaml:7: spec.selectors[0].podselector: unknown field (allowed: podSelector, "
                + "namespaceSelector, nodeSelector)", fails(edit("podSelector", "podselector")));
        assertEquals("policies/pay.yaml:11: spec.selectors[0].podSelector.matchExpressions[0].operator: unknown operator "
                + "'Equals' (expected In, NotIn, Exists or DoesNotExist)",
                fails(edit("        app: payment-processor\n", "        app: payment-processor\n      matchExpressions:\n"
                        + "      - {key: a, operator: Equals, values: [b]}\n")));
        StringBuilder many = new StringBuilder(CILIUM_EXAMPLE.substring(0, CILIUM_EXAMPLE.indexOf("  egressGateway:")));
        many.append("  egressGateways:\n");
        for (int i = 0; i < 65; i++) {
            many.append("  - nodeSelector: {matchLabels: {gw: \"").append(i).append("\"}}\n");
        }
        assertEquals("policies/pay.yaml:12: spec.egressGateways: has 65 entries, at most 64 are allowed",
                fails(many.toString()));
    }

    @Test
    void sixtyFourGatewaysAreFine() throws Exception {
        StringBuilder many = new StringBuilder(CILIUM_EXAMPLE.substring(0, CILIUM_EXAMPLE.indexOf("  egressGateway:")));
        many.append("  egressGateways:\n");
        for (int i = 0; i < 64; i++) {
            many.append("  - nodeSelector: {matchLabels: {gw: \"").append(i).append("\"}}\n");
        }
        assertEquals(64, parse(many.toString()).gateways().size());
    }

    /** Cilium accepts CIDRs with host bits set; we mask them and warn. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
        // written          | used              | warning (null = none)
        "203.0.113.5/24     | 203.0.113.0/24    | '203.0.113.5/24' has host bits set, used as 203.0.113.0/24 (as Cilium does)",
        "203.0.113.0/24     | 203.0.113.0/24    | ",
        "10.1.2.3/8         | 10.0.0.0/8        | '10.1.2.3/8' has host bits set, used as 10.0.0.0/8 (as Cilium does)",
        "192.0.2.77/32      | 192.0.2.77/32     | ",
        "1.2.3.4/0          | 0.0.0.0/0         | '1.2.3.4/0' has host bits set, used as 0.0.0.0/0 (as Cilium does)",
    })
    void hostBitsAreMaskedWithAWarning(String written, String used, String warning) throws Exception {
        EgressPolicy p = parse(CILIUM_EXAMPLE.replace("\"203.0.113.0/24\"", "\"" + written + "\""));
        assertEquals(List.of(Ipv4Cidr.parse(used)), p.destinationCidrs());
        assertEquals(warning == null ? List.of() : List.of("policies/pay.yaml:11: spec.destinationCIDRs[0]: " + warning),
                warnings);
        warnings.clear();
        EgressPolicy x = parse(edit("  egressGateway:", "  excludedCIDRs: [\"203.0.113.7/25\"]\n  egressGateway:"));
        assertEquals(List.of(Ipv4Cidr.parse("203.0.113.0/25")), x.excludedCidrs());
        assertEquals(1, warnings.size(), warnings.toString());
    }

    /** Cilium's CRD refuses a CIDR without its prefix length; so does this gateway, in both lists. */
    @Test
    void aCidrWithoutPrefixLengthIsRefusedAsCiliumDoes() {
        assertEquals("policies/pay.yaml:11: spec.destinationCIDRs[0]: not a CIDR: '1.1.1.0' has no prefix length, which"
                + " Cilium refuses too (write '1.1.1.0/32' for one address)",
                fails(edit("\"203.0.113.0/24\"", "\"1.1.1.0\"")));
        assertTrue(fails(edit("  egressGateway:", "  excludedCIDRs: [\"203.0.113.7\"]\n  egressGateway:"))
                .contains("spec.excludedCIDRs[0]: not a CIDR: '203.0.113.7' has no prefix length"));
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"203.0.113.5/33", "203.0.113.500/24", "203.0.113.5/-1", "203.0.113.5/"})
    void badCidrsAreStillRefused(String written) {
        assertTrue(fails(edit("\"203.0.113.0/24\"", "\"" + written + "\"")).contains("not an IPv4 CIDR"));
    }
}
