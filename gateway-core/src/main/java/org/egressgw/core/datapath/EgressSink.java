package org.egressgw.core.datapath;

/** Where translated request packets go (the TUN device in production, memory in tests). */
@FunctionalInterface
public interface EgressSink {
    /**
     * Writes one IPv4 packet from native memory.
     *
     * @return bytes written, or 0 if the kernel had no room (counted as a drop by the caller)
     */
    int write(long address, int length);

    /** Writes whatever {@link #write} held back; called at the end of every ring batch. */
    default void flush() {
    }

    /**
     * Packets {@link #write} accepted (returned their length for) but the kernel later refused — held TCP segments
     * lost in a refused super-packet write — since the sink was created (datapath thread).
     */
    default long lostPackets() {
        return 0;
    }

    /** The bytes of {@link #lostPackets()}, as the packets were written (each segment with its own headers). */
    default long lostBytes() {
        return 0;
    }
}
