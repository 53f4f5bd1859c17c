package org.egressgw.control.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class InterfaceAddressesTest {
    private final Map<String, OptionalInt> host = new HashMap<>();
    private final InterfaceAddresses addresses = new InterfaceAddresses(name -> host.getOrDefault(name, OptionalInt.empty()));

    @Test
    void refreshReportsChangesAndGetServesTheSnapshot() {
        host.put("ext0", OptionalInt.of(1));
        // step: interfaces watched, host change before refresh, expected refresh(), expected get(ext0)
        record Step(List<String> watch, Integer newExt0, boolean changed, OptionalInt ext0) {
        }
        List<Step> steps = List.of(
                new Step(List.of("ext0"), null, true, OptionalInt.of(1)),   // first refresh
                new Step(List.of("ext0"), null, false, OptionalInt.of(1)),  // nothing changed
                new Step(List.of("ext0"), 2, true, OptionalInt.of(2)),      // address changed
                new Step(List.of("ext0"), -1, true, OptionalInt.empty()),   // address removed
                new Step(List.of("ext0"), -1, false, OptionalInt.empty()),
                new Step(List.of("ext0"), 3, true, OptionalInt.of(3)),      // address back
                new Step(List.of("ext0", "ext1"), null, true, OptionalInt.of(3)), // new interface watched
                new Step(List.of("ext0", "ext1"), null, false, OptionalInt.of(3)));
        for (Step s : steps) {
            if (s.newExt0 != null) {
                host.put("ext0", s.newExt0 < 0 ? OptionalInt.empty() : OptionalInt.of(s.newExt0));
            }
            assertEquals(s.changed, addresses.refresh(s.watch), s.toString());
            assertEquals(s.ext0, addresses.get("ext0"), s.toString());
        }
        host.put("ext0", OptionalInt.of(9));
        assertEquals(OptionalInt.of(3), addresses.get("ext0"), "stable until the next refresh");
        assertEquals(OptionalInt.empty(), addresses.get("ext1"));
    }

    @Test
    void emptySetAndThrowingResolver() {
        assertFalse(addresses.refresh(List.of()));
        InterfaceAddresses flaky = new InterfaceAddresses(name -> {
            throw new IllegalStateException("gone");
        });
        assertTrue(flaky.refresh(List.of("x")));
        assertEquals(OptionalInt.empty(), flaky.get("x"));
    }

    @Test
    void neededInterfaces() throws Exception {
        List<EgressPolicy> policies = new java.util.ArrayList<>();
        for (String gw : List.of("    interface: eth1\n", "    egressIP: 192.0.2.1\n", "")) {
            String yaml = EgressPolicyTest.CILIUM_EXAMPLE.replace("    egressIP: \"192.0.2.10\"\n", gw)
                    .replace("payment-processor-egress", "p" + policies.size());
            policies.add(EgressPolicy.parse(org.egressgw.control.yaml.YamlFiles.parse("p", yaml).get(0), new java.util.ArrayList<>()));
        }
        ClusterState s = new ClusterState(List.of(), List.of(), List.of(), policies, List.of());
        assertEquals(java.util.Set.of("eth1", "ext0"), InterfaceAddresses.needed(s, "ext0"));
    }
}
