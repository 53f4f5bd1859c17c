package org.egressgw.control.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;

/**
 * {@code cluster:} — where policies and the Pod, Namespace and Node objects come from; exactly one of the two.
 *
 * @param paths files and directories of cluster objects, relative ones resolved against the configuration
 *     file's directory; empty when {@link #kubernetes()} is used
 * @param kubernetes the Kubernetes API settings; empty when {@link #paths()} is used
 */
public record ClusterConfig(List<Path> paths, Optional<KubernetesSettings> kubernetes) {
    static ClusterConfig parse(YamlNode cluster, Path dir) throws SourceException {
        cluster.allowOnly("paths", "kubernetes");
        boolean hasPaths = cluster.has("paths");
        boolean hasKube = cluster.has("kubernetes");
        if (hasPaths == hasKube) {
            throw cluster.error(hasPaths ? "give either paths or kubernetes, not both"
                    : "missing required field: paths (files and directories) or kubernetes (the API server)");
        }
        if (hasKube) {
            return new ClusterConfig(List.of(), Optional.of(kubernetes(cluster.get("kubernetes"), dir)));
        }
        YamlNode paths = cluster.require("paths");
        List<Path> pathList = new ArrayList<>();
        for (YamlNode p : paths.list()) {
            pathList.add(ConfigValues.path(p, dir));
        }
        if (pathList.isEmpty()) {
            throw paths.error("must list at least one file or directory");
        }
        return new ClusterConfig(List.copyOf(pathList), Optional.empty());
    }

    /** {@code kubernetes:} alone (null) or {@code {}} means all defaults. */
    private static KubernetesSettings kubernetes(YamlNode k, Path dir) throws SourceException {
        if (k == null) {
            return new KubernetesSettings(null, null, KubernetesSettings.DEFAULT_RESYNC_SECONDS);
        }
        k.allowOnly("kubeconfig", "context", "resyncSeconds");
        YamlNode kc = k.get("kubeconfig");
        YamlNode ctx = k.get("context");
        YamlNode resync = k.get("resyncSeconds");
        return new KubernetesSettings(
                kc == null ? null : ConfigValues.path(kc, dir),
                ctx == null ? null : ctx.nonEmptyString(),
                resync == null ? KubernetesSettings.DEFAULT_RESYNC_SECONDS
                        : resync.intValue(0, KubernetesSettings.MAX_RESYNC_SECONDS));
    }
}
