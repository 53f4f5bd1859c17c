package org.egressgw.control.k8s;

import java.util.Map;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;

/**
 * A Kubernetes Namespace as far as egress policies need it.
 *
 * @param labels as written; matching adds {@code kubernetes.io/metadata.name} when absent
 * @param source {@code file:line} of the object
 */
public record NamespaceObj(String name, Map<String, String> labels, String source) {
    /** The label Kubernetes (1.21+) sets on every namespace to its name. */
    public static final String NAME_LABEL = "kubernetes.io/metadata.name";

    public NamespaceObj {
        labels = Map.copyOf(labels);
    }

    /** Binds a {@code kind: Namespace} object; fields other than name and labels are ignored. */
    public static NamespaceObj parse(YamlNode obj) throws SourceException {
        YamlNode meta = obj.require("metadata");
        String name = meta.require("name").nonEmptyString();
        YamlNode labels = meta.get("labels");
        return new NamespaceObj(name, labels == null ? Map.of() : labels.stringMap(), obj.where());
    }

    /** Labels as selectors see them, including the implicit {@link #NAME_LABEL}. */
    public Map<String, String> effectiveLabels() {
        return withNameLabel(name, labels);
    }

    /** {@code labels} plus {@code kubernetes.io/metadata.name=namespace} unless already present. */
    public static Map<String, String> withNameLabel(String namespace, Map<String, String> labels) {
        if (labels.containsKey(NAME_LABEL)) {
            return labels;
        }
        java.util.HashMap<String, String> m = new java.util.HashMap<>(labels);
        m.put(NAME_LABEL, namespace);
        return m;
    }
}
