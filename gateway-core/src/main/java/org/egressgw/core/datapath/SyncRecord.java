package org.egressgw.core.datapath;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;
import org.egressgw.conntrack.ConnTable;

/**
 * One connection as the members of a gateway group exchange it: what a peer needs to carry on the connection
 * after a takeover — both tuples (so the same egress IP and port), the TCP/UDP state, the policy, the node it came
 * from and that node's MAC (so replies go back to the right node), and how long ago it last saw a packet (an age,
 * not a time: the members' clocks need not agree). Fixed size, little endian, no allocation:
 *
 * <pre>
 *   0 long origHi     8 long origLo     16 long replyHi     24 long replyLo
 *  32 long peerMac   40 long ageMillis  48 int  state       52 int  policy
 *  56 int  vtep      60 int  entry (local: the shard's table index on the change ring; zero on the wire)
 * </pre>
 */
public final class SyncRecord {
    public static final int LENGTH = 64;
    /** Message types (ring and wire). */
    public static final int UPSERT = 1;
    public static final int REMOVE = 2;

    static final int ORIG_HI = 0;
    static final int ORIG_LO = 8;
    static final int REPLY_HI = 16;
    static final int REPLY_LO = 24;
    static final int PEER_MAC = 32;
    static final int AGE = 40;
    static final int STATE = 48;
    static final int POLICY = 52;
    static final int VTEP = 56;
    static final int ENTRY = 60;

    private SyncRecord() {
    }

    /** Writes entry {@code e} of {@code t} at {@code off}, its age taken at {@code nowMillis}. */
    public static void write(ConnTable t, int e, long nowMillis, MutableDirectBuffer b, int off) {
        b.putLong(off + ORIG_HI, t.origHi(e));
        b.putLong(off + ORIG_LO, t.origLo(e));
        b.putLong(off + REPLY_HI, t.replyHi(e));
        b.putLong(off + REPLY_LO, t.replyLo(e));
        b.putLong(off + PEER_MAC, t.peerMac(e));
        b.putLong(off + AGE, Math.max(0, nowMillis - t.lastSeen(e)));
        b.putInt(off + STATE, t.state(e));
        b.putInt(off + POLICY, t.policy(e));
        b.putInt(off + VTEP, t.vtep(e));
        b.putInt(off + ENTRY, 0);
    }

    /** Writes entry {@code e} like {@link #write}, with its table index (change ring only, never sent). */
    static void writeLocal(ConnTable t, int e, long nowMillis, MutableDirectBuffer b, int off) {
        write(t, e, nowMillis, b, off);
        b.putInt(off + ENTRY, e);
    }

    /** The table index of a change-ring record ({@link #writeLocal}). */
    public static int entry(DirectBuffer b, int off) {
        return b.getInt(off + ENTRY);
    }

    /** Clears the local-only field before a record leaves the member. */
    public static void clearLocal(MutableDirectBuffer b, int off) {
        b.putInt(off + ENTRY, 0);
    }

    public static long origHi(DirectBuffer b, int off) {
        return b.getLong(off + ORIG_HI);
    }

    public static long origLo(DirectBuffer b, int off) {
        return b.getLong(off + ORIG_LO);
    }

    public static long replyHi(DirectBuffer b, int off) {
        return b.getLong(off + REPLY_HI);
    }

    public static long replyLo(DirectBuffer b, int off) {
        return b.getLong(off + REPLY_LO);
    }

    public static long peerMac(DirectBuffer b, int off) {
        return b.getLong(off + PEER_MAC);
    }

    public static long ageMillis(DirectBuffer b, int off) {
        return b.getLong(off + AGE);
    }

    public static int state(DirectBuffer b, int off) {
        return b.getInt(off + STATE);
    }

    public static int policy(DirectBuffer b, int off) {
        return b.getInt(off + POLICY);
    }

    public static int vtep(DirectBuffer b, int off) {
        return b.getInt(off + VTEP);
    }
}
