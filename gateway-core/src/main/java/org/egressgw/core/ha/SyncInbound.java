package org.egressgw.core.ha;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.conntrack.FlowKey;
import org.egressgw.core.datapath.ConnectionSync;
import org.egressgw.core.datapath.SyncRecord;
import org.egressgw.packet.Ipv4Address;

/**
 * Receives what the group's peers send: accepts their connections (only from the configured peers' addresses),
 * shakes hands, and hands every record to the datapath of the shard that owns its translated port (the same rule
 * the reply steering uses), waiting while that shard's ring is full — a peer is slowed, never a record lost.
 * Acknowledges what it handed over after each frame. Tracks, per peer, whether the bulk of its current connection
 * is complete: a member may lead only once it holds the active member's table ({@link #bulkComplete}).
 *
 * <p>Threading: an acceptor thread and one reader thread per connection; the state is read from anywhere.
 */
final class SyncInbound implements AutoCloseable {
    private final ServerSocket server;
    private final byte[] key;
    private final SyncProtocol.Params mine;
    private final List<Integer> peers;
    private final List<ConnectionSync> shards;
    private final int portLow;
    private final int span;
    private final PrintStream log;
    private final SyncCounters counters;
    /** Peer → whether its current connection delivered a complete bulk. */
    private final Map<Integer, Boolean> bulk = new ConcurrentHashMap<>();
    private final Map<Integer, Socket> connections = new ConcurrentHashMap<>();
    private final Thread acceptor;
    private volatile boolean running = true;

    /**
     * @param span translated ports per shard (the last shard also owns the remainder)
     */
    SyncInbound(int port, byte[] key, SyncProtocol.Params mine, List<Integer> peers, List<ConnectionSync> shards,
            int portLow, int span, PrintStream log, SyncCounters counters) throws IOException {
        this.server = new ServerSocket();
        this.server.setReuseAddress(true);
        // on this member's own underlay address: never the floating one, which moves
        this.server.bind(new InetSocketAddress(Ipv4Address.toString(mine.memberIp()), port));
        this.key = key;
        this.mine = mine;
        this.peers = List.copyOf(peers);
        this.shards = List.copyOf(shards);
        this.portLow = portLow;
        this.span = span;
        this.log = log;
        this.counters = counters;
        this.acceptor = new Thread(this::accept, "egw-sync-accept");
        this.acceptor.setDaemon(true);
    }

    void start() {
        acceptor.start();
    }

    private void accept() {
        while (running) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (running) {
                    log.println("ha: ! sync listener: " + e.getMessage());
                }
                return;
            }
            int from = s.getInetAddress().hashCode();
            if (!peers.contains(from)) {
                log.println("ha: ! sync connection from " + Ipv4Address.toString(from) + " refused: not a configured peer");
                close(s);
                continue;
            }
            Thread t = new Thread(() -> serve(from, s), "egw-sync-in-" + Ipv4Address.toString(from));
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(int from, Socket s) {
        Socket previous = connections.put(from, s);
        if (previous != null) {
            close(previous);
        }
        bulk.put(from, false);
        String peer = Ipv4Address.toString(from);
        try (s) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(SyncProtocol.SILENCE_MILLIS);
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream(), 1 << 16));
            OutputStream out = new BufferedOutputStream(s.getOutputStream());
            SyncProtocol.Session session = SyncProtocol.serverHandshake(key, mine, in, out);
            long applied = 0;
            UnsafeBuffer view = new UnsafeBuffer(new byte[0]);
            while (running) {
                SyncFrames.Frame f = session.in().read(in);
                switch (f.type()) {
                    case SyncProtocol.RECORDS -> applied += deliver(f.payload(), view);
                    case SyncProtocol.BULK_BEGIN -> bulk.put(from, false);
                    case SyncProtocol.BULK_END -> {
                        bulk.put(from, true);
                        log.println("ha: sync from " + peer + ": whole table received (" + applied + " connections)");
                        log.flush();
                    }
                    default -> {
                        // PING: answered below, so the sender hears this side even when nothing changes
                    }
                }
                // every frame is answered with what was applied so far (the sender's lag, and its sign of life)
                byte[] ack = ByteBuffer.allocate(8).putLong(applied).array();
                out.write(session.out().encode(SyncProtocol.ACK, ack, ack.length));
                out.flush();
            }
        } catch (SyncFrames.SyncAuthException e) {
            counters.authFailures.incrementAndGet();
            log.println("ha: ! sync from " + peer + " refused by authentication: " + e.getMessage());
        } catch (SyncProtocol.IncompatiblePeer e) {
            log.println("ha: ! sync from " + peer + ": " + e.getMessage());
        } catch (IOException e) {
            if (running) {
                log.println("ha: sync from " + peer + " ended: " + e.getMessage());
            }
        } finally {
            connections.remove(from, s);
            bulk.put(from, false);
            log.flush();
        }
    }

    /**
     * The number of records in a RECORDS payload: a 16-bit count, then that many records of a type byte and
     * {@link SyncRecord#LENGTH} bytes.
     *
     * @throws IOException if the payload is shorter than its count, longer, or holds a record of an unknown type
     */
    static int checkRecords(byte[] payload) throws IOException {
        if (payload.length < 2) {
            throw new IOException("a RECORDS frame of " + payload.length + " bytes has no record count");
        }
        int count = ((payload[0] & 0xff) << 8) | (payload[1] & 0xff);
        if (payload.length != 2 + count * SyncProtocol.RECORD_BYTES) {
            throw new IOException("a RECORDS frame of " + payload.length + " bytes does not hold " + count + " records");
        }
        for (int i = 0; i < count; i++) {
            int type = payload[2 + i * SyncProtocol.RECORD_BYTES];
            if (type != SyncRecord.UPSERT && type != SyncRecord.REMOVE) {
                throw new IOException("record type " + type + " is unknown");
            }
        }
        return count;
    }

    /** Hands the records of one frame to their shards; returns how many. */
    private int deliver(byte[] payload, UnsafeBuffer view) throws IOException {
        int count = checkRecords(payload);
        view.wrap(payload);
        for (int i = 0; i < count; i++) {
            int at = 2 + i * SyncProtocol.RECORD_BYTES;
            int type = payload[at];
            ConnectionSync shard = shards.get(shardOf(FlowKey.dstPort(SyncRecord.replyLo(view, at + 1))));
            while (!shard.offer(type, view, at + 1)) {
                if (!running) {
                    return i;
                }
                shard.wake();
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return i;
                }
            }
        }
        for (ConnectionSync shard : shards) {
            shard.wake();
        }
        counters.recordsReceived.addAndGet(count);
        return count;
    }

    private int shardOf(int natPort) {
        if (shards.size() == 1) {
            return 0;
        }
        return Math.max(0, Math.min(shards.size() - 1, (natPort - portLow) / span));
    }

    /** True if the current connection from {@code peerIp} delivered its whole table. */
    boolean bulkComplete(int peerIp) {
        return Boolean.TRUE.equals(bulk.get(peerIp));
    }

    /** True while {@code peerIp} is connected to this member. */
    boolean connected(int peerIp) {
        return connections.containsKey(peerIp);
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
        connections.values().forEach(SyncInbound::close);
    }
}
