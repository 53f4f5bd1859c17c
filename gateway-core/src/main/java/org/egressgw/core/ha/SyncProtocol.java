package org.egressgw.core.ha;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import org.egressgw.core.datapath.SyncRecord;
import org.egressgw.packet.Ipv4Address;

/**
 * The messages of the group's state sync over {@link SyncFrames}, and its handshake. A member connects to each
 * peer and sends what its datapath changes; the peer installs it and acknowledges. On every new connection the
 * sender first sends its whole table ({@link #BULK_BEGIN} ... {@link #BULK_END}), so a member that (re)joins has
 * everything before it may lead.
 *
 * <pre>
 * handshake (frames keyed with the shared key):
 *   client → HELLO  version u16 | member IPv4 u32 | nonce 16 | shards u16 | port low u16 | port high u16 | vni u32
 *   server → HELLO  the same, its own nonce, then the client's nonce echoed (16)
 *   both: session key = HMAC(shared key, "egw-sync-session" | client nonce | server nonce); later frames use it
 * then:
 *   RECORDS     count u16 | count × (type u8: UPSERT 1 / REMOVE 2 | SyncRecord, 64 bytes)
 *   BULK_BEGIN  (empty)      BULK_END (empty): the table sent so far is the sender's whole table
 *   ACK         records applied so far u64 (receiver → sender)
 *   PING        (empty), at least every second each way; a connection silent for 5 s is closed
 * </pre>
 *
 * A HELLO whose group parameters differ (pipeline.shards, egress.portRange, tunnel.vni) is refused: the members'
 * tables would not agree on who owns which port.
 */
final class SyncProtocol {
    static final int VERSION = 1;
    static final int HELLO = 1;
    static final int RECORDS = 2;
    static final int BULK_BEGIN = 3;
    static final int BULK_END = 4;
    static final int ACK = 5;
    static final int PING = 6;
    static final int NONCE = 16;
    /** Records per RECORDS frame at most. */
    static final int MAX_RECORDS = 256;
    static final int RECORD_BYTES = 1 + SyncRecord.LENGTH;
    static final int PING_MILLIS = 1000;
    static final int SILENCE_MILLIS = 5000;

    private static final SecureRandom RANDOM = new SecureRandom();

    private SyncProtocol() {
    }

    /** What each side must agree on. */
    record Params(int memberIp, int shards, int portLow, int portHigh, int vni) {
        String mismatch(Params other) {
            if (shards != other.shards) {
                return "pipeline.shards " + other.shards + " there, " + shards + " here";
            }
            if (portLow != other.portLow || portHigh != other.portHigh) {
                return "egress.portRange " + other.portLow + "-" + other.portHigh + " there, " + portLow + "-" + portHigh
                        + " here";
            }
            if (vni != other.vni) {
                return "tunnel.vni " + other.vni + " there, " + vni + " here";
            }
            return null;
        }
    }

    /** What a handshake established: the two directions' framing, keyed for this session. */
    record Session(SyncFrames out, SyncFrames in) {
    }

    /** A member whose parameters differ from ours. */
    static final class IncompatiblePeer extends IOException {
        private static final long serialVersionUID = 1L;

        IncompatiblePeer(String message) {
            super(message);
        }
    }

    static Session clientHandshake(byte[] key, Params mine, DataInputStream in, OutputStream out) throws IOException {
        SyncFrames o = new SyncFrames(key);
        SyncFrames i = new SyncFrames(key);
        byte[] clientNonce = nonce();
        byte[] hello = hello(mine, clientNonce, null);
        out.write(o.encode(HELLO, hello, hello.length));
        out.flush();
        SyncFrames.Frame f = i.read(in);
        if (f.type() != HELLO || f.payload().length != hello.length + NONCE) {
            throw new IOException("expected the peer's HELLO, got type " + f.type());
        }
        ByteBuffer b = ByteBuffer.wrap(f.payload());
        Params peer = params(b);
        byte[] serverNonce = new byte[NONCE];
        b.position(6);
        b.get(serverNonce);
        byte[] echoed = java.util.Arrays.copyOfRange(f.payload(), hello.length, hello.length + NONCE);
        if (!MessageDigest.isEqual(echoed, clientNonce)) {
            throw new SyncFrames.SyncAuthException("the peer's HELLO answers another handshake (replayed)");
        }
        check(mine, peer);
        return session(key, clientNonce, serverNonce, o, i);
    }

    static Session serverHandshake(byte[] key, Params mine, DataInputStream in, OutputStream out) throws IOException {
        SyncFrames o = new SyncFrames(key);
        SyncFrames i = new SyncFrames(key);
        SyncFrames.Frame f = i.read(in);
        byte[] template = hello(mine, new byte[NONCE], null);
        if (f.type() != HELLO || f.payload().length != template.length) {
            throw new IOException("expected a HELLO, got type " + f.type());
        }
        ByteBuffer b = ByteBuffer.wrap(f.payload());
        Params peer = params(b);
        byte[] clientNonce = new byte[NONCE];
        b.position(6);
        b.get(clientNonce);
        byte[] serverNonce = nonce();
        byte[] hello = hello(mine, serverNonce, clientNonce);
        out.write(o.encode(HELLO, hello, hello.length));
        out.flush();
        check(mine, peer);
        return session(key, clientNonce, serverNonce, o, i);
    }

    private static void check(Params mine, Params peer) throws IncompatiblePeer {
        String why = mine.mismatch(peer);
        if (why != null) {
            throw new IncompatiblePeer("member " + Ipv4Address.toString(peer.memberIp()) + " is not compatible: " + why
                    + " (a group's members must agree on it)");
        }
    }

    private static Session session(byte[] key, byte[] clientNonce, byte[] serverNonce, SyncFrames out, SyncFrames in) {
        Mac m = SyncFrames.hmac(key);
        m.update("egw-sync-session".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        m.update(clientNonce);
        m.update(serverNonce);
        byte[] sessionKey = m.doFinal();
        out.rekey(sessionKey);
        in.rekey(sessionKey);
        return new Session(out, in);
    }

    private static byte[] hello(Params p, byte[] nonce, byte[] echo) {
        ByteBuffer b = ByteBuffer.allocate(2 + 4 + NONCE + 2 + 2 + 2 + 4 + (echo == null ? 0 : NONCE));
        b.putShort((short) VERSION).putInt(p.memberIp()).put(nonce).putShort((short) p.shards())
                .putShort((short) p.portLow()).putShort((short) p.portHigh()).putInt(p.vni());
        if (echo != null) {
            b.put(echo);
        }
        return b.array();
    }

    private static Params params(ByteBuffer b) throws IOException {
        int version = b.getShort(0) & 0xffff;
        if (version != VERSION) {
            throw new IOException("sync protocol version " + version + ", this member speaks " + VERSION);
        }
        int ip = b.getInt(2);
        int at = 6 + NONCE;
        return new Params(ip, b.getShort(at) & 0xffff, b.getShort(at + 2) & 0xffff, b.getShort(at + 4) & 0xffff,
                b.getInt(at + 6));
    }

    private static byte[] nonce() {
        byte[] n = new byte[NONCE];
        RANDOM.nextBytes(n);
        return n;
    }
}
