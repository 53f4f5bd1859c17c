package org.egressgw.benchmarks;

import org.egressgw.tunio.Bpf;
import org.egressgw.tunio.FlowSteering;

/**
 * What the shards' steering programs cost per packet, measured by the kernel itself
 * ({@code BPF_PROG_TEST_RUN} with a repeat count: average nanoseconds per run, the program only, on one CPU).
 * Needs root (or CAP_BPF). Prints one line per program and packet kind.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar org.egressgw.benchmarks.SteeringCost [repeat]</pre>
 */
public final class SteeringCost {
    private SteeringCost() {
    }

    public static void main(String[] args) throws Exception {
        int repeat = args.length > 0 ? Integer.parseInt(args[0]) : 10_000_000;
        int shards = 4;
        byte[] tcp = ipv4(6, 0, l4(40000, 443));
        byte[] tcpReply = ipv4(6, 0, l4(443, 50000));
        byte[] later = ipv4(17, 100, new byte[32]);
        byte[] error = ipv4(1, 0, icmpError(ipv4(17, 0, l4(40001, 53))));
        try (FlowSteering requests = FlowSteering.requests(shards);
                FlowSteering replies = FlowSteering.replies(shards, 32768, 8192)) {
            report("request", requests, vxlan(tcp), "TCP segment", repeat);
            report("request", requests, vxlan(later), "later fragment (map lookup)", repeat);
            report("request", requests, vxlan(error), "ICMP error (quoted packet)", repeat);
            report("reply", replies, tcpReply, "TCP segment", repeat);
            report("reply", replies, later, "later fragment (map lookup)", repeat);
            report("reply", replies, error, "ICMP error (quoted packet)", repeat);
        }
    }

    private static void report(String program, FlowSteering s, byte[] packet, String kind, int repeat) throws Exception {
        byte[] frame = new byte[14 + packet.length];
        System.arraycopy(packet, 0, frame, 14, packet.length);
        long r = Bpf.testRun(s.programFd(), frame, repeat);
        System.out.printf("%-8s %-30s %4d ns/packet (returned %d, %d runs)%n", program, kind, r >>> 32, (int) r, repeat);
    }

    private static byte[] l4(int sport, int dport) {
        byte[] b = new byte[20];
        b[0] = (byte) (sport >> 8);
        b[1] = (byte) sport;
        b[2] = (byte) (dport >> 8);
        b[3] = (byte) dport;
        return b;
    }

    private static byte[] icmpError(byte[] quoted) {
        byte[] b = new byte[8 + 28];
        b[0] = 3;
        b[1] = 3;
        System.arraycopy(quoted, 0, b, 8, 28);
        return b;
    }

    private static byte[] ipv4(int proto, int fragOffset, byte[] l4) {
        byte[] p = new byte[20 + l4.length];
        p[0] = 0x45;
        p[6] = (byte) (fragOffset >> 8);
        p[7] = (byte) fragOffset;
        p[8] = 64;
        p[9] = (byte) proto;
        p[12] = 10;
        p[15] = 7;
        p[16] = (byte) 203;
        p[18] = 113;
        p[19] = 5;
        System.arraycopy(l4, 0, p, 20, l4.length);
        return p;
    }

    private static byte[] vxlan(byte[] ip) {
        byte[] p = new byte[22 + ip.length];
        p[0] = 0x08;
        p[20] = 0x08;
        System.arraycopy(ip, 0, p, 22, ip.length);
        return p;
    }
}
