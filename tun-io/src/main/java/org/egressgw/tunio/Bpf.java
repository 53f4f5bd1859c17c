package org.egressgw.tunio;

import static org.egressgw.tunio.LibC.C;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * The {@code bpf(2)} calls the gateway needs, on the control path only: load a socket-filter program, create
 * an LRU hash map, and run a program once on a packet ({@code BPF_PROG_TEST_RUN}, for tests). Layouts of
 * {@code union bpf_attr} are from {@code <linux/bpf.h>}; unused trailing fields are left zero, as the kernel
 * requires.
 */
public final class Bpf {
    private static final int BPF_MAP_CREATE = 0;
    private static final int BPF_PROG_LOAD = 5;
    private static final int BPF_PROG_TEST_RUN = 10;
    private static final int PROG_TYPE_SOCKET_FILTER = 1;
    private static final int MAP_TYPE_LRU_HASH = 9;
    private static final int ATTR_SIZE = 128;
    private static final int LOG_SIZE = 1 << 20;

    private Bpf() {
    }

    /**
     * Loads {@code program} as a {@code BPF_PROG_TYPE_SOCKET_FILTER} (the type TUN steering and
     * {@code SO_ATTACH_REUSEPORT_EBPF} take) and returns its file descriptor.
     *
     * @throws NativeIoException with the verifier's log when the kernel refuses
     */
    public static int loadSocketFilter(BpfAssembler program, String name) throws NativeIoException {
        UnsafeBuffer insns = program.build();
        UnsafeBuffer license = direct(8);
        license.putBytes(0, "GPL\0".getBytes(StandardCharsets.US_ASCII));
        // without a log first: with one the verifier writes every instruction it checks, and a log that
        // overflows fails even a good program (ENOSPC); the log is asked for only to explain a refusal
        long fd = load(insns, license, name, null);
        if (fd >= 0) {
            return (int) fd;
        }
        UnsafeBuffer log = direct(LOG_SIZE);
        fd = load(insns, license, name, log);
        if (fd >= 0) {
            return (int) fd;
        }
        int errno = LibC.errno();
        throw new NativeIoException("bpf(BPF_PROG_LOAD) of " + name + " (" + insns.capacity() / BpfAssembler.INSN_BYTES
                + " instructions); verifier: " + cString(log).strip(), errno);
    }

    private static long load(UnsafeBuffer insns, UnsafeBuffer license, String name, UnsafeBuffer log) {
        UnsafeBuffer attr = direct(ATTR_SIZE);
        attr.putInt(0, PROG_TYPE_SOCKET_FILTER);
        attr.putInt(4, insns.capacity() / BpfAssembler.INSN_BYTES);
        attr.putLong(8, insns.addressOffset());
        attr.putLong(16, license.addressOffset());
        if (log != null) {
            attr.putInt(24, 1); // log_level
            attr.putInt(28, log.capacity());
            attr.putLong(32, log.addressOffset());
        }
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        attr.putBytes(48, n, 0, Math.min(15, n.length)); // prog_name[16]
        return C.syscall(LibC.SYS_BPF, BPF_PROG_LOAD, attr.addressOffset(), ATTR_SIZE);
    }

    /** Creates a {@code BPF_MAP_TYPE_LRU_HASH} map and returns its file descriptor. */
    public static int createLruHash(int keySize, int valueSize, int maxEntries) throws NativeIoException {
        UnsafeBuffer attr = direct(ATTR_SIZE);
        attr.putInt(0, MAP_TYPE_LRU_HASH);
        attr.putInt(4, keySize);
        attr.putInt(8, valueSize);
        attr.putInt(12, maxEntries);
        long fd = C.syscall(LibC.SYS_BPF, BPF_MAP_CREATE, attr.addressOffset(), ATTR_SIZE);
        if (fd < 0) {
            throw LibC.lastError("bpf(BPF_MAP_CREATE) of an LRU hash map (" + maxEntries + " entries)");
        }
        return (int) fd;
    }

    /**
     * Runs a socket-filter program once ({@code BPF_PROG_TEST_RUN}) and returns its return value. {@code frame}
     * is an Ethernet frame: the program sees the data after its 14-byte header.
     */
    public static int testRun(int programFd, byte[] frame) throws NativeIoException {
        return (int) testRun(programFd, frame, 1);
    }

    /**
     * Runs a socket-filter program {@code repeat} times on {@code frame} in the kernel and returns the return
     * value (low 32 bits) and the kernel's average nanoseconds per run (high 32 bits).
     */
    public static long testRun(int programFd, byte[] frame, int repeat) throws NativeIoException {
        UnsafeBuffer data = direct(Math.max(frame.length, 1));
        data.putBytes(0, frame);
        UnsafeBuffer attr = direct(ATTR_SIZE);
        attr.putInt(0, programFd);
        attr.putInt(8, frame.length);
        attr.putLong(16, data.addressOffset());
        attr.putInt(32, repeat);
        if (C.syscall(LibC.SYS_BPF, BPF_PROG_TEST_RUN, attr.addressOffset(), ATTR_SIZE) < 0) {
            throw LibC.lastError("bpf(BPF_PROG_TEST_RUN)");
        }
        return ((long) attr.getInt(36, ByteOrder.LITTLE_ENDIAN) << 32) | (attr.getInt(4, ByteOrder.LITTLE_ENDIAN) & 0xffffffffL);
    }

    /** Closes a program or map descriptor. */
    public static void close(int fd) {
        if (fd >= 0) {
            C.close(fd);
        }
    }

    private static UnsafeBuffer direct(int size) {
        UnsafeBuffer b = new UnsafeBuffer(BufferUtil.allocateDirectAligned(Math.max(8, (size + 7) & ~7), 8));
        b.setMemory(0, b.capacity(), (byte) 0);
        return b;
    }

    /** The log's end (where the verifier says what it refused), at most 3000 characters. */
    private static String cString(UnsafeBuffer b) {
        int end = 0;
        while (end < b.capacity() && b.getByte(end) != 0) {
            end++;
        }
        int start = Math.max(0, end - 3000);
        byte[] text = new byte[end - start];
        b.getBytes(start, text);
        return (start > 0 ? "... " : "") + new String(text, StandardCharsets.US_ASCII);
    }
}
