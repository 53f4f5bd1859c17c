package org.egressgw.conntrack;

import static org.egressgw.conntrack.ConnState.NONE;
import static org.egressgw.conntrack.ConnState.TCP_CLOSED;
import static org.egressgw.conntrack.ConnState.TCP_CLOSING;
import static org.egressgw.conntrack.ConnState.TCP_ESTABLISHED;
import static org.egressgw.conntrack.ConnState.TCP_FIN_WAIT;
import static org.egressgw.conntrack.ConnState.TCP_FIN_WAIT_REPLY;
import static org.egressgw.conntrack.ConnState.TCP_SYN_RECEIVED;
import static org.egressgw.conntrack.ConnState.TCP_SYN_SENT;
import static org.egressgw.conntrack.ConnState.TCP_SYN_SENT2;
import static org.egressgw.conntrack.ConnState.UDP_REPLIED;
import static org.egressgw.conntrack.TcpTracker.ACK;
import static org.egressgw.conntrack.TcpTracker.FIN;
import static org.egressgw.conntrack.TcpTracker.PSH;
import static org.egressgw.conntrack.TcpTracker.RST;
import static org.egressgw.conntrack.TcpTracker.SYN;
import static org.egressgw.conntrack.TcpTracker.URG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TcpTrackerTest {
    private static final boolean O = false;
    private static final boolean R = true;

    /** Feeds (flags, direction) pairs and checks the state after each. */
    private static void walk(int state, Object... steps) {
        for (int i = 0; i < steps.length; i += 3) {
            int flags = (Integer) steps[i];
            boolean reply = (Boolean) steps[i + 1];
            int expected = (Integer) steps[i + 2];
            int next = TcpTracker.next(state, flags, reply);
            assertEquals(ConnState.name(expected), ConnState.name(next),
                    "step " + i / 3 + " from " + ConnState.name(state) + " flags 0x" + Integer.toHexString(flags)
                            + (reply ? " reply" : " original"));
            state = next;
        }
    }

    @Test
    void normalOpenAndCloseFromOriginal() {
        walk(NONE,
                SYN, O, TCP_SYN_SENT,
                SYN, O, TCP_SYN_SENT,          // retransmitted SYN
                SYN | ACK, R, TCP_SYN_RECEIVED,
                SYN | ACK, R, TCP_SYN_RECEIVED, // retransmitted SYN+ACK
                ACK, O, TCP_ESTABLISHED,
                ACK | PSH, R, TCP_ESTABLISHED,
                FIN | ACK, O, TCP_FIN_WAIT,
                FIN | ACK, O, TCP_FIN_WAIT,     // retransmitted FIN does not close the other side
                ACK, R, TCP_FIN_WAIT,
                FIN | ACK, R, TCP_CLOSING,
                ACK, O, TCP_CLOSING);
    }

    @Test
    void closeFromReplySide() {
        walk(TCP_ESTABLISHED,
                FIN | ACK, R, TCP_FIN_WAIT_REPLY,
                FIN | ACK, R, TCP_FIN_WAIT_REPLY,
                FIN | ACK, O, TCP_CLOSING);
    }

    @Test
    void simultaneousCloseEitherOrder() {
        walk(TCP_ESTABLISHED, FIN | ACK, O, TCP_FIN_WAIT, FIN | ACK, R, TCP_CLOSING);
        walk(TCP_ESTABLISHED, FIN | ACK, R, TCP_FIN_WAIT_REPLY, FIN | ACK, O, TCP_CLOSING);
    }

    @Test
    void simultaneousOpen() {
        walk(NONE,
                SYN, O, TCP_SYN_SENT,
                SYN, R, TCP_SYN_SENT2,
                SYN | ACK, R, TCP_SYN_RECEIVED,
                SYN | ACK, O, TCP_ESTABLISHED);
        walk(TCP_SYN_SENT2, SYN | ACK, O, TCP_SYN_RECEIVED, ACK, O, TCP_ESTABLISHED);
        assertFalse(TcpTracker.isInvalidReply(TCP_SYN_SENT, SYN), "reply SYN to SYN_SENT is a simultaneous open");
    }

    @Test
    void rstFromEitherSideClosesEveryTcpState() {
        int[] states = {TCP_SYN_SENT, TCP_SYN_SENT2, TCP_SYN_RECEIVED, TCP_ESTABLISHED, TCP_FIN_WAIT,
            TCP_FIN_WAIT_REPLY, TCP_CLOSING, TCP_CLOSED};
        for (int s : states) {
            assertEquals(TCP_CLOSED, TcpTracker.next(s, RST, O), ConnState.name(s));
            assertEquals(TCP_CLOSED, TcpTracker.next(s, RST | ACK, R), ConnState.name(s));
        }
        walk(TCP_SYN_SENT, RST | ACK, R, TCP_CLOSED, ACK, R, TCP_CLOSED, SYN, O, TCP_SYN_SENT);
    }

    @Test
    void unexpectedFlagsLeaveStateUnchanged() {
        walk(NONE, ACK, O, NONE, SYN | ACK, R, NONE, RST, O, NONE, FIN, R, NONE);
        walk(TCP_SYN_SENT, ACK, O, TCP_SYN_SENT, ACK, R, TCP_SYN_SENT, FIN, O, TCP_SYN_SENT);
        walk(TCP_SYN_RECEIVED, ACK, R, TCP_SYN_RECEIVED);
        walk(TCP_ESTABLISHED, SYN, O, TCP_ESTABLISHED, SYN | ACK, R, TCP_ESTABLISHED);
        // Bogus combinations are ignored in every state.
        for (int s = 0; s < ConnState.COUNT; s++) {
            for (int flags : new int[] {0, PSH, URG, SYN | FIN, SYN | RST, SYN | FIN | RST | ACK, 0xff}) {
                assertEquals(s, TcpTracker.next(s, flags, O));
                assertEquals(s, TcpTracker.next(s, flags, R));
                assertTrue(TcpTracker.isInvalidReply(s, flags));
            }
        }
        assertEquals(UDP_REPLIED, TcpTracker.next(UDP_REPLIED, SYN, O));
        assertEquals(-5, TcpTracker.next(-5, SYN, O));
        assertEquals(99, TcpTracker.next(99, SYN, O));
    }

    @Test
    void invalidReplies() {
        assertTrue(TcpTracker.isInvalidReply(TCP_SYN_SENT, ACK), "data before SYN+ACK");
        assertTrue(TcpTracker.isInvalidReply(TCP_SYN_SENT, ACK | PSH));
        assertTrue(TcpTracker.isInvalidReply(TCP_SYN_SENT, FIN | ACK));
        assertFalse(TcpTracker.isInvalidReply(TCP_SYN_SENT, SYN | ACK));
        assertFalse(TcpTracker.isInvalidReply(TCP_SYN_SENT, RST | ACK), "connection refused");
        assertTrue(TcpTracker.isInvalidReply(TCP_SYN_SENT2, ACK));
        assertFalse(TcpTracker.isInvalidReply(TCP_SYN_RECEIVED, ACK | PSH));
        assertTrue(TcpTracker.isInvalidReply(TCP_ESTABLISHED, SYN));
        assertFalse(TcpTracker.isInvalidReply(TCP_ESTABLISHED, ACK));
        assertFalse(TcpTracker.isInvalidReply(TCP_FIN_WAIT, FIN | ACK));
        assertTrue(TcpTracker.isInvalidReply(TCP_CLOSED, ACK));
        assertFalse(TcpTracker.isInvalidReply(TCP_CLOSED, RST));
        assertFalse(TcpTracker.isInvalidReply(NONE, ACK));
        assertFalse(TcpTracker.isInvalidReply(UDP_REPLIED, ACK));
        assertFalse(TcpTracker.isInvalidReply(1234, ACK));
        assertTrue(TcpTracker.isInvalidReply(1234, 0));
    }

    @Test
    void everyStateHasAName() {
        for (int s = 0; s < ConnState.COUNT; s++) {
            assertFalse(ConnState.name(s).startsWith("UNKNOWN"));
        }
        assertEquals("UNKNOWN(12)", ConnState.name(ConnState.COUNT));
        assertEquals("TCP_ESTABLISHED", ConnState.name(TCP_ESTABLISHED));
    }
}
