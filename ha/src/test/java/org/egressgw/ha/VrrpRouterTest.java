package org.egressgw.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.egressgw.ha.VrrpRouter.Reason;
import org.egressgw.ha.VrrpRouter.State;
import org.egressgw.packet.Ipv4Address;
import org.junit.jupiter.api.Test;

/** The RFC 5798 section 6.4 transitions, on a fake clock (plain longs passed in). */
class VrrpRouterTest {
    private static final int LOW = Ipv4Address.parse("198.51.100.1");
    private static final int HIGH = Ipv4Address.parse("198.51.100.2");
    private static final int OTHER = Ipv4Address.parse("198.51.100.3");
    /** Advertisement_Interval 100 ms. */
    private static final int CENTIS = 10;
    private static final long T0 = 1_000_000;

    /** Records what the router asks for, as short strings. */
    static final class Events implements VrrpRouter.Listener {
        final List<String> log = new ArrayList<>();

        @Override
        public void sendAdvertisement(int priority) {
            log.add("send " + priority);
        }

        @Override
        public void becameMaster() {
            log.add("master");
        }

        @Override
        public void becameBackup(Reason why) {
            log.add("backup " + why);
        }

        List<String> take() {
            final List<String> copy = List.copyOf(log);
            log.clear();
            return copy;
        }
    }

    private final Events events = new Events();

    private VrrpRouter router(int address, int priority, boolean preempt) {
        return new VrrpRouter(address, priority, CENTIS, preempt, events);
    }

    /** A router that became master at T0 + its Master_Down_Interval; returns it with the log emptied. */
    private VrrpRouter master(int address, int priority) {
        final VrrpRouter r = router(address, priority, true);
        r.start(T0);
        r.tick(T0 + r.masterDownIntervalMillis());
        assertEquals(State.MASTER, r.state());
        events.take();
        return r;
    }

    @Test
    void timersFollowSection61() {
        final VrrpRouter r = router(LOW, 100, true);
        assertEquals(60, r.skewTimeMillis(), "(256 - 100) * 100 ms / 256 = 60.9");
        assertEquals(360, r.masterDownIntervalMillis(), "3 * 100 + 60");
        r.effectivePriority(254);
        assertEquals(0, r.skewTimeMillis(), "2 * 100 / 256 rounds down");
        r.effectivePriority(1);
        assertEquals(99, r.skewTimeMillis());
        assertEquals(State.INITIALIZE, r.state());
        assertEquals(VrrpRouter.NEVER, r.nextDeadline());
    }

    @Test
    void startsAsBackupThenBecomesMasterAfterMasterDownInterval() {
        final VrrpRouter r = router(LOW, 100, true);
        r.start(T0);
        assertEquals(List.of("backup STARTUP"), events.take());
        assertEquals(State.BACKUP, r.state());
        assertEquals(T0 + 360, r.nextDeadline());
        r.tick(T0 + 359);
        assertEquals(List.of(), events.take());
        r.tick(T0 + 360);
        assertEquals(List.of("send 100", "master"), events.take(), "advertise first, then take the addresses");
        assertEquals(State.MASTER, r.state());
        assertEquals(LOW, r.masterAddress());
        assertEquals(T0 + 460, r.nextDeadline());
        // the Adver_Timer keeps its cadence even when ticks come late
        r.tick(T0 + 463);
        r.tick(T0 + 559);
        r.tick(T0 + 560);
        assertEquals(List.of("send 100", "send 100"), events.take());
        assertEquals(T0 + 660, r.nextDeadline());
        assertThrows(IllegalStateException.class, () -> r.start(T0));
    }

    @Test
    void backupIsMasterWithin360MillisOfTheLastAdvertisement() {
        final VrrpRouter r = router(LOW, 100, true);
        r.start(T0);
        long last = T0;
        for (int i = 1; i <= 10; i++) {
            last = T0 + 100L * i;
            r.tick(last - 1);
            r.onAdvertisement(HIGH, 200, CENTIS, last);
        }
        assertEquals(HIGH, r.masterAddress());
        r.tick(last + 359);
        assertEquals(State.BACKUP, r.state());
        r.tick(last + 360);
        assertEquals(State.MASTER, r.state(), "3 x 100 + 60 ms after the last advertisement");
        assertEquals(List.of("backup STARTUP", "send 100", "master"), events.take());
    }

    @Test
    void aHigherPriorityPreemptsTheMaster() {
        final VrrpRouter r = master(LOW, 100);
        r.onAdvertisement(HIGH, 101, 20, T0 + 1000);
        assertEquals(List.of("backup PREEMPTED"), events.take());
        assertEquals(State.BACKUP, r.state());
        assertEquals(HIGH, r.masterAddress());
        assertEquals(20, r.masterAdverIntervalCentis(), "learnt from the new master");
        assertEquals(T0 + 1000 + 600 + 121, r.nextDeadline(), "3 * 200 + (156 * 200) / 256");
    }

    @Test
    void aPreemptingBackupDiscardsLowerPrioritiesAndTakesOver() {
        final VrrpRouter r = router(HIGH, 200, true);
        r.start(T0);
        r.onAdvertisement(LOW, 100, CENTIS, T0 + 100);
        r.onAdvertisement(LOW, 100, CENTIS, T0 + 200);
        r.tick(T0 + 200);
        assertEquals(State.BACKUP, r.state());
        final long deadline = T0 + r.masterDownIntervalMillis();
        assertEquals(deadline, r.nextDeadline(), "the lower master's advertisements did not re-arm the timer");
        r.tick(deadline);
        assertEquals(State.MASTER, r.state());
    }

    @Test
    void equalPrioritiesAreBrokenByTheHigherAddress() {
        final VrrpRouter low = master(LOW, 100);
        low.onAdvertisement(HIGH, 100, CENTIS, T0 + 1000);
        assertEquals(List.of("backup PREEMPTED"), events.take());

        final VrrpRouter high = master(HIGH, 100);
        high.onAdvertisement(LOW, 100, CENTIS, T0 + 1000);
        assertEquals(List.of(), events.take(), "the lower address is discarded");
        assertEquals(State.MASTER, high.state());

        // unsigned: 198.51.100.2 is above 10.0.0.1 although its int is negative
        final VrrpRouter beyondSign = master(HIGH, 100);
        beyondSign.onAdvertisement(Ipv4Address.parse("10.0.0.1"), 100, CENTIS, T0 + 1000);
        assertEquals(State.MASTER, beyondSign.state());
        final VrrpRouter small = master(Ipv4Address.parse("10.0.0.1"), 100);
        small.onAdvertisement(HIGH, 100, CENTIS, T0 + 1000);
        assertEquals(State.BACKUP, small.state());
    }

    @Test
    void priorityZeroMakesTheBackupTakeOverWithinSkewTime() {
        final VrrpRouter r = router(LOW, 100, true);
        r.start(T0);
        r.onAdvertisement(HIGH, 200, CENTIS, T0 + 100);
        r.onAdvertisement(HIGH, 0, CENTIS, T0 + 150);
        assertEquals(T0 + 150 + 60, r.nextDeadline());
        r.tick(T0 + 209);
        assertEquals(State.BACKUP, r.state());
        r.tick(T0 + 210);
        assertEquals(State.MASTER, r.state());
    }

    @Test
    void aMasterAnswersPriorityZeroAtOnce() {
        final VrrpRouter r = master(HIGH, 100);
        r.onAdvertisement(LOW, 0, CENTIS, T0 + 1000);
        assertEquals(List.of("send 100"), events.take());
        assertEquals(T0 + 1100, r.nextDeadline());
    }

    @Test
    void withPreemptOffABackupStaysBehindALowerMaster() {
        final VrrpRouter r = router(HIGH, 200, false);
        r.start(T0);
        for (long t = T0 + 100; t < T0 + 5_000; t += 100) {
            r.tick(t);
            r.onAdvertisement(LOW, 50, CENTIS, t);
        }
        assertEquals(State.BACKUP, r.state());
        assertEquals(List.of("backup STARTUP"), events.take());
        // but a master without preemption still yields to a higher priority (Preempt_Mode is not considered there)
        final VrrpRouter m = new VrrpRouter(LOW, 100, CENTIS, false, events);
        m.start(T0);
        m.tick(T0 + m.masterDownIntervalMillis());
        m.onAdvertisement(HIGH, 150, CENTIS, T0 + 1000);
        assertEquals(State.BACKUP, m.state());
    }

    @Test
    void anIneligibleMemberNeverBecomesMaster() {
        final VrrpRouter r = router(HIGH, 254, true);
        r.eligible(false, T0);
        r.start(T0);
        for (long t = T0; t < T0 + 10_000; t += 10) {
            r.tick(t);
            assertTrue(r.nextDeadline() > t, "the timer is re-armed, not left in the past");
        }
        r.onAdvertisement(LOW, 0, CENTIS, T0 + 10_000);
        r.tick(T0 + 10_500);
        assertEquals(State.BACKUP, r.state());
        assertEquals(List.of("backup STARTUP"), events.take());
        // eligible again: it first listens for a whole Master_Down_Interval
        r.eligible(true, T0 + 20_000);
        assertEquals(T0 + 20_000 + r.masterDownIntervalMillis(), r.nextDeadline());
        r.tick(T0 + 20_000 + r.masterDownIntervalMillis());
        assertEquals(State.MASTER, r.state());
    }

    @Test
    void aMasterThatBecomesIneligibleGivesUp() {
        final VrrpRouter r = master(HIGH, 200);
        r.eligible(false, T0 + 1000);
        assertEquals(List.of("backup INELIGIBLE", "send 0"), events.take(), "release, then tell the peers");
        assertEquals(State.BACKUP, r.state());
        r.tick(T0 + 100_000);
        assertEquals(State.BACKUP, r.state());
        assertFalse(r.isEligible());
    }

    @Test
    void giveUpHandsOverAndTheHandoverHolds() {
        final VrrpRouter r = master(HIGH, 200);
        assertTrue(r.giveUp(T0 + 1000));
        assertEquals(List.of("backup GAVE_UP", "send 0"), events.take());
        assertTrue(r.isYielding());
        // a lower-priority member took over; although we preempt and rank higher, we stay backup while it lives
        for (long t = T0 + 1100; t < T0 + 5000; t += 100) {
            r.onAdvertisement(LOW, 100, CENTIS, t);
            r.tick(t);
        }
        assertEquals(State.BACKUP, r.state());
        assertFalse(r.giveUp(T0 + 5000), "not master");
        // the new master dies: we take over again after a Master_Down_Interval
        r.tick(T0 + 4900 + r.masterDownIntervalMillis());
        assertEquals(State.MASTER, r.state());
        assertFalse(r.isYielding());
        assertEquals(List.of("send 200", "master"), events.take());
    }

    @Test
    void shutdownAdvertisesPriorityZeroOnlyFromMaster() {
        final VrrpRouter m = master(HIGH, 200);
        m.shutdown(T0 + 1000);
        assertEquals(List.of("backup SHUTDOWN", "send 0"), events.take());
        assertEquals(State.INITIALIZE, m.state());
        assertEquals(VrrpRouter.NEVER, m.nextDeadline());
        m.onAdvertisement(LOW, 100, CENTIS, T0 + 1100);
        m.tick(T0 + 100_000);
        assertEquals(List.of(), events.take(), "Initialize ignores everything");
        m.shutdown(T0 + 100_000);
        assertEquals(List.of(), events.take(), "idempotent");

        final VrrpRouter b = router(LOW, 100, true);
        b.start(T0);
        b.shutdown(T0 + 10);
        assertEquals(List.of("backup STARTUP", "backup SHUTDOWN"), events.take());
        b.start(T0 + 20);
        assertEquals(State.BACKUP, b.state(), "may start again");
    }

    @Test
    void aLowEffectivePriorityDefersPreemptionUntilRaised() {
        // a returning preferred member advertises priority 1 until its state resync is complete
        final VrrpRouter r = router(HIGH, 200, true);
        r.effectivePriority(1);
        r.start(T0);
        long t = T0;
        for (; t < T0 + 3000; t += 100) {
            r.onAdvertisement(LOW, 100, CENTIS, t);
            r.tick(t);
        }
        assertEquals(State.BACKUP, r.state());
        r.effectivePriority(200);
        assertEquals(200, r.effectivePriority());
        assertEquals(200, r.configuredPriority());
        final long raisedAt = t;
        for (; r.state() == State.BACKUP && t < T0 + 10_000; t += 10) {
            if ((t - T0) % 100 == 0) {
                r.onAdvertisement(LOW, 100, CENTIS, t);
            }
            r.tick(t);
        }
        assertEquals(State.MASTER, r.state());
        assertTrue(t - raisedAt <= 100 + r.masterDownIntervalMillis(), "took " + (t - raisedAt) + " ms");
        events.take();
        r.effectivePriority(50);
        r.tick(t + 200);
        assertEquals(List.of("send 50"), events.take(), "advertisements carry the effective priority");
    }

    @Test
    void argumentsAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> router(LOW, 0, true));
        assertThrows(IllegalArgumentException.class, () -> router(LOW, 255, true));
        assertThrows(IllegalArgumentException.class, () -> new VrrpRouter(LOW, 100, 0, true, events));
        assertThrows(IllegalArgumentException.class, () -> new VrrpRouter(LOW, 100, 4096, true, events));
        assertThrows(IllegalArgumentException.class, () -> new VrrpRouter(LOW, 100, 10, true, null));
        assertThrows(IllegalArgumentException.class, () -> router(LOW, 100, true).effectivePriority(0));
    }

    /** Several routers on a perfect simulated segment: advertisements arrive at once; time moves 1 ms a step. */
    private static final class Group {
        final List<VrrpRouter> routers = new ArrayList<>();
        final List<Boolean> alive = new ArrayList<>();
        long now = T0;
        long lastAdvertisement;

        VrrpRouter add(int address, int priority) {
            final int index = routers.size();
            final VrrpRouter r = new VrrpRouter(address, priority, CENTIS, true, new VrrpRouter.Listener() {
                @Override
                public void sendAdvertisement(int advertised) {
                    lastAdvertisement = now;
                    for (int i = 0; i < routers.size(); i++) {
                        if (i != index && alive.get(i)) {
                            routers.get(i).onAdvertisement(address, advertised, CENTIS, now);
                        }
                    }
                }

                @Override
                public void becameMaster() {
                }

                @Override
                public void becameBackup(Reason why) {
                }
            });
            routers.add(r);
            alive.add(true);
            return r;
        }

        void run(long millis) {
            for (long end = now + millis; now < end; now++) {
                for (int i = 0; i < routers.size(); i++) {
                    if (alive.get(i)) {
                        routers.get(i).tick(now);
                    }
                }
            }
        }

        int masters() {
            int n = 0;
            for (int i = 0; i < routers.size(); i++) {
                n += alive.get(i) && routers.get(i).state() == State.MASTER ? 1 : 0;
            }
            return n;
        }
    }

    @Test
    void aSimulatedGroupElectsOneMasterAndFailsOverInTime() {
        final Group group = new Group();
        final VrrpRouter a = group.add(LOW, 150);
        final VrrpRouter b = group.add(HIGH, 100);
        final VrrpRouter c = group.add(OTHER, 100);
        for (VrrpRouter r : group.routers) {
            r.start(group.now);
        }
        group.run(2000);
        assertEquals(1, group.masters());
        assertEquals(State.MASTER, a.state(), "the highest priority wins");
        // a crashes silently
        group.alive.set(0, false);
        final long last = group.lastAdvertisement;
        while (group.masters() == 0 && group.now < last + 2000) {
            group.run(1);
        }
        assertEquals(1, group.masters());
        assertTrue(group.now - last <= 361, "failover took " + (group.now - last) + " ms");
        assertTrue(b.state() == State.MASTER || c.state() == State.MASTER);
        group.run(2000);
        assertEquals(1, group.masters(), "and it stays one");
    }
}
