package org.egressgw.tunio.netlink;

/**
 * Why a netlink message could not be parsed: the negative codes that the {@code check}/{@code validate}
 * methods of this package return instead of throwing. Every parser here checks a message once against the
 * number of bytes actually received and returns one of these codes or a non-negative result; after a message
 * has passed, its accessors do not check again.
 *
 * <p>The kernel never sends malformed rtnetlink messages; these codes exist so that a bug (ours or a
 * kernel's), a spoofed datagram or a truncated read is reported as data rather than as an
 * {@link IndexOutOfBoundsException} or an endless loop.
 */
public final class Malformed {
    /** Fewer than 16 bytes left where a {@code struct nlmsghdr} should start. */
    public static final int TRUNCATED_HEADER = -1;
    /** {@code nlmsg_len} is smaller than the 16-byte header itself (would loop forever or walk backwards). */
    public static final int LENGTH_TOO_SMALL = -2;
    /** {@code nlmsg_len} runs past the bytes received. */
    public static final int LENGTH_PAST_END = -3;
    /** The message is shorter than its family header ({@code ifinfomsg}, {@code ifaddrmsg}, ...). */
    public static final int TRUNCATED_BODY = -4;
    /** One to three bytes are left after the last attribute: not even an attribute header. */
    public static final int ATTRIBUTE_TRUNCATED = -5;
    /** An attribute's {@code rta_len} is smaller than its own 4-byte header. */
    public static final int ATTRIBUTE_LENGTH_TOO_SMALL = -6;
    /** An attribute's {@code rta_len} runs past the end of its message. */
    public static final int ATTRIBUTE_PAST_END = -7;
    /** An attribute this package reads has the wrong payload size for its type (e.g. a 3-byte IPv4 address). */
    public static final int ATTRIBUTE_SIZE = -8;
    /** An attribute without which the message means nothing is missing (e.g. a neighbour without NDA_DST). */
    public static final int MISSING_ATTRIBUTE = -9;
    /** An {@code NLMSG_ERROR} message too short for its {@code int error} and the echoed header. */
    public static final int TRUNCATED_ERROR = -10;
    /** A family-header field out of range for its family, e.g. an IPv4 prefix length over 32. */
    public static final int INVALID_FIELD = -11;

    private Malformed() {
    }

    /** A short description of {@code code}, for exception messages and logs (control path). */
    public static String describe(int code) {
        switch (code) {
            case TRUNCATED_HEADER:
                return "truncated netlink header";
            case LENGTH_TOO_SMALL:
                return "nlmsg_len smaller than the netlink header";
            case LENGTH_PAST_END:
                return "nlmsg_len past the end of the datagram";
            case TRUNCATED_BODY:
                return "message shorter than its family header";
            case ATTRIBUTE_TRUNCATED:
                return "trailing bytes shorter than an attribute header";
            case ATTRIBUTE_LENGTH_TOO_SMALL:
                return "rta_len smaller than the attribute header";
            case ATTRIBUTE_PAST_END:
                return "attribute runs past the end of the message";
            case ATTRIBUTE_SIZE:
                return "attribute payload has the wrong size for its type";
            case MISSING_ATTRIBUTE:
                return "required attribute missing";
            case TRUNCATED_ERROR:
                return "truncated NLMSG_ERROR";
            case INVALID_FIELD:
                return "header field out of range for its family";
            default:
                return code >= 0 ? "valid" : "malformed (code " + code + ")";
        }
    }
}
