package org.egressgw.core.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.egressgw.testbed.ExecResult;
import org.egressgw.testbed.Topology;
import org.egressgw.testbed.TopologyOptions;
import org.junit.jupiter.api.Test;

/**
 * {@code pipeline.shards: 2}: acceptance a–e, and what sharding must not break. Each shard owns half of the
 * port range and its own connection table, so a reply the kernel steered to the wrong shard, or a request
 * whose flow hash moved between shards, would be dropped as {@code no_connection} or translated twice: many
 * flows (TCP, UDP, datagrams fragmented in both directions, ICMP errors from outside about UDP flows) must
 * all work, spread over both shards, with no such drop.
 */
class ShardedPipelineIT extends EndToEndBase {
    /** Flows of each kind: enough that both shards get some with overwhelming probability (2^-47 not). */
    private static final int FLOWS = 48;
    /** A UDP port nothing listens on in ext: the kernel answers with port unreachable. */
    private static final int CLOSED_PORT = 9;

    /** Python run in pod1: prints one line of counts. */
    private static final String FLOWS_SCRIPT = """
            import socket, sys
            server, echo, http, closed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
            udp = big = tcp = refused = 0
            for i in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(2)
                payload = (b"flow-%d;" % i) * (600 if i % 2 else 3)   # every other one ~5 KB: fragments both ways
                for attempt in range(3):
                    s.sendto(payload, (server, echo))
                    try:
                        data, _ = s.recvfrom(65535)
                    except socket.timeout:
                        continue
                    if data == payload:
                        if len(payload) > 1500: big += 1
                        else: udp += 1
                    break
                s.close()
                c = socket.create_connection((server, http), timeout=5)
                c.sendall(b"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
                body = b""
                while True:
                    part = c.recv(65536)
                    if not part: break
                    body += part
                c.close()
                if b"200" in body.split(b"\\r\\n", 1)[0]: tcp += 1
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                u.settimeout(2)
                u.connect((server, closed))
                for attempt in range(3):
                    try:
                        u.send(b"anyone?")
                        u.recv(100)
                    except ConnectionRefusedError:
                        refused += 1
                        break
                    except socket.timeout:
                        continue
                u.close()
            print("udp", udp, "big", big, "tcp", tcp, "refused", refused)
            """;

    @Override
    TopologyOptions options() {
        return TopologyOptions.userspace();
    }

    @Override
    String editConfig(String yaml) {
        return yaml + "pipeline: {shards: 2}\n";
    }

    @Test
    void ranTwoShardsWithSteering() throws Exception {
        String log = gateway.log();
        assertTrue(log.contains("pipeline: 2 shards"), log);
        assertTrue(log.contains("eBPF queue steering on egw0"), log);
        assertTrue(log.contains("2 queues"), log);
    }

    @Test
    void manyFlowsOfEveryKindSpreadOverBothShardsAndAllFindTheirWayBack() {
        ExecResult r = topo.exec(topo.pod1(), Duration.ofSeconds(120), Topology.PYTHON, "-c", FLOWS_SCRIPT,
                Topology.SERVER_IP, Integer.toString(Topology.UDP_ECHO_PORT), Integer.toString(Topology.HTTP_PORT),
                Integer.toString(CLOSED_PORT), Integer.toString(FLOWS));
        assertTrue(r.ok(), r::toString);
        int half = FLOWS / 2;
        assertEquals("udp " + half + " big " + half + " tcp " + FLOWS + " refused " + FLOWS, r.stdout().strip(),
                r::toString);
        String m = metrics();
        for (int shard = 0; shard < 2; shard++) {
            for (String direction : new String[] {"request", "reply"}) {
                String name = "egw_shard_rx_packets_total{direction=\"" + direction + "\",shard=\"" + shard + "\"}";
                assertTrue(metric(m, name) > 20, () -> name + " in\n" + m);
            }
        }
        for (String reason : new String[] {"no_connection", "fragment"}) {
            for (String direction : new String[] {"request", "reply"}) {
                assertEquals(0, metric(m, "egw_drops_total{direction=\"" + direction + "\",reason=\"" + reason + "\"}"),
                        () -> direction + " " + reason + " drops in\n" + m);
            }
        }
        assertTrue(metric(m, "egw_icmp_errors_translated_total") >= FLOWS, m);
        // the connection listing covers both shards' tables and says which owns each connection
        String list = cli("conntrack", "list", "-o", "json").stdout();
        assertTrue(list.contains("\"shard\":0") && list.contains("\"shard\":1"), list);
        String stats = cli("conntrack", "stats").stdout();
        assertTrue(stats.contains("(2 shards of "), stats);
    }
}
