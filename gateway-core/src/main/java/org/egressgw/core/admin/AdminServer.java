package org.egressgw.core.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.List;
import java.util.function.Supplier;
import org.egressgw.core.cluster.PolicySnapshot;

/**
 * The admin endpoint: {@code GET /healthz} and {@code GET /readyz} (200 "ok", or 503 with what is wrong, one
 * problem a line; see {@code Gateway#healthProblems} and {@code Gateway#readinessProblems}),
 * {@code GET /metrics} (Prometheus text format), {@code GET /conntrack} (the live connection table,
 * {@code ?format=json} for JSON lines), {@code GET /conntrack/stats}, and the policy views
 * {@code /policies}, {@code /explain}, {@code /status}, {@code /problems} ({@link PolicyEndpoints}). Served by the JDK's HTTP server on one thread,
 * away from the datapath.
 */
public final class AdminServer implements AutoCloseable {
    private final HttpServer server;

    /**
     * @param health what keeps the gateway from being healthy (empty: healthy), for {@code /healthz}
     * @param readiness what keeps it from taking traffic (empty: ready), for {@code /readyz}
     */
    public AdminServer(String host, int port, GatewayMetrics metrics, Supplier<List<String>> health,
            Supplier<List<String>> readiness, ConntrackReport conntrack, Supplier<PolicySnapshot> policies,
            org.egressgw.core.ha.HaController ha) throws IOException {
        server = HttpServer.create(new InetSocketAddress(host, port), 16);
        server.setExecutor(Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "egw-admin");
            t.setDaemon(true);
            return t;
        }));
        PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
        server.createContext("/healthz", ex -> check(ex, health.get()));
        server.createContext("/readyz", ex -> check(ex, readiness.get()));
        server.createContext("/metrics", ex -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream(16384);
            writer.write(out, metrics.registry().scrape());
            respond(ex, 200, PrometheusTextFormatWriter.CONTENT_TYPE, out.toByteArray());
        });
        server.createContext("/conntrack", ex -> {
            String query = ex.getRequestURI().getQuery() == null ? "" : ex.getRequestURI().getQuery();
            boolean json = query.contains("format=json");
            byte[] body = ex.getRequestURI().getPath().equals("/conntrack/stats")
                    ? conntrack.stats().getBytes(StandardCharsets.UTF_8)
                    : conntrack.list(json, Integer.MAX_VALUE).getBytes(StandardCharsets.UTF_8);
            respond(ex, 200, json ? "application/x-ndjson" : "text/plain; charset=utf-8", body);
        });
        PolicyEndpoints.register(server, new PolicyEndpoints(policies), AdminServer::respond);
        server.createContext("/ha", ex -> {
            if (ha == null) {
                respond(ex, 404, "text/plain; charset=utf-8", "this gateway is not a member of a group (no ha section)\n"
                        .getBytes(StandardCharsets.UTF_8));
                return;
            }
            if (ex.getRequestURI().getPath().equals("/ha/handover")) {
                handover(ex, ha);
                return;
            }
            boolean text = "format=text".equals(ex.getRequestURI().getQuery());
            respond(ex, 200, text ? "text/plain; charset=utf-8" : "application/json",
                    ((text ? statusText(ha.status()) : org.egressgw.control.explain.Json.write(ha.status())) + "\n")
                            .getBytes(StandardCharsets.UTF_8));
        });
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /**
     * {@code POST /ha/handover}: changes the group's state, so only from this host (a loopback peer address) —
     * whatever {@code admin.listen} says.
     */
    private static void handover(HttpExchange ex, org.egressgw.core.ha.HaController ha) throws IOException {
        try (ex) {
            if (!"POST".equals(ex.getRequestMethod())) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            if (!ex.getRemoteAddress().getAddress().isLoopbackAddress()) {
                send(ex, 403, "handover is only taken from this host\n");
                return;
            }
            try {
                send(ex, 200, ha.handover() + "\n");
            } catch (IllegalStateException e) {
                send(ex, 409, e.getMessage() + "\n");
            }
        }
    }

    /** Answers with plain text (the caller closes the exchange). */
    private static void send(HttpExchange ex, int status, String text) throws IOException {
        write(ex, status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
    }

    private static void write(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(status, body.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(body);
        }
    }

    /** {@code key: value} lines, a peer per line. */
    static String statusText(java.util.Map<String, Object> status) {
        StringBuilder out = new StringBuilder();
        status.forEach((k, v) -> {
            if (v instanceof List<?> list) {
                for (Object peer : list) {
                    out.append("peer: ").append(peer).append('\n');
                }
            } else {
                out.append(k).append(": ").append(v).append('\n');
            }
        });
        return out.toString().stripTrailing();
    }

    /** 200 "ok" when nothing is wrong, else 503 with one line per problem. */
    private static void check(HttpExchange ex, List<String> problems) throws IOException {
        String body = problems.isEmpty() ? "ok\n" : String.join("\n", problems) + "\n";
        respond(ex, problems.isEmpty() ? 200 : 503, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
    }

    private static void respond(HttpExchange ex, int status, String type, byte[] body) throws IOException {
        try (ex) {
            if (!"GET".equals(ex.getRequestMethod())) {
                ex.sendResponseHeaders(405, -1);
                return;
            }
            write(ex, status, type, body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
