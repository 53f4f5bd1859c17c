package org.egressgw.tunio;

import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * A minimal eBPF assembler for the few small programs the gateway loads: one method per instruction form it
 * uses, named jump targets resolved at {@link #build()}. Encodings are from {@code <linux/bpf.h>} /
 * {@code <linux/bpf_common.h>}: 8 bytes per instruction (opcode, dst and src register nibbles, 16-bit offset,
 * 32-bit immediate, little-endian on x86_64).
 *
 * <p>Only what socket filters may use: legacy packet loads ({@code LD_ABS}/{@code LD_IND}, which read big-endian
 * and end the program with return value 0 when out of bounds; they need the context in r6 and clobber r0-r5),
 * 64- and 32-bit ALU, jumps, stack loads/stores, helper calls and map references.
 */
public final class BpfAssembler {
    static final int INSN_BYTES = 8;
    public static final int R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R6 = 6, R7 = 7, R8 = 8, R9 = 9, FP = 10;
    /** Helper ids ({@code enum bpf_func_id}). */
    public static final int MAP_LOOKUP_ELEM = 1, MAP_UPDATE_ELEM = 2;

    private final List<int[]> insns = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();
    private final Map<Integer, String> jumps = new HashMap<>();

    private BpfAssembler op(int code, int dst, int src, int off, int imm) {
        insns.add(new int[] {code, dst, src, off, imm});
        return this;
    }

    public BpfAssembler label(String name) {
        if (labels.putIfAbsent(name, insns.size()) != null) {
            throw new IllegalArgumentException("label " + name + " defined twice");
        }
        return this;
    }

    // 64-bit ALU
    public BpfAssembler mov(int dst, int src) { return op(0xbf, dst, src, 0, 0); }
    public BpfAssembler movImm(int dst, int imm) { return op(0xb7, dst, 0, 0, imm); }
    public BpfAssembler addImm(int dst, int imm) { return op(0x07, dst, 0, 0, imm); }
    public BpfAssembler add(int dst, int src) { return op(0x0f, dst, src, 0, 0); }
    public BpfAssembler subImm(int dst, int imm) { return op(0x17, dst, 0, 0, imm); }
    public BpfAssembler divImm(int dst, int imm) { return op(0x37, dst, 0, 0, imm); }
    public BpfAssembler andImm(int dst, int imm) { return op(0x57, dst, 0, 0, imm); }
    public BpfAssembler or(int dst, int src) { return op(0x4f, dst, src, 0, 0); }
    public BpfAssembler lshImm(int dst, int imm) { return op(0x67, dst, 0, 0, imm); }
    public BpfAssembler rshImm(int dst, int imm) { return op(0x77, dst, 0, 0, imm); }
    public BpfAssembler xor(int dst, int src) { return op(0xaf, dst, src, 0, 0); }

    // 32-bit ALU (results zero-extended)
    public BpfAssembler mov32(int dst, int src) { return op(0xbc, dst, src, 0, 0); }
    public BpfAssembler rsh32Imm(int dst, int imm) { return op(0x74, dst, 0, 0, imm); }
    public BpfAssembler xor32(int dst, int src) { return op(0xac, dst, src, 0, 0); }
    public BpfAssembler mul32Imm(int dst, int imm) { return op(0x24, dst, 0, 0, imm); }
    public BpfAssembler mod32Imm(int dst, int imm) { return op(0x94, dst, 0, 0, imm); }

    // legacy packet loads into r0
    public BpfAssembler ldAbsB(int offset) { return op(0x30, 0, 0, 0, offset); }
    public BpfAssembler ldAbsH(int offset) { return op(0x28, 0, 0, 0, offset); }
    public BpfAssembler ldAbsW(int offset) { return op(0x20, 0, 0, 0, offset); }
    public BpfAssembler ldIndB(int src, int offset) { return op(0x50, 0, src, 0, offset); }
    public BpfAssembler ldIndH(int src, int offset) { return op(0x48, 0, src, 0, offset); }
    public BpfAssembler ldIndW(int src, int offset) { return op(0x40, 0, src, 0, offset); }

    // memory
    public BpfAssembler storeW(int dst, int off, int src) { return op(0x63, dst, src, off, 0); }
    public BpfAssembler loadW(int dst, int src, int off) { return op(0x61, dst, src, off, 0); }

    /** Loads a map's file descriptor as a map reference (two instruction slots). */
    public BpfAssembler mapFd(int dst, int mapFd) {
        op(0x18, dst, 1 /* BPF_PSEUDO_MAP_FD */, 0, mapFd);
        return op(0, 0, 0, 0, 0);
    }

    public BpfAssembler call(int helper) { return op(0x85, 0, 0, 0, helper); }
    public BpfAssembler exit() { return op(0x95, 0, 0, 0, 0); }

    // jumps (64-bit compares against an immediate)
    public BpfAssembler ja(String target) { return jump(0x05, 0, 0, target); }
    public BpfAssembler jeq(int dst, int imm, String target) { return jump(0x15, dst, imm, target); }
    public BpfAssembler jne(int dst, int imm, String target) { return jump(0x55, dst, imm, target); }
    /** Unsigned {@code dst >= imm}. */
    public BpfAssembler jge(int dst, int imm, String target) { return jump(0x35, dst, imm, target); }
    public BpfAssembler jset(int dst, int imm, String target) { return jump(0x45, dst, imm, target); }

    private BpfAssembler jump(int code, int dst, int imm, String target) {
        jumps.put(insns.size(), target);
        return op(code, dst, 0, 0, imm);
    }

    /** The program's bytes, jumps resolved. */
    public UnsafeBuffer build() {
        UnsafeBuffer b = new UnsafeBuffer(BufferUtil.allocateDirectAligned(insns.size() * INSN_BYTES, 8));
        for (int i = 0; i < insns.size(); i++) {
            int[] in = insns.get(i);
            int off = in[3];
            String target = jumps.get(i);
            if (target != null) {
                Integer at = labels.get(target);
                if (at == null) {
                    throw new IllegalStateException("undefined label " + target);
                }
                off = at - (i + 1);
            }
            b.putByte(i * INSN_BYTES, (byte) in[0]);
            b.putByte(i * INSN_BYTES + 1, (byte) ((in[2] << 4) | in[1]));
            b.putShort(i * INSN_BYTES + 2, (short) off, ByteOrder.LITTLE_ENDIAN);
            b.putInt(i * INSN_BYTES + 4, in[4], ByteOrder.LITTLE_ENDIAN);
        }
        return b;
    }

    public int size() {
        return insns.size();
    }
}
