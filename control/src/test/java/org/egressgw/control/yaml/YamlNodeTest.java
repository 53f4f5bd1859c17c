package org.egressgw.control.yaml;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class YamlNodeTest {
    @Test
    void documentsAndLines() throws Exception {
        List<YamlNode> docs = YamlFiles.parse("x.yaml", "\uFEFFa: 1\n---\n---\n# nothing\n---\nb:\n  c: [1, 2]\n  d: ~\n");
        assertEquals(2, docs.size(), "empty and null documents are skipped");
        YamlNode b = docs.get(1).get("b");
        assertEquals(6, b.line(), "a block mapping reports its key's line");
        assertEquals("b.c[1]", b.get("c").list().get(1).path());
        assertEquals(7, b.get("c").list().get(1).line());
        assertNull(b.get("d"), "explicit null reads as absent");
        assertTrue(b.has("d"));
        assertEquals("x.yaml:8: b.d: must not be empty", assertThrows(SourceException.class, () -> b.require("d")).getMessage());
        assertEquals("x.yaml:6: b.e: missing required field", assertThrows(SourceException.class, () -> b.require("e")).getMessage());
        assertEquals("x.yaml:7: b.c: expected a string, got a list",
                assertThrows(SourceException.class, () -> b.get("c").string()).getMessage());
    }

    @Test
    void mergeKeysAndDuplicates() throws Exception {
        YamlNode n = YamlFiles.parse("m.yaml", "base: &x {k: '1', j: '3'}\nb: {<<: *x, k: '2'}\n").get(0);
        assertEquals(Map.of("k", "2", "j", "3"), n.get("b").stringMap());
        SourceException dup = assertThrows(SourceException.class,
                () -> YamlFiles.parse("d.yaml", "a: 1\nb: 2\na: 3\n").get(0).get("a"));
        assertEquals("d.yaml:3: duplicate key 'a'", dup.getMessage());
    }

    @Test
    void syntaxErrorsCarryTheLine() {
        SourceException e = assertThrows(SourceException.class, () -> YamlFiles.parse("s.yaml", "a: 1\nb: [2\nc: 3\n"));
        assertEquals("s.yaml", e.file());
        assertTrue(e.line() >= 3, e.getMessage());
        assertTrue(e.reason().startsWith("invalid YAML: "), e.getMessage());
    }

    @Test
    void numbersAndBooleans() throws Exception {
        YamlNode n = YamlFiles.parse("n.yaml", "a: 42\nb: '+7'\nc: 1.5\nd: true\ne: 99999999999999999999\n").get(0);
        assertEquals(42, n.get("a").intValue(0, 100));
        assertEquals(7, n.get("b").intValue(0, 100));
        assertEquals("n.yaml:3: c: not an integer: '1.5'", assertThrows(SourceException.class,
                () -> n.get("c").intValue(0, 100)).getMessage());
        assertEquals("n.yaml:1: a: 42 is not within 0..10", assertThrows(SourceException.class,
                () -> n.get("a").intValue(0, 10)).getMessage());
        assertEquals("n.yaml:5: e: not an integer: '99999999999999999999'", assertThrows(SourceException.class,
                () -> n.get("e").longValue(0, Long.MAX_VALUE)).getMessage());
        assertTrue(n.get("d").booleanValue());
        assertEquals("n.yaml:1: a: expected true or false, got '42'", assertThrows(SourceException.class,
                () -> n.get("a").booleanValue()).getMessage());
    }
}
