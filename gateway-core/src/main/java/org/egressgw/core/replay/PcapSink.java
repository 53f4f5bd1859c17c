package org.egressgw.core.replay;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Timestamp;
import org.pcap4j.core.NotOpenException;
import org.pcap4j.core.PcapDumper;
import org.pcap4j.core.PcapHandle;
import org.pcap4j.core.PcapNativeException;
import org.pcap4j.core.Pcaps;
import org.pcap4j.packet.namednumber.DataLinkType;

/**
 * Writes IPv4 packets to a classic pcap file with link type RAW (or, for copies, another link type) (each record is an IPv4 packet, no
 * link header), which tcpdump, tshark and Wireshark open as they are. VXLAN on UDP 8472 is shown
 * decoded with {@code tcpdump -T vxlan} or Wireshark's "Decode As… VXLAN".
 *
 * <p>Not thread-safe: one writer.
 */
public final class PcapSink implements AutoCloseable {
    /** Largest record written; longer packets are cut (an IPv4 packet is at most 65535 bytes anyway). */
    public static final int SNAP_LENGTH = 65535;

    private final Path file;
    private final PcapHandle dead;
    private final PcapDumper dumper;
    private long packets;
    private long bytes;

    private PcapSink(Path file, PcapHandle dead, PcapDumper dumper) {
        this.file = file;
        this.dead = dead;
        this.dumper = dumper;
    }

    /** Creates (or truncates) {@code file} with link type RAW. */
    public static PcapSink create(Path file) throws IOException {
        return create(file, LinkLayer.DLT_RAW);
    }

    /** Creates (or truncates) {@code file} with link type {@code dlt} (a libpcap DLT value): for copying captures. */
    public static PcapSink create(Path file, int dlt) throws IOException {
        PcapHandle dead = null;
        try {
            dead = Pcaps.openDead(DataLinkType.getInstance(dlt), SNAP_LENGTH, PcapHandle.TimestampPrecision.MICRO);
            return new PcapSink(file, dead, dead.dumpOpen(file.toString()));
        } catch (PcapNativeException | NotOpenException e) {
            if (dead != null) {
                dead.close();
            }
            throw new IOException("cannot create capture " + file + ": " + e.getMessage(), e);
        }
    }

    /** Appends one packet stamped {@code timeMicros} (microseconds since the epoch). */
    public void write(byte[] packet, long timeMicros) throws IOException {
        try {
            dumper.dumpRaw(packet, timestamp(timeMicros));
        } catch (NotOpenException e) {
            throw new IOException("capture " + file + " is closed", e);
        }
        packets++;
        bytes += 16 + packet.length;
    }

    /** Bytes written so far, the 24-byte file header included. */
    public long size() {
        return 24 + bytes;
    }

    public long packets() {
        return packets;
    }

    public Path file() {
        return file;
    }

    static Timestamp timestamp(long timeMicros) {
        Timestamp ts = new Timestamp(Math.floorDiv(timeMicros, 1_000_000L) * 1000);
        ts.setNanos((int) Math.floorMod(timeMicros, 1_000_000L) * 1000);
        return ts;
    }

    @Override
    public void close() {
        try {
            dumper.flush();
        } catch (PcapNativeException | NotOpenException e) {
            // closing anyway; the records already written stay in the file
        }
        dumper.close();
        dead.close();
    }
}
