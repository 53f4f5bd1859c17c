package org.egressgw.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.NamedContext;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Function;
import org.egressgw.control.config.KubernetesSettings;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.EgressPolicy;
import org.egressgw.control.policy.RefusedPolicy;
import org.egressgw.control.source.ClusterSource;

/**
 * The cluster's state from the Kubernetes API: informers (list, then watch, re-established by the
 * client when lost) on Pods in all namespaces, Namespaces, Nodes and the cluster-scoped
 * {@code cilium.io/v2 CiliumEgressGatewayPolicy}, turned into {@link ClusterState} snapshots with
 * the file loader's binders ({@link ApiObjectBinder}). A policy that fails validation becomes a
 * problem in the snapshot and only that policy is left out.
 *
 * <p>Snapshots: the first is built from the informers' caches once all four have listed, and
 * delivered before {@link #start} returns. After that every add, update or delete schedules a
 * rebuild {@link #DEFAULT_DEBOUNCE} later, so a burst of events (a rollout, a resync) costs one
 * snapshot; a snapshot equal to the last one delivered (a pod's status changed in a field we do
 * not read, a periodic resync) is not delivered again.
 *
 * <p>Concurrency: informer callbacks run on the client's threads and only set a flag and schedule
 * the rebuild. Rebuilds and every call of {@code onChange}, the first included, run on one
 * thread of this source, so {@code onChange} is never called concurrently with itself; the
 * conversion cache and the last delivered snapshot are confined to that thread. {@link #close}
 * may be called from any thread, also from {@code onChange}.
 */
public final class KubernetesClusterSource implements ClusterSource {
    /** How long {@link #start} waits for the first list of every informer. */
    public static final Duration DEFAULT_SYNC_TIMEOUT = Duration.ofSeconds(30);
    /** Events closer together than this are coalesced into one snapshot. */
    public static final Duration DEFAULT_DEBOUNCE = Duration.ofMillis(100);
    /** Default informer resync period; 0 turns resync off. */
    public static final int DEFAULT_RESYNC_SECONDS = KubernetesSettings.DEFAULT_RESYNC_SECONDS;

    private static final System.Logger LOG = System.getLogger(KubernetesClusterSource.class.getName());

    private final KubernetesClient client;
    private final boolean ownsClient;
    private final long resyncMillis;
    private final Duration syncTimeout;
    private final long debounceMillis;
    private final ApiObjectBinder binder;
    private final ScheduledThreadPoolExecutor delivery;
    private final AtomicBoolean started = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean rebuildPending = new AtomicBoolean();
    private final AtomicLong deliveryFailures = new AtomicLong();
    /** Guarded by itself: filled by the start thread, stopped by {@link #close}. */
    private final List<SharedIndexInformer<?>> informers = new ArrayList<>();
    private volatile boolean live;
    private volatile Thread deliveryThread;
    private volatile Consumer<ClusterState> onChange;

    private SharedIndexInformer<io.fabric8.kubernetes.api.model.Pod> pods;
    private SharedIndexInformer<Namespace> namespaces;
    private SharedIndexInformer<Node> nodes;
    private SharedIndexInformer<GenericKubernetesResource> policies;

    // confined to the delivery thread
    private final Map<String, Cached> cache = new HashMap<>();
    private ClusterState lastDelivered;

    /** A bound object and the version of the API object it came from. */
    private record Cached(String version, ApiObjectBinder.Bound<?> bound) {
    }

    /**
     * A source on a client the caller owns (and closes): resync every
     * {@link #DEFAULT_RESYNC_SECONDS}, {@link #DEFAULT_SYNC_TIMEOUT}, {@link #DEFAULT_DEBOUNCE}.
     */
    public KubernetesClusterSource(KubernetesClient client) {
        this(client, false, Duration.ofSeconds(DEFAULT_RESYNC_SECONDS), DEFAULT_SYNC_TIMEOUT, DEFAULT_DEBOUNCE);
    }

    /**
     * @param ownsClient close the client in {@link #close}
     * @param resync informer resync period, zero for none
     * @param syncTimeout how long {@link #start} waits for the first lists
     * @param debounce how long events are coalesced before a snapshot is built
     */
    public KubernetesClusterSource(KubernetesClient client, boolean ownsClient, Duration resync,
                                   Duration syncTimeout, Duration debounce) {
        this.client = Objects.requireNonNull(client, "client");
        this.ownsClient = ownsClient;
        if (resync.isNegative() || syncTimeout.isNegative() || syncTimeout.isZero() || debounce.isNegative()) {
            throw new IllegalArgumentException("resync " + resync + " and debounce " + debounce
                    + " must not be negative, sync timeout " + syncTimeout + " must be positive");
        }
        this.resyncMillis = resync.toMillis();
        this.syncTimeout = syncTimeout;
        this.debounceMillis = debounce.toMillis();
        this.binder = new ApiObjectBinder(client.getKubernetesSerialization());
        this.delivery = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "kubernetes-cluster-source");
            t.setDaemon(true);
            deliveryThread = t;
            return t;
        });
        this.delivery.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /**
     * A source with its own client, as {@code cluster.kubernetes} configures it.
     *
     * @param kubeconfig a kubeconfig file, or null to configure as kubectl and in-cluster clients
     *     do: {@code KUBECONFIG} or {@code ~/.kube/config} when present, otherwise the pod's
     *     service account ({@code /var/run/secrets/kubernetes.io/serviceaccount})
     * @param context the kubeconfig context to use, or null for its current context
     * @param resyncSeconds informer resync period, 0 for none
     * @throws IllegalArgumentException when the kubeconfig cannot be read or has no such context
     */
    public static KubernetesClusterSource connect(Path kubeconfig, String context, int resyncSeconds) {
        if (resyncSeconds < 0) {
            throw new IllegalArgumentException("resyncSeconds " + resyncSeconds + " must not be negative");
        }
        Config config = config(kubeconfig, context);
        KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build();
        return new KubernetesClusterSource(client, true, Duration.ofSeconds(resyncSeconds), DEFAULT_SYNC_TIMEOUT,
                DEFAULT_DEBOUNCE);
    }

    /** {@link #connect(Path, String, int)} with the {@code cluster.kubernetes} settings. */
    public static KubernetesClusterSource connect(KubernetesSettings settings) {
        return connect(settings.kubeconfig(), settings.context(), settings.resyncSeconds());
    }

    /** The client configuration {@link #connect} uses; see there. */
    public static Config config(Path kubeconfig, String context) {
        if (context != null && context.isBlank()) {
            throw new IllegalArgumentException("kubernetes context must not be blank");
        }
        Config config;
        if (kubeconfig != null) {
            if (!Files.isReadable(kubeconfig)) {
                throw new IllegalArgumentException("kubeconfig " + kubeconfig + " does not exist or is not readable");
            }
            try {
                config = Config.fromKubeconfig(context, kubeconfig.toFile());
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("kubeconfig " + kubeconfig + ": " + e.getMessage(), e);
            }
        } else {
            config = Config.autoConfigure(context);
        }
        if (context != null) {
            NamedContext current = config.getCurrentContext();
            if (current == null || !context.equals(current.getName())) {
                throw new IllegalArgumentException("kubernetes context '" + context + "' not found in "
                        + (kubeconfig != null ? kubeconfig : "the default kubeconfig"));
            }
        }
        return config;
    }

    /**
     * Starts the informers, waits up to the sync timeout for their first lists, and delivers the
     * first snapshot (on the source's thread) before returning.
     *
     * @throws IOException when the API server cannot be listed in time or refuses (the message
     *     names the server), or the cluster does not serve the CiliumEgressGatewayPolicy CRD
     * @throws IllegalStateException when called twice or after {@link #close}
     */
    @Override
    public void start(Consumer<ClusterState> onChange) throws Exception {
        Objects.requireNonNull(onChange, "onChange");
        if (closed.get()) {
            throw new IllegalStateException("source is closed");
        }
        if (!started.compareAndSet(false, true)) {
            throw new IllegalStateException("source already started");
        }
        this.onChange = onChange;
        try {
            long deadline = System.nanoTime() + syncTimeout.toNanos();
            createInformersBefore(deadline);
            awaitSync(deadline);
            live = true;
            delivery.submit(this::deliver).get();
        } catch (ExecutionException e) {
            close();
            Throwable cause = e.getCause();
            if (cause instanceof Exception ex) {
                throw ex;
            }
            throw e;
        } catch (Exception | Error e) {
            close();
            throw e;
        }
    }

    /**
     * Creating the policy informer asks the API server which resource serves the CRD's kind, and
     * the client retries that request with back-off: it runs on a thread of its own so that an
     * unreachable server costs the sync timeout, not the client's retry budget.
     */
    private void createInformersBefore(long deadline) throws Exception {
        CompletableFuture<Void> created = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                createInformers();
                created.complete(null);
            } catch (Throwable e) {
                created.completeExceptionally(e);
            }
        }, "kubernetes-cluster-source-start");
        t.setDaemon(true);
        t.start();
        try {
            created.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new IOException("kubernetes " + client.getMasterUrl() + ": no answer to API discovery within "
                    + syncTimeout.toSeconds() + " s");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception ex ? ex : e;
        }
    }

    private void createInformers() throws IOException {
        ResourceEventHandler<HasMetadata> handler = new ResourceEventHandler<>() {
            @Override
            public void onAdd(HasMetadata obj) {
                changed();
            }

            @Override
            public void onUpdate(HasMetadata oldObj, HasMetadata newObj) {
                changed();
            }

            @Override
            public void onDelete(HasMetadata obj, boolean deletedFinalStateUnknown) {
                changed();
            }
        };
        pods = client.pods().inAnyNamespace().runnableInformer(resyncMillis);
        namespaces = client.namespaces().runnableInformer(resyncMillis);
        nodes = client.nodes().runnableInformer(resyncMillis);
        try {
            policies = client.genericKubernetesResources(EgressPolicy.API_VERSION, EgressPolicy.KIND)
                    .runnableInformer(resyncMillis);
        } catch (RuntimeException e) {
            throw new IOException("kubernetes " + client.getMasterUrl() + " does not serve " + EgressPolicy.API_VERSION
                    + " " + EgressPolicy.KIND + " (is Cilium's CRD ciliumegressgatewaypolicies.cilium.io installed?): "
                    + e.getMessage(), e);
        }
        List<SharedIndexInformer<?>> created = List.of(pods, namespaces, nodes, policies);
        for (SharedIndexInformer<?> i : created) {
            @SuppressWarnings("unchecked")
            SharedIndexInformer<HasMetadata> informer = (SharedIndexInformer<HasMetadata>) i;
            informer.addEventHandler(handler);
        }
        synchronized (informers) { // start may have given up on this thread and closed the source
            if (closed.get()) {
                throw new IOException("source closed while connecting");
            }
            informers.addAll(created);
        }
    }

    private void awaitSync(long deadline) throws IOException, InterruptedException {
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (SharedIndexInformer<?> i : informers) {
            futures.add(i.start().toCompletableFuture());
        }
        try {
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                    .get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new IOException("kubernetes " + client.getMasterUrl() + ": no initial list within "
                    + syncTimeout.toSeconds() + " s (still waiting for " + String.join(", ", unsynced()) + ")");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw new IOException("kubernetes " + client.getMasterUrl() + ": cannot list " + String.join(", ", unsynced())
                    + ": " + (cause == null ? e : cause).getMessage(), cause == null ? e : cause);
        }
    }

    private List<String> unsynced() {
        List<String> names = new ArrayList<>();
        String[] kinds = {"pods", "namespaces", "nodes", "ciliumegressgatewaypolicies"};
        for (int i = 0; i < informers.size(); i++) {
            if (!informers.get(i).hasSynced()) {
                names.add(kinds[i]);
            }
        }
        return names;
    }

    /** Informer callback: schedule one rebuild, unless one is already pending. */
    private void changed() {
        if (live && rebuildPending.compareAndSet(false, true)) {
            try {
                delivery.schedule(this::deliverSafely, debounceMillis, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                rebuildPending.set(false); // closed meanwhile
            }
        }
    }

    private void deliverSafely() {
        try {
            deliver();
        } catch (RuntimeException | Error e) {
            deliveryFailures.incrementAndGet();
            LOG.log(System.Logger.Level.WARNING, "cluster state update failed, next change retries", e);
        }
    }

    /** Builds a snapshot from the informers' caches and hands it on if it differs from the last one. */
    private void deliver() {
        rebuildPending.set(false); // events from now on schedule another round
        if (closed.get()) {
            return;
        }
        ClusterState state = build();
        if (lastDelivered != null && same(lastDelivered, state)) {
            return;
        }
        onChange.accept(state);
        lastDelivered = state;
    }

    private ClusterState build() {
        Set<String> seen = new HashSet<>();
        List<String> problems = new ArrayList<>();
        List<Pod> podList = bindAll("Pod", pods, binder::pod, seen, problems, (o, b) -> { });
        List<NamespaceObj> nsList = bindAll("Namespace", namespaces, binder::namespace, seen, problems, (o, b) -> { });
        List<NodeObj> nodeList = bindAll("Node", nodes, binder::node, seen, problems, (o, b) -> { });
        List<RefusedPolicy> refused = new ArrayList<>();
        List<EgressPolicy> policyList = bindAll(EgressPolicy.KIND, policies, binder::policy, seen, problems,
                (o, b) -> refused.add(ApiObjectBinder.refused(o, b)));
        cache.keySet().retainAll(seen);
        return new ClusterState(podList, nsList, nodeList, policyList, problems, refused);
    }

    /**
     * Binds every cached object of one informer, in name order so that snapshots are
     * deterministic, reusing the binding of objects whose resourceVersion has not changed.
     */
    private <K extends HasMetadata, T> List<T> bindAll(String kind, SharedIndexInformer<K> informer,
                                                       Function<K, ApiObjectBinder.Bound<T>> bind,
                                                       Set<String> seen, List<String> problems,
                                                       BiConsumer<K, ApiObjectBinder.Bound<T>> onRefused) {
        List<K> objects = new ArrayList<>(informer.getStore().list());
        objects.sort(Comparator.comparing((K o) -> nullToEmpty(o.getMetadata().getNamespace()))
                .thenComparing(o -> nullToEmpty(o.getMetadata().getName())));
        List<T> out = new ArrayList<>(objects.size());
        for (K o : objects) {
            String key = ApiObjectBinder.sourceName(kind, o);
            String version = o.getMetadata().getUid() + "/" + o.getMetadata().getResourceVersion();
            Cached c = cache.get(key);
            if (c == null || o.getMetadata().getResourceVersion() == null || !c.version.equals(version)) {
                c = new Cached(version, bind.apply(o));
                cache.put(key, c);
            }
            seen.add(key);
            @SuppressWarnings("unchecked")
            ApiObjectBinder.Bound<T> bound = (ApiObjectBinder.Bound<T>) c.bound;
            if (bound.value() != null) {
                out.add(bound.value());
            } else {
                onRefused.accept(o, bound);
            }
            problems.addAll(bound.problems());
        }
        return out;
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }

    private static boolean same(ClusterState a, ClusterState b) {
        return a.pods().equals(b.pods()) && a.namespaces().equals(b.namespaces()) && a.nodes().equals(b.nodes())
                && a.policies().equals(b.policies()) && a.problems().equals(b.problems())
                && a.refusedPolicies().equals(b.refusedPolicies());
    }

    /** e.g. {@code kubernetes https://10.0.0.1:6443/ (context prod)}. */
    @Override
    public String describe() {
        NamedContext ctx = client.getConfiguration().getCurrentContext();
        return "kubernetes " + client.getMasterUrl() + (ctx == null || ctx.getName() == null ? ""
                : " (context " + ctx.getName() + ")");
    }

    /** True while every informer has a watch open; false while one is being re-established. */
    public boolean isWatching() {
        if (!live || closed.get()) {
            return false;
        }
        for (SharedIndexInformer<?> i : informers) {
            if (!i.isWatching()) {
                return false;
            }
        }
        return true;
    }

    /** Snapshots that could not be built or whose {@code onChange} threw, since start. */
    public long deliveryFailures() {
        return deliveryFailures.get();
    }

    /**
     * Stops the informers and the delivery thread (a delivery in progress finishes first, unless
     * close is called from it) and closes the client if this source created it. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        live = false;
        synchronized (informers) {
            for (SharedIndexInformer<?> i : informers) {
                try {
                    i.stop();
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, "stopping an informer failed", e);
                }
            }
        }
        delivery.shutdown();
        if (Thread.currentThread() != deliveryThread) {
            try {
                delivery.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (ownsClient) {
            client.close();
        }
    }
}
