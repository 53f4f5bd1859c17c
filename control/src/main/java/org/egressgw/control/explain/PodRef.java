package org.egressgw.control.explain;

import java.util.Objects;

/** A pod by namespace and name, as {@code --pod NAMESPACE/NAME} names it. */
public record PodRef(String namespace, String name) {
    public PodRef {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        if (namespace.isEmpty() || name.isEmpty()) {
            throw new IllegalArgumentException("namespace and name must not be empty");
        }
    }

    /**
     * Parses {@code NAMESPACE/NAME}, or {@code NAME} for the default namespace.
     *
     * @throws IllegalArgumentException naming the text when it is not of that form
     */
    public static PodRef parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            if (text.isBlank()) {
                throw new IllegalArgumentException("expected NAMESPACE/NAME, got '" + text + "'");
            }
            return new PodRef("default", text);
        }
        if (slash == 0 || slash == text.length() - 1 || text.indexOf('/', slash + 1) >= 0) {
            throw new IllegalArgumentException("expected NAMESPACE/NAME, got '" + text + "'");
        }
        return new PodRef(text.substring(0, slash), text.substring(slash + 1));
    }

    @Override
    public String toString() {
        return namespace + "/" + name;
    }
}
