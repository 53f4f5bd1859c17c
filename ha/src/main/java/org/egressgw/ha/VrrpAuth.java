package org.egressgw.ha;

import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.util.Arrays;

import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.egressgw.packet.Checksum;

/**
 * Our authentication trailer for VRRPv3 advertisements: VRRPv3 has none, so every advertisement carries, right
 * after the VRRP message, a strictly increasing sequence and an HMAC-SHA256 under a key shared by the group.
 * Receivers that implement only RFC 5798 ignore it (the RFC requires the message to be complete, not to end the
 * packet); ours refuse any advertisement without a valid one.
 *
 * <p>Trailer layout, {@link #TRAILER_LENGTH} 46 bytes at {@code M = 8 + 4 * count} from the VRRP header (offsets
 * below are from the trailer's start; big-endian):
 *
 * <pre>
 *        0                   1                   2                   3
 *        0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    0  |      'E'      |      'G'      |      'W'      |  version = 1  |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    4  |                 Sequence (64 bits, unsigned)                  |
 *       +                                                               +
 *    8  |                                                               |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   12  |                                                               |
 *       ~              HMAC-SHA256 (32 bytes, see below)                ~
 *   40  |                                                               |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   44  |        Checksum balance       |
 *       +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   MAGIC_OFFSET     0   0x45475701: "EGW", trailer version 1
 *   SEQUENCE_OFFSET  4   strictly increasing per sender; {@link #nextSequence} = max(previous + 1, epoch ms * 1000),
 *                        so it keeps increasing across restarts while the sender's clock does
 *   HMAC_OFFSET     12   HMAC-SHA256(key, srcIp (4) | dstIp (4) | bytes [0, M + 12) from the VRRP header), i.e.
 *                        the addresses of the IPv4 header, the whole VRRP message (checksum included), the magic
 *                        and the sequence
 *   BALANCE_OFFSET  44   chosen so that 46 + the one's-complement sum of the trailer's 23 words is 0: then the
 *                        VRRP checksum verifies whether a receiver sums the message alone (as the RFC and
 *                        {@link Vrrp#check}) or the whole IPv4 payload with its length in the pseudo-header (as
 *                        tcpdump does)
 * </pre>
 *
 * <p>Binding the destination into the HMAC stops an advertisement captured on its way to one peer from being
 * delivered to another; the sequence (checked by {@link AdvertisementFilter}, per source) stops it from being
 * delivered twice. What the trailer does not do: encrypt (the election is not secret); protect a receiver that
 * restarted from one replay per source of an advertisement older than the ones it saw before (its replay state
 * lives in memory); or accept a sender whose wall clock went back further than it ran before a restart — its
 * advertisements count as replays until its clock passes the last sequence the receivers accepted.
 *
 * <p>Thread-safety: an instance holds a {@link Mac} and scratch space, so it is confined to one thread (the
 * agent's). The static methods are thread-safe.
 */
public final class VrrpAuth {
    public static final int TRAILER_LENGTH = 46;
    public static final int MAGIC_OFFSET = 0;
    public static final int SEQUENCE_OFFSET = 4;
    public static final int HMAC_OFFSET = 12;
    public static final int BALANCE_OFFSET = 44;
    public static final int HMAC_LENGTH = 32;
    /** "EGW" and trailer version 1. */
    public static final int MAGIC = 0x45475701;
    /** Keys shorter than this are refused (HMAC-SHA256 is meant for keys of 32 bytes). */
    public static final int MIN_KEY_LENGTH = 16;
    /** The longest advertisement payload this class builds: 255 addresses plus the trailer. */
    public static final int MAX_PAYLOAD_LENGTH = Vrrp.MAX_MESSAGE_LENGTH + TRAILER_LENGTH;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;
    private static final String ALGORITHM = "HmacSHA256";

    private final Mac mac;
    private final byte[] scratch = new byte[8 + Vrrp.MAX_MESSAGE_LENGTH + HMAC_OFFSET];
    private final byte[] digest = new byte[HMAC_LENGTH];

    /**
     * @param key the group's shared key, at least {@value #MIN_KEY_LENGTH} bytes (copied)
     * @throws IllegalArgumentException if the key is missing or shorter (the message says how long it is)
     */
    public VrrpAuth(byte[] key) {
        checkKey(key);
        try {
            mac = Mac.getInstance(ALGORITHM);
            mac.init(new SecretKeySpec(Arrays.copyOf(key, key.length), ALGORITHM));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(ALGORITHM + " is not available", e);
        }
    }

    /**
     * Refuses a missing key or one shorter than {@value #MIN_KEY_LENGTH} bytes.
     *
     * @throws IllegalArgumentException saying how long it is
     */
    static void checkKey(byte[] key) {
        if (key == null || key.length < MIN_KEY_LENGTH) {
            throw new IllegalArgumentException("HA key of " + (key == null ? "no" : Integer.toString(key.length))
                + " bytes is shorter than " + MIN_KEY_LENGTH);
        }
    }

    /**
     * The next sequence for a sender whose last one was {@code previous}: {@code max(previous + 1,
     * epochMillis * 1000)}. Room for a thousand advertisements per millisecond before it runs ahead of the clock.
     */
    public static long nextSequence(long previous, long epochMillis) {
        return Math.max(previous + 1, epochMillis * 1000);
    }

    /**
     * Writes a complete authenticated advertisement — the VRRP message ({@link Vrrp#encode}) and the trailer — at
     * {@code off}, as the IPv4 payload from {@code srcIp} to {@code dstIp}.
     *
     * @return the payload length, {@code 8 + 4 * virtualIps.length + 46}
     * @throws IllegalArgumentException if a field is out of range (see {@link Vrrp#encode})
     */
    public int encode(MutableDirectBuffer b, int off, int vrid, int priority, int maxAdverIntervalCentis,
            int[] virtualIps, int srcIp, int dstIp, long sequence) {
        final int messageLength = Vrrp.encode(b, off, vrid, priority, maxAdverIntervalCentis, virtualIps, srcIp, dstIp);
        final int trailer = off + messageLength;
        b.putInt(trailer + MAGIC_OFFSET, MAGIC, BE);
        b.putLong(trailer + SEQUENCE_OFFSET, sequence, BE);
        hmac(b, off, messageLength, srcIp, dstIp);
        b.putBytes(trailer + HMAC_OFFSET, digest, 0, HMAC_LENGTH);
        // start from the trailer length: it is what a whole-payload sum adds to the pseudo-header's length field
        final long sum = Checksum.sum(b, trailer, BALANCE_OFFSET, TRAILER_LENGTH);
        b.putShort(trailer + BALANCE_OFFSET, (short) (~Checksum.fold(sum) & 0xffff), BE);
        return messageLength + TRAILER_LENGTH;
    }

    /**
     * Checks the trailer of the advertisement at {@code off} ({@code payloadLength} bytes of IPv4 payload from
     * {@code srcIp} to {@code dstIp}). Meant to run after {@link Vrrp#check} passed, but safe on any bytes.
     *
     * @return {@link VrrpError#NONE}; {@link VrrpError#AUTH_MISSING} if the payload is not exactly the message
     *     plus a trailer, the magic is wrong or the balance word does not balance; {@link VrrpError#AUTH_BAD_HMAC} if the HMAC does not match. The
     *     sequence is not judged here (see {@link AdvertisementFilter})
     */
    public int verify(DirectBuffer b, int off, int payloadLength, int srcIp, int dstIp) {
        if (payloadLength < Vrrp.HEADER_LENGTH) {
            return VrrpError.AUTH_MISSING;
        }
        final int messageLength = Vrrp.messageLength(b, off);
        if (payloadLength != messageLength + TRAILER_LENGTH) {
            return VrrpError.AUTH_MISSING;
        }
        final int trailer = off + messageLength;
        if (b.getInt(trailer + MAGIC_OFFSET, BE) != MAGIC
            || Checksum.fold(Checksum.sum(b, trailer, TRAILER_LENGTH, TRAILER_LENGTH)) != 0xffff) {
            return VrrpError.AUTH_MISSING;
        }
        hmac(b, off, messageLength, srcIp, dstIp);
        // constant time: every byte is compared whatever the first difference
        int difference = 0;
        for (int i = 0; i < HMAC_LENGTH; i++) {
            difference |= b.getByte(trailer + HMAC_OFFSET + i) ^ digest[i];
        }
        return difference == 0 ? VrrpError.NONE : VrrpError.AUTH_BAD_HMAC;
    }

    /** The trailer's sequence of the advertisement at {@code off}; valid after {@link #verify} passed. */
    public static long sequence(DirectBuffer b, int off) {
        return b.getLong(off + Vrrp.messageLength(b, off) + SEQUENCE_OFFSET, BE);
    }

    /** HMAC of srcIp | dstIp | [off, off + messageLength + HMAC_OFFSET) into {@link #digest}. */
    private void hmac(DirectBuffer b, int off, int messageLength, int srcIp, int dstIp) {
        final int covered = messageLength + HMAC_OFFSET;
        putInt(scratch, 0, srcIp);
        putInt(scratch, 4, dstIp);
        b.getBytes(off, scratch, 8, covered);
        mac.update(scratch, 0, 8 + covered);
        try {
            mac.doFinal(digest, 0);
        } catch (ShortBufferException e) {
            throw new IllegalStateException("HMAC output buffer", e);
        }
    }

    private static void putInt(byte[] bytes, int at, int value) {
        bytes[at] = (byte) (value >>> 24);
        bytes[at + 1] = (byte) (value >>> 16);
        bytes[at + 2] = (byte) (value >>> 8);
        bytes[at + 3] = (byte) value;
    }
}
