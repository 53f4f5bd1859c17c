package org.egressgw.control.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.egressgw.control.k8s.LabelSelector.Operator;
import org.egressgw.control.k8s.LabelSelector.Requirement;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlFiles;
import org.junit.jupiter.api.Test;

class LabelSelectorTest {
    private static LabelSelector parse(String yaml) throws SourceException {
        return LabelSelector.parse(YamlFiles.parse("sel.yaml", yaml).get(0));
    }

    private static SourceException fails(String yaml) {
        return assertThrows(SourceException.class, () -> parse(yaml));
    }

    private static final Map<String, String> WEB = Map.of("app", "web", "tier", "front");
    private static final Map<String, String> NONE = Map.of();

    @Test
    void emptySelectorMatchesEverything() throws Exception {
        for (LabelSelector s : List.of(parse("{}"), parse("matchLabels: {}"), parse("matchExpressions: []"),
                LabelSelector.EVERYTHING)) {
            assertTrue(s.isEmpty());
            assertTrue(s.matches(WEB));
            assertTrue(s.matches(NONE));
            assertEquals("<all>", s.toString());
        }
    }

    @Test
    void matchLabels() throws Exception {
        LabelSelector s = parse("matchLabels: {app: web, tier: front}");
        assertTrue(s.matches(WEB));
        assertTrue(s.matches(Map.of("app", "web", "tier", "front", "x", "y")));
        assertFalse(s.matches(Map.of("app", "web")));
        assertFalse(s.matches(Map.of("app", "web", "tier", "back")));
        assertFalse(s.matches(NONE));
        assertEquals(LabelSelector.of(Map.of("app", "web", "tier", "front")), s);
    }

    @Test
    void unquotedBooleanValueIsItsText() throws Exception {
        LabelSelector s = parse("matchLabels:\n  node-role.kubernetes.io/egress-gateway: true\n");
        assertTrue(s.matches(Map.of("node-role.kubernetes.io/egress-gateway", "true")));
    }

    @Test
    void in() throws Exception {
        LabelSelector s = parse("matchExpressions: [{key: tier, operator: In, values: [front, back]}]");
        assertTrue(s.matches(WEB));
        assertTrue(s.matches(Map.of("tier", "back")));
        assertFalse(s.matches(Map.of("tier", "db")));
        assertFalse(s.matches(NONE), "In needs the label");
    }

    @Test
    void notIn() throws Exception {
        LabelSelector s = parse("matchExpressions: [{key: tier, operator: NotIn, values: [front]}]");
        assertFalse(s.matches(WEB));
        assertTrue(s.matches(Map.of("tier", "back")));
        assertTrue(s.matches(NONE), "NotIn holds when the label is absent (Kubernetes semantics)");
    }

    @Test
    void exists() throws Exception {
        LabelSelector s = parse("matchExpressions: [{key: tier, operator: Exists}]");
        assertTrue(s.matches(WEB));
        assertTrue(s.matches(Map.of("tier", "")));
        assertFalse(s.matches(NONE));
    }

    @Test
    void doesNotExist() throws Exception {
        LabelSelector s = parse("matchExpressions: [{key: tier, operator: DoesNotExist, values: []}]");
        assertFalse(s.matches(WEB));
        assertTrue(s.matches(Map.of("app", "web")));
        assertTrue(s.matches(NONE));
    }

    @Test
    void labelsAndExpressionsAreAnded() throws Exception {
        LabelSelector s = parse("""
                matchLabels: {app: web}
                matchExpressions:
                - {key: tier, operator: In, values: [front]}
                - {key: legacy, operator: DoesNotExist}
                """);
        assertTrue(s.matches(WEB));
        assertFalse(s.matches(Map.of("app", "web", "tier", "front", "legacy", "1")));
        assertFalse(s.matches(Map.of("app", "db", "tier", "front")));
        assertEquals("app=web,tier in (front),!legacy", s.toString());
    }

    @Test
    void ciliumSourcePrefixIsIgnored() throws Exception {
        LabelSelector s = parse("matchLabels: {'k8s:app': web}\nmatchExpressions: [{key: 'any:tier', operator: Exists}]");
        assertTrue(s.matches(WEB));
    }

    @Test
    void errors() {
        assertEquals("sel.yaml:2: matchExpressions[0].operator: unknown operator 'in' (expected In, NotIn, Exists or DoesNotExist)",
                fails("matchExpressions:\n- {key: a, operator: in, values: [x]}").getMessage());
        assertEquals("sel.yaml:2: matchExpressions[0]: operator In needs a non-empty values list",
                fails("matchExpressions:\n- key: a\n  operator: In\n").getMessage());
        assertEquals("sel.yaml:2: matchExpressions[0].values: operator NotIn needs a non-empty values list",
                fails("matchExpressions:\n- {key: a, operator: NotIn, values: []}").getMessage());
        assertEquals("sel.yaml:4: matchExpressions[0].values: operator Exists must not have values",
                fails("matchExpressions:\n- key: a\n  operator: Exists\n  values: [x]\n").getMessage());
        assertEquals("sel.yaml:2: matchExpressions[0].operator: missing required field",
                fails("matchExpressions:\n- {key: a}").getMessage());
        assertEquals("sel.yaml:1: matchLabel: unknown field (allowed: matchLabels, matchExpressions)",
                fails("matchLabel: {a: b}").getMessage());
        assertEquals("sel.yaml:1: matchLabels.a: expected a string, got a list",
                fails("matchLabels: {a: [b]}").getMessage());
        assertEquals("sel.yaml:2: matchExpressions[0].valuez: unknown field (allowed: key, operator, values)",
                fails("matchExpressions:\n- {key: a, operator: In, valuez: [x]}").getMessage());
        assertEquals("sel.yaml:1: expected a mapping, got a list", fails("[a]").getMessage());
    }

    @Test
    void requirementValidatesItself() {
        assertThrows(IllegalArgumentException.class, () -> new Requirement("a", Operator.In, List.of()));
        assertThrows(IllegalArgumentException.class, () -> new Requirement("a", Operator.Exists, List.of("x")));
    }
}
