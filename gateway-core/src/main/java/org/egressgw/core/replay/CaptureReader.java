package org.egressgw.core.replay;

import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.util.concurrent.TimeoutException;
import org.pcap4j.core.NotOpenException;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.Pcaps;

/**
 * Reads a pcap file frame by frame through libpcap (pcap4j): the frame's bytes as captured, its
 * timestamp in microseconds and the file's link type. Off the hot path: a replay tool allocates a
 * byte array per frame, as pcap4j does.
 *
 * <p>Not thread-safe.
 */
public final class CaptureReader implements AutoCloseable {
    private final Path file;
    private final PcapHandle handle;
    private final int dlt;
    private byte[] frame;
    private long timeMicros;
    private int originalLength;

    private CaptureReader(Path file, PcapHandle handle) {
        this.file = file;
        this.handle = handle;
        this.dlt = handle.getDlt().value();
    }

    /**
     * Opens {@code file}.
     *
     * @throws IOException when it is missing or libpcap cannot read it (the message names the file)
     */
    public static CaptureReader open(Path file) throws IOException {
        if (!Files.isReadable(file)) {
            throw new IOException("capture " + file + " does not exist or is not readable");
        }
        try {
            return new CaptureReader(file, Pcaps.openOffline(file.toString(), PcapHandle.TimestampPrecision.MICRO));
        } catch (PcapNativeException e) {
            throw new IOException("cannot read capture " + file + ": " + e.getMessage(), e);
        }
    }

    /** Advances to the next frame; false at the end of the file. */
    public boolean next() throws IOException {
        try {
            frame = handle.getNextRawPacketEx();
        } catch (EOFException e) {
            frame = null;
            return false;
        } catch (PcapNativeException | TimeoutException | NotOpenException e) {
            throw new IOException("cannot read capture " + file + ": " + e.getMessage(), e);
        }
        Timestamp ts = handle.getTimestamp();
        timeMicros = Math.floorDiv(ts.getTime(), 1000) * 1_000_000L + ts.getNanos() / 1000;
        Integer orig = handle.getOriginalLength();
        originalLength = orig == null ? frame.length : orig;
        return true;
    }

    /** The current frame as captured (possibly cut at the snap length). */
    public byte[] frame() {
        return frame;
    }

    /** Length of the current frame on the wire; more than {@code frame().length} when the snap length cut it. */
    public int originalLength() {
        return originalLength;
    }

    /** Capture time of the current frame, microseconds since the epoch. */
    public long timeMicros() {
        return timeMicros;
    }

    /** The file's link type (a libpcap DLT value, see {@link LinkLayer}). */
    public int dlt() {
        return dlt;
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() {
        handle.close();
    }
}
