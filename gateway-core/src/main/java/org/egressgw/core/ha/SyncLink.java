package org.egressgw.core.ha;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.egressgw.packet.Ipv4Address;

/**
 * This member's connection to one peer of the group, over which it sends what its datapath changes. Connects (and
 * reconnects every second after any failure), shakes hands ({@link SyncProtocol}), then asks the publisher for a
 * bulk of the whole table before anything else, and writes the frames the publisher queues; a second thread reads
 * the peer's acknowledgements. A peer that stops reading (its queue fills) or goes silent is dropped and
 * reconnected, with a new bulk — never waited for by the publisher.
 *
 * <p>Threading: its own two threads ({@code egw-sync-out-IP}, {@code egw-sync-ack-IP}); the publisher calls
 * {@link #offer}, {@link #needsBulk}, {@link #bulkSent}; the counters are read from anywhere.
 */
final class SyncLink implements AutoCloseable {
    static final int QUEUE_FRAMES = 1024;
    static final int CONNECT_TIMEOUT_MILLIS = 1000;

    private final int peerIp;
    private final int port;
    private final byte[] key;
    private final SyncProtocol.Params mine;
    private final PrintStream log;
    private final SyncCounters counters;
    /** Frames to write, encoded by the writer thread only (so sequence numbers leave in order). */
    private final BlockingQueue<Pending> queue = new ArrayBlockingQueue<>(QUEUE_FRAMES);
    private final Thread thread;
    private final AtomicLong recordsSent = new AtomicLong();
    private final AtomicLong recordsAcked = new AtomicLong();
    private volatile Socket socket;
    private volatile SyncFrames out;
    private volatile boolean needsBulk;
    private volatile boolean live;
    private volatile boolean running = true;
    private volatile String lastProblem = "not connected yet";

    SyncLink(int peerIp, int port, byte[] key, SyncProtocol.Params mine, PrintStream log, SyncCounters counters) {
        this.peerIp = peerIp;
        this.port = port;
        this.key = key;
        this.mine = mine;
        this.log = log;
        this.counters = counters;
        this.thread = new Thread(this::run, "egw-sync-out-" + Ipv4Address.toString(peerIp));
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    int peerIp() {
        return peerIp;
    }

    private void run() {
        boolean said = false;
        while (running) {
            try (Socket s = new Socket()) {
                s.setTcpNoDelay(true);
                // from this member's own underlay address (the active member also holds the floating one)
                s.bind(new InetSocketAddress(Ipv4Address.toString(mine.memberIp()), 0));
                s.connect(new InetSocketAddress(Ipv4Address.toString(peerIp), port), CONNECT_TIMEOUT_MILLIS);
                socket = s;
                DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                OutputStream os = new BufferedOutputStream(s.getOutputStream(), 1 << 16);
                SyncProtocol.Session session = SyncProtocol.clientHandshake(key, mine, in, os);
                out = session.out();
                queue.clear();
                recordsSent.set(0);
                recordsAcked.set(0);
                needsBulk = true;
                log.println("ha: sync to " + Ipv4Address.toString(peerIp) + " connected; sending the whole table first");
                log.flush();
                said = false;
                Thread acks = new Thread(() -> readAcks(session, in, s), "egw-sync-ack-" + Ipv4Address.toString(peerIp));
                acks.setDaemon(true);
                acks.start();
                write(os, s);
            } catch (SyncFrames.SyncAuthException e) {
                counters.authFailures.incrementAndGet();
                problem("refused by authentication: " + e.getMessage(), true);
            } catch (SyncProtocol.IncompatiblePeer e) {
                problem(e.getMessage(), true);
            } catch (IOException | RuntimeException e) {
                problem(e.getMessage(), !said);
                said = true;
            } finally {
                live = false;
                socket = null;
            }
            sleep(1000);
        }
    }

    /** Writes queued frames until the connection fails; pings when there is nothing to send. */
    private void write(OutputStream os, Socket s) throws IOException {
        while (running && !s.isClosed()) {
            Pending p;
            try {
                p = queue.poll(SyncProtocol.PING_MILLIS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                return;
            }
            byte[] frame = p == null ? out.encode(SyncProtocol.PING, new byte[0], 0) : out.encode(p.type, p.payload, p.length);
            os.write(frame);
            if (queue.isEmpty()) {
                os.flush();
            }
        }
    }

    private void readAcks(SyncProtocol.Session session, DataInputStream in, Socket s) {
        try {
            s.setSoTimeout(SyncProtocol.SILENCE_MILLIS);
            while (running) {
                SyncFrames.Frame f = session.in().read(in);
                if (f.type() == SyncProtocol.ACK) {
                    recordsAcked.set(java.nio.ByteBuffer.wrap(f.payload()).getLong());
                }
            }
        } catch (SyncFrames.SyncAuthException e) {
            counters.authFailures.incrementAndGet();
            problem("refused by authentication: " + e.getMessage(), true);
        } catch (IOException e) {
            problem(e.getMessage(), false);
        } finally {
            closeSocket();
        }
    }

    /** Publisher: queues a frame; false (and the connection is dropped, to be resynced) if the peer cannot keep up. */
    boolean offer(int type, byte[] payload, int length, int records) {
        if (out == null || socket == null) {
            return false;
        }
        if (!queue.offer(new Pending(type, payload, length))) {
            problem("the peer does not keep up (" + QUEUE_FRAMES + " frames queued): reconnecting with a new bulk", true);
            closeSocket();
            return false;
        }
        recordsSent.addAndGet(records);
        return true;
    }

    /** True once connected and before the publisher sent the bulk. */
    boolean needsBulk() {
        return needsBulk && socket != null;
    }

    /** Publisher: the bulk is queued; incremental frames follow it from now on. */
    void bulkSent() {
        needsBulk = false;
        live = true;
    }

    /** Connected, with the bulk queued: incremental frames go here. */
    boolean live() {
        return live && socket != null;
    }

    /** Records sent (since this connection began) that the peer has not acknowledged yet. */
    long lag() {
        return Math.max(0, recordsSent.get() - recordsAcked.get());
    }

    /** True while connected, with the bulk queued and everything sent acknowledged. */
    boolean inSync() {
        return live() && lag() == 0;
    }

    String lastProblem() {
        return lastProblem;
    }

    private void problem(String what, boolean say) {
        lastProblem = what;
        if (say && running) {
            log.println("ha: ! sync to " + Ipv4Address.toString(peerIp) + ": " + what);
            log.flush();
        }
    }

    private void closeSocket() {
        Socket s = socket;
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        live = false;
    }

    /** A frame to write: the publisher's payload, not yet encoded. */
    private record Pending(int type, byte[] payload, int length) {
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        running = false;
        closeSocket();
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
