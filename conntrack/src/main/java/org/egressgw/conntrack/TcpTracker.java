package org.egressgw.conntrack;

/**
 * Compact TCP state machine over both directions of a connection, driven by the TCP flags of each
 * packet. Table-driven: every packet is classified into one event, and {@code (state, event,
 * direction)} indexes a transition table; to extend the machine add states to {@link ConnState} and
 * rows here. Stateless, allocation-free, thread-safe.
 *
 * <p>Events (first match wins): <b>BAD</b> = SYN together with FIN or RST, or none of
 * SYN/FIN/RST/ACK; <b>RST</b>; <b>SYNACK</b> = SYN+ACK; <b>SYN</b> = SYN without ACK;
 * <b>FIN</b> = FIN (with or without ACK); <b>ACK</b> = ACK only (data or pure ACK).
 * {@code o:} = from the original side (pod), {@code r:} = from the reply side.
 *
 * <table>
 * <caption>Transitions (anything not listed leaves the state unchanged)</caption>
 * <tr><th>state</th><th>event</th><th>next</th></tr>
 * <tr><td>NONE</td><td>o:SYN</td><td>SYN_SENT</td></tr>
 * <tr><td>SYN_SENT</td><td>r:SYNACK</td><td>SYN_RECEIVED</td></tr>
 * <tr><td>SYN_SENT</td><td>r:SYN</td><td>SYN_SENT2 (simultaneous open)</td></tr>
 * <tr><td>SYN_SENT2</td><td>o:SYNACK, r:SYNACK</td><td>SYN_RECEIVED</td></tr>
 * <tr><td>SYN_RECEIVED</td><td>o:ACK, o:SYNACK (simultaneous open)</td><td>ESTABLISHED</td></tr>
 * <tr><td>SYN_RECEIVED, ESTABLISHED</td><td>o:FIN</td><td>FIN_WAIT</td></tr>
 * <tr><td>SYN_RECEIVED, ESTABLISHED</td><td>r:FIN</td><td>FIN_WAIT_REPLY</td></tr>
 * <tr><td>FIN_WAIT</td><td>r:FIN</td><td>CLOSING (o:FIN is a retransmission: unchanged)</td></tr>
 * <tr><td>FIN_WAIT_REPLY</td><td>o:FIN</td><td>CLOSING</td></tr>
 * <tr><td>every TCP state but NONE</td><td>o:RST, r:RST</td><td>CLOSED</td></tr>
 * <tr><td>CLOSING, CLOSED</td><td>o:SYN</td><td>SYN_SENT (tuple reused for a new connection)</td></tr>
 * <tr><td>UDP/ICMP states</td><td>any</td><td>unchanged</td></tr>
 * </table>
 *
 * Simultaneous close: both FINs in either order reach CLOSING (via FIN_WAIT or FIN_WAIT_REPLY).
 * A NONE entry (picked up without a SYN) stays NONE; RST on it is ignored too.
 *
 * <table>
 * <caption>{@link #isInvalidReply}: reply packets that do not fit</caption>
 * <tr><th>state</th><th>invalid reply events</th></tr>
 * <tr><td>any</td><td>BAD</td></tr>
 * <tr><td>SYN_SENT</td><td>FIN, ACK (data before the SYN+ACK)</td></tr>
 * <tr><td>SYN_SENT2</td><td>FIN, ACK</td></tr>
 * <tr><td>SYN_RECEIVED and later TCP states</td><td>SYN (a bare SYN from the server)</td></tr>
 * <tr><td>CLOSED</td><td>everything but RST (stragglers after a reset)</td></tr>
 * <tr><td>NONE, UDP/ICMP states</td><td>nothing but BAD (no handshake to check against)</td></tr>
 * </table>
 */
public final class TcpTracker {
    public static final int FIN = 0x01;
    public static final int SYN = 0x02;
    public static final int RST = 0x04;
    public static final int PSH = 0x08;
    public static final int ACK = 0x10;
    public static final int URG = 0x20;

    static final int EV_SYN = 0;
    static final int EV_SYNACK = 1;
    static final int EV_FIN = 2;
    static final int EV_ACK = 3;
    static final int EV_RST = 4;
    static final int EV_BAD = 5;
    private static final int EVENTS = 6;

    /** NEXT[state][event * 2 + (reply ? 1 : 0)]. */
    private static final byte[][] NEXT = new byte[ConnState.COUNT][EVENTS * 2];
    /** INVALID_REPLY[state][event]. */
    private static final boolean[][] INVALID_REPLY = new boolean[ConnState.COUNT][EVENTS];

    static {
        for (int s = 0; s < ConnState.COUNT; s++) {
            for (int c = 0; c < EVENTS * 2; c++) {
                NEXT[s][c] = (byte) s;
            }
            INVALID_REPLY[s][EV_BAD] = true;
        }
        on(ConnState.NONE, EV_SYN, false, ConnState.TCP_SYN_SENT);

        on(ConnState.TCP_SYN_SENT, EV_SYNACK, true, ConnState.TCP_SYN_RECEIVED);
        on(ConnState.TCP_SYN_SENT, EV_SYN, true, ConnState.TCP_SYN_SENT2);

        on(ConnState.TCP_SYN_SENT2, EV_SYNACK, false, ConnState.TCP_SYN_RECEIVED);
        on(ConnState.TCP_SYN_SENT2, EV_SYNACK, true, ConnState.TCP_SYN_RECEIVED);

        on(ConnState.TCP_SYN_RECEIVED, EV_ACK, false, ConnState.TCP_ESTABLISHED);
        on(ConnState.TCP_SYN_RECEIVED, EV_SYNACK, false, ConnState.TCP_ESTABLISHED);
        on(ConnState.TCP_SYN_RECEIVED, EV_FIN, false, ConnState.TCP_FIN_WAIT);
        on(ConnState.TCP_SYN_RECEIVED, EV_FIN, true, ConnState.TCP_FIN_WAIT_REPLY);

        on(ConnState.TCP_ESTABLISHED, EV_FIN, false, ConnState.TCP_FIN_WAIT);
        on(ConnState.TCP_ESTABLISHED, EV_FIN, true, ConnState.TCP_FIN_WAIT_REPLY);

        on(ConnState.TCP_FIN_WAIT, EV_FIN, true, ConnState.TCP_CLOSING);
        on(ConnState.TCP_FIN_WAIT_REPLY, EV_FIN, false, ConnState.TCP_CLOSING);

        on(ConnState.TCP_CLOSING, EV_SYN, false, ConnState.TCP_SYN_SENT);
        on(ConnState.TCP_CLOSED, EV_SYN, false, ConnState.TCP_SYN_SENT);

        for (int s = 0; s < ConnState.COUNT; s++) {
            if (ConnState.isTcp(s)) {
                on(s, EV_RST, false, ConnState.TCP_CLOSED);
                on(s, EV_RST, true, ConnState.TCP_CLOSED);
            }
        }

        invalidReply(ConnState.TCP_SYN_SENT, EV_FIN, EV_ACK);
        invalidReply(ConnState.TCP_SYN_SENT2, EV_FIN, EV_ACK);
        invalidReply(ConnState.TCP_SYN_RECEIVED, EV_SYN);
        invalidReply(ConnState.TCP_ESTABLISHED, EV_SYN);
        invalidReply(ConnState.TCP_FIN_WAIT, EV_SYN);
        invalidReply(ConnState.TCP_FIN_WAIT_REPLY, EV_SYN);
        invalidReply(ConnState.TCP_CLOSING, EV_SYN);
        invalidReply(ConnState.TCP_CLOSED, EV_SYN, EV_SYNACK, EV_FIN, EV_ACK);
    }

    private TcpTracker() {
    }

    /**
     * Next state after a packet with {@code tcpFlags} (the TCP header's flag byte) in the given
     * direction. States outside {@link ConnState} are returned unchanged.
     */
    public static int next(int state, int tcpFlags, boolean reply) {
        if (state < 0 || state >= ConnState.COUNT) {
            return state;
        }
        return NEXT[state][(event(tcpFlags) << 1) | (reply ? 1 : 0)];
    }

    /** True if a reply-direction packet with {@code tcpFlags} does not fit {@code state}. */
    public static boolean isInvalidReply(int state, int tcpFlags) {
        int event = event(tcpFlags);
        if (state < 0 || state >= ConnState.COUNT) {
            return event == EV_BAD;
        }
        return INVALID_REPLY[state][event];
    }

    /** Classifies the flag byte into one event. */
    static int event(int tcpFlags) {
        boolean syn = (tcpFlags & SYN) != 0;
        boolean ack = (tcpFlags & ACK) != 0;
        boolean fin = (tcpFlags & FIN) != 0;
        boolean rst = (tcpFlags & RST) != 0;
        if (syn && (fin || rst)) {
            return EV_BAD;
        }
        if (rst) {
            return EV_RST;
        }
        if (syn) {
            return ack ? EV_SYNACK : EV_SYN;
        }
        if (fin) {
            return EV_FIN;
        }
        return ack ? EV_ACK : EV_BAD;
    }

    private static void on(int state, int event, boolean reply, int next) {
        NEXT[state][(event << 1) | (reply ? 1 : 0)] = (byte) next;
    }

    private static void invalidReply(int state, int... events) {
        for (int event : events) {
            INVALID_REPLY[state][event] = true;
        }
    }
}
