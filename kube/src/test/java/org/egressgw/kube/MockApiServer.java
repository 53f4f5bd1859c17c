package org.egressgw.kube;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * fabric8's mock API server in CRUD mode (an in-memory API server: create, update, patch, delete,
 * list and watch), with one addition: it tracks the watch connections it serves, so that a test
 * can cut them the way a real API server or load balancer does (watch timeout, restart, idle
 * cut), and count the watches the client opens afterwards.
 *
 * <p>Thread-safe; the mock server calls the dispatcher from its event-loop threads.
 */
final class MockApiServer implements AutoCloseable {
    /** The mock server logs every request at INFO through java.util.logging; kept to keep the level. */
    private static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");
    /**
     * The mock server's event loop, shut down with connections still closing, reports each
     * late notification as SEVERE ("Failed to submit a listener notification task"): test noise.
     */
    private static final java.util.logging.Logger PROMISE_LOG =
            java.util.logging.Logger.getLogger("io.netty.util.concurrent.DefaultPromise");

    static {
        MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
        PROMISE_LOG.setLevel(java.util.logging.Level.OFF);
    }

    private final WatchTrackingDispatcher dispatcher = new WatchTrackingDispatcher(new KubernetesCrudDispatcher());
    private volatile KubernetesMockServer server =
            new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    private final KubernetesClient client;

    MockApiServer() {
        server.init();
        // reconnect quickly after a lost watch so that tests stay short
        client = server.createClient(b -> b.editOrNewConfig().withWatchReconnectInterval(100).endConfig());
    }

    /** A client on this server (closed with it). */
    KubernetesClient client() {
        return client;
    }

    KubernetesMockServer server() {
        return server;
    }

    /**
     * Installs Cilium's {@code ciliumegressgatewaypolicies.cilium.io} CRD as a cluster would have
     * it: the CRUD server then serves discovery and storage for {@code cilium.io/v2}.
     */
    void installEgressPolicyCrd() {
        CustomResourceDefinition crd = new CustomResourceDefinitionBuilder()
                .withNewMetadata().withName("ciliumegressgatewaypolicies.cilium.io").endMetadata()
                .withNewSpec()
                .withGroup("cilium.io")
                .withScope("Cluster")
                .withNewNames()
                .withKind("CiliumEgressGatewayPolicy")
                .withListKind("CiliumEgressGatewayPolicyList")
                .withPlural("ciliumegressgatewaypolicies")
                .withSingular("ciliumegressgatewaypolicy")
                .withShortNames("cegp")
                .endNames()
                .addNewVersion()
                .withName("v2").withServed(true).withStorage(true)
                .withNewSchema().withNewOpenAPIV3Schema().withType("object")
                .withXKubernetesPreserveUnknownFields(true).endOpenAPIV3Schema().endSchema()
                .endVersion()
                .endSpec()
                .build();
        client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
    }

    /**
     * Stops the server: every connection drops without a close handshake and new ones are
     * refused, as when an API server's process dies.
     */
    void kill() {
        port = server.getPort();
        host = server.getHostName();
        server.destroy();
    }

    private int port;
    private String host;

    /** Starts the server again on the same address and port, with the same stored objects. */
    void restart() throws java.net.UnknownHostException {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        server.init(java.net.InetAddress.getByName(host), port);
    }

    /** Closes every open watch connection whose request path contains {@code pathPart}. */
    int cutWatches(String pathPart) {
        return dispatcher.cut(pathPart);
    }

    /** Watch connections opened so far whose request path contains {@code pathPart}. */
    int watchesOpened(String pathPart) {
        return dispatcher.opened(pathPart);
    }

    @Override
    public void close() {
        client.close();
        server.destroy();
    }

    /** Delegates to the CRUD dispatcher and wraps the listener of every watch it upgrades. */
    private static final class WatchTrackingDispatcher extends Dispatcher {
        private final KubernetesCrudDispatcher crud;
        private final Set<WebSocket> open = ConcurrentHashMap.newKeySet();
        private final Map<String, AtomicInteger> openedByPath = new ConcurrentHashMap<>();

        WatchTrackingDispatcher(KubernetesCrudDispatcher crud) {
            this.crud = crud;
        }

        @Override
        public MockResponse dispatch(RecordedRequest request) {
            MockResponse response = crud.dispatch(request);
            WebSocketListener listener = response.getWebSocketListener();
            return listener == null ? response : response.withWebSocketUpgrade(new Tracking(listener));
        }

        int cut(String pathPart) {
            int n = 0;
            for (WebSocket ws : List.copyOf(open)) {
                if (ws.request().getPath().contains(pathPart)) {
                    ws.close(1000, "watch closed by test");
                    open.remove(ws);
                    n++;
                }
            }
            return n;
        }

        int opened(String pathPart) {
            int n = 0;
            for (Map.Entry<String, AtomicInteger> e : openedByPath.entrySet()) {
                if (e.getKey().contains(pathPart)) {
                    n += e.getValue().get();
                }
            }
            return n;
        }

        private final class Tracking extends WebSocketListener {
            private final WebSocketListener delegate;

            Tracking(WebSocketListener delegate) {
                this.delegate = delegate;
            }

            @Override
            public void onOpen(WebSocket ws, Response response) {
                open.add(ws);
                String path = ws.request().getPath();
                openedByPath.computeIfAbsent(path.substring(0, path.indexOf('?') < 0 ? path.length() : path.indexOf('?')),
                        k -> new AtomicInteger()).incrementAndGet();
                delegate.onOpen(ws, response);
            }

            @Override
            public void onMessage(WebSocket ws, String text) {
                delegate.onMessage(ws, text);
            }

            @Override
            public void onClosing(WebSocket ws, int code, String reason) {
                open.remove(ws);
                delegate.onClosing(ws, code, reason);
            }

            @Override
            public void onClosed(WebSocket ws, int code, String reason) {
                open.remove(ws);
                delegate.onClosed(ws, code, reason);
            }

            @Override
            public void onFailure(WebSocket ws, Throwable t, Response response) {
                open.remove(ws);
                delegate.onFailure(ws, t, response);
            }
        }
    }
}
