package org.egressgw.ha;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.tunio.NativeIoException;

/**
 * One member of an HA group: a {@link VrrpRouter} driven on its own daemon thread by a {@link VrrpSocket}, its
 * advertisements authenticated with {@link VrrpAuth} and sent unicast to every configured peer, received ones
 * judged by {@link AdvertisementFilter}.
 *
 * <p>Life cycle: {@link #open} creates the socket in the calling thread's network namespace (use
 * {@code NetNs.call} for another); {@link #start} starts the thread, which runs the RFC's Startup event (the
 * member starts as backup); {@link #close} runs the Shutdown event (priority 0 once if master, so a backup takes
 * over after only Skew_Time), stops the thread and closes the socket.
 *
 * <p>The thread's duty cycle: wait on the socket until the router's next deadline (at most a second) or a wakeup;
 * read the clock once; read and judge every waiting packet, passing accepted advertisements to the router; apply
 * pending commands; fire due timers. Times for the router come from {@link System#nanoTime} (monotonic); the
 * trailer sequence comes from the wall clock ({@link VrrpAuth#nextSequence}).
 *
 * <p>Threading rules:
 * <ul>
 *   <li>The agent thread alone touches the router, the socket (except {@link VrrpSocket#wakeup}), the filter and
 *       the key, and alone writes the counters and {@link #state}.</li>
 *   <li>Commands ({@link #effectivePriority}, {@link #eligible}, {@link #giveUp}, {@link #close}) may come from
 *       any thread: they write a volatile request (or bump an atomic count) and wake the agent thread, which
 *       applies them in its next cycle, within a millisecond or so. They return before they take effect;
 *       {@link #state} shows the outcome. {@link #close} waits for the thread.</li>
 *   <li>Getters may be called from any thread; counters are atomics, each read on its own (no snapshot across
 *       counters).</li>
 *   <li>The {@link Listener} is called on the agent thread, synchronously: while it runs, no advertisement is sent
 *       or received, so it should finish within a fraction of the advertisement interval. An exception from it is
 *       caught; the agent carries on.</li>
 * </ul>
 */
public final class VrrpAgent implements AutoCloseable {
    /** How long {@link #close} waits for the agent thread. */
    public static final long CLOSE_TIMEOUT_MILLIS = 5_000;
    /** The longest single wait, so a stuck deadline can never park the thread for long. */
    private static final int MAX_WAIT_MILLIS = 1_000;
    /** Receive batches per cycle before the timers get their turn. */
    private static final int MAX_BATCHES_PER_CYCLE = 8;

    /**
     * One member's configuration.
     *
     * @param vrid virtual router id, 1..255, the same in the whole group
     * @param priority 1..254; the highest eligible member is master
     * @param advertisementIntervalMillis how often the master advertises: 10..40950, a multiple of 10 (the wire
     *     carries centiseconds)
     * @param preempt whether a higher-priority backup takes over from a lower-priority master
     * @param virtualIps the addresses the master holds (the VXLAN tunnel address, the egress IPs), 1..255
     * @param peerIps the other members' addresses, where advertisements are sent and the only accepted sources
     * @param key the group's shared HMAC key, at least 16 bytes; never printed
     * @param localIp this member's address on the segment: the socket binds to it and sends from it
     */
    public record Config(int vrid, int priority, int advertisementIntervalMillis, boolean preempt, int[] virtualIps,
            int[] peerIps, byte[] key, int localIp) {
        /**
         * Validates the fields and copies the arrays.
         *
         * @throws IllegalArgumentException naming the offending value
         */
        public Config {
            Vrrp.checkVrid(vrid);
            VrrpRouter.checkPriority(priority);
            if (advertisementIntervalMillis < 10 || advertisementIntervalMillis > Vrrp.MAX_ADVER_INT_CENTIS * 10
                || advertisementIntervalMillis % 10 != 0) {
                throw new IllegalArgumentException("advertisement interval " + advertisementIntervalMillis
                    + " ms is not a multiple of 10 in 10.." + Vrrp.MAX_ADVER_INT_CENTIS * 10);
            }
            virtualIps = AdvertisementFilter.distinct("virtual address", virtualIps);
            if (virtualIps.length > Vrrp.MAX_ADDRESSES) {
                throw new IllegalArgumentException(virtualIps.length + " virtual addresses is more than "
                    + Vrrp.MAX_ADDRESSES);
            }
            peerIps = AdvertisementFilter.checkPeers(peerIps, localIp);
            VrrpAuth.checkKey(key);
            key = key.clone();
            if (localIp == 0) {
                throw new IllegalArgumentException("local address 0.0.0.0");
            }
        }

        @Override
        public int[] virtualIps() {
            return virtualIps.clone();
        }

        @Override
        public int[] peerIps() {
            return peerIps.clone();
        }

        @Override
        public byte[] key() {
            return key.clone();
        }

        /** The interval as carried on the wire. */
        public int advertisementIntervalCentis() {
            return advertisementIntervalMillis / 10;
        }

        @Override
        public boolean equals(Object other) {
            return other instanceof Config o && vrid == o.vrid && priority == o.priority
                && advertisementIntervalMillis == o.advertisementIntervalMillis && preempt == o.preempt
                && Arrays.equals(virtualIps, o.virtualIps) && Arrays.equals(peerIps, o.peerIps)
                && Arrays.equals(key, o.key) && localIp == o.localIp;
        }

        @Override
        public int hashCode() {
            return ((vrid * 31 + priority) * 31 + advertisementIntervalMillis) * 31 + Arrays.hashCode(virtualIps)
                + Arrays.hashCode(peerIps) * 17 + localIp;
        }

        /** Everything but the key's bytes. */
        @Override
        public String toString() {
            return "Config[vrid=" + vrid + ", priority=" + priority + ", advertisementIntervalMillis="
                + advertisementIntervalMillis + ", preempt=" + preempt + ", virtualIps=" + addresses(virtualIps)
                + ", peerIps=" + addresses(peerIps) + ", key=<" + key.length + " bytes>, localIp="
                + Ipv4Address.toString(localIp) + "]";
        }

        private static String addresses(int[] list) {
            final StringBuilder text = new StringBuilder("[");
            for (int i = 0; i < list.length; i++) {
                text.append(i == 0 ? "" : ", ").append(Ipv4Address.toString(list[i]));
            }
            return text.append(']').toString();
        }
    }

    /** What the gateway does on transitions; called on the agent thread. */
    public interface Listener {
        /** Became master: take the virtual addresses and announce them. */
        default void becameMaster() {
        }

        /** Became backup (or stopped, {@link VrrpRouter.Reason#SHUTDOWN}): release the virtual addresses. */
        default void becameBackup(VrrpRouter.Reason why) {
        }
    }

    private final Config config;
    private final int[] virtualIps;
    private final int[] peers;
    private final Listener listener;
    private final VrrpSocket socket;
    private final VrrpAuth auth;
    private final AdvertisementFilter filter;
    private final VrrpRouter router;
    private final Thread thread;

    // commands: written by any thread, read by the agent thread
    private volatile int requestedPriority;
    private volatile boolean requestedEligible = true;
    private final AtomicInteger giveUpRequests = new AtomicInteger();
    private int giveUpsApplied;
    private volatile boolean closing;
    private volatile boolean halting;
    private volatile boolean started;

    // state and counters: written by the agent thread only
    private volatile VrrpRouter.State state = VrrpRouter.State.INITIALIZE;
    private volatile VrrpRouter.Reason lastBackupReason;
    private volatile int masterAddress;
    private volatile Throwable failure;
    private long sequence;
    private final AtomicLong advertisementsSent = new AtomicLong();
    private final AtomicLong sendFailures = new AtomicLong();
    private final AtomicLong packetsReceived = new AtomicLong();
    private final AtomicLong advertisementsReceived = new AtomicLong();
    private final AtomicLongArray dropped = new AtomicLongArray(VrrpError.COUNT);
    private final AtomicLong socketErrors = new AtomicLong();
    private final AtomicLong transitionsToMaster = new AtomicLong();
    private final AtomicLong transitionsToBackup = new AtomicLong();
    private final AtomicLong lastAdvertisementSentNanos = new AtomicLong();
    private final AtomicLong lastTransitionNanos = new AtomicLong();

    private VrrpAgent(Config config, Listener listener, VrrpSocket socket) {
        this.config = config;
        this.virtualIps = config.virtualIps();
        this.peers = config.peerIps();
        this.listener = listener == null ? new Listener() { } : listener;
        this.socket = socket;
        this.auth = new VrrpAuth(config.key());
        this.filter = new AdvertisementFilter(config.localIp(), config.vrid(), virtualIps, peers, auth);
        this.router = new VrrpRouter(config.localIp(), config.priority(), config.advertisementIntervalCentis(),
            config.preempt(), new RouterEvents());
        this.requestedPriority = config.priority();
        this.thread = new Thread(this::run, "vrrp-" + config.vrid() + "-" + Ipv4Address.toString(config.localIp()));
        this.thread.setDaemon(true);
    }

    /**
     * Opens the member's socket in the calling thread's network namespace; {@link #start} starts it.
     *
     * @param listener told of transitions on the agent thread; null for none
     * @throws NativeIoException if the socket cannot be opened or bound (the message names the address)
     */
    public static VrrpAgent open(Config config, Listener listener) throws NativeIoException {
        final VrrpSocket socket = new VrrpSocket(config.localIp());
        try {
            return new VrrpAgent(config, listener, socket);
        } catch (RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /**
     * Starts the agent thread (the RFC's Startup event: the member starts as backup).
     *
     * @throws IllegalStateException if already started or closed
     */
    public synchronized void start() {
        if (started || closing || halting) {
            throw new IllegalStateException("VRRP agent " + thread.getName() + " was already started or closed");
        }
        started = true;
        thread.start();
    }

    /**
     * Sets the priority to advertise from now on, 1..254 (see {@link VrrpRouter#effectivePriority(int)}); may be
     * called before {@link #start} to start with it. Asynchronous.
     */
    public void effectivePriority(int priority) {
        VrrpRouter.checkPriority(priority);
        requestedPriority = priority;
        socket.wakeup();
    }

    /** Whether this member may be master (see {@link VrrpRouter#eligible(boolean, long)}). Asynchronous. */
    public void eligible(boolean eligible) {
        requestedEligible = eligible;
        socket.wakeup();
    }

    /** Planned handover (see {@link VrrpRouter#giveUp}): if master, priority 0 once and backup. Asynchronous. */
    public void giveUp() {
        giveUpRequests.incrementAndGet();
        socket.wakeup();
    }

    /**
     * The Shutdown event (priority 0 once if master, so a backup takes over after Skew_Time), then stops the
     * thread and closes the socket. Waits up to {@value #CLOSE_TIMEOUT_MILLIS} ms for the thread. Idempotent.
     */
    @Override
    public void close() {
        stop(false);
    }

    /**
     * For tests: stops the agent as a crash would — no priority-0 advertisement, no listener call — and closes
     * the socket. Peers take over after their Master_Down_Interval.
     */
    void haltForTest() {
        stop(true);
    }

    private void stop(boolean crash) {
        final boolean wasStarted;
        synchronized (this) {
            wasStarted = started;
            if (crash) {
                halting = true;
            } else {
                closing = true;
            }
        }
        if (!wasStarted) {
            socket.close();
            return;
        }
        socket.wakeup();
        if (Thread.currentThread() == thread) {
            return; // called from the listener: the loop ends after this cycle
        }
        try {
            thread.join(CLOSE_TIMEOUT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static long nowMillis() {
        return System.nanoTime() / 1_000_000L;
    }

    private void run() {
        try {
            long now = nowMillis();
            applyCommands(now);
            router.start(now);
            while (!closing && !halting) {
                router.tick(now);
                final long deadline = router.nextDeadline();
                final long wait = Math.max(0, Math.min(MAX_WAIT_MILLIS, deadline - now));
                final boolean readable = socket.await((int) wait);
                now = nowMillis();
                if (readable) {
                    receive(now);
                }
                applyCommands(now);
            }
            if (!halting) {
                router.shutdown(nowMillis());
            }
        } catch (Throwable t) {
            failure = t;
            if (!halting && router.state() != VrrpRouter.State.INITIALIZE) {
                try {
                    router.shutdown(nowMillis()); // release the addresses rather than hold them without advertising
                } catch (Throwable again) {
                    t.addSuppressed(again);
                }
            }
        } finally {
            state = VrrpRouter.State.INITIALIZE;
            socket.close();
        }
    }

    private void applyCommands(long now) {
        final int priority = requestedPriority;
        if (priority != router.effectivePriority()) {
            router.effectivePriority(priority);
        }
        final boolean eligible = requestedEligible;
        if (eligible != router.isEligible()) {
            router.eligible(eligible, now);
        }
        final int giveUps = giveUpRequests.get();
        if (giveUps != giveUpsApplied) {
            giveUpsApplied = giveUps;
            router.giveUp(now);
        }
    }

    private void receive(long now) {
        final UnsafeBuffer buffer = socket.receiveBuffer();
        for (int batch = 0; batch < MAX_BATCHES_PER_CYCLE; batch++) {
            final int n = socket.receive();
            if (n < 0) {
                // not expected: ICMP errors (e.g. protocol unreachable from a peer whose agent is gone) are not
                // reported to an unconnected raw socket without IP_RECVERR; counted so it shows if it happens
                socketErrors.incrementAndGet();
                return;
            }
            for (int i = 0; i < n; i++) {
                packetsReceived.incrementAndGet();
                final int code = filter.accept(buffer, socket.packetOffset(i), socket.packetLength(i));
                if (code == VrrpError.NONE) {
                    advertisementsReceived.incrementAndGet();
                    router.onAdvertisement(filter.source(), filter.priority(), filter.intervalCentis(), now);
                    masterAddress = router.masterAddress();
                } else {
                    dropped.incrementAndGet(code);
                }
            }
            if (n < VrrpSocket.RECEIVE_BATCH) {
                return;
            }
        }
    }

    /** The router's actions, on the agent thread. */
    private final class RouterEvents implements VrrpRouter.Listener {
        @Override
        public void sendAdvertisement(int priority) {
            final int centis = config.advertisementIntervalCentis();
            for (int peer : peers) {
                sequence = VrrpAuth.nextSequence(sequence, System.currentTimeMillis());
                final int length = auth.encode(socket.sendBuffer(), 0, config.vrid(), priority, centis, virtualIps,
                    config.localIp(), peer, sequence);
                if (socket.send(peer, length)) {
                    advertisementsSent.incrementAndGet();
                } else {
                    sendFailures.incrementAndGet();
                }
            }
            lastAdvertisementSentNanos.set(System.nanoTime());
        }

        @Override
        public void becameMaster() {
            state = VrrpRouter.State.MASTER;
            masterAddress = config.localIp();
            transitionsToMaster.incrementAndGet();
            lastTransitionNanos.set(System.nanoTime());
            try {
                listener.becameMaster();
            } catch (RuntimeException e) {
                // the listener's own failure: the agent carries on (see the class comment)
            }
        }

        @Override
        public void becameBackup(VrrpRouter.Reason why) {
            state = router.state();
            masterAddress = router.masterAddress();
            lastBackupReason = why;
            transitionsToBackup.incrementAndGet();
            lastTransitionNanos.set(System.nanoTime());
            try {
                listener.becameBackup(why);
            } catch (RuntimeException e) {
                // the listener's own failure: the agent carries on (see the class comment)
            }
        }
    }

    /** The configuration (a copy of the arrays on each accessor call). */
    public Config config() {
        return config;
    }

    /** INITIALIZE before start and after close, else BACKUP or MASTER as last reported by the router. */
    public VrrpRouter.State state() {
        return state;
    }

    public boolean isMaster() {
        return state == VrrpRouter.State.MASTER;
    }

    /** Why the member last entered backup; null if it never did. */
    public VrrpRouter.Reason lastBackupReason() {
        return lastBackupReason;
    }

    /** The master last heard (this member when master), 0 if none yet. */
    public int masterAddress() {
        return masterAddress;
    }

    /** Advertisements handed to the kernel (one per peer per advertisement). */
    public long advertisementsSent() {
        return advertisementsSent.get();
    }

    /** Advertisements the kernel refused (no route, buffer full, ...). */
    public long sendFailures() {
        return sendFailures.get();
    }

    /** Packets read from the socket, accepted or not. */
    public long packetsReceived() {
        return packetsReceived.get();
    }

    /** Advertisements accepted and given to the router. */
    public long advertisementsReceived() {
        return advertisementsReceived.get();
    }

    /** Packets refused for {@code reason}, a {@link VrrpError} code. */
    public long dropped(int reason) {
        if (reason <= VrrpError.NONE || reason >= VrrpError.COUNT) {
            throw new IllegalArgumentException("VRRP drop reason " + reason + " is not within 1.." + (VrrpError.COUNT - 1));
        }
        return dropped.get(reason);
    }

    /**
     * Authentication failures for {@code reason}: {@link VrrpError#AUTH_MISSING}, {@link VrrpError#AUTH_BAD_HMAC}
     * or {@link VrrpError#AUTH_REPLAY}.
     */
    public long authFailures(int reason) {
        if (!VrrpError.isAuthFailure(reason)) {
            throw new IllegalArgumentException("VRRP error " + reason + " is not an authentication failure");
        }
        return dropped.get(reason);
    }

    /** All authentication failures. */
    public long authFailures() {
        return dropped.get(VrrpError.AUTH_MISSING) + dropped.get(VrrpError.AUTH_BAD_HMAC)
            + dropped.get(VrrpError.AUTH_REPLAY);
    }

    /** Receive errors the socket reported (pending ICMP errors surface here). */
    public long socketErrors() {
        return socketErrors.get();
    }

    public long transitionsToMaster() {
        return transitionsToMaster.get();
    }

    /** Entries into backup, including the one at startup and the one at close. */
    public long transitionsToBackup() {
        return transitionsToBackup.get();
    }

    /** What ended the agent thread unexpectedly (a bug), or null. */
    public Throwable failure() {
        return failure;
    }

    /** {@link System#nanoTime} of the last advertisement sent, 0 if none. */
    public long lastAdvertisementSentNanos() {
        return lastAdvertisementSentNanos.get();
    }

    /** {@link System#nanoTime} of the last transition to master or backup, 0 if none. */
    public long lastTransitionNanos() {
        return lastTransitionNanos.get();
    }

    @Override
    public String toString() {
        return "VrrpAgent[" + thread.getName() + ", " + state + "]";
    }
}
