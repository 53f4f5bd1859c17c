package org.egressgw.control.yaml;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.Ipv4Cidr;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * A composed YAML node with its file, 1-based line and field path (e.g.
 * {@code spec.destinationCIDRs[1]}), for binding by hand with errors that point at the input.
 * Every accessor that can fail throws a {@link SourceException} whose reason starts with the path.
 *
 * <p>An explicit YAML null ({@code key:}, {@code ~}, {@code null}) reads as absent: {@link #get}
 * returns null for it and {@link #require} reports it as an empty value. Mapping keys must be
 * scalars and unique; this is checked the first time a mapping is read. Not thread-safe (the key
 * index is built lazily); binders use a tree from one thread.
 */
public final class YamlNode {
    private final String file;
    private final Node node;
    private final String path;
    private final int keyLine;
    private Map<String, NodeTuple> entries;

    /**
     * @param file how errors name the source file
     * @param node the composed node
     * @param path the field path of the node, "" for a document root
     */
    public YamlNode(String file, Node node, String path) {
        this(file, node, path, 0);
    }

    private YamlNode(String file, Node node, String path, int keyLine) {
        this.file = file;
        this.node = node;
        this.path = path;
        this.keyLine = keyLine;
    }

    private YamlNode value(NodeTuple t, String key) {
        Node k = t.getKeyNode();
        int kl = k.getStartMark() == null ? 0 : k.getStartMark().getLine() + 1;
        return new YamlNode(file, t.getValueNode(), child(key), kl);
    }

    public String file() {
        return file;
    }

    /**
     * 1-based line of the node: for a mapping value the line of its key (a block mapping or list
     * starts on the line after its key, but users look for the key), otherwise where it starts.
     */
    public int line() {
        if (keyLine > 0) {
            return keyLine;
        }
        return node.getStartMark() == null ? 0 : node.getStartMark().getLine() + 1;
    }

    /** Field path, "" for a document root. */
    public String path() {
        return path;
    }

    public Node node() {
        return node;
    }

    /** {@code file:line}, for naming where an object came from. */
    public String where() {
        return line() > 0 ? file + ":" + line() : file;
    }

    /** An error at this node: {@code file:line: path: reason}. */
    public SourceException error(String reason) {
        return new SourceException(file, line(), path.isEmpty() ? reason : path + ": " + reason);
    }

    public boolean isNull() {
        return node instanceof ScalarNode && node.getTag().equals(Tag.NULL);
    }

    public boolean isScalar() {
        return node instanceof ScalarNode && !isNull();
    }

    public boolean isMapping() {
        return node instanceof MappingNode;
    }

    public boolean isSequence() {
        return node instanceof SequenceNode;
    }

    /** What the node is, for "expected X, got Y" messages. */
    public String kindName() {
        if (node instanceof MappingNode) {
            return "a mapping";
        }
        if (node instanceof SequenceNode) {
            return "a list";
        }
        return isNull() ? "null" : "a scalar";
    }

    // ---------------------------------------------------------------- scalars

    /** The text of a non-null scalar, as written (quoted or not). */
    public String string() throws SourceException {
        if (!isScalar()) {
            throw error("expected a string, got " + kindName());
        }
        return ((ScalarNode) node).getValue();
    }

    /** The text of a non-null scalar that is not empty or blank. */
    public String nonEmptyString() throws SourceException {
        String s = string();
        if (s.isBlank()) {
            throw error("must not be empty");
        }
        return s;
    }

    /** A decimal integer within {@code min..max}. */
    public long longValue(long min, long max) throws SourceException {
        if (!isScalar()) {
            throw error("expected an integer, got " + kindName());
        }
        String s = ((ScalarNode) node).getValue().trim();
        long v;
        try {
            if (s.isEmpty() || s.length() > 19 || !s.matches("[+-]?[0-9]+")) {
                throw new NumberFormatException();
            }
            v = Long.parseLong(s.startsWith("+") ? s.substring(1) : s);
        } catch (NumberFormatException e) {
            throw error("not an integer: '" + abbreviate(s) + "'");
        }
        if (v < min || v > max) {
            throw error(v + " is not within " + min + ".." + max);
        }
        return v;
    }

    /** A decimal integer within {@code min..max}. */
    public int intValue(int min, int max) throws SourceException {
        return (int) longValue(min, max);
    }

    /** {@code true} or {@code false}. */
    public boolean booleanValue() throws SourceException {
        String s = isScalar() ? ((ScalarNode) node).getValue() : null;
        if ("true".equals(s)) {
            return true;
        }
        if ("false".equals(s)) {
            return false;
        }
        throw error(s == null ? "expected true or false, got " + kindName()
                : "expected true or false, got '" + abbreviate(s) + "'");
    }

    /** A dotted-quad IPv4 address, network order. */
    public int ipv4() throws SourceException {
        String s = string();
        try {
            return Ipv4Address.parse(s.trim());
        } catch (IllegalArgumentException e) {
            throw error("not an IPv4 address: '" + abbreviate(s) + "'");
        }
    }

    /** An IPv4 CIDR with host bits zero; a bare address means /32. */
    public Ipv4Cidr ipv4Cidr() throws SourceException {
        String s = string().trim();
        try {
            return Ipv4Cidr.parse(s);
        } catch (IllegalArgumentException e) {
            int slash = s.indexOf('/');
            String tail = slash < 0 ? "" : s.substring(slash + 1);
            if (slash > 0 && Ipv4Address.isValid(s.substring(0, slash)) && tail.matches("[0-9]{1,2}")
                    && Integer.parseInt(tail) <= 32) {
                throw error("not an IPv4 CIDR: '" + abbreviate(s) + "' (host bits set, did you mean "
                        + Ipv4Address.toString(Ipv4Address.parse(s.substring(0, slash))
                        & Ipv4Cidr.mask(Integer.parseInt(tail))) + "/" + tail + "?)");
            }
            throw error("not an IPv4 CIDR: '" + abbreviate(s) + "'");
        }
    }

    // ---------------------------------------------------------------- sequences

    /** The elements of a list, with paths {@code path[i]}. */
    public List<YamlNode> list() throws SourceException {
        if (!(node instanceof SequenceNode)) {
            throw error("expected a list, got " + kindName());
        }
        List<Node> values = ((SequenceNode) node).getValue();
        List<YamlNode> out = new ArrayList<>(values.size());
        for (int i = 0; i < values.size(); i++) {
            out.add(new YamlNode(file, values.get(i), path + "[" + i + "]"));
        }
        return out;
    }

    /** A list of non-null scalars. */
    public List<String> stringList() throws SourceException {
        List<String> out = new ArrayList<>();
        for (YamlNode e : list()) {
            out.add(e.string());
        }
        return out;
    }

    // ---------------------------------------------------------------- mappings

    /** Throws unless this is a mapping with unique scalar keys. */
    public YamlNode requireMapping() throws SourceException {
        index();
        return this;
    }

    /** Keys of a mapping in document order. */
    public List<String> keys() throws SourceException {
        return new ArrayList<>(index().keySet());
    }

    /** True if the mapping has {@code key}, even with a null value. */
    public boolean has(String key) throws SourceException {
        return index().containsKey(key);
    }

    /** The value of {@code key}, or null when the key is absent or its value is null. */
    public YamlNode get(String key) throws SourceException {
        NodeTuple t = index().get(key);
        if (t == null) {
            return null;
        }
        YamlNode v = value(t, key);
        return v.isNull() ? null : v;
    }

    /** The value of a required key; absent or null values are errors. */
    public YamlNode require(String key) throws SourceException {
        NodeTuple t = index().get(key);
        if (t == null) {
            throw new SourceException(file, line(), child(key) + ": missing required field");
        }
        YamlNode v = value(t, key);
        if (v.isNull()) {
            throw v.error("must not be empty");
        }
        return v;
    }

    /** Rejects keys outside {@code allowed}, naming the first unknown key at its own line. */
    public void allowOnly(String... allowed) throws SourceException {
        allowOnly(Arrays.asList(allowed));
    }

    /** Rejects keys outside {@code allowed}, naming the first unknown key at its own line. */
    public void allowOnly(Collection<String> allowed) throws SourceException {
        for (Map.Entry<String, NodeTuple> e : index().entrySet()) {
            if (!allowed.contains(e.getKey())) {
                Node k = e.getValue().getKeyNode();
                int line = k.getStartMark() == null ? line() : k.getStartMark().getLine() + 1;
                throw new SourceException(file, line, child(abbreviate(e.getKey()))
                        + ": unknown field (allowed: " + String.join(", ", allowed) + ")");
            }
        }
    }

    /** A mapping of string to string, such as Kubernetes labels. */
    public Map<String, String> stringMap() throws SourceException {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, NodeTuple> e : index().entrySet()) {
            YamlNode v = value(e.getValue(), e.getKey());
            out.put(e.getKey(), v.isNull() ? "" : v.string());
        }
        return Collections.unmodifiableMap(out);
    }

    private String child(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private Map<String, NodeTuple> index() throws SourceException {
        if (entries != null) {
            return entries;
        }
        if (!(node instanceof MappingNode)) {
            throw error("expected a mapping, got " + kindName());
        }
        Map<String, NodeTuple> map = new LinkedHashMap<>();
        for (NodeTuple t : ((MappingNode) node).getValue()) {
            YamlNode k = new YamlNode(file, t.getKeyNode(), path);
            if (!k.isScalar()) {
                throw k.error("mapping keys must be strings, got " + k.kindName());
            }
            String key = ((ScalarNode) t.getKeyNode()).getValue();
            if (map.putIfAbsent(key, t) != null) {
                throw k.error("duplicate key '" + abbreviate(key) + "'");
            }
        }
        entries = map;
        return map;
    }

    /** Shortens user text quoted in messages. */
    public static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }
}
