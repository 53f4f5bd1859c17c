package org.egressgw.control.policy;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlFiles;
import org.egressgw.control.yaml.YamlNode;

/**
 * Reads cluster objects (Pod, Namespace, Node, CiliumEgressGatewayPolicy) from files and
 * directories as written by {@code kubectl get -o yaml|json} or by hand.
 *
 * <ul>
 *   <li>A path that is a file is read whatever its name. A directory contributes its
 *       {@code *.yaml}, {@code *.yml} and {@code *.json} files, sorted by name, not recursively;
 *       names starting with '.' are skipped (a mounted ConfigMap's {@code ..data} machinery).</li>
 *   <li>Files may hold several YAML documents; {@code kind: List} (and {@code PodList} etc., whose
 *       items may omit their kind) is unpacked; other kinds are ignored.</li>
 *   <li>Bad content never throws: a file that is not UTF-8 or not valid YAML is skipped as a whole
 *       with one problem, a bad object is skipped with one problem, the second of two objects with
 *       the same kind/namespace/name is skipped with a problem naming the first.</li>
 *   <li>A path that does not exist is a problem, not an exception, so that a gateway can start
 *       (and report) before an inventory directory is populated; a path that exists but cannot be
 *       read is an {@link IOException}, since that is a deployment error to fix rather than data.</li>
 * </ul>
 */
public final class ClusterLoader {
    private final List<Pod> pods = new ArrayList<>();
    private final List<NamespaceObj> namespaces = new ArrayList<>();
    private final List<NodeObj> nodes = new ArrayList<>();
    private final List<EgressPolicy> policies = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private final Map<String, String> seen = new HashMap<>();

    private ClusterLoader() {
    }

    /** See the class comment for what is a problem and what throws. */
    public static ClusterState load(List<Path> paths) throws IOException {
        ClusterLoader loader = new ClusterLoader();
        for (Path p : paths) {
            loader.loadPath(p);
        }
        return new ClusterState(loader.pods, loader.namespaces, loader.nodes, loader.policies, loader.problems);
    }

    private void loadPath(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            List<Path> files = new ArrayList<>();
            try (DirectoryStream<Path> dir = Files.newDirectoryStream(path)) {
                for (Path f : dir) {
                    String name = f.getFileName().toString();
                    String lower = name.toLowerCase(Locale.ROOT);
                    if (!name.startsWith(".") && (lower.endsWith(".yaml") || lower.endsWith(".yml")
                            || lower.endsWith(".json")) && Files.isRegularFile(f)) {
                        files.add(f);
                    }
                }
            }
            files.sort(null);
            for (Path f : files) {
                loadFile(f);
            }
        } else if (Files.exists(path)) {
            loadFile(path);
        } else {
            problems.add(SourceException.format(path.toString(), 0, "no such file or directory"));
        }
    }

    private void loadFile(Path file) throws IOException {
        List<YamlNode> docs;
        try {
            docs = YamlFiles.read(file);
        } catch (SourceException e) {
            problems.add(e.getMessage() + " (file skipped)");
            return;
        }
        for (YamlNode doc : docs) {
            object(doc, null, 0);
        }
    }

    private void object(YamlNode obj, String impliedKind, int depth) {
        try {
            if (!obj.isMapping()) {
                throw obj.error("expected a Kubernetes object (a mapping), got " + obj.kindName());
            }
            YamlNode kindNode = obj.get("kind");
            String kind = kindNode != null ? kindNode.string() : impliedKind;
            if (kind == null) {
                throw obj.error("kind: missing required field");
            }
            if (kind.endsWith("List") && obj.has("items")) {
                if (depth > 0) {
                    throw obj.error("nested " + kind + " is not supported");
                }
                YamlNode items = obj.get("items");
                String itemKind = kind.equals("List") ? null : kind.substring(0, kind.length() - 4);
                for (YamlNode item : items == null ? List.<YamlNode>of() : items.list()) {
                    object(item, itemKind, depth + 1);
                }
                return;
            }
            switch (kind) {
                case "Pod" -> {
                    Pod p = Pod.parse(obj);
                    if (unique("Pod " + p.namespace() + "/" + p.name(), obj)) {
                        pods.add(p);
                    }
                }
                case "Namespace" -> {
                    NamespaceObj n = NamespaceObj.parse(obj);
                    if (unique("Namespace " + n.name(), obj)) {
                        namespaces.add(n);
                    }
                }
                case "Node" -> {
                    NodeObj n = NodeObj.parse(obj);
                    if (unique("Node " + n.name(), obj)) {
                        nodes.add(n);
                    }
                }
                case EgressPolicy.KIND -> {
                    List<String> warnings = new ArrayList<>();
                    EgressPolicy p = EgressPolicy.parse(obj, warnings);
                    if (unique(EgressPolicy.KIND + " " + p.name(), obj)) {
                        policies.add(p);
                        problems.addAll(warnings);
                    }
                }
                default -> {
                    // other kinds (Services, Deployments, ...) are not ours to read
                }
            }
        } catch (SourceException e) {
            problems.add(e.getMessage());
        }
    }

    private boolean unique(String key, YamlNode obj) {
        String first = seen.putIfAbsent(key, obj.where());
        if (first == null) {
            return true;
        }
        problems.add(SourceException.format(obj.file(), obj.line(),
                "duplicate " + key + " (first at " + first + "), skipped"));
        return false;
    }
}
