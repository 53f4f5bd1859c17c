package org.egressgw.core.admin;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.egressgw.control.explain.Explainer;
import org.egressgw.control.explain.Explanation;
import org.egressgw.control.explain.PodRef;
import org.egressgw.control.explain.PolicyRows;
import org.egressgw.control.explain.PolicyStatus;
import org.egressgw.core.cluster.PolicySnapshot;
import org.egressgw.packet.Ipv4Address;

/**
 * The policy side of the admin endpoint, answering from what the running gateway serves:
 * {@code GET /policies} (the Cilium-style table), {@code GET /explain?pod=NS/NAME&dst=IP[:PORT]}
 * (or {@code src=IP}), {@code GET /status} and {@code GET /problems}. {@code ?format=json}
 * switches to JSON.
 */
final class PolicyEndpoints {
    private final Supplier<PolicySnapshot> snapshot;

    PolicyEndpoints(Supplier<PolicySnapshot> snapshot) {
        this.snapshot = snapshot;
    }

    /** Returns {status, content type, body}. */
    Object[] handle(HttpExchange ex) {
        Map<String, String> q = query(ex.getRequestURI().getRawQuery());
        boolean json = "json".equals(q.get("format"));
        PolicySnapshot s = snapshot.get();
        if (s == null) {
            return text(503, "no policies compiled yet\n");
        }
        String path = ex.getRequestURI().getPath();
        try {
            switch (path) {
                case "/policies" -> {
                    PolicyRows rows = PolicyRows.rows(s.state(), s.compiled());
                    return json ? json(rows.toJson()) : text(200, rows.toTable());
                }
                case "/status" -> {
                    List<PolicyStatus> st = PolicyStatus.of(s.state(), s.compiled());
                    return json ? json(PolicyStatus.toJson(st)) : text(200, PolicyStatus.toTable(st));
                }
                case "/problems" -> {
                    StringBuilder sb = new StringBuilder();
                    s.state().problems().forEach(p -> sb.append(p).append('\n'));
                    s.compiled().problems().forEach(p -> sb.append(p).append('\n'));
                    return text(200, sb.toString());
                }
                case "/explain" -> {
                    String dst = q.get("dst");
                    if (dst == null || (q.get("pod") == null) == (q.get("src") == null)) {
                        return text(400, "explain needs dst=IP[:PORT] and exactly one of pod=NAMESPACE/NAME or src=IP\n");
                    }
                    int port = -1;
                    String dstIp = dst;
                    int colon = dst.indexOf(':');
                    if (colon >= 0) {
                        dstIp = dst.substring(0, colon);
                        port = Integer.parseInt(dst.substring(colon + 1));
                    }
                    Explanation e = q.get("pod") != null
                            ? Explainer.explain(s.state(), s.compiled(), PodRef.parse(q.get("pod")), Ipv4Address.parse(dstIp), port)
                            : Explainer.explain(s.state(), s.compiled(), Ipv4Address.parse(q.get("src")), Ipv4Address.parse(dstIp), port);
                    return json ? json(e.toJson()) : text(200, e.toText());
                }
                default -> {
                    return text(404, "unknown path " + path + "\n");
                }
            }
        } catch (IllegalArgumentException e) {
            return text(400, e.getMessage() + "\n");
        }
    }

    private static Object[] text(int status, String body) {
        return new Object[] {status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8)};
    }

    private static Object[] json(String body) {
        return new Object[] {200, "application/json", body.getBytes(StandardCharsets.UTF_8)};
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new HashMap<>();
        if (raw == null) {
            return out;
        }
        for (String part : raw.split("&")) {
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
            out.put(k, v);
        }
        return out;
    }

    static void register(com.sun.net.httpserver.HttpServer server, PolicyEndpoints endpoints, Responder responder) {
        for (String path : new String[] {"/policies", "/status", "/problems", "/explain"}) {
            server.createContext(path, ex -> {
                Object[] r = endpoints.handle(ex);
                responder.respond(ex, (Integer) r[0], (String) r[1], (byte[]) r[2]);
            });
        }
    }

    interface Responder {
        void respond(HttpExchange ex, int status, String type, byte[] body) throws IOException;
    }
}
