package org.egressgw.tunio;

import java.nio.ByteOrder;

import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Tcp;

/**
 * Joins consecutive in-order TCP segments of one flow, offered within one transmit batch, into one IPv4/TCP
 * super-packet and hands it to a TUN device opened with a vnet header as a {@link VirtioNetHeader#GSO_TCPV4}
 * write: one system call for up to ~44 full-size segments, which the kernel cuts back into the original
 * segments (or passes on whole to a device that segments later, such as a veth).
 *
 * <h2>What joins</h2>
 * A segment joins the pending run of its flow (same addresses and ports) when all of these hold; otherwise
 * the run is written and the segment starts a new one:
 * <ul>
 * <li>IPv4 without options, not a fragment, total length equal to the offered length; TCP with ACK and
 *     without SYN, FIN, RST, URG or CWR; a payload; a correct TCP checksum (so a corrupted segment is not
 *     "repaired" by the checksum the kernel computes for the super-packet — it is written alone, as is, and
 *     its receiver drops it as it would have without coalescing);</li>
 * <li>its sequence number is the run's next one, its payload is not longer than the run's first segment's
 *     (the segment size), and the super-packet stays within 65 535 bytes;</li>
 * <li>TOS, TTL, DF, acknowledgment number, data offset, window, urgent pointer and every option byte equal
 *     those of the run's first segment (so re-segmenting gives back exactly the segments offered, timestamps
 *     included), and flags equal except PSH;</li>
 * <li>without DF, its IP ID is the first segment's plus its index (the kernel numbers the segments it
 *     cuts that way); with DF the IDs are not compared — the segments the kernel cuts carry the first ID
 *     counting up, which RFC 6864 allows for atomic datagrams.</li>
 * </ul>
 * A shorter segment or one with PSH ends its run, and a run that cannot take another full segment is
 * written at once. A TCP packet that cannot join (a pure ACK, SYN, FIN, RST, ...) is written right after
 * its flow's pending run, so every flow's packets leave in the order offered; other packets (UDP, ICMP,
 * anything unparsable) are written at once. Order between different flows is not kept.
 *
 * <h2>The super-packet</h2>
 * The first segment's IP and TCP headers with the total length and header checksum updated, PSH taken from
 * the last segment, and the TCP checksum field holding the folded, not complemented pseudo-header sum over
 * the super-packet's TCP length; the vnet header says NEEDS_CSUM (csum_start = IP header length,
 * csum_offset = 16), GSO_TCPV4, gso_size = the first segment's payload length, hdr_len = IP + TCP header
 * length. That is what the kernel's {@code virtio_net_hdr_to_skb} and {@code tcp_gso_segment} expect:
 * each cut segment's checksum is derived from that field by replacing the length (checked against the
 * kernel by {@code TunVnetHeaderIT}). A run of one segment is written unchanged with an all-zero header.
 *
 * <h2>Resources and threading</h2>
 * Offered bytes are copied at once, so the caller may reuse its memory as soon as {@link #offer} returns.
 * All memory is allocated by the constructor: per tracked flow a 64 KiB scratch buffer (so 64 flows cost
 * 4 MiB off-heap). When a batch brings more flows than that, everything pending is written and tracking
 * starts over. Not thread-safe: one owner thread calls {@link #offer} and {@link #flush}; the counters may
 * be read from other threads as stale values.
 */
public final class TcpCoalescer {
    /** Where coalesced and single packets go: typically {@code TunDevice::write} with a vnet header. */
    @FunctionalInterface
    public interface Output {
        /**
         * Writes {@link VirtioNetHeader#LENGTH} header bytes followed by an IPv4 packet, in one system call.
         *
         * @return bytes written (> 0), 0 if dropped, -1 if the output is closed
         */
        int write(long headerAddress, int headerLength, long packetAddress, int packetLength);
    }

    /** Default number of flows tracked per batch. */
    public static final int DEFAULT_MAX_FLOWS = 64;
    /** Largest IPv4 packet, so largest super-packet. */
    public static final int MAX_PACKET = 65_535;

    private static final ByteOrder BE = ByteOrder.BIG_ENDIAN;
    private static final int IP_HEADER = Ipv4.MIN_HEADER_LENGTH;
    private static final int SLOT_HEADER = 16;
    private static final int SLOT_STRIDE = SLOT_HEADER + 65_536;
    /** Flags a joining segment must have exactly ACK of (PSH aside, and ECE compared with the run). */
    private static final int REFUSED_FLAGS = Tcp.SYN | Tcp.FIN | Tcp.RST | Tcp.URG | Tcp.CWR;

    private final Output output;
    private final boolean verifyChecksums;
    private final int maxFlows;
    private final UnsafeBuffer in = new UnsafeBuffer(0, 0);
    /** Slot i: vnet header at i * SLOT_STRIDE, packet at i * SLOT_STRIDE + SLOT_HEADER. */
    private final UnsafeBuffer slots;
    private final long slotsAddress;
    /** The all-zero vnet header used for packets written as they are. */
    private final UnsafeBuffer plainHeader;

    // per slot: flow key, run state
    private final int[] srcIp;
    private final int[] dstIp;
    private final int[] ports;
    private final int[] indexPosition;
    private final int[] runLength;
    private final int[] runSegments;
    private final int[] segmentSize;
    private final int[] tcpHeaderLength;
    private final int[] nextSequence;
    private final int[] nextId;
    private int usedSlots;

    /** Open-addressing index from flow key to slot + 1 (0 = free); a power of two at least 4 × maxFlows. */
    private final int[] index;
    private final int indexMask;

    // counters (owner thread writes; plain fields, stale reads elsewhere are fine)
    private long packetsOffered;
    private long superPackets;
    private long segmentsCoalesced;
    private long singlePackets;
    private long droppedPackets;
    private long heldLostPackets;
    private long heldLostBytes;

    /** A coalescer tracking {@link #DEFAULT_MAX_FLOWS} flows, verifying TCP checksums. */
    public TcpCoalescer(Output output) {
        this(output, DEFAULT_MAX_FLOWS, true);
    }

    /**
     * @param output where packets go
     * @param maxFlows flows tracked per batch, 1..4096; each costs 64 KiB of native memory
     * @param verifyChecksums whether a segment must carry a correct TCP checksum to join a run; turn off only
     *        when the producer guarantees it (a corrupted segment would then be delivered with a new, valid
     *        checksum)
     * @throws IllegalArgumentException naming {@code maxFlows} if out of range
     */
    public TcpCoalescer(Output output, int maxFlows, boolean verifyChecksums) {
        if (output == null) {
            throw new NullPointerException("output");
        }
        if (maxFlows < 1 || maxFlows > 4096) {
            throw new IllegalArgumentException("maxFlows " + maxFlows + " is outside 1..4096");
        }
        this.output = output;
        this.verifyChecksums = verifyChecksums;
        this.maxFlows = maxFlows;
        this.slots = new UnsafeBuffer(BufferUtil.allocateDirectAligned(maxFlows * SLOT_STRIDE, 64));
        this.slotsAddress = slots.addressOffset();
        this.plainHeader = new UnsafeBuffer(BufferUtil.allocateDirectAligned(SLOT_HEADER, 16));
        VirtioNetHeader.none(plainHeader, 0);
        srcIp = new int[maxFlows];
        dstIp = new int[maxFlows];
        ports = new int[maxFlows];
        indexPosition = new int[maxFlows];
        runLength = new int[maxFlows];
        runSegments = new int[maxFlows];
        segmentSize = new int[maxFlows];
        tcpHeaderLength = new int[maxFlows];
        nextSequence = new int[maxFlows];
        nextId = new int[maxFlows];
        index = new int[Integer.highestOneBit(maxFlows * 4 - 1) << 1];
        indexMask = index.length - 1;
    }

    /**
     * Takes one complete IPv4 packet with valid checksums, to be written by {@link #flush} at the latest.
     * Copies it, so the memory may be reused on return.
     *
     * @return false only if the packet was written at once and the output dropped it (or was closed); a
     *         held segment that is later dropped is counted in {@link #droppedPackets()}
     */
    public boolean offer(long address, int length) {
        packetsOffered++;
        if (length < IP_HEADER + Tcp.MIN_HEADER_LENGTH || length > MAX_PACKET) {
            return writeAlone(address, length);
        }
        final UnsafeBuffer b = in;
        b.wrap(address, length);
        final int versionIhl = b.getByte(Ipv4.VERSION_IHL_OFFSET) & 0xff;
        if ((versionIhl >>> 4) != 4 || b.getByte(Ipv4.PROTOCOL_OFFSET) != Ipv4.PROTO_TCP) {
            return writeAlone(address, length);
        }
        final int ihl = (versionIhl & 0x0f) << 2;
        if (ihl < IP_HEADER || ihl + Tcp.MIN_HEADER_LENGTH > length
                || (Ipv4.flagsAndFragment(b, 0) & Ipv4.FRAGMENT_OFFSET_MASK) != 0) {
            // not a TCP header we can read (or a later fragment): belongs to no flow we track
            return writeAlone(address, length);
        }
        final int src = b.getInt(Ipv4.SRC_ADDRESS_OFFSET, BE);
        final int dst = b.getInt(Ipv4.DST_ADDRESS_OFFSET, BE);
        final int portPair = b.getInt(ihl, BE);
        int slot = find(src, dst, portPair);
        if (!joinable(b, ihl, length)) {
            if (slot >= 0) {
                flushSlot(slot);
            }
            return writeAlone(address, length);
        }
        if (slot < 0) {
            if (usedSlots == maxFlows) {
                flush();
            }
            slot = track(src, dst, portPair);
        } else if (runLength[slot] > 0) {
            if (append(slot, b, length)) {
                return true;
            }
            flushSlot(slot);
        }
        start(slot, length);
        return true;
    }

    /**
     * Writes every pending run: one write per run, a super-packet with a GSO header for runs of two or more
     * segments, the packet unchanged with a plain header for a run of one. Forgets the tracked flows.
     *
     * @return the number of writes issued
     */
    public int flush() {
        int writes = 0;
        for (int slot = 0; slot < usedSlots; slot++) {
            if (runLength[slot] > 0) {
                flushSlot(slot);
                writes++;
            }
            index[indexPosition[slot]] = 0;
        }
        usedSlots = 0;
        return writes;
    }

    /** Whether any packet is held (for tests and assertions). */
    public boolean hasPending() {
        for (int slot = 0; slot < usedSlots; slot++) {
            if (runLength[slot] > 0) {
                return true;
            }
        }
        return false;
    }

    /** Packets offered so far. */
    public long packetsOffered() {
        return packetsOffered;
    }

    /** Super-packets (runs of two or more segments) written so far. */
    public long superPackets() {
        return superPackets;
    }

    /** Segments that left inside super-packets. */
    public long segmentsCoalesced() {
        return segmentsCoalesced;
    }

    /** Packets written alone (runs of one, and packets that could not join). */
    public long singlePackets() {
        return singlePackets;
    }

    /** Packets (counting every segment of a super-packet) the output dropped. */
    public long droppedPackets() {
        return droppedPackets;
    }

    /**
     * Packets that {@link #offer} accepted (held for coalescing) and the output then refused: the part of
     * {@link #droppedPackets()} a caller counted as sent when it offered them.
     */
    public long heldLostPackets() {
        return heldLostPackets;
    }

    /** The bytes of {@link #heldLostPackets()} as they were offered (every segment with its own headers). */
    public long heldLostBytes() {
        return heldLostBytes;
    }

    // ------------------------------------------------------------------ rules

    /** Whether this TCP packet (IPv4 header already read up to the ports) may take part in a run at all. */
    private boolean joinable(UnsafeBuffer b, int ihl, int length) {
        if (ihl != IP_HEADER || Ipv4.totalLength(b, 0) != length
                || (Ipv4.flagsAndFragment(b, 0) & Ipv4.FLAG_MF) != 0) {
            return false;
        }
        final int thl = Tcp.headerLength(b, ihl);
        if (thl < Tcp.MIN_HEADER_LENGTH || ihl + thl >= length) {
            return false; // bad data offset, or no payload
        }
        final int flags = Tcp.flags(b, ihl);
        if ((flags & Tcp.ACK) == 0 || (flags & REFUSED_FLAGS) != 0) {
            return false;
        }
        if (verifyChecksums) {
            final long pseudo = Checksum.pseudoHeader(b.getInt(Ipv4.SRC_ADDRESS_OFFSET, BE),
                b.getInt(Ipv4.DST_ADDRESS_OFFSET, BE), Ipv4.PROTO_TCP, length - ihl);
            return Checksum.fold(Checksum.sum(b, ihl, length - ihl, pseudo)) == 0xffff;
        }
        return true;
    }

    /** Appends the joinable segment in {@code b} to the slot's run if it continues it; false if not. */
    private boolean append(int slot, UnsafeBuffer b, int length) {
        final int base = slot * SLOT_STRIDE + SLOT_HEADER;
        final int thl = tcpHeaderLength[slot];
        final int l4 = IP_HEADER;
        final int payload = length - IP_HEADER - thl;
        final int size = segmentSize[slot];
        final int run = runLength[slot];
        if (Tcp.headerLength(b, l4) != thl || payload > size || run + payload > MAX_PACKET
                || b.getInt(l4 + Tcp.SEQUENCE_OFFSET, BE) != nextSequence[slot]) {
            return false;
        }
        final UnsafeBuffer s = slots;
        // TOS must match; total length differs; compare ID separately; flags+fragment, TTL, protocol equal
        if (b.getByte(Ipv4.TOS_OFFSET) != s.getByte(base + Ipv4.TOS_OFFSET)
                || b.getInt(Ipv4.FLAGS_FRAGMENT_OFFSET) != s.getInt(base + Ipv4.FLAGS_FRAGMENT_OFFSET)
                        // bytes 6..9: flags+fragment, TTL, protocol
                || b.getInt(l4 + Tcp.ACKNOWLEDGMENT_OFFSET) != s.getInt(base + l4 + Tcp.ACKNOWLEDGMENT_OFFSET)
                || ((b.getInt(l4 + Tcp.DATA_OFFSET_OFFSET, BE) ^ s.getInt(base + l4 + Tcp.DATA_OFFSET_OFFSET, BE))
                        & ~(Tcp.PSH << 16)) != 0
                || b.getShort(l4 + Tcp.URGENT_POINTER_OFFSET) != s.getShort(base + l4 + Tcp.URGENT_POINTER_OFFSET)
                || !sameOptions(b, s, base, thl)) {
            return false;
        }
        final boolean dontFragment = (b.getShort(Ipv4.FLAGS_FRAGMENT_OFFSET, BE) & Ipv4.FLAG_DF) != 0;
        if (!dontFragment && (b.getShort(Ipv4.IDENTIFICATION_OFFSET, BE) & 0xffff) != nextId[slot]) {
            return false;
        }
        s.putBytes(base + run, b, IP_HEADER + thl, payload);
        runLength[slot] = run + payload;
        runSegments[slot]++;
        nextSequence[slot] += payload;
        nextId[slot] = (nextId[slot] + 1) & 0xffff;
        final int flags = Tcp.flags(b, l4);
        if ((flags & Tcp.PSH) != 0) {
            Tcp.flags(s, base + l4, Tcp.flags(s, base + l4) | Tcp.PSH);
        }
        if (payload < size || (flags & Tcp.PSH) != 0 || run + payload + size > MAX_PACKET) {
            flushSlot(slot); // nothing more can join: no reason to hold it
        }
        return true;
    }

    private static boolean sameOptions(UnsafeBuffer b, UnsafeBuffer s, int base, int thl) {
        int i = IP_HEADER + Tcp.MIN_HEADER_LENGTH;
        final int end = IP_HEADER + thl;
        // options are a multiple of 4 bytes long
        for (; i + 8 <= end; i += 8) {
            if (b.getLong(i) != s.getLong(base + i)) {
                return false;
            }
        }
        return i == end || b.getInt(i) == s.getInt(base + i);
    }

    // ------------------------------------------------------------------ runs

    private void start(int slot, int length) {
        final int base = slot * SLOT_STRIDE + SLOT_HEADER;
        slots.putBytes(base, in, 0, length);
        final int thl = Tcp.headerLength(in, IP_HEADER);
        final int payload = length - IP_HEADER - thl;
        runLength[slot] = length;
        runSegments[slot] = 1;
        tcpHeaderLength[slot] = thl;
        segmentSize[slot] = payload;
        nextSequence[slot] = in.getInt(IP_HEADER + Tcp.SEQUENCE_OFFSET, BE) + payload;
        nextId[slot] = ((in.getShort(Ipv4.IDENTIFICATION_OFFSET, BE) & 0xffff) + 1) & 0xffff;
        if ((Tcp.flags(in, IP_HEADER) & Tcp.PSH) != 0 || length + payload > MAX_PACKET) {
            flushSlot(slot);
        }
    }

    /** Writes the slot's run (if any) and empties it; the slot stays assigned to its flow. */
    private void flushSlot(int slot) {
        final int length = runLength[slot];
        if (length == 0) {
            return;
        }
        final int segments = runSegments[slot];
        runLength[slot] = 0;
        final int headerOffset = slot * SLOT_STRIDE;
        final int base = headerOffset + SLOT_HEADER;
        final UnsafeBuffer s = slots;
        if (segments == 1) {
            singlePackets++;
            if (output.write(plainHeader.addressOffset(), VirtioNetHeader.LENGTH, slotsAddress + base, length) <= 0) {
                droppedPackets++;
                heldLostPackets++;
                heldLostBytes += length;
            }
            return;
        }
        final int thl = tcpHeaderLength[slot];
        Ipv4.totalLength(s, base, length);
        Ipv4.headerChecksum(s, base, Checksum.ipv4Header(s, base, IP_HEADER));
        final long pseudo = Checksum.pseudoHeader(s.getInt(base + Ipv4.SRC_ADDRESS_OFFSET, BE),
            s.getInt(base + Ipv4.DST_ADDRESS_OFFSET, BE), Ipv4.PROTO_TCP, length - IP_HEADER);
        s.putShort(base + IP_HEADER + Tcp.CHECKSUM_OFFSET, (short) Checksum.fold(pseudo), BE);
        VirtioNetHeader.tcpv4(s, headerOffset, IP_HEADER, thl, segmentSize[slot], false);
        superPackets++;
        segmentsCoalesced += segments;
        if (output.write(slotsAddress + headerOffset, VirtioNetHeader.LENGTH, slotsAddress + base, length) <= 0) {
            droppedPackets += segments;
            heldLostPackets += segments;
            // as offered: every segment had its own IPv4 and TCP header
            heldLostBytes += length + (long) (segments - 1) * (IP_HEADER + thl);
        }
    }

    private boolean writeAlone(long address, int length) {
        singlePackets++;
        if (output.write(plainHeader.addressOffset(), VirtioNetHeader.LENGTH, address, length) <= 0) {
            droppedPackets++;
            return false;
        }
        return true;
    }

    // ------------------------------------------------------------------ flow index

    private static int hash(int src, int dst, int portPair) {
        int h = src * 0x9E3779B1 ^ dst;
        h = h * 0x85EBCA6B ^ portPair;
        h *= 0xC2B2AE35;
        return h ^ (h >>> 15);
    }

    private int find(int src, int dst, int portPair) {
        int pos = hash(src, dst, portPair) & indexMask;
        while (true) {
            final int entry = index[pos];
            if (entry == 0) {
                return -1;
            }
            final int slot = entry - 1;
            if (srcIp[slot] == src && dstIp[slot] == dst && ports[slot] == portPair) {
                return slot;
            }
            pos = (pos + 1) & indexMask;
        }
    }

    private int track(int src, int dst, int portPair) {
        final int slot = usedSlots++;
        srcIp[slot] = src;
        dstIp[slot] = dst;
        ports[slot] = portPair;
        runLength[slot] = 0;
        int pos = hash(src, dst, portPair) & indexMask;
        while (index[pos] != 0) {
            pos = (pos + 1) & indexMask;
        }
        index[pos] = slot + 1;
        indexPosition[slot] = pos;
        return slot;
    }
}
