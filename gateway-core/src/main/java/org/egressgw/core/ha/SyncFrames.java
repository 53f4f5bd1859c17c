package org.egressgw.core.ha;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The framing of the group's state sync (TCP between members), every frame authenticated:
 *
 * <pre>
 *   0  u32  length of what follows (seq .. mac)
 *   4  u64  sequence number, +1 per frame and direction, starting at 1
 *  12  u8   type
 *  13  ...  payload
 *  end 32   HMAC-SHA256 over sequence, type and payload, keyed with the session key (the shared key
 *           during the handshake)
 * </pre>
 *
 * A frame whose MAC does not verify, whose sequence is not the next one (replayed, reordered, dropped) or whose
 * length is out of bounds ends the connection ({@link SyncAuthException} for the first two, counted). Types and
 * payloads are in {@link SyncProtocol}.
 *
 * <p>Not thread-safe: one instance per connection and direction.
 */
final class SyncFrames {
    static final int HEADER = 4 + 8 + 1;
    static final int MAC_LENGTH = 32;
    /** The largest frame accepted: a batch of records, with room to spare. */
    static final int MAX_FRAME = 1 << 20;

    private final Mac mac;
    private long sequence;
    private final byte[] digest = new byte[MAC_LENGTH];

    SyncFrames(byte[] key) {
        this.mac = hmac(key);
    }

    static Mac hmac(byte[] key) {
        try {
            Mac m = Mac.getInstance("HmacSHA256");
            m.init(new SecretKeySpec(key, "HmacSHA256"));
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 unavailable", e);
        }
    }

    /** Switches to the session key once the handshake is done; the sequence goes on. */
    void rekey(byte[] sessionKey) {
        try {
            mac.init(new SecretKeySpec(sessionKey, "HmacSHA256"));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The next frame of this direction, with {@code payload[0, length)}. */
    byte[] encode(int type, byte[] payload, int length) {
        long seq = ++sequence;
        ByteBuffer b = ByteBuffer.allocate(HEADER + length + MAC_LENGTH);
        b.putInt(8 + 1 + length + MAC_LENGTH).putLong(seq).put((byte) type).put(payload, 0, length);
        mac.update(b.array(), 4, 8 + 1 + length);
        try {
            mac.doFinal(b.array(), HEADER + length);
        } catch (javax.crypto.ShortBufferException e) {
            throw new IllegalStateException(e);
        }
        return b.array();
    }

    /** A verified frame: its type and payload. */
    record Frame(int type, byte[] payload) {
    }

    /**
     * Reads and verifies the next frame of this direction.
     *
     * @throws SyncAuthException for a bad MAC or an unexpected sequence number
     * @throws IOException when the stream ends or a length is out of bounds
     */
    Frame read(DataInputStream in) throws IOException {
        int length;
        try {
            length = in.readInt();
        } catch (EOFException e) {
            throw new EOFException("the peer closed the connection");
        }
        if (length < 8 + 1 + MAC_LENGTH || length > MAX_FRAME) {
            throw new IOException("frame length " + length + " is out of bounds");
        }
        byte[] body = new byte[length];
        in.readFully(body);
        int payloadLength = length - 8 - 1 - MAC_LENGTH;
        mac.update(body, 0, 8 + 1 + payloadLength);
        try {
            mac.doFinal(digest, 0);
        } catch (javax.crypto.ShortBufferException e) {
            throw new IllegalStateException(e);
        }
        byte[] got = java.util.Arrays.copyOfRange(body, 9 + payloadLength, length);
        if (!MessageDigest.isEqual(digest, got)) {
            throw new SyncAuthException("a frame's MAC does not verify: the peer has another key, or the stream was altered");
        }
        long seq = ByteBuffer.wrap(body, 0, 8).getLong();
        if (seq != sequence + 1) {
            throw new SyncAuthException("frame " + seq + " where " + (sequence + 1) + " was due (replayed or lost)");
        }
        sequence = seq;
        return new Frame(body[8] & 0xff, java.util.Arrays.copyOfRange(body, 9, 9 + payloadLength));
    }

    /** Authentication failed: another key, an altered or replayed stream. */
    static final class SyncAuthException extends IOException {
        private static final long serialVersionUID = 1L;

        SyncAuthException(String message) {
            super(message);
        }
    }
}
