package org.egressgw.conntrack;

/**
 * Idle timeouts in milliseconds per protocol and state, the usual {@link TimeoutPolicy}.
 *
 * <table>
 * <caption>Mapping</caption>
 * <tr><th>protocol</th><th>states</th><th>timeout</th></tr>
 * <tr><td>TCP (6)</td><td>NONE, SYN_SENT, SYN_SENT2, SYN_RECEIVED</td><td>{@code tcpSynMillis}</td></tr>
 * <tr><td>TCP (6)</td><td>ESTABLISHED</td><td>{@code tcpEstablishedMillis}</td></tr>
 * <tr><td>TCP (6)</td><td>FIN_WAIT, FIN_WAIT_REPLY, CLOSING, CLOSED</td><td>{@code tcpClosingMillis}</td></tr>
 * <tr><td>UDP (17)</td><td>any</td><td>{@code udpMillis}</td></tr>
 * <tr><td>ICMP (1)</td><td>any</td><td>{@code icmpMillis}</td></tr>
 * <tr><td>other</td><td>any</td><td>{@code udpMillis}</td></tr>
 * </table>
 *
 * @param tcpSynMillis         half-open TCP (default 60 s)
 * @param tcpEstablishedMillis established TCP (default 8000 s)
 * @param tcpClosingMillis     TCP after a FIN or RST (default 10 s)
 * @param udpMillis            UDP and unknown protocols (default 60 s)
 * @param icmpMillis           ICMP (default 60 s)
 */
public record Timeouts(long tcpSynMillis, long tcpEstablishedMillis, long tcpClosingMillis, long udpMillis,
                       long icmpMillis) implements TimeoutPolicy {
    public static final int PROTO_ICMP = 1;
    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;

    private static final Timeouts DEFAULTS = new Timeouts(60_000L, 8_000_000L, 10_000L, 60_000L, 60_000L);

    /** Rejects negative values, naming the offending one. */
    public Timeouts {
        requireNonNegative("tcpSynMillis", tcpSynMillis);
        requireNonNegative("tcpEstablishedMillis", tcpEstablishedMillis);
        requireNonNegative("tcpClosingMillis", tcpClosingMillis);
        requireNonNegative("udpMillis", udpMillis);
        requireNonNegative("icmpMillis", icmpMillis);
    }

    /** TCP SYN 60 s, established 8000 s, closing 10 s, UDP 60 s, ICMP 60 s. */
    public static Timeouts defaults() {
        return DEFAULTS;
    }

    @Override
    public long timeoutMillis(int protocol, int state) {
        switch (protocol) {
            case PROTO_TCP:
                switch (state) {
                    case ConnState.TCP_ESTABLISHED:
                        return tcpEstablishedMillis;
                    case ConnState.TCP_FIN_WAIT:
                    case ConnState.TCP_FIN_WAIT_REPLY:
                    case ConnState.TCP_CLOSING:
                    case ConnState.TCP_CLOSED:
                        return tcpClosingMillis;
                    default:
                        return tcpSynMillis;
                }
            case PROTO_ICMP:
                return icmpMillis;
            default:
                return udpMillis;
        }
    }

    private static void requireNonNegative(String name, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must be >= 0: " + value);
        }
    }
}
