package org.egressgw.packet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PacketErrorTest {
    @Test
    void codesAreDenseAndNamesMatchConstants() throws Exception {
        Set<Integer> codes = new HashSet<>();
        for (Field f : PacketError.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class && !f.getName().equals("COUNT")) {
                int code = f.getInt(null);
                assertTrue(codes.add(code), "duplicate code " + code);
                assertEquals(f.getName().toLowerCase(java.util.Locale.ROOT), PacketError.name(code));
            }
        }
        assertEquals(PacketError.COUNT, codes.size());
        for (int i = 0; i < PacketError.COUNT; i++) {
            assertTrue(codes.contains(i), "missing code " + i);
            assertTrue(PacketError.name(i).matches("[a-z0-9_]+"));
        }
        assertEquals(0, PacketError.NONE);
        assertEquals("ipv4_bad_checksum", PacketError.name(PacketError.IPV4_BAD_CHECKSUM));
    }

    @Test
    void unknownCodeIsApiMisuse() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PacketError.name(PacketError.COUNT));
        assertTrue(e.getMessage().contains(String.valueOf(PacketError.COUNT)));
        assertThrows(IllegalArgumentException.class, () -> PacketError.name(-1));
    }
}
