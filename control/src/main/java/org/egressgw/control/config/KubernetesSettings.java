package org.egressgw.control.config;

import java.nio.file.Path;

/**
 * The {@code cluster.kubernetes} section of the gateway configuration: how to reach the
 * Kubernetes API. Immutable.
 *
 * @param kubeconfig the kubeconfig file (relative paths resolved against the configuration
 *     file's directory), or null to auto-configure: the in-cluster service account when running in
 *     a pod, else {@code $KUBECONFIG}, else {@code ~/.kube/config}
 * @param context the kubeconfig context to use, or null for the file's current context
 * @param resyncSeconds period of full informer resyncs; 0 disables them (watches only)
 */
public record KubernetesSettings(Path kubeconfig, String context, int resyncSeconds) {
    /** Default {@link #resyncSeconds()}. */
    public static final int DEFAULT_RESYNC_SECONDS = 300;
    /** Upper bound of {@link #resyncSeconds()}: one day. */
    public static final int MAX_RESYNC_SECONDS = 86_400;

    /** @throws IllegalArgumentException when resyncSeconds is outside 0..{@value #MAX_RESYNC_SECONDS} or context is blank */
    public KubernetesSettings {
        if (resyncSeconds < 0 || resyncSeconds > MAX_RESYNC_SECONDS) {
            throw new IllegalArgumentException("resyncSeconds " + resyncSeconds + " is not within 0.." + MAX_RESYNC_SECONDS);
        }
        if (context != null && context.isBlank()) {
            throw new IllegalArgumentException("context must not be blank");
        }
    }
}
