package org.egressgw.tunio;

import static org.egressgw.tunio.LibC.C;

import java.io.UncheckedIOException;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/** Pins the calling thread to one CPU ({@code sched_setaffinity(2)}); control path only. */
public final class CpuAffinity {
    /** Size of the {@code cpu_set_t} passed (1024 CPUs, glibc's default). */
    public static final int MAX_CPUS = 1024;

    private CpuAffinity() {
    }

    /**
     * Restricts the calling thread to {@code cpu}.
     *
     * @throws IllegalArgumentException if cpu is outside 0..{@value #MAX_CPUS}-1
     * @throws UncheckedIOException wrapping a {@link NativeIoException} if the kernel refuses (EINVAL:
     *     the CPU is offline or not in this process's allowed set, e.g. a container's cpuset)
     */
    public static void pinCurrentThread(int cpu) {
        if (cpu < 0 || cpu >= MAX_CPUS) {
            throw new IllegalArgumentException("cpu " + cpu + " is not in 0.." + (MAX_CPUS - 1));
        }
        UnsafeBuffer mask = new UnsafeBuffer(BufferUtil.allocateDirectAligned(MAX_CPUS / 8, 8));
        mask.setMemory(0, MAX_CPUS / 8, (byte) 0);
        mask.putByte(cpu / 8, (byte) (1 << (cpu % 8)));
        if (C.sched_setaffinity(0, MAX_CPUS / 8, mask.addressOffset()) != 0) {
            throw new UncheckedIOException(LibC.lastError("sched_setaffinity(CPU " + cpu + ")"));
        }
    }
}
