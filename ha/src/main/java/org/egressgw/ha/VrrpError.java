package org.egressgw.ha;

/**
 * Reasons a received VRRP packet is refused, from the IPv4 layer up to authentication and the virtual router's
 * configuration. Codes are dense ({@code 0..COUNT-1}) so counters can be an array indexed by code; {@link #NONE}
 * means the packet was accepted. Bad packets are data, not exceptions: {@link Vrrp#check},
 * {@link VrrpAuth#verify} and {@link AdvertisementFilter#accept} return one of these codes.
 *
 * <p>Constants and static methods only; thread-safe.
 */
public final class VrrpError {
    /** Accepted. */
    public static final int NONE = 0;
    /** The IPv4 header failed {@code Ipv4.check} (truncated, version, IHL, total length or header checksum). */
    public static final int IPV4_MALFORMED = 1;
    /** Not IP protocol 112, or a fragment. */
    public static final int NOT_VRRP = 2;
    /** TTL (hop limit) is not 255: the packet crossed a router (RFC 5798 section 7.1). */
    public static final int BAD_TTL = 3;
    /** Fewer than the 8 fixed bytes of a VRRP header. */
    public static final int TRUNCATED = 4;
    /** Version is not 3. */
    public static final int BAD_VERSION = 5;
    /** Type is not 1 (ADVERTISEMENT). */
    public static final int BAD_TYPE = 6;
    /** Count IPvX Addrs is 0 (the RFC's minimum is 1). */
    public static final int BAD_COUNT = 7;
    /** The addresses the count announces run past the end of the packet. */
    public static final int BAD_LENGTH = 8;
    /** Max Adver Int is 0. */
    public static final int BAD_INTERVAL = 9;
    /** The VRRP checksum (with the IPv4 pseudo-header) is wrong. */
    public static final int BAD_CHECKSUM = 10;
    /** No authentication trailer, or one of the wrong length or magic. */
    public static final int AUTH_MISSING = 11;
    /** The trailer's HMAC does not match: wrong key, or the packet was altered. */
    public static final int AUTH_BAD_HMAC = 12;
    /** The trailer's sequence is not above the last one accepted from that source: a replay. */
    public static final int AUTH_REPLAY = 13;
    /** The destination is not this member's address. */
    public static final int WRONG_DESTINATION = 14;
    /** The source is not a configured peer (or is this member itself). */
    public static final int UNKNOWN_SOURCE = 15;
    /** Authentic, but for another virtual router id. */
    public static final int WRONG_VRID = 16;
    /** Authentic, but the virtual addresses differ from ours: a misconfigured peer (RFC 5798 section 7.1). */
    public static final int ADDRESS_MISMATCH = 17;

    /** Number of codes, including {@link #NONE}; the size of a counter array indexed by code. */
    public static final int COUNT = 18;

    private static final String[] NAMES = {
        "none",
        "ipv4_malformed",
        "not_vrrp",
        "bad_ttl",
        "truncated",
        "bad_version",
        "bad_type",
        "bad_count",
        "bad_length",
        "bad_interval",
        "bad_checksum",
        "auth_missing",
        "auth_bad_hmac",
        "auth_replay",
        "wrong_destination",
        "unknown_source",
        "wrong_vrid",
        "address_mismatch",
    };

    private VrrpError() {
    }

    /** True for the authentication failures: {@link #AUTH_MISSING}, {@link #AUTH_BAD_HMAC}, {@link #AUTH_REPLAY}. */
    public static boolean isAuthFailure(int code) {
        return code == AUTH_MISSING || code == AUTH_BAD_HMAC || code == AUTH_REPLAY;
    }

    /**
     * The snake_case metric label of a code, e.g. {@code "auth_bad_hmac"}. Does not allocate.
     *
     * @throws IllegalArgumentException if {@code code} is not within {@code 0..COUNT-1}
     */
    public static String name(int code) {
        if (code < 0 || code >= COUNT) {
            throw new IllegalArgumentException("VRRP error code " + code + " is not within 0.." + (COUNT - 1));
        }
        return NAMES[code];
    }
}
