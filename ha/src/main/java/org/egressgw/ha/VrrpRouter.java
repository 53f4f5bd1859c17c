package org.egressgw.ha;

import org.egressgw.packet.Ipv4Address;

/**
 * The VRRPv3 state machine of RFC 5798 section 6.4 (Initialize, Backup, Master) with the section 6.1 timers, for
 * one virtual router. It does no I/O and reads no clock: it is driven by {@link #start}, {@link #onAdvertisement}
 * (for advertisements that already passed {@link AdvertisementFilter}) and {@link #tick}, each given the current
 * time, and it acts through a {@link Listener}. {@link #nextDeadline} says when {@link #tick} is due next.
 *
 * <p>Timers (section 6.1), in milliseconds here, from intervals in centiseconds as on the wire:
 * <ul>
 *   <li>Advertisement_Interval: ours, configured;</li>
 *   <li>Master_Adver_Interval: the interval the current master advertises (ours until one is heard);</li>
 *   <li>Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256, computed in milliseconds;</li>
 *   <li>Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time. With 100 ms and priority 100: 300 + 60 ms.</li>
 * </ul>
 *
 * <p>Transitions (section 6.4): startup goes to Backup with the Master_Down_Timer armed (no member owns the
 * addresses: priority 255 is not configurable). In Backup, an advertisement of priority 0 sets the timer to
 * Skew_Time; one with a priority at least ours — or any, when Preempt_Mode is off — adopts its interval and re-arms
 * the timer; a lower one is discarded, so a preempting member takes over when the timer fires. In Master, a
 * higher priority, or an equal one from a higher primary address (unsigned comparison), sends us to Backup; a
 * priority-0 advertisement is answered at once; lower ones are discarded.
 *
 * <p>Extras the gateway needs, beyond the RFC:
 * <ul>
 *   <li>{@link #effectivePriority(int)}: the priority advertised and compared, changeable at any time (the
 *       configured one is kept for reference). The gateway advertises a low priority (e.g. 1) until its
 *       connection-state resync is complete, so a returning preferred member does not preempt before it has the
 *       state; raising it later lets the member preempt through the RFC's own mechanism.</li>
 *   <li>{@link #eligible(boolean, long)}: while not eligible (own links down, datapath stopped) the member never becomes
 *       master (a firing Master_Down_Timer is re-armed instead); a master that becomes ineligible gives up
 *       (priority 0 once, then Backup). Becoming eligible again re-arms the timer to a full Master_Down_Interval,
 *       so a member whose links were down first listens for the current master instead of claiming at once.</li>
 *   <li>{@link #giveUp}: planned handover, priority 0 once and Backup. Until it next becomes master the member
 *       does not preempt (it accepts any master), so the handover holds even if its priority is the highest; it
 *       still takes over if no master is heard for a Master_Down_Interval.</li>
 *   <li>{@link #shutdown}: at exit, as the RFC's Shutdown event: priority 0 once if master, then Initialize.</li>
 * </ul>
 *
 * <p>Listener order: on leaving Master, {@link Listener#becameBackup} comes before the priority-0
 * {@link Listener#sendAdvertisement}, so the addresses are released before the peers are told to take them; on
 * entering Master the advertisement comes first (the RFC's order: claim, then take the addresses). The router's
 * state is updated before any call, so a listener may call back into it.
 *
 * <p>Thread-safety: none; one thread calls everything (the agent's). Times must not go backwards.
 */
public final class VrrpRouter {
    /** A deadline that never comes. */
    public static final long NEVER = Long.MAX_VALUE;
    /** The lowest and highest configurable priority (0 is "giving up", 255 the address owner). */
    public static final int MIN_PRIORITY = 1;
    public static final int MAX_PRIORITY = 254;

    /** RFC 5798 section 6.4 states. */
    public enum State { INITIALIZE, BACKUP, MASTER }

    /** Why the router entered Backup (or, for {@link #SHUTDOWN}, Initialize). */
    public enum Reason {
        /** Startup: every member starts as backup. */
        STARTUP,
        /** A master with a higher priority, or the same priority and a higher address, was heard. */
        PREEMPTED,
        /** {@link VrrpRouter#eligible(boolean, long)} became false while master. */
        INELIGIBLE,
        /** {@link VrrpRouter#giveUp} — planned handover. */
        GAVE_UP,
        /** {@link VrrpRouter#shutdown}: the router is now in Initialize. */
        SHUTDOWN
    }

    /** What the router asks of its owner; called on the thread that drives the router. */
    public interface Listener {
        /** Send an advertisement with this priority (0 = giving up) to the peers, now. */
        void sendAdvertisement(int priority);

        /** Entered Master: take the virtual addresses (and announce them, e.g. gratuitous ARP). */
        void becameMaster();

        /** Entered Backup (or Initialize, for {@link Reason#SHUTDOWN}): release the virtual addresses if held. */
        void becameBackup(Reason why);
    }

    private final int primaryAddress;
    private final int configuredPriority;
    private final int advertisementIntervalCentis;
    private final boolean preempt;
    private final Listener listener;

    private State state = State.INITIALIZE;
    private int priority;
    private boolean eligible = true;
    private boolean yielding;
    private int masterAdverIntervalCentis;
    private int masterAddress;
    private long masterDownDeadline = NEVER;
    private long adverDeadline = NEVER;

    /**
     * @param primaryAddress this member's address, the source of its advertisements and the tie-breaker
     * @param priority 1..254
     * @param advertisementIntervalCentis Advertisement_Interval, 1..4095 centiseconds
     * @param preempt Preempt_Mode
     * @param listener receives the router's actions
     * @throws IllegalArgumentException naming the offending value
     */
    public VrrpRouter(int primaryAddress, int priority, int advertisementIntervalCentis, boolean preempt,
            Listener listener) {
        checkPriority(priority);
        if (advertisementIntervalCentis < 1 || advertisementIntervalCentis > Vrrp.MAX_ADVER_INT_CENTIS) {
            throw new IllegalArgumentException("advertisement interval " + advertisementIntervalCentis
                + " cs is not in 1.." + Vrrp.MAX_ADVER_INT_CENTIS);
        }
        if (listener == null) {
            throw new IllegalArgumentException("listener is missing");
        }
        this.primaryAddress = primaryAddress;
        this.configuredPriority = priority;
        this.priority = priority;
        this.advertisementIntervalCentis = advertisementIntervalCentis;
        this.masterAdverIntervalCentis = advertisementIntervalCentis;
        this.preempt = preempt;
        this.listener = listener;
    }

    /**
     * Refuses a configured priority outside {@value #MIN_PRIORITY}..{@value #MAX_PRIORITY}.
     *
     * @throws IllegalArgumentException naming it
     */
    static void checkPriority(int priority) {
        if (priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
            throw new IllegalArgumentException("priority " + priority + " is not in " + MIN_PRIORITY + ".."
                + MAX_PRIORITY);
        }
    }

    /**
     * The Startup event: Initialize to Backup, Master_Down_Timer armed.
     *
     * @throws IllegalStateException if not in Initialize
     */
    public void start(long nowMillis) {
        if (state != State.INITIALIZE) {
            throw new IllegalStateException("VRRP router " + Ipv4Address.toString(primaryAddress) + " already started");
        }
        masterAdverIntervalCentis = advertisementIntervalCentis;
        masterAddress = 0;
        enterBackup(nowMillis, Reason.STARTUP);
    }

    /**
     * An advertisement that passed {@link AdvertisementFilter}: from {@code sourceAddress}, with {@code priority}
     * (0..255) and the sender's {@code maxAdverIntervalCentis} (1..4095). Ignored in Initialize.
     */
    public void onAdvertisement(int sourceAddress, int priority, int maxAdverIntervalCentis, long nowMillis) {
        switch (state) {
            case BACKUP:
                if (priority == Vrrp.PRIORITY_SHUTDOWN) {
                    masterDownDeadline = nowMillis + skewTimeMillis();
                } else if (!preempt || yielding || priority >= this.priority) {
                    masterAdverIntervalCentis = maxAdverIntervalCentis;
                    masterAddress = sourceAddress;
                    masterDownDeadline = nowMillis + masterDownIntervalMillis();
                }
                break;
            case MASTER:
                if (priority == Vrrp.PRIORITY_SHUTDOWN) {
                    adverDeadline = nowMillis + advertisementIntervalMillis();
                    listener.sendAdvertisement(this.priority);
                } else if (priority > this.priority || (priority == this.priority
                    && Integer.compareUnsigned(sourceAddress, primaryAddress) > 0)) {
                    masterAdverIntervalCentis = maxAdverIntervalCentis;
                    masterAddress = sourceAddress;
                    enterBackup(nowMillis, Reason.PREEMPTED);
                }
                break;
            default:
                break;
        }
    }

    /** Fires the timers that are due at {@code nowMillis}. */
    public void tick(long nowMillis) {
        if (state == State.BACKUP && nowMillis >= masterDownDeadline) {
            if (eligible) {
                enterMaster(nowMillis);
            } else {
                masterDownDeadline = nowMillis + masterDownIntervalMillis();
            }
        } else if (state == State.MASTER && nowMillis >= adverDeadline) {
            // keep the cadence if the tick came a little late; restart it if we fell a whole interval behind
            adverDeadline += advertisementIntervalMillis();
            if (adverDeadline <= nowMillis) {
                adverDeadline = nowMillis + advertisementIntervalMillis();
            }
            listener.sendAdvertisement(priority);
        }
    }

    /** When {@link #tick} is due next: the Master_Down_Timer in Backup, the Adver_Timer in Master, else {@link #NEVER}. */
    public long nextDeadline() {
        switch (state) {
            case BACKUP:
                return masterDownDeadline;
            case MASTER:
                return adverDeadline;
            default:
                return NEVER;
        }
    }

    /**
     * Sets the priority advertised and compared from now on, 1..254. Takes effect in the next advertisement sent
     * and the next comparison; Skew_Time follows it.
     *
     * @throws IllegalArgumentException if out of range
     */
    public void effectivePriority(int priority) {
        checkPriority(priority);
        this.priority = priority;
    }

    /**
     * Whether this member may be master. Becoming ineligible while master gives up (Backup, priority 0 once);
     * becoming eligible in Backup re-arms the Master_Down_Timer to a full interval.
     */
    public void eligible(boolean eligible, long nowMillis) {
        if (eligible == this.eligible) {
            return;
        }
        this.eligible = eligible;
        if (!eligible && state == State.MASTER) {
            leaveMaster(nowMillis, Reason.INELIGIBLE);
        } else if (eligible && state == State.BACKUP) {
            masterDownDeadline = nowMillis + masterDownIntervalMillis();
        }
    }

    /**
     * Planned handover: if master, go to Backup and advertise priority 0 once, and accept any master until this
     * member next becomes master.
     *
     * @return true if it was master
     */
    public boolean giveUp(long nowMillis) {
        if (state != State.MASTER) {
            return false;
        }
        yielding = true;
        leaveMaster(nowMillis, Reason.GAVE_UP);
        return true;
    }

    /**
     * The Shutdown event: from Master, priority 0 once; from Master or Backup, to Initialize with
     * {@link Listener#becameBackup}({@link Reason#SHUTDOWN}). {@link #start} may be called again afterwards.
     */
    public void shutdown(long nowMillis) {
        final State previous = state;
        if (previous == State.INITIALIZE) {
            return;
        }
        state = State.INITIALIZE;
        masterDownDeadline = NEVER;
        adverDeadline = NEVER;
        yielding = false;
        listener.becameBackup(Reason.SHUTDOWN);
        if (previous == State.MASTER) {
            listener.sendAdvertisement(Vrrp.PRIORITY_SHUTDOWN);
        }
    }

    private void leaveMaster(long nowMillis, Reason why) {
        masterAdverIntervalCentis = advertisementIntervalCentis;
        masterAddress = 0;
        enterBackup(nowMillis, why);
        listener.sendAdvertisement(Vrrp.PRIORITY_SHUTDOWN);
    }

    private void enterBackup(long nowMillis, Reason why) {
        state = State.BACKUP;
        adverDeadline = NEVER;
        masterDownDeadline = nowMillis + masterDownIntervalMillis();
        listener.becameBackup(why);
    }

    private void enterMaster(long nowMillis) {
        state = State.MASTER;
        yielding = false;
        masterDownDeadline = NEVER;
        masterAddress = primaryAddress;
        adverDeadline = nowMillis + advertisementIntervalMillis();
        listener.sendAdvertisement(priority);
        listener.becameMaster();
    }

    /** Current state. */
    public State state() {
        return state;
    }

    /** The priority advertised and compared now. */
    public int effectivePriority() {
        return priority;
    }

    /** The priority given at construction. */
    public int configuredPriority() {
        return configuredPriority;
    }

    public boolean isEligible() {
        return eligible;
    }

    /** True after {@link #giveUp} until this member next becomes master: it does not preempt meanwhile. */
    public boolean isYielding() {
        return yielding;
    }

    public boolean preempt() {
        return preempt;
    }

    /** The master last heard (ourselves when master), 0 if none yet. */
    public int masterAddress() {
        return masterAddress;
    }

    /** Advertisement_Interval in centiseconds. */
    public int advertisementIntervalCentis() {
        return advertisementIntervalCentis;
    }

    /** Master_Adver_Interval in centiseconds. */
    public int masterAdverIntervalCentis() {
        return masterAdverIntervalCentis;
    }

    public long advertisementIntervalMillis() {
        return advertisementIntervalCentis * 10L;
    }

    /** Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256, in milliseconds. */
    public long skewTimeMillis() {
        return ((256L - priority) * masterAdverIntervalCentis * 10L) / 256L;
    }

    /** Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time, in milliseconds. */
    public long masterDownIntervalMillis() {
        return 3L * masterAdverIntervalCentis * 10L + skewTimeMillis();
    }
}
