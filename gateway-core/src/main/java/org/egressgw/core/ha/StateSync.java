package org.egressgw.core.ha;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import org.agrona.DirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.ConnTable;
import org.egressgw.core.datapath.ConnectionSync;
import org.egressgw.core.datapath.SyncRecord;

/**
 * Connection-state replication between the members of a gateway group (the pfsync / conntrackd idea): every
 * connection a member's datapath creates, changes in a way that matters (TCP/UDP state, the node it came from) or
 * — while it is active — removes, is streamed to every peer, batched, in order, authenticated, off the packet path,
 * and installed there, so that after a takeover the packets of existing flows find their entry with the same
 * egress IP and port, and replies go back to the right node.
 *
 * <ul>
 *   <li>A connection to a peer ({@link SyncLink}) starts with a bulk: the whole table, then the stream. A member
 *       that (re)joins thus gets everything before it may lead ({@link #readyToLead}).
 *   <li>While active, the member also refreshes its peers' copies: each connection that saw traffic at least
 *       {@link #REFRESH_GRAIN_MILLIS} since it was last sent is sent again (its age), at most once a second, so a
 *       standby's copy does not expire while the connection lives.
 *   <li>Lag ({@link #lag}) is what was sent but not yet acknowledged; a peer that cannot keep up is dropped and
 *       resynced rather than waited for.
 * </ul>
 *
 * <p>Threading: one publisher thread ({@code egw-sync}) reads the shards' change rings, scans the tables and
 * distributes frames; links and the inbound side have their own threads (see there). Getters from any thread.
 */
public final class StateSync implements AutoCloseable {
    static final long REFRESH_GRAIN_MILLIS = 5_000;
    static final long REFRESH_PERIOD_MILLIS = 1_000;
    /** The publisher's pause when few changes came (a change waits at most about this plus the linger to go out). */
    private static final long IDLE_SLEEP_MILLIS = 1;
    /** The publisher's pause once nothing changed for a while. */
    private static final long QUIET_SLEEP_MILLIS = 4;
    private static final byte[] NO_PAYLOAD = new byte[0];
    /** The longest a change waits in a partial frame while changes keep coming. */
    static final long LINGER_MILLIS = 2;

    private final List<ConnTable> tables;
    private final List<ConnectionSync> shards;
    private final List<SyncLink> links = new ArrayList<>();
    private final SyncInbound inbound;
    private final BooleanSupplier active;
    private final LongSupplier clock;
    private final SyncCounters counters = new SyncCounters();
    private final Thread publisher;
    private final long[][] sentSeen;
    private final byte[] batch = new byte[2 + SyncProtocol.MAX_RECORDS * SyncProtocol.RECORD_BYTES];
    private final UnsafeBuffer batchView = new UnsafeBuffer(batch);
    private int batchCount;
    private volatile boolean running = true;
    private long nextRefresh;
    /** The shard whose change ring {@link #onChange} is reading. */
    private int changeShard;
    private final org.agrona.concurrent.MessageHandler changeHandler = this::onChange;
    /** Publisher passes in a row that found nothing to send. */
    private int idlePasses;
    /** One connection read from a table (the publisher's; bulk and refresh). */
    private final UnsafeBuffer scratch = new UnsafeBuffer(new byte[SyncRecord.LENGTH]);
    /** When the first record of the current partial frame was added ({@link #clock}). */
    private long batchSince;

    /**
     * @param memberIp this member's own underlay address (said in the handshake)
     * @param peers the other members' underlay addresses
     * @param tables each shard's connection table, in shard order
     * @param shards each shard's sync lanes, in shard order
     * @param portLow the translated port range's start
     * @param span translated ports per shard
     * @param active true while this member is the active one (it then refreshes and its removals count)
     */
    public StateSync(int memberIp, List<Integer> peers, int port, byte[] key, int portLow, int portHigh, int span, int vni,
            List<ConnTable> tables, List<ConnectionSync> shards, BooleanSupplier active, LongSupplier clock,
            PrintStream log) throws IOException {
        this.tables = List.copyOf(tables);
        this.shards = List.copyOf(shards);
        this.active = active;
        this.clock = clock;
        SyncProtocol.Params mine = new SyncProtocol.Params(memberIp, shards.size(), portLow, portHigh, vni);
        this.inbound = new SyncInbound(port, key, mine, peers, shards, portLow, span, log, counters);
        for (int peer : peers) {
            links.add(new SyncLink(peer, port, key, mine, log, counters));
        }
        this.sentSeen = new long[tables.size()][];
        for (int k = 0; k < tables.size(); k++) {
            sentSeen[k] = new long[tables.get(k).capacity()];
        }
        this.publisher = new Thread(this::publish, "egw-sync");
        this.publisher.setDaemon(true);
    }

    public void start() {
        inbound.start();
        links.forEach(SyncLink::start);
        publisher.start();
    }

    private void publish() {
        while (running) {
            boolean bulked = false;
            for (SyncLink l : links) {
                if (l.needsBulk()) {
                    bulk(l);
                    bulked = true;
                }
            }
            int drained = 0;
            for (int k = 0; k < shards.size(); k++) {
                changeShard = k;
                drained += shards.get(k).outbound().read(changeHandler, SyncProtocol.MAX_RECORDS);
            }
            long now = clock.getAsLong();
            if (now >= nextRefresh) {
                nextRefresh = now + REFRESH_PERIOD_MILLIS;
                if (active.getAsBoolean()) {
                    refresh(now);
                }
            }
            // full frames go at once (in add); a partial one when the changes paused or it waited LINGER_MILLIS:
            // a burst of new flows then travels in frames of MAX_RECORDS, not in one small frame per pass
            if (batchCount > 0 && (drained == 0 || now - batchSince >= LINGER_MILLIS)) {
                flush(null);
            }
            idlePasses = drained == 0 && batchCount == 0 ? idlePasses + 1 : 0;
            if (!bulked && drained < SyncProtocol.MAX_RECORDS / 4) {
                try {
                    // quiet for a while (~0.1 s): check less often, a few wake-ups fewer per millisecond of nothing
                    Thread.sleep(idlePasses > 100 ? QUIET_SLEEP_MILLIS : IDLE_SLEEP_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /**
     * A record from shard {@link #changeShard}'s change ring. A created or changed connection counts as sent now, so
     * the refresh does not send it again within {@link #REFRESH_GRAIN_MILLIS} (otherwise every new connection went
     * out twice: halving what a burst of new flows costs the group).
     */
    private void onChange(int type, org.agrona.MutableDirectBuffer buffer, int index, int length) {
        if (type == SyncRecord.UPSERT) {
            int e = SyncRecord.entry(buffer, index);
            long[] seen = sentSeen[changeShard];
            if (e >= 0 && e < seen.length) {
                seen[e] = tables.get(changeShard).lastSeen(e);
            }
        }
        add(type, buffer, index, null);
    }

    /** Appends one record to the batch for every live link (or only {@code to}); sends the batch when full. */
    private void add(int type, DirectBuffer record, int off, SyncLink to) {
        if (batchCount == 0) {
            batchSince = clock.getAsLong();
        }
        int at = 2 + batchCount * SyncProtocol.RECORD_BYTES;
        batch[at] = (byte) type;
        record.getBytes(off, batch, at + 1, SyncRecord.LENGTH);
        SyncRecord.clearLocal(batchView, at + 1);
        if (++batchCount == SyncProtocol.MAX_RECORDS) {
            flush(to);
        }
    }

    private void flush(SyncLink to) {
        if (batchCount == 0) {
            return;
        }
        batchView.putShort(0, (short) batchCount, java.nio.ByteOrder.BIG_ENDIAN);
        int length = 2 + batchCount * SyncProtocol.RECORD_BYTES;
        byte[] payload = java.util.Arrays.copyOf(batch, length);
        for (SyncLink l : links) {
            if (to == null ? l.live() : l == to) {
                l.offer(SyncProtocol.RECORDS, payload, length, batchCount);
            }
        }
        counters.recordsSent.addAndGet(batchCount);
        batchCount = 0;
    }

    /**
     * The whole table to one link that just connected, then it takes the stream. Only the active member's table is
     * the group's: a standby sends an empty bulk (its copy is the active member's own, possibly behind — sending it
     * back could revive connections the active member just removed).
     */
    private void bulk(SyncLink link) {
        flush(null);
        link.offer(SyncProtocol.BULK_BEGIN, NO_PAYLOAD, 0, 0);
        if (active.getAsBoolean()) {
            sendTable(clock.getAsLong(), link, 0);
            flush(link);
        }
        link.offer(SyncProtocol.BULK_END, NO_PAYLOAD, 0, 0);
        link.bulkSent();
    }

    /** Connections that saw traffic since they were last sent, sent again (active member only). */
    private void refresh(long now) {
        sendTable(now, null, REFRESH_GRAIN_MILLIS);
    }

    /**
     * Sends every connection that saw traffic at least {@code grain} ms after it was last sent (0: every connection)
     * to {@code to} (null: every live link), and notes it as sent.
     */
    private void sendTable(long now, SyncLink to, long grain) {
        for (int k = 0; k < tables.size(); k++) {
            long[] seen = sentSeen[k];
            tables.get(k).forEach((t, e) -> {
                long last = t.lastSeen(e);
                if ((grain == 0 || last - seen[e] >= grain) && snapshot(t, e, now, scratch)) {
                    seen[e] = last;
                    add(SyncRecord.UPSERT, scratch, 0, to);
                }
            });
        }
    }

    /**
     * Reads entry {@code e} (owned by another thread) into {@code record}; false if it changed identity meanwhile
     * (removed and reused), checked by reading its keys again.
     */
    private static boolean snapshot(ConnTable t, int e, long now, UnsafeBuffer record) {
        SyncRecord.write(t, e, now, record, 0);
        return t.isLive(e) && t.origHi(e) == SyncRecord.origHi(record, 0) && t.origLo(e) == SyncRecord.origLo(record, 0)
                && t.replyHi(e) == SyncRecord.replyHi(record, 0) && t.replyLo(e) == SyncRecord.replyLo(record, 0);
    }

    /**
     * Whether this member may lead: it holds the current active member's whole table ({@code masterIp}'s bulk on its
     * current connection is complete), or there is no active member to get one from ({@code masterIp} 0).
     */
    public boolean readyToLead(int masterIp) {
        return masterIp == 0 || inbound.bulkComplete(masterIp);
    }

    /** True if some peer is connected, has its bulk and everything sent to it acknowledged (a handover may go there). */
    public boolean peerInSync() {
        return links.stream().anyMatch(SyncLink::inSync);
    }

    /** Records sent but not acknowledged, the most over the peers (the metric {@code egw_ha_sync_lag_entries}). */
    public long lag() {
        return links.stream().mapToLong(SyncLink::lag).max().orElse(0);
    }

    /** Per peer: underlay address, link state, lag, whether its table reached this member. */
    public List<PeerState> peers() {
        List<PeerState> out = new ArrayList<>();
        for (SyncLink l : links) {
            out.add(new PeerState(l.peerIp(), l.live(), l.lag(), inbound.connected(l.peerIp()),
                    inbound.bulkComplete(l.peerIp()), l.lastProblem()));
        }
        return out;
    }

    /** One peer as the sync sees it. */
    public record PeerState(int ip, boolean sending, long lag, boolean receiving, boolean tableReceived, String lastProblem) {
    }

    public long authFailures() {
        return counters.authFailures.get();
    }

    public long recordsSent() {
        return counters.recordsSent.get();
    }

    public long recordsReceived() {
        return counters.recordsReceived.get();
    }

    /** Changes the datapaths could not queue (rings full), over all shards. */
    public long recordsLost() {
        return shards.stream().mapToLong(ConnectionSync::lost).sum();
    }

    @Override
    public void close() {
        running = false;
        publisher.interrupt();
        try {
            publisher.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        links.forEach(SyncLink::close);
        inbound.close();
    }
}
