package org.egressgw.conntrack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TimeoutsTest {
    @Test
    void defaultsMapProtocolAndState() {
        Timeouts t = Timeouts.defaults();
        assertEquals(60_000, t.timeoutMillis(6, ConnState.TCP_SYN_SENT));
        assertEquals(60_000, t.timeoutMillis(6, ConnState.TCP_SYN_SENT2));
        assertEquals(60_000, t.timeoutMillis(6, ConnState.TCP_SYN_RECEIVED));
        assertEquals(60_000, t.timeoutMillis(6, ConnState.NONE));
        assertEquals(8_000_000, t.timeoutMillis(6, ConnState.TCP_ESTABLISHED));
        for (int s : new int[] {ConnState.TCP_FIN_WAIT, ConnState.TCP_FIN_WAIT_REPLY, ConnState.TCP_CLOSING,
            ConnState.TCP_CLOSED}) {
            assertEquals(10_000, t.timeoutMillis(6, s));
        }
        assertEquals(60_000, t.timeoutMillis(17, ConnState.UDP_UNREPLIED));
        assertEquals(60_000, t.timeoutMillis(17, ConnState.UDP_REPLIED));
        assertEquals(60_000, t.timeoutMillis(1, ConnState.ICMP));
        assertEquals(60_000, t.timeoutMillis(47, ConnState.NONE));
    }

    @Test
    void customValuesAndValidation() {
        Timeouts t = new Timeouts(1, 2, 3, 4, 5);
        assertEquals(1, t.timeoutMillis(6, ConnState.TCP_SYN_SENT));
        assertEquals(2, t.timeoutMillis(6, ConnState.TCP_ESTABLISHED));
        assertEquals(3, t.timeoutMillis(6, ConnState.TCP_CLOSED));
        assertEquals(4, t.timeoutMillis(17, ConnState.UDP_REPLIED));
        assertEquals(5, t.timeoutMillis(1, ConnState.ICMP));
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> new Timeouts(1, 2, -3, 4, 5));
        assertTrue(ex.getMessage().contains("tcpClosingMillis") && ex.getMessage().contains("-3"), ex.getMessage());
    }
}
