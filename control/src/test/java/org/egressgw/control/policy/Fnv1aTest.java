package org.egressgw.control.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Fnv1aTest {
    /** Published FNV-1a 32-bit test vectors (and values computed independently for pod-like UIDs). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "NULL", value = {
        "''         | 811c9dc5 | 1 | 1",
        "a          | e40c292c | 0 | 1",
        "foobar     | bf9cf968 | 0 | 1",
        "pod-1      | 23208cc6 | 0 | 0",
        "pod-2      | 22208b33 | 1 | 1",
        "pod-3      | 212089a0 | 0 | 2",
    })
    void vectorsAndPins(String text, String hex, int mod2, int mod3) {
        String s = text == null ? "" : text;
        assertEquals(Integer.parseUnsignedInt(hex, 16), Fnv1a.hash32(s), s);
        assertEquals(mod2, Fnv1a.pick(s, 2));
        assertEquals(mod3, Fnv1a.pick(s, 3));
        assertEquals(0, Fnv1a.pick(s, 1));
    }

    @ParameterizedTest
    @CsvSource({"0", "-1"})
    void countMustBePositive(int n) {
        assertThrows(IllegalArgumentException.class, () -> Fnv1a.pick("x", n));
    }
}
