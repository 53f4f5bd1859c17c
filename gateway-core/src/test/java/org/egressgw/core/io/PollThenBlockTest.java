package org.egressgw.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.netty.channel.SelectStrategy;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PollThenBlockTest {
    @Test
    void blocksAtOnceWithZeroWindow() throws Exception {
        AtomicInteger polls = new AtomicInteger();
        PollThenBlock s = new PollThenBlock(0);
        assertEquals(SelectStrategy.SELECT, s.calculateStrategy(() -> { polls.incrementAndGet(); return 0; }, false));
        assertEquals(0, polls.get(), "no extra epoll_wait(0) when it will block anyway");
        assertEquals(3, s.calculateStrategy(() -> 3, true), "with tasks pending it polls and returns what is ready");
    }

    @Test
    void pollsWithinTheWindowThenBlocks() throws Exception {
        PollThenBlock s = new PollThenBlock(50_000_000L);
        assertEquals(2, s.calculateStrategy(() -> 2, false), "events ready: process them");
        assertEquals(0, s.calculateStrategy(() -> 0, false), "nothing ready right after an event: poll again");
        Thread.sleep(80);
        assertEquals(SelectStrategy.SELECT, s.calculateStrategy(() -> 0, false), "window over: block");
        assertEquals(0, s.calculateStrategy(() -> 0, true), "tasks pending: never block");
    }

    @Test
    void neverBlocksWhenBusyPolling() throws Exception {
        PollThenBlock s = new PollThenBlock(Long.MAX_VALUE);
        Thread.sleep(5);
        assertEquals(0, s.calculateStrategy(() -> 0, false));
        assertThrows(IllegalArgumentException.class, () -> new PollThenBlock(-1));
    }
}
