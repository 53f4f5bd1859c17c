package org.egressgw.conntrack;

/**
 * Values of a {@link ConnTable} entry's {@code state} field. A fresh entry starts at {@link #NONE};
 * TCP entries are advanced by {@link TcpTracker}, UDP/ICMP entries by the pipeline. The values are
 * small and dense so that {@link TcpTracker} can index tables with them; never persist them.
 */
public final class ConnState {
    /** Fresh entry, nothing tracked yet (also: TCP picked up without a SYN). */
    public static final int NONE = 0;
    /** TCP: SYN seen from the original side. */
    public static final int TCP_SYN_SENT = 1;
    /** TCP: SYN+ACK seen from the reply side (or the first SYN+ACK of a simultaneous open). */
    public static final int TCP_SYN_RECEIVED = 2;
    /** TCP: handshake completed. */
    public static final int TCP_ESTABLISHED = 3;
    /** TCP: the original side sent a FIN (one side closed). */
    public static final int TCP_FIN_WAIT = 4;
    /** TCP: both sides sent a FIN. */
    public static final int TCP_CLOSING = 5;
    /** TCP: a RST was seen. */
    public static final int TCP_CLOSED = 6;
    /** UDP: only original-direction packets seen. */
    public static final int UDP_UNREPLIED = 7;
    /** UDP: a reply was seen. */
    public static final int UDP_REPLIED = 8;
    /** ICMP (echo) flow. */
    public static final int ICMP = 9;
    /** TCP: simultaneous open, SYN seen from both sides without an ACK. */
    public static final int TCP_SYN_SENT2 = 10;
    /** TCP: the reply side sent a FIN first (one side closed). */
    public static final int TCP_FIN_WAIT_REPLY = 11;

    /** Number of defined states; every value is in {@code [0, COUNT)}. */
    public static final int COUNT = 12;

    private static final String[] NAMES = {
        "NONE", "TCP_SYN_SENT", "TCP_SYN_RECEIVED", "TCP_ESTABLISHED", "TCP_FIN_WAIT", "TCP_CLOSING",
        "TCP_CLOSED", "UDP_UNREPLIED", "UDP_REPLIED", "ICMP", "TCP_SYN_SENT2", "TCP_FIN_WAIT_REPLY",
    };

    private ConnState() {
    }

    /** Constant name, or {@code "UNKNOWN(n)"} for a value outside the table. */
    public static String name(int state) {
        return state >= 0 && state < COUNT ? NAMES[state] : "UNKNOWN(" + state + ")";
    }

    /** True for the TCP states (not {@link #NONE}). */
    public static boolean isTcp(int state) {
        return (state >= TCP_SYN_SENT && state <= TCP_CLOSED) || state == TCP_SYN_SENT2 || state == TCP_FIN_WAIT_REPLY;
    }

    /** True while one side has closed: {@link #TCP_FIN_WAIT} or {@link #TCP_FIN_WAIT_REPLY}. */
    public static boolean isFinWait(int state) {
        return state == TCP_FIN_WAIT || state == TCP_FIN_WAIT_REPLY;
    }
}
