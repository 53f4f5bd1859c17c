package org.egressgw.core.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.control.policy.ClusterLoader;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.control.policy.CompiledPolicies;
import org.egressgw.control.policy.PolicyCompiler;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.core.host.Interfaces;
import org.egressgw.kube.KubernetesClusterSource;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Where {@code list}, {@code explain} and {@code status} get the cluster from: a running gateway
 * ({@code --admin HOST:PORT}, the default when nothing else is given), a gateway configuration
 * ({@code --config FILE}: its files or Kubernetes API, compiled as that gateway would), or files
 * ({@code PATH...}, compiled without a local node; {@code --node NAME} compiles as that node).
 */
final class PolicySourceOptions {
    @Option(names = "--admin", paramLabel = "HOST:PORT", description = "Ask a running gateway (default 127.0.0.1:9464).")
    String admin;

    @Option(names = "--config", paramLabel = "FILE", description = "Work offline from this gateway configuration.")
    Path config;

    @Option(names = "--node", paramLabel = "NAME", description = "With PATH...: compile as the gateway on this node.")
    String node;

    @Parameters(paramLabel = "PATH", arity = "0..*", description = "Offline: policy and inventory files or directories.")
    List<Path> paths = new ArrayList<>();

    boolean online() {
        return config == null && paths.isEmpty();
    }

    AdminClient adminClient() {
        AdminClient c = new AdminClient();
        c.admin = admin;
        return c;
    }

    /** The cluster state and its compilation, offline. */
    record Offline(ClusterState state, CompiledPolicies compiled) {
    }

    Offline load() throws Exception {
        if (config != null) {
            GatewayConfig cfg = GatewayConfig.load(config);
            ClusterState state;
            if (cfg.cluster().kubernetes().isPresent()) {
                AtomicReference<ClusterState> first = new AtomicReference<>();
                try (KubernetesClusterSource source = KubernetesClusterSource.connect(cfg.cluster().kubernetes().get())) {
                    source.start(first::set);
                }
                state = first.get();
            } else {
                state = ClusterLoader.load(cfg.cluster().paths());
            }
            return new Offline(state, PolicyCompiler.compile(state, cfg.node().name(), Interfaces::firstIpv4, cfg.egress().interfaceName()));
        }
        ClusterState state = ClusterLoader.load(paths);
        CompiledPolicies compiled = node == null ? PolicyCompiler.neutral(state)
                : PolicyCompiler.compile(state, node, Interfaces::firstIpv4, "eth0");
        return new Offline(state, compiled);
    }

    static int fail(Exception e) {
        if (e instanceof SourceException) {
            System.err.println("egress-gateway: refused configuration: " + e.getMessage());
            return 2;
        }
        System.err.println("egress-gateway: " + e.getMessage());
        return 1;
    }
}
