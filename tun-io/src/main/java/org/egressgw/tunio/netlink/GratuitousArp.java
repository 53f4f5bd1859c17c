package org.egressgw.tunio.netlink;

import static org.egressgw.tunio.LibC.C;

import java.io.IOException;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import org.agrona.BufferUtil;
import org.agrona.MutableDirectBuffer;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.packet.Arp;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.tunio.LibC;
import org.egressgw.tunio.NativeIoException;

/**
 * Sends gratuitous ARP for an IPv4 address on an Ethernet interface, so that neighbours (and switches) learn at
 * once that the address is now reached at this interface's MAC — after an egress IP moved to this node, or a
 * link came back up. What {@code arping -U} (request form) and {@code arping -A} (reply form) send, and
 * keepalived on failover.
 *
 * <p>The socket is {@code socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0)}: protocol 0 so that it receives
 * nothing; the kernel builds the Ethernet header from the destination {@code struct sockaddr_ll}
 * ({@code <linux/if_packet.h>}, layout in {@link LibC}: family AF_PACKET, protocol {@code htons(ETH_P_ARP)},
 * the ifindex, halen 6, address ff:ff:ff:ff:ff:ff) given to {@code sendmsg}. The interface's MAC is read once at
 * {@link #open} with {@code SIOCGIFHWADDR}; reopen after changing it.
 *
 * <pre>
 * ARP for IPv4 over Ethernet (RFC 826), 28 bytes, network byte order (the layout of {@link Arp}):
 *  0  htype  2  1 (Ethernet)
 *  2  ptype  2  0x0800 (IPv4)
 *  4  hlen   1  6
 *  5  plen   1  4
 *  6  oper   2  1 request, 2 reply
 *  8  sha    6  sender MAC: the interface's
 * 14  spa    4  sender IP: the announced address
 * 18  tha    6  request: 00:00:00:00:00:00 (RFC 5227 announcement); reply: the sender MAC (as arping -A)
 * 24  tpa    4  the announced address again
 * </pre>
 *
 * <p>Threads: one owner thread sends; {@link #close} may be called from any thread once sending has stopped.
 * The socket belongs to the network namespace of the thread that opened it.
 */
public final class GratuitousArp implements AutoCloseable {
    /** The ARP payload's length, {@link Arp#LENGTH}. */
    public static final int ARP_LENGTH = Arp.LENGTH;
    public static final int ARPOP_REQUEST = Arp.OP_REQUEST;
    public static final int ARPOP_REPLY = Arp.OP_REPLY;

    private static final int FRAME_OFFSET = 0;
    private static final int MSGHDR_OFFSET = 32;
    private static final int IOVEC_OFFSET = MSGHDR_OFFSET + LibC.SIZEOF_MSGHDR;
    private static final int SOCKADDR_OFFSET = IOVEC_OFFSET + LibC.SIZEOF_IOVEC;
    private static final int IFREQ_OFFSET = SOCKADDR_OFFSET + 24;
    private static final int SLAB_SIZE = IFREQ_OFFSET + LibC.SIZEOF_IFREQ;
    /** Updates {@link #fd}, for {@link LibC#closeOnce}. */
    private static final AtomicIntegerFieldUpdater<GratuitousArp> FD = AtomicIntegerFieldUpdater.newUpdater(
        GratuitousArp.class, "fd");

    private final String interfaceName;
    private final int ifindex;
    private final long mac;
    private final UnsafeBuffer slab;
    private final long slabAddress;
    private volatile int fd;

    private GratuitousArp(String interfaceName) throws IOException {
        if (interfaceName == null || interfaceName.isEmpty() || interfaceName.length() >= LibC.IFNAMSIZ) {
            throw new IllegalArgumentException("interface name '" + interfaceName + "' is not 1.." + (LibC.IFNAMSIZ - 1)
                + " characters");
        }
        this.interfaceName = interfaceName;
        slab = new UnsafeBuffer(BufferUtil.allocateDirectAligned(SLAB_SIZE, 64));
        slab.setMemory(0, SLAB_SIZE, (byte) 0);
        slabAddress = slab.addressOffset();
        final int fd = C.socket(LibC.AF_PACKET, LibC.SOCK_DGRAM | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw new NativeIoException("socket(AF_PACKET, SOCK_DGRAM) for gratuitous ARP on '" + interfaceName + "'",
                LibC.errno());
        }
        try {
            ifreq(fd, LibC.SIOCGIFINDEX, "SIOCGIFINDEX");
            ifindex = slab.getInt(IFREQ_OFFSET + LibC.IFREQ_UNION_OFFSET);
            ifreq(fd, LibC.SIOCGIFHWADDR, "SIOCGIFHWADDR");
            final int hardwareType = slab.getShort(IFREQ_OFFSET + LibC.IFREQ_UNION_OFFSET) & 0xFFFF;
            if (hardwareType != LibC.ARPHRD_ETHER) {
                throw new IllegalArgumentException("interface '" + interfaceName + "' is not Ethernet (hardware type "
                    + hardwareType + "): no ARP");
            }
            long value = 0;
            for (int i = 0; i < 6; i++) {
                value = (value << 8) | (slab.getByte(IFREQ_OFFSET + LibC.IFREQ_HWADDR_DATA_OFFSET + i) & 0xFF);
            }
            mac = value;
        } catch (IOException | RuntimeException e) {
            C.close(fd);
            throw e;
        }
        slab.putShort(SOCKADDR_OFFSET + LibC.SOCKADDR_LL_FAMILY_OFFSET, (short) LibC.AF_PACKET);
        slab.putShort(SOCKADDR_OFFSET + LibC.SOCKADDR_LL_PROTOCOL_OFFSET, (short) LibC.ETH_P_ARP, ByteOrder.BIG_ENDIAN);
        slab.putInt(SOCKADDR_OFFSET + LibC.SOCKADDR_LL_IFINDEX_OFFSET, ifindex);
        slab.putByte(SOCKADDR_OFFSET + LibC.SOCKADDR_LL_HALEN_OFFSET, (byte) 6);
        slab.setMemory(SOCKADDR_OFFSET + LibC.SOCKADDR_LL_ADDR_OFFSET, 6, (byte) 0xFF);
        slab.putLong(MSGHDR_OFFSET + LibC.MSGHDR_NAME_OFFSET, slabAddress + SOCKADDR_OFFSET);
        slab.putInt(MSGHDR_OFFSET + LibC.MSGHDR_NAMELEN_OFFSET, LibC.SIZEOF_SOCKADDR_LL);
        slab.putLong(MSGHDR_OFFSET + LibC.MSGHDR_IOV_OFFSET, slabAddress + IOVEC_OFFSET);
        slab.putLong(MSGHDR_OFFSET + LibC.MSGHDR_IOVLEN_OFFSET, 1L);
        slab.putLong(IOVEC_OFFSET + LibC.IOVEC_BASE_OFFSET, slabAddress + FRAME_OFFSET);
        slab.putLong(IOVEC_OFFSET + LibC.IOVEC_LEN_OFFSET, ARP_LENGTH);
        this.fd = fd;
    }

    private void ifreq(int fd, long request, String requestName) throws NativeIoException {
        slab.setMemory(IFREQ_OFFSET, LibC.SIZEOF_IFREQ, (byte) 0);
        slab.putStringWithoutLengthAscii(IFREQ_OFFSET + LibC.IFREQ_NAME_OFFSET, interfaceName);
        if (C.ioctl(fd, request, slabAddress + IFREQ_OFFSET) < 0) {
            throw new NativeIoException("ioctl(" + requestName + ", " + interfaceName + ")", LibC.errno());
        }
    }

    /**
     * Opens a sender for interface {@code interfaceName} in the calling thread's network namespace.
     *
     * @throws IllegalArgumentException naming it if the name is invalid or the interface is not Ethernet
     * @throws NativeIoException e.g. ENODEV if there is no such interface, EPERM without CAP_NET_RAW
     */
    public static GratuitousArp open(String interfaceName) throws IOException {
        return new GratuitousArp(interfaceName);
    }

    /** The interface's index. */
    public int ifindex() {
        return ifindex;
    }

    /** The interface's MAC as a 48-bit value, first octet highest (see {@link LinkInfo#formatMac}). */
    public long macAddress() {
        return mac;
    }

    /**
     * Broadcasts one gratuitous ARP for {@code address}.
     *
     * @param operation {@link #ARPOP_REQUEST} or {@link #ARPOP_REPLY}
     * @throws NativeIoException naming the interface and address, e.g. ENETDOWN if the interface is down
     */
    public void send(int address, int operation) throws IOException {
        if (operation != ARPOP_REQUEST && operation != ARPOP_REPLY) {
            throw new IllegalArgumentException("ARP operation " + operation + " is neither request (1) nor reply (2)");
        }
        encode(slab, FRAME_OFFSET, operation, mac, address);
        while (true) {
            final int fd = this.fd;
            if (fd < 0) {
                throw new NativeIoException("gratuitous ARP on closed socket for '" + interfaceName + "'", LibC.EBADF);
            }
            final long sent = C.sendmsg(fd, slabAddress + MSGHDR_OFFSET, 0);
            if (sent == ARP_LENGTH) {
                return;
            }
            final int errno = sent < 0 ? LibC.errno() : LibC.EMSGSIZE;
            if (errno != LibC.EINTR) {
                throw new NativeIoException("gratuitous ARP " + (operation == ARPOP_REQUEST ? "request" : "reply") + " for "
                    + Ipv4Address.toString(address) + " on '" + interfaceName + "'", errno);
            }
        }
    }

    /**
     * Broadcasts {@code count} gratuitous ARP requests for {@code address}, each followed by a reply if
     * {@code alsoReply}, {@code intervalMillis} apart (no wait after the last). Blocks for
     * {@code (count - 1) * intervalMillis}.
     *
     * @return the number of frames sent
     * @throws IllegalArgumentException if count is not positive or the interval negative
     */
    public int announce(int address, int count, long intervalMillis, boolean alsoReply)
            throws IOException, InterruptedException {
        if (count <= 0) {
            throw new IllegalArgumentException("count " + count + " is not positive");
        }
        if (intervalMillis < 0) {
            throw new IllegalArgumentException("interval " + intervalMillis + " ms is negative");
        }
        int frames = 0;
        for (int i = 0; i < count; i++) {
            if (i > 0 && intervalMillis > 0) {
                Thread.sleep(intervalMillis);
            }
            send(address, ARPOP_REQUEST);
            frames++;
            if (alsoReply) {
                send(address, ARPOP_REPLY);
                frames++;
            }
        }
        return frames;
    }

    /**
     * Writes the 28-byte ARP payload of a gratuitous ARP at {@code offset}: sender and target IP both
     * {@code address}, sender MAC {@code senderMac}, target MAC zero (request) or {@code senderMac} (reply).
     * {@link Arp#writeReply} writes the fields, then the operation is set.
     *
     * @return {@link #ARP_LENGTH}
     */
    public static int encode(MutableDirectBuffer buffer, int offset, int operation, long senderMac, int address) {
        Arp.writeReply(buffer, offset, senderMac, address, operation == ARPOP_REPLY ? senderMac : 0L, address);
        Arp.op(buffer, offset, operation);
        return ARP_LENGTH;
    }

    @Override
    public void close() {
        LibC.closeOnce(FD, this);
    }

    @Override
    public String toString() {
        return "GratuitousArp[" + interfaceName + " ifindex " + ifindex + " " + LinkInfo.formatMac(mac) + "]";
    }
}
