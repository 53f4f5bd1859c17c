package org.egressgw.tunio;

import static org.egressgw.tunio.BpfAssembler.FP;
import static org.egressgw.tunio.BpfAssembler.MAP_LOOKUP_ELEM;
import static org.egressgw.tunio.BpfAssembler.MAP_UPDATE_ELEM;
import static org.egressgw.tunio.BpfAssembler.R0;
import static org.egressgw.tunio.BpfAssembler.R1;
import static org.egressgw.tunio.BpfAssembler.R2;
import static org.egressgw.tunio.BpfAssembler.R3;
import static org.egressgw.tunio.BpfAssembler.R4;
import static org.egressgw.tunio.BpfAssembler.R6;
import static org.egressgw.tunio.BpfAssembler.R7;
import static org.egressgw.tunio.BpfAssembler.R8;
import static org.egressgw.tunio.BpfAssembler.R9;
import static org.egressgw.tunio.LibC.C;

import java.util.Map;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.BufferUtil;

/**
 * The kernel half of a sharded pipeline: two small eBPF programs that choose, for every packet, the shard that
 * owns its connection, so that each shard's connection table and port range stay its own (no locks, no
 * hand-off between threads).
 *
 * <ul>
 * <li><b>Requests</b> ({@link #requests}, attached with {@code SO_ATTACH_REUSEPORT_EBPF} to the tunnel sockets
 * of one {@code SO_REUSEPORT} group; the program sees the UDP payload, i.e. the VXLAN header): the inner IPv4
 * packet's flow hash — addresses, protocol and ports (TCP, UDP) or echo identifier (ICMP), combined with XOR
 * so that both directions of a flow hash alike, then mixed — modulo the number of shards. An ICMP error is
 * hashed by the packet it quotes, so it reaches the shard of the flow it is about (the datapath does not
 * translate a pod's ICMP errors yet; when it does, they already arrive where their flow lives). Not IPv4
 * (ARP): the kernel's own choice.</li>
 * <li><b>Replies</b> ({@link #replies}, attached with {@code TUNSETSTEERINGEBPF} to a multi-queue TUN device;
 * the program sees the IPv4 header): the shard that allocated the destination port. Shard {@code k} allocates
 * from {@code [low + k * span, low + (k + 1) * span)} (the last shard also takes the remainder), so the queue
 * is {@code min((port - low) / span, shards - 1)}. ICMP echo replies use the identifier, ICMP errors the
 * quoted packet's source port (or identifier). Anything else: queue 0.</li>
 * </ul>
 * Fragments: a fragment after the first carries no ports, so the first fragment's choice is remembered in an
 * LRU hash map keyed by (source, destination, IP ID, protocol) and later fragments follow it (a later fragment
 * that arrives first goes to queue 0 / the kernel's choice, where the datapath drops it as it would anyway).
 * So a flow's fragmented and whole packets reach the same shard.
 *
 * <p>{@link #requestShard} and {@link #replyQueue} are the same decisions written plainly in Java — the
 * reference the programs are tested against ({@code BPF_PROG_TEST_RUN}). Packet loads past the end make the
 * programs return 0 ({@code LD_ABS}/{@code LD_IND} semantics); the reference does the same.
 */
public final class FlowSteering implements AutoCloseable {
    /** Fragments remembered per program. */
    static final int FRAGMENT_ENTRIES = 4096;
    /** {@code SO_ATTACH_REUSEPORT_EBPF}. */
    private static final int SO_ATTACH_REUSEPORT_EBPF = 52;
    private static final int SOL_SOCKET = 1;
    private static final int HASH_MULTIPLIER = 0x7feb352d;
    /** Offset of the inner IPv4 header in a VXLAN payload: 8 (VXLAN) + 14 (Ethernet). */
    static final int INNER_IP = 22;
    /** Returned by the request program when it has no opinion: the kernel hashes as usual. */
    public static final int KERNEL_CHOICE = -1;

    private final int program;
    private final int map;

    private FlowSteering(int program, int map) {
        this.program = program;
        this.map = map;
    }

    /** The request program for {@code shards} tunnel sockets. */
    public static FlowSteering requests(int shards) throws NativeIoException {
        return load("egw_req_steer", shards, 0, 0, true);
    }

    /** The reply program for {@code shards} TUN queues and ports {@code [low, low + shards * span)}. */
    public static FlowSteering replies(int shards, int low, int span) throws NativeIoException {
        if (span < 1) {
            throw new IllegalArgumentException("port span " + span);
        }
        return load("egw_rep_steer", shards, low, span, false);
    }

    private static FlowSteering load(String name, int shards, int low, int span, boolean request) throws NativeIoException {
        if (shards < 1) {
            throw new IllegalArgumentException("shards " + shards);
        }
        int map = Bpf.createLruHash(12, 4, FRAGMENT_ENTRIES);
        try {
            BpfAssembler a = request ? requestProgram(shards, map) : replyProgram(shards, low, span, map);
            return new FlowSteering(Bpf.loadSocketFilter(a, name), map);
        } catch (NativeIoException | RuntimeException e) {
            Bpf.close(map);
            throw e;
        }
    }

    /** The program's file descriptor (for tests). */
    public int programFd() {
        return program;
    }

    /** Attaches the reply program to a multi-queue TUN device (one of its queues; it applies to all). */
    public void attachTo(TunDevice tun) throws NativeIoException {
        UnsafeBuffer arg = new UnsafeBuffer(BufferUtil.allocateDirectAligned(8, 8));
        arg.putInt(0, program);
        if (C.ioctl(tun.fd(), LibC.TUNSETSTEERINGEBPF, arg.addressOffset()) < 0) {
            throw LibC.lastError("ioctl(TUNSETSTEERINGEBPF) on " + tun.name());
        }
    }

    /** Attaches the request program to the {@code SO_REUSEPORT} group of {@code socketFd}. */
    public void attachToReusePortGroup(int socketFd) throws NativeIoException {
        UnsafeBuffer arg = new UnsafeBuffer(BufferUtil.allocateDirectAligned(8, 8));
        arg.putInt(0, program);
        if (C.setsockopt(socketFd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, arg.addressOffset(), 4) < 0) {
            throw LibC.lastError("setsockopt(SO_ATTACH_REUSEPORT_EBPF)");
        }
    }

    @Override
    public void close() {
        Bpf.close(program);
        Bpf.close(map);
    }

    // ---- the programs ----

    private static BpfAssembler replyProgram(int shards, int low, int span, int map) {
        BpfAssembler a = new BpfAssembler();
        a.mov(R6, R1)
                .ldAbsB(0).mov(R9, R0).rshImm(R9, 4).jne(R9, 4, "zero")
                .andImm(R0, 0xf).lshImm(R0, 2).mov(R7, R0) // r7: transport header
                .ldAbsH(6).mov(R8, R0) // r8: flags and fragment offset
                .jset(R8, 0x1fff, "later")
                .ldAbsB(9).mov(R9, R0)
                .jeq(R9, 6, "ports").jeq(R9, 17, "ports").jne(R9, 1, "zero")
                .ldIndB(R7, 0)
                .jeq(R0, 0, "echo").jeq(R0, 3, "error").jeq(R0, 11, "error").jeq(R0, 12, "error").ja("zero")
                .label("echo").ldIndH(R7, 4).ja("range")
                .label("ports").ldIndH(R7, 2).ja("range")
                .label("error").ldIndB(R7, 8 + 9).mov(R9, R0) // quoted protocol
                .ldIndB(R7, 8).andImm(R0, 0xf).lshImm(R0, 2).add(R7, R0).addImm(R7, 8) // r7: quoted transport
                .jeq(R9, 6, "quoted-ports").jeq(R9, 17, "quoted-ports").jne(R9, 1, "zero")
                .ldIndH(R7, 4).ja("range")
                .label("quoted-ports").ldIndH(R7, 0) // the quoted packet left from our port
                .label("range").subImm(R0, low).divImm(R0, span).jge(R0, shards, "last").ja("done")
                .label("last").movImm(R0, shards - 1)
                .label("done").jset(R8, 0x2000, "store").exit();
        fragmentTail(a, map, 12, 16, 4, 9, 0);
        a.label("zero").movImm(R0, 0).exit();
        return a;
    }

    private static BpfAssembler requestProgram(int shards, int map) {
        int ip = INNER_IP;
        BpfAssembler a = new BpfAssembler();
        a.mov(R6, R1)
                .ldAbsH(ip - 2).jne(R0, 0x0800, "none")
                .ldAbsB(ip).mov(R9, R0).rshImm(R9, 4).jne(R9, 4, "none")
                .andImm(R0, 0xf).lshImm(R0, 2).addImm(R0, ip).mov(R7, R0) // r7: inner transport header
                .ldAbsH(ip + 6).mov(R8, R0)
                .jset(R8, 0x1fff, "later")
                .ldAbsB(ip + 9).storeW(FP, -28, R0)
                .ldAbsW(ip + 12).mov(R9, R0)
                .ldAbsW(ip + 16).xor(R9, R0)
                .loadW(R0, FP, -28).xor(R9, R0)
                .loadW(R0, FP, -28)
                .jeq(R0, 6, "ports").jeq(R0, 17, "ports").jne(R0, 1, "mix")
                .ldIndB(R7, 0)
                .jeq(R0, 8, "echo").jeq(R0, 0, "echo")
                .jeq(R0, 3, "error").jeq(R0, 11, "error").jeq(R0, 12, "error").ja("mix")
                .label("echo").ldIndH(R7, 4).xor(R9, R0).ja("mix")
                .label("ports").ldIndH(R7, 0).xor(R9, R0).ldIndH(R7, 2).xor(R9, R0).ja("mix")
                .label("error").ldIndB(R7, 8 + 9).storeW(FP, -28, R0)
                .ldIndW(R7, 8 + 12).mov(R9, R0)
                .ldIndW(R7, 8 + 16).xor(R9, R0)
                .loadW(R0, FP, -28).xor(R9, R0)
                .ldIndB(R7, 8).andImm(R0, 0xf).lshImm(R0, 2).add(R7, R0).addImm(R7, 8)
                .loadW(R0, FP, -28)
                .jeq(R0, 6, "ports").jeq(R0, 17, "ports").jne(R0, 1, "mix")
                .ldIndH(R7, 4).xor(R9, R0).ja("mix")
                .label("mix").mov32(R0, R9).mov32(R1, R0).rsh32Imm(R1, 16).xor32(R0, R1)
                .mul32Imm(R0, HASH_MULTIPLIER).mov32(R1, R0).rsh32Imm(R1, 15).xor32(R0, R1).mod32Imm(R0, shards)
                .label("done").jset(R8, 0x2000, "store").exit()
                .label("none").movImm(R0, KERNEL_CHOICE).exit();
        fragmentTail(a, map, ip + 12, ip + 16, ip + 4, ip + 9, KERNEL_CHOICE);
        return a;
    }

    /**
     * "store": remember r0 for the datagram's later fragments and return it; "later": return what the first
     * fragment chose, or {@code miss}.
     */
    private static void fragmentTail(BpfAssembler a, int map, int src, int dst, int id, int proto, int miss) {
        a.label("store").mov(R9, R0);
        fragmentKey(a, src, dst, id, proto);
        a.storeW(FP, -20, R9).mapFd(R1, map).mov(R2, FP).addImm(R2, -16).mov(R3, FP).addImm(R3, -20).movImm(R4, 0)
                .call(MAP_UPDATE_ELEM).mov(R0, R9).exit();
        a.label("later");
        fragmentKey(a, src, dst, id, proto);
        a.mapFd(R1, map).mov(R2, FP).addImm(R2, -16).call(MAP_LOOKUP_ELEM).jeq(R0, 0, "miss").loadW(R0, R0, 0).exit()
                .label("miss").movImm(R0, miss).exit();
    }

    private static void fragmentKey(BpfAssembler a, int src, int dst, int id, int proto) {
        a.ldAbsW(src).storeW(FP, -16, R0)
                .ldAbsW(dst).storeW(FP, -12, R0)
                .ldAbsH(id).mov(R7, R0)
                .ldAbsB(proto).lshImm(R0, 16).or(R0, R7).storeW(FP, -8, R0);
    }

    // ---- the reference ----

    /** Thrown by the reference's packet reads past the end, as LD_ABS/LD_IND end a program with 0. */
    private static final class OutOfBounds extends RuntimeException {
        OutOfBounds() {
            super(null, null, false, false);
        }
    }

    private static int u8(byte[] p, int len, int at) {
        if (at < 0 || at + 1 > len) {
            throw new OutOfBounds();
        }
        return p[at] & 0xff;
    }

    private static int u16(byte[] p, int len, int at) {
        return (u8(p, len, at) << 8) | u8(p, len, at + 1);
    }

    private static int u32(byte[] p, int len, int at) {
        return (u16(p, len, at) << 16) | u16(p, len, at + 2);
    }

    /** What the programs' fragment maps are keyed by. */
    public record FragmentKey(int src, int dst, int id, int protocol) {
    }

    private static FragmentKey fragmentKey(byte[] p, int len, int ip) {
        return new FragmentKey(u32(p, len, ip + 12), u32(p, len, ip + 16), u16(p, len, ip + 4), u8(p, len, ip + 9));
    }

    /**
     * The request program's choice (a shard, or {@link #KERNEL_CHOICE}) for a VXLAN payload of {@code len}
     * bytes; {@code fragments} stands for the program's map.
     */
    public static int requestShard(byte[] p, int len, int shards, Map<FragmentKey, Integer> fragments) {
        try {
            int ip = INNER_IP;
            if (u16(p, len, ip - 2) != 0x0800 || u8(p, len, ip) >> 4 != 4) {
                return KERNEL_CHOICE;
            }
            int l4 = ip + ((u8(p, len, ip) & 0xf) << 2);
            int frag = u16(p, len, ip + 6);
            if ((frag & 0x1fff) != 0) {
                return fragments.getOrDefault(fragmentKey(p, len, ip), KERNEL_CHOICE);
            }
            int proto = u8(p, len, ip + 9);
            int h = u32(p, len, ip + 12) ^ u32(p, len, ip + 16) ^ proto;
            if (proto == 1) {
                int type = u8(p, len, l4);
                if (type == 3 || type == 11 || type == 12) {
                    int q = l4 + 8;
                    proto = u8(p, len, q + 9);
                    h = u32(p, len, q + 12) ^ u32(p, len, q + 16) ^ proto;
                    l4 = q + ((u8(p, len, q) & 0xf) << 2);
                    h ^= proto == 6 || proto == 17 ? u16(p, len, l4) ^ u16(p, len, l4 + 2)
                            : proto == 1 ? u16(p, len, l4 + 4) : 0;
                } else if (type == 8 || type == 0) {
                    h ^= u16(p, len, l4 + 4);
                }
            } else if (proto == 6 || proto == 17) {
                h ^= u16(p, len, l4) ^ u16(p, len, l4 + 2);
            }
            h ^= h >>> 16;
            h *= HASH_MULTIPLIER;
            h ^= h >>> 15;
            int shard = Integer.remainderUnsigned(h, shards);
            if ((frag & 0x2000) != 0) {
                fragments.put(fragmentKey(p, len, ip), shard);
            }
            return shard;
        } catch (OutOfBounds e) {
            return 0;
        }
    }

    /** The reply program's queue for an IPv4 packet of {@code len} bytes; {@code fragments} stands for its map. */
    public static int replyQueue(byte[] p, int len, int shards, int low, int span, Map<FragmentKey, Integer> fragments) {
        try {
            if (u8(p, len, 0) >> 4 != 4) {
                return 0;
            }
            int l4 = (u8(p, len, 0) & 0xf) << 2;
            int frag = u16(p, len, 6);
            if ((frag & 0x1fff) != 0) {
                return fragments.getOrDefault(fragmentKey(p, len, 0), 0);
            }
            int proto = u8(p, len, 9);
            int port;
            if (proto == 6 || proto == 17) {
                port = u16(p, len, l4 + 2);
            } else if (proto != 1) {
                return 0;
            } else {
                int type = u8(p, len, l4);
                if (type == 0) {
                    port = u16(p, len, l4 + 4);
                } else if (type == 3 || type == 11 || type == 12) {
                    int q = l4 + 8;
                    int quoted = u8(p, len, q + 9);
                    int ql4 = q + ((u8(p, len, q) & 0xf) << 2);
                    if (quoted == 6 || quoted == 17) {
                        port = u16(p, len, ql4);
                    } else if (quoted == 1) {
                        port = u16(p, len, ql4 + 4);
                    } else {
                        return 0;
                    }
                } else {
                    return 0;
                }
            }
            long index = Long.divideUnsigned(port - (long) low, span);
            int queue = index < 0 || index >= shards ? shards - 1 : (int) index;
            if ((frag & 0x2000) != 0) {
                fragments.put(fragmentKey(p, len, 0), queue);
            }
            return queue;
        } catch (OutOfBounds e) {
            return 0;
        }
    }
}
