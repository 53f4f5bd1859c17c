package org.egressgw.core.replay;

import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.core.datapath.DropObserver;
import org.egressgw.core.datapath.DropReason;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Udp;

/**
 * The operators' drop capture ({@code --capture-drops DIR}), like {@code cilium monitor --type drop}:
 * every packet the datapath drops is written, with its reason, to rotating pcap files
 * {@code DIR/drops-0.pcap … drops-(N-1).pcap}, each with an index {@code drops-n.log} of one line per
 * packet:
 *
 * <pre>
 * 1764190000.123456 drops-0.pcap#17 no_policy request peer 198.51.100.1 len 98
 * </pre>
 *
 * <p>Records are raw IPv4 (link type RAW). A reply-direction drop is the IPv4 packet as it arrived
 * from the egress side. A request-direction drop (a VXLAN payload) is written behind a synthesized
 * outer IPv4/UDP header from the peer to the tunnel address and port, so Wireshark decodes it as
 * VXLAN and the file can be replayed with {@code replay --tunnel-in}.
 *
 * <p>Bounded on every side: at most {@code files × fileBytes} of pcap on disk (the oldest file is
 * overwritten), at most {@code packetsPerSecond} packets (token bucket with a burst; the excess is
 * counted in {@link #rateLimited()}, not written), and a fixed queue of preallocated slots between the
 * datapath and the writer thread (when it is full the packet is counted in {@link #queueFull()}).
 *
 * <p>Concurrency: {@link #onDrop} is called by the datapath thread only (the single producer); it
 * checks the token bucket, copies at most {@code snapLength} bytes into the next free slot and
 * publishes it with a release store of the tail — no lock, no allocation, no blocking, no system
 * call. The writer thread (the single consumer) reads slots up to the tail it acquired, writes them,
 * and hands them back with a release store of the head. Counters are opaque longs, read by anyone.
 */
public final class DropCapture implements DropObserver, AutoCloseable {
    private static final VarHandle LONG = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int OUTER = Ipv4.MIN_HEADER_LENGTH + Udp.HEADER_LENGTH;
    private static final int HEAD = 0;
    private static final int TAIL = 8; // padded apart from HEAD: producer and consumer write different lines
    private static final int CAPTURED = 16;
    private static final int RATE_LIMITED = 17;
    private static final int QUEUE_FULL = 18;
    private static final int WRITTEN = 19;
    private static final int WRITE_ERRORS = 20;

    /**
     * How much a capture may hold and write.
     *
     * @param files number of rotating pcap files
     * @param fileBytes size at which a file is closed and the next one (oldest) is started
     * @param packetsPerSecond sustained rate written
     * @param burst packets written at once after a quiet period
     * @param queueSlots slots between the datapath and the writer (a power of two)
     * @param snapLength bytes kept of each packet (the rest is cut; the index says so)
     */
    public record Limits(int files, long fileBytes, int packetsPerSecond, int burst, int queueSlots, int snapLength) {
        /** Rejects values that would make the capture unbounded or useless, naming them. */
        public Limits {
            if (files < 1 || files > 1000) {
                throw new IllegalArgumentException("drop capture files must be within 1..1000: " + files);
            }
            if (fileBytes < 4096) {
                throw new IllegalArgumentException("drop capture file size must be at least 4096 bytes: " + fileBytes);
            }
            if (packetsPerSecond < 1 || burst < 1) {
                throw new IllegalArgumentException("drop capture rate and burst must be positive: " + packetsPerSecond + "/s, burst " + burst);
            }
            if (Integer.bitCount(queueSlots) != 1) {
                throw new IllegalArgumentException("drop capture queue slots must be a power of two: " + queueSlots);
            }
            if (snapLength < 64 || snapLength > 65535 - OUTER) {
                throw new IllegalArgumentException("drop capture snap length must be within 64.." + (65535 - OUTER) + ": " + snapLength);
            }
        }

        /** 10 files of 10 MB, 1000 packets/s with bursts of 1000, 4096 queue slots, 2048 bytes per packet. */
        public static Limits defaults() {
            return new Limits(10, 10L << 20, 1000, 1000, 4096, 2048);
        }
    }

    private final Path dir;
    private final int tunnelIp;
    private final int tunnelPort;
    private final Limits limits;
    private final LongSupplier nanoClock;
    private final LongSupplier wallMicros;
    private final long costNanos;
    private final long bucketNanos;
    private final int mask;
    // slot i: bytes [i * stride, i * stride + OUTER + snap) of the slab; the packet at OUTER
    private final UnsafeBuffer slab;
    private final int stride;
    private final int[] length;
    private final int[] original;
    private final int[] reason;
    private final int[] peer;
    private final boolean[] reply;
    private final long[] time;
    private final long[] shared = new long[24];
    // producer-only: token bucket state, and a view re-pointed at each dropped packet
    private final UnsafeBuffer source = new UnsafeBuffer(new byte[0]);
    private long credit;
    private long lastRefill;
    private final Thread writer;
    private volatile boolean running = true;
    private volatile boolean open = true;
    /** Replay only: wait for the writer instead of skipping when the queue is full. */
    private final boolean lossless;
    // writer-thread state
    private PcapSink file;
    private BufferedWriter index;
    private int fileNumber;
    private long inFile;

    private DropCapture(Path dir, int tunnelIp, int tunnelPort, Limits limits, LongSupplier nanoClock, LongSupplier wallMicros,
            boolean lossless) {
        this.dir = dir;
        this.lossless = lossless;
        this.tunnelIp = tunnelIp;
        this.tunnelPort = tunnelPort;
        this.limits = limits;
        this.nanoClock = nanoClock;
        this.wallMicros = wallMicros;
        this.costNanos = Math.max(1, 1_000_000_000L / limits.packetsPerSecond());
        this.bucketNanos = costNanos * limits.burst();
        this.credit = bucketNanos;
        this.lastRefill = nanoClock.getAsLong();
        int slots = limits.queueSlots();
        this.mask = slots - 1;
        this.stride = OUTER + limits.snapLength();
        this.slab = new UnsafeBuffer(new byte[Math.multiplyExact(slots, stride)]);
        this.length = new int[slots];
        this.original = new int[slots];
        this.reason = new int[slots];
        this.peer = new int[slots];
        this.reply = new boolean[slots];
        this.time = new long[slots];
        this.writer = new Thread(this::writeLoop, "egw-drop-capture");
        this.writer.setDaemon(true);
    }

    /**
     * Starts a capture into {@code dir} (created if needed) with the wall clock.
     *
     * @param tunnelIp the gateway's tunnel address (destination of the synthesized outer header)
     * @param tunnelPort its UDP port
     */
    public static DropCapture start(Path dir, int tunnelIp, int tunnelPort, Limits limits) throws IOException {
        return start(dir, tunnelIp, tunnelPort, limits, System::nanoTime, () -> System.currentTimeMillis() * 1000);
    }

    /**
     * Starts a capture with explicit clocks: {@code nanoClock} for the rate limit, {@code wallMicros}
     * for the records' timestamps (a replay passes the capture's time).
     */
    public static DropCapture start(Path dir, int tunnelIp, int tunnelPort, Limits limits, LongSupplier nanoClock,
            LongSupplier wallMicros) throws IOException {
        return start(dir, tunnelIp, tunnelPort, limits, nanoClock, wallMicros, false);
    }

    /**
     * For a replay, where the producer is not a datapath under load: no rate limit, every drop is
     * written (the caller waits when the writer is behind), timestamps from {@code wallMicros}.
     */
    public static DropCapture startLossless(Path dir, int tunnelIp, int tunnelPort, LongSupplier wallMicros)
            throws IOException {
        return start(dir, tunnelIp, tunnelPort, new Limits(10, 10L << 20, 1_000_000_000, 1_000_000_000, 256, 65535 - OUTER),
                System::nanoTime, wallMicros, true);
    }

    private static DropCapture start(Path dir, int tunnelIp, int tunnelPort, Limits limits, LongSupplier nanoClock,
            LongSupplier wallMicros, boolean lossless) throws IOException {
        Files.createDirectories(dir);
        DropCapture c = new DropCapture(dir, tunnelIp, tunnelPort, limits, nanoClock, wallMicros, lossless);
        c.openFile(0);
        c.writer.start();
        return c;
    }

    // ------------------------------------------------------------------ datapath thread

    @Override
    public void onDrop(boolean isReply, int why, long address, int len, int peerIp) {
        add(CAPTURED, 1);
        long t = nanoClock.getAsLong();
        long c = credit + (t - lastRefill);
        lastRefill = t;
        if (c > bucketNanos) {
            c = bucketNanos;
        }
        if (c < costNanos) {
            credit = c;
            add(RATE_LIMITED, 1);
            return;
        }
        // admitted by the rate limit: the token is spent whether or not a slot is free
        credit = c - costNanos;
        long tail = (long) LONG.getOpaque(shared, TAIL);
        while (tail - (long) LONG.getAcquire(shared, HEAD) > mask) {
            if (!lossless || !writer.isAlive()) {
                add(QUEUE_FULL, 1);
                return;
            }
            LockSupport.parkNanos(100_000);
        }
        int i = (int) (tail & mask);
        int n = Math.min(Math.max(len, 0), limits.snapLength());
        if (n > 0) {
            source.wrap(address, n);
            slab.putBytes(i * stride + OUTER, source, 0, n);
        }
        length[i] = n;
        original[i] = len;
        reason[i] = why;
        peer[i] = peerIp;
        reply[i] = isReply;
        time[i] = wallMicros.getAsLong();
        LONG.setRelease(shared, TAIL, tail + 1);
    }

    // ------------------------------------------------------------------ writer thread

    private void writeLoop() {
        while (true) {
            boolean stopping = !running;
            long head = (long) LONG.getOpaque(shared, HEAD);
            long tail = (long) LONG.getAcquire(shared, TAIL);
            if (head == tail) {
                if (stopping) {
                    return;
                }
                flushQuietly();
                LockSupport.parkNanos(1_000_000);
                continue;
            }
            for (long s = head; s < tail; s++) {
                writeSlot((int) (s & mask));
                LONG.setRelease(shared, HEAD, s + 1);
            }
        }
    }

    private void writeSlot(int i) {
        int base = i * stride;
        int n = length[i];
        byte[] record;
        if (reply[i]) {
            record = new byte[n];
            slab.getBytes(base + OUTER, record, 0, n);
        } else {
            // the VXLAN payload behind an outer IPv4/UDP header as the peer sent it (length as captured)
            UnsafeBuffer h = new UnsafeBuffer(slab.byteArray(), base, OUTER + n);
            Ipv4.versionAndHeaderLength(h, 0, Ipv4.MIN_HEADER_LENGTH);
            Ipv4.tos(h, 0, 0);
            Ipv4.totalLength(h, 0, OUTER + n);
            Ipv4.identification(h, 0, 0);
            Ipv4.flagsAndFragment(h, 0, 0);
            Ipv4.ttl(h, 0, 64);
            Ipv4.protocol(h, 0, Ipv4.PROTO_UDP);
            Ipv4.srcAddress(h, 0, peer[i]);
            Ipv4.dstAddress(h, 0, tunnelIp);
            Ipv4.updateHeaderChecksum(h, 0);
            Udp.srcPort(h, Ipv4.MIN_HEADER_LENGTH, tunnelPort);
            Udp.dstPort(h, Ipv4.MIN_HEADER_LENGTH, tunnelPort);
            Udp.length(h, Ipv4.MIN_HEADER_LENGTH, Udp.HEADER_LENGTH + n);
            Udp.checksum(h, Ipv4.MIN_HEADER_LENGTH, 0);
            record = new byte[OUTER + n];
            h.getBytes(0, record);
        }
        try {
            if (inFile > 0 && file.size() + 16 + record.length > limits.fileBytes()) {
                openFile((fileNumber + 1) % limits.files());
            }
            file.write(record, time[i]);
            inFile++;
            long t = time[i];
            index.write(Math.floorDiv(t, 1_000_000L) + "." + String.format("%06d", Math.floorMod(t, 1_000_000L))
                    + " drops-" + fileNumber + ".pcap#" + inFile + " " + DropReason.name(reason[i]) + " "
                    + (reply[i] ? "reply peer -" : "request peer " + Ipv4Address.toString(peer[i])) + " len "
                    + original[i] + (original[i] > n ? " truncated" : "") + "\n");
            add(WRITTEN, 1);
        } catch (IOException | RuntimeException e) {
            add(WRITE_ERRORS, 1);
        }
    }

    private void openFile(int n) throws IOException {
        closeFile();
        fileNumber = n;
        inFile = 0;
        file = PcapSink.create(dir.resolve("drops-" + n + ".pcap"));
        index = Files.newBufferedWriter(dir.resolve("drops-" + n + ".log"), StandardCharsets.UTF_8);
    }

    private void flushQuietly() {
        try {
            if (index != null) {
                index.flush();
            }
        } catch (IOException e) {
            add(WRITE_ERRORS, 1);
        }
    }

    private void closeFile() {
        if (file != null) {
            file.close();
            file = null;
        }
        if (index != null) {
            try {
                index.close();
            } catch (IOException e) {
                add(WRITE_ERRORS, 1);
            }
            index = null;
        }
    }

    // ------------------------------------------------------------------ anyone

    private void add(int counter, long n) {
        LONG.setOpaque(shared, counter, (long) LONG.getOpaque(shared, counter) + n);
    }

    private long get(int counter) {
        return (long) LONG.getOpaque(shared, counter);
    }

    /** Drops seen. */
    public long captured() {
        return get(CAPTURED);
    }

    /** Drops not written because the rate limit was reached. */
    public long rateLimited() {
        return get(RATE_LIMITED);
    }

    /** Drops not written because the writer was behind and every slot was in use. */
    public long queueFull() {
        return get(QUEUE_FULL);
    }

    /** Drops written to a file. */
    public long written() {
        return get(WRITTEN);
    }

    /** Records lost to I/O errors. */
    public long writeErrors() {
        return get(WRITE_ERRORS);
    }

    /** False once {@link #close()} was called. */
    public boolean isOpen() {
        return open;
    }

    /** One line for logs: what was seen, written and why the rest was not. */
    public String summary() {
        return "drop capture " + dir + ": " + captured() + " drops seen, " + written() + " written, " + rateLimited()
                + " over the rate limit, " + queueFull() + " with the queue full, " + writeErrors() + " write errors";
    }

    /** Writes what is queued, closes the files and stops the writer thread. Call after the datapath stopped. */
    @Override
    public synchronized void close() {
        if (!open) {
            return;
        }
        open = false;
        running = false;
        try {
            writer.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeFile();
    }
}
