package org.egressgw.control.k8s;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;

/**
 * A Kubernetes label selector: every {@code matchLabels} pair and every {@code matchExpressions}
 * requirement must hold (AND). The empty selector ({@code {}}) matches every label set. Immutable.
 *
 * <p>Keys written with a Cilium label source prefix ({@code k8s:app}, {@code any:app}) are matched
 * without the prefix, since all labels this gateway sees come from Kubernetes.
 */
public final class LabelSelector {
    /** Matches every label set. */
    public static final LabelSelector EVERYTHING = new LabelSelector(Map.of(), List.of());

    /** The four Kubernetes selector operators, spelled as in YAML. */
    public enum Operator {
        In, NotIn, Exists, DoesNotExist
    }

    /**
     * One {@code matchExpressions} entry.
     *
     * @param values non-empty for In/NotIn, empty for Exists/DoesNotExist
     */
    public record Requirement(String key, Operator operator, List<String> values) {
        public Requirement {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(operator, "operator");
            values = List.copyOf(values);
            boolean needsValues = operator == Operator.In || operator == Operator.NotIn;
            if (needsValues == values.isEmpty()) {
                throw new IllegalArgumentException(needsValues
                        ? "operator " + operator + " needs values" : "operator " + operator + " takes no values");
            }
        }

        /** Kubernetes semantics: NotIn and DoesNotExist hold when the label is absent. */
        public boolean matches(Map<String, String> labels) {
            String v = labels.get(key);
            return switch (operator) {
                case In -> v != null && values.contains(v);
                case NotIn -> v == null || !values.contains(v);
                case Exists -> v != null;
                case DoesNotExist -> v == null;
            };
        }
    }

    private final Map<String, String> matchLabels;
    private final List<Requirement> matchExpressions;

    public LabelSelector(Map<String, String> matchLabels, List<Requirement> matchExpressions) {
        Map<String, String> m = new LinkedHashMap<>();
        matchLabels.forEach((k, v) -> m.put(stripSource(k), v));
        this.matchLabels = Collections.unmodifiableMap(m);
        this.matchExpressions = List.copyOf(matchExpressions);
    }

    /** A selector of {@code matchLabels} only. */
    public static LabelSelector of(Map<String, String> matchLabels) {
        return new LabelSelector(matchLabels, List.of());
    }

    /**
     * Binds a selector from YAML: {@code {matchLabels: {k: v}, matchExpressions: [{key, operator,
     * values}]}}. Unknown fields, unknown operators, In/NotIn without values and
     * Exists/DoesNotExist with values are errors at their line.
     */
    public static LabelSelector parse(YamlNode node) throws SourceException {
        node.allowOnly("matchLabels", "matchExpressions");
        Map<String, String> labels = new LinkedHashMap<>();
        YamlNode ml = node.get("matchLabels");
        if (ml != null) {
            for (String key : ml.keys()) {
                YamlNode v = ml.get(key);
                if (key.isBlank()) {
                    throw ml.error("label key must not be empty");
                }
                labels.put(key, v == null ? "" : v.string());
            }
        }
        List<Requirement> reqs = new ArrayList<>();
        YamlNode me = node.get("matchExpressions");
        if (me != null) {
            for (YamlNode e : me.list()) {
                e.allowOnly("key", "operator", "values");
                String key = e.require("key").nonEmptyString();
                YamlNode opNode = e.require("operator");
                String opText = opNode.string();
                Operator op;
                try {
                    op = Operator.valueOf(opText);
                } catch (IllegalArgumentException ex) {
                    throw opNode.error("unknown operator '" + YamlNode.abbreviate(opText)
                            + "' (expected In, NotIn, Exists or DoesNotExist)");
                }
                YamlNode valuesNode = e.get("values");
                List<String> values = valuesNode == null ? List.of()
                        : new ArrayList<>(new LinkedHashSet<>(valuesNode.stringList()));
                if ((op == Operator.In || op == Operator.NotIn) && values.isEmpty()) {
                    throw (valuesNode == null ? e : valuesNode).error("operator " + op + " needs a non-empty values list");
                }
                if ((op == Operator.Exists || op == Operator.DoesNotExist) && !values.isEmpty()) {
                    throw valuesNode.error("operator " + op + " must not have values");
                }
                reqs.add(new Requirement(stripSource(key), op, values));
            }
        }
        return new LabelSelector(labels, reqs);
    }

    /** True if every requirement holds for {@code labels}; the empty selector matches everything. */
    public boolean matches(Map<String, String> labels) {
        for (Map.Entry<String, String> e : matchLabels.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        for (Requirement r : matchExpressions) {
            if (!r.matches(labels)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Why {@code labels} do not match, naming the first failing requirement (matchLabels in
     * order, then matchExpressions), e.g. {@code label app is 'web', wants 'payment-processor'};
     * null when they match.
     */
    public String mismatch(Map<String, String> labels) {
        for (Map.Entry<String, String> e : matchLabels.entrySet()) {
            String v = labels.get(e.getKey());
            if (!e.getValue().equals(v)) {
                return "label " + e.getKey() + (v == null ? " is absent" : " is '" + v + "'")
                        + ", wants '" + e.getValue() + "'";
            }
        }
        for (Requirement r : matchExpressions) {
            if (!r.matches(labels)) {
                String v = labels.get(r.key());
                String is = "label " + r.key() + (v == null ? " is absent" : " is '" + v + "'");
                return switch (r.operator()) {
                    case In -> is + ", wants one of (" + String.join(",", r.values()) + ")";
                    case NotIn -> is + ", wants none of (" + String.join(",", r.values()) + ")";
                    case Exists -> is + ", wants it to exist";
                    case DoesNotExist -> is + ", wants it absent";
                };
            }
        }
        return null;
    }

    public boolean isEmpty() {
        return matchLabels.isEmpty() && matchExpressions.isEmpty();
    }

    public Map<String, String> matchLabels() {
        return matchLabels;
    }

    public List<Requirement> matchExpressions() {
        return matchExpressions;
    }

    private static String stripSource(String key) {
        if (key.startsWith("k8s:")) {
            return key.substring(4);
        }
        if (key.startsWith("any:")) {
            return key.substring(4);
        }
        return key;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LabelSelector s && s.matchLabels.equals(matchLabels)
                && s.matchExpressions.equals(matchExpressions);
    }

    @Override
    public int hashCode() {
        return matchLabels.hashCode() * 31 + matchExpressions.hashCode();
    }

    /** Kubernetes' string form, e.g. {@code app=web,tier in (a,b),!legacy}; {@code <all>} when empty. */
    @Override
    public String toString() {
        if (isEmpty()) {
            return "<all>";
        }
        List<String> parts = new ArrayList<>();
        matchLabels.forEach((k, v) -> parts.add(k + "=" + v));
        for (Requirement r : matchExpressions) {
            parts.add(switch (r.operator()) {
                case In -> r.key() + " in (" + String.join(",", r.values()) + ")";
                case NotIn -> r.key() + " notin (" + String.join(",", r.values()) + ")";
                case Exists -> r.key();
                case DoesNotExist -> "!" + r.key();
            });
        }
        return String.join(",", parts);
    }
}
