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
 *
 * <p>The steps are public for sources that re-read single files: {@link #listFiles},
 * {@link #readFile}, {@link #merge}. Stateless and thread-safe.
 */
public final class ClusterLoader {
    private ClusterLoader() {
    }

    /** See the class comment for what is a problem and what throws. */
    public static ClusterState load(List<Path> paths) throws IOException {
        List<FileObjects> read = new ArrayList<>();
        for (Path path : paths) {
            List<String> problems = new ArrayList<>();
            for (Path f : listFiles(List.of(path), problems)) {
                read.add(readFile(f));
            }
            if (!problems.isEmpty()) {
                read.add(FileObjects.problems(path, problems));
            }
        }
        return merge(List.of(), read);
    }

    /**
     * The files the paths stand for, in reading order; a missing path adds a problem.
     *
     * @throws IOException when an existing directory cannot be listed
     */
    public static List<Path> listFiles(List<Path> paths, List<String> problems) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path path : paths) {
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
                out.addAll(files);
            } else if (Files.exists(path)) {
                out.add(path);
            } else {
                problems.add(SourceException.format(path.toString(), 0, "no such file or directory"));
            }
        }
        return out;
    }

    /**
     * What one file holds: its objects and problems in document order, before duplicates across
     * files are resolved. {@link #wellFormed()} is false when the file as a whole could not be
     * read (not UTF-8, not YAML); it then holds exactly one problem and no object.
     */
    public static final class FileObjects {
        private final Path file;
        private final List<Item> items;
        private final boolean wellFormed;

        private FileObjects(Path file, List<Item> items, boolean wellFormed) {
            this.file = file;
            this.items = List.copyOf(items);
            this.wellFormed = wellFormed;
        }

        /** Problems only, e.g. for a missing path, to keep them in reading order in {@link #merge}. */
        public static FileObjects problems(Path file, List<String> problems) {
            List<Item> items = new ArrayList<>();
            for (String p : problems) {
                items.add(new Item(null, null, null, List.of(p)));
            }
            return new FileObjects(file, items, true);
        }

        public Path file() {
            return file;
        }

        public boolean wellFormed() {
            return wellFormed;
        }

        /** Number of objects read (policies, pods, namespaces, nodes). */
        public int objectCount() {
            return (int) items.stream().filter(i -> i.key != null).count();
        }

        /** The file-level problem when not {@link #wellFormed()}, else null. */
        public String fileProblem() {
            return wellFormed ? null : items.get(0).messages.get(0);
        }
    }

    /**
     * One entry of a file: an object (key non-null; messages are its warnings), a refused policy
     * or a problem.
     */
    private record Item(String key, String where, Object object, List<String> messages) {
    }

    /**
     * Reads one file. Bad content is recorded, never thrown.
     *
     * @throws IOException when the file cannot be read
     */
    public static FileObjects readFile(Path file) throws IOException {
        List<YamlNode> docs;
        try {
            docs = YamlFiles.read(file);
        } catch (SourceException e) {
            return new FileObjects(file, List.of(new Item(null, null, null, List.of(e.getMessage() + " (file skipped)"))),
                    false);
        }
        List<Item> items = new ArrayList<>();
        for (YamlNode doc : docs) {
            object(doc, null, 0, items);
        }
        return new FileObjects(file, items, true);
    }

    /**
     * Builds a state from files read by {@link #readFile}, in the given order: the first object of
     * a kind/namespace/name wins, later ones are problems naming the first.
     *
     * @param leadingProblems problems that come first (missing paths, notes of the caller)
     */
    public static ClusterState merge(List<String> leadingProblems, List<FileObjects> files) {
        List<Pod> pods = new ArrayList<>();
        List<NamespaceObj> namespaces = new ArrayList<>();
        List<NodeObj> nodes = new ArrayList<>();
        List<EgressPolicy> policies = new ArrayList<>();
        List<RefusedPolicy> refused = new ArrayList<>();
        List<String> problems = new ArrayList<>(leadingProblems);
        Map<String, String> seen = new HashMap<>();
        for (FileObjects f : files) {
            for (Item item : f.items) {
                if (item.key == null) {
                    if (item.object instanceof RefusedPolicy r) {
                        refused.add(r);
                    }
                    problems.addAll(item.messages);
                    continue;
                }
                String first = seen.putIfAbsent(item.key, item.where);
                if (first != null) {
                    problems.add(item.where + ": duplicate " + item.key + " (first at " + first + "), skipped");
                    continue;
                }
                problems.addAll(item.messages);
                if (item.object instanceof Pod p) {
                    pods.add(p);
                } else if (item.object instanceof NamespaceObj n) {
                    namespaces.add(n);
                } else if (item.object instanceof NodeObj n) {
                    nodes.add(n);
                } else {
                    policies.add((EgressPolicy) item.object);
                }
            }
        }
        return new ClusterState(pods, namespaces, nodes, policies, problems, refused);
    }

    private static void object(YamlNode obj, String impliedKind, int depth, List<Item> out) {
        String kind = null;
        try {
            if (!obj.isMapping()) {
                throw obj.error("expected a Kubernetes object (a mapping), got " + obj.kindName());
            }
            YamlNode kindNode = obj.get("kind");
            kind = kindNode != null ? kindNode.string() : impliedKind;
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
                    object(item, itemKind, depth + 1, out);
                }
                return;
            }
            switch (kind) {
                case "Pod" -> {
                    Pod p = Pod.parse(obj);
                    out.add(new Item("Pod " + p.namespace() + "/" + p.name(), obj.where(), p, List.of()));
                }
                case "Namespace" -> {
                    NamespaceObj n = NamespaceObj.parse(obj);
                    out.add(new Item("Namespace " + n.name(), obj.where(), n, List.of()));
                }
                case "Node" -> {
                    NodeObj n = NodeObj.parse(obj);
                    out.add(new Item("Node " + n.name(), obj.where(), n, List.of()));
                }
                case EgressPolicy.KIND -> {
                    List<String> warnings = new ArrayList<>();
                    EgressPolicy p = EgressPolicy.parse(obj, warnings);
                    out.add(new Item(EgressPolicy.KIND + " " + p.name(), obj.where(), p, warnings));
                }
                default -> {
                    // other kinds (Services, Deployments, ...) are not ours to read
                }
            }
        } catch (SourceException e) {
            Object refused = EgressPolicy.KIND.equals(kind)
                    ? new RefusedPolicy(nameOf(obj), obj.where(), e.getMessage()) : null;
            out.add(new Item(null, obj.where(), refused, List.of(e.getMessage())));
        }
    }

    /** Best-effort {@code metadata.name} of an object that failed to bind. */
    private static String nameOf(YamlNode obj) {
        try {
            YamlNode meta = obj.get("metadata");
            YamlNode name = meta == null ? null : meta.get("name");
            return name == null || !name.isScalar() ? null : name.string();
        } catch (SourceException e) {
            return null;
        }
    }
}
