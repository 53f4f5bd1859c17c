package org.egressgw.control.explain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.policy.PolicyCompiler;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** PolicyRows (list), PolicyStatus (status), Validator (validate) and the JSON writer. */
class ViewsTest {
    @TempDir
    Path dir;

    @Test
    void rowsAsCiliumListsThem() throws Exception {
        ClusterState s = Fixture.load(dir);
        assertEquals("""
                Source IP     Destination CIDR   Egress IP    Gateway         Policy
                10.244.1.10   203.0.113.128/25   0.0.0.0      Excluded CIDR   payment-egress
                10.244.1.10   198.51.100.0/24    0.0.0.0      198.51.100.2    iface-policy
                10.244.1.10   203.0.113.0/24     192.0.2.10   198.51.100.2    payment-egress
                10.244.1.11   192.0.2.0/24       0.0.0.0      Not Found       nogw
                10.244.1.11   198.18.0.0/15      192.0.2.20   198.51.100.3    frontend-elsewhere
                10.244.1.12   198.51.100.0/24    0.0.0.0      198.51.100.2    iface-policy
                """, PolicyRows.rows(s).toTable());
        String json = PolicyRows.rows(s).toJson();
        assertTrue(json.startsWith("[{\"sourceIP\":\"10.244.1.10\",\"destinationCIDR\":\"203.0.113.128/25\","
                + "\"egressIP\":\"0.0.0.0\",\"gatewayIP\":\"Excluded CIDR\",\"gatewayNode\":null,\"policy\":\"payment-egress\"},"), json);
        assertEquals("No entries found.\n", PolicyRows.rows(new ClusterState(List.of(), List.of(), List.of(), List.of(),
                List.of())).toTable());
    }

    @Test
    void interfaceDerivedEgressIpComesFromTheViewOfThatGateway() throws Exception {
        ClusterState s = Fixture.load(dir);
        // on gw-1 eth9 has an address now
        CompiledPolicies gw1 = PolicyCompiler.compile(s, "gw-1",
                name -> OptionalInt.of(Ipv4Address.parse(name.equals("eth9") ? "192.0.2.99" : "192.0.2.100")), "ext0");
        CompiledPolicies gw2 = PolicyCompiler.compile(s, "gw-2", Fixture.IFACES, "ext0");
        for (PolicyRows rows : List.of(PolicyRows.rows(s, gw1), PolicyRows.rows(s, gw2, gw1))) {
            assertEquals(List.of("192.0.2.99", "192.0.2.99"), rows.rows().stream()
                    .filter(r -> r.policy().equals("iface-policy")).map(r -> Ipv4Address.toString(r.egressIp())).toList());
        }
        assertEquals(List.of("0.0.0.0", "0.0.0.0"), PolicyRows.rows(s, gw2).rows().stream()
                .filter(r -> r.policy().equals("iface-policy")).map(r -> Ipv4Address.toString(r.egressIp())).toList(),
                "unknown off its gateway, shown as Cilium does");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "-", value = {
        // policy            | gateways | egress IPs  | endpoints | errors | refused
        "frontend-elsewhere  | gw-2     | 192.0.2.20  | 1         | 0      | false",
        "iface-policy        | gw-1     | -           | 2         | 1      | false",
        "nogw                | -        | -           | 1         | 1      | false",
        "payment-egress      | gw-1     | 192.0.2.10  | 1         | 0      | false",
        "zone-b              | gw-1     | 192.0.2.100 | 0         | 0      | false",
        "broken              | -        | -           | 0         | 1      | true",
    })
    void status(String policy, String gateways, String egress, int endpoints, int errors, boolean refused) throws Exception {
        ClusterState s = Fixture.load(dir);
        CompiledPolicies gw1 = PolicyCompiler.compile(s, "gw-1", Fixture.IFACES, "ext0");
        PolicyStatus st = PolicyStatus.of(s, gw1).stream().filter(p -> policy.equals(p.name())).findFirst().orElseThrow();
        assertEquals(gateways == null ? List.of() : List.of(gateways), st.gatewayNodes());
        assertEquals(egress == null ? List.of() : List.of(egress), st.egressIps());
        assertEquals(endpoints, st.selectedEndpoints());
        assertEquals(errors, st.errors().size(), st.errors().toString());
        assertEquals(refused, st.refused());
        assertEquals(6, PolicyStatus.of(s).size());
        assertTrue(PolicyStatus.toTable(PolicyStatus.of(s, gw1)).startsWith(
                "Policy               Gateways   Egress IPs    Endpoints   Errors\n"
                + "frontend-elsewhere   gw-2       192.0.2.20    1           0\n"), PolicyStatus.toTable(PolicyStatus.of(s, gw1)));
        assertTrue(PolicyStatus.toJson(PolicyStatus.of(s, gw1)).contains("{\"name\":\"broken\""));
    }

    @Test
    void validate() throws Exception {
        List<Path> files = Fixture.write(dir);
        String p = files.get(0).toString();
        assertEquals(List.of(p + ":54: spec.egressGateway: egressIP and interface are mutually exclusive",
                p + ":22: CiliumEgressGatewayPolicy 'nogw': no Node matches the gateway nodeSelector, no gateway serves it"),
                Validator.validate(files));
        // policies alone: nodes are not known, so "no Node matches" is not a problem
        assertEquals(List.of(p + ":54: spec.egressGateway: egressIP and interface are mutually exclusive"),
                Validator.validate(List.of(files.get(0))));
        Path good = Files.writeString(dir.resolve("good.yaml"), org.egressgw.control.policy.EgressPolicyTest.CILIUM_EXAMPLE
                .replace("\"203.0.113.0/24\"", "\"203.0.113.9/24\""));
        assertEquals(List.of(good + ":11: spec.destinationCIDRs[0]: '203.0.113.9/24' has host bits set, used as "
                + "203.0.113.0/24 (as Cilium does)"), Validator.validate(List.of(good)));
        Files.writeString(good, org.egressgw.control.policy.EgressPolicyTest.CILIUM_EXAMPLE);
        assertEquals(List.of(), Validator.validate(List.of(good)), "empty = valid");
        assertEquals(List.of(dir.resolve("nope") + ": no such file or directory"), Validator.validate(List.of(dir.resolve("nope"))));
    }

    @Test
    void json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "a\"b\\c\n\t\u0001\u2028é");
        m.put("n", 3);
        m.put("b", true);
        m.put("z", null);
        m.put("l", List.of(1, "x", List.of()));
        m.put("m", Map.of());
        assertEquals("{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\\u2028é\",\"n\":3,\"b\":true,\"z\":null,\"l\":[1,\"x\",[]],\"m\":{}}",
                Json.write(m));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
    }
}
