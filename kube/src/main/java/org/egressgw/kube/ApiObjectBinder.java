package org.egressgw.kube;

import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import org.egressgw.control.k8s.NamespaceObj;
import org.egressgw.control.k8s.NodeObj;
import org.egressgw.control.k8s.Pod;
import org.egressgw.control.policy.EgressPolicy;
import org.egressgw.control.policy.RefusedPolicy;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlFiles;
import org.egressgw.control.yaml.YamlNode;

/**
 * Turns objects read from the Kubernetes API into the records the file loader produces, by
 * serializing each one and running it through the control module's own binders ({@link Pod#parse},
 * {@link EgressPolicy#parse}, ...). An object from the API is therefore accepted, refused or warned
 * about exactly as the same object in a file would be, with the same reasons.
 *
 * <p>The "file" in records and messages is the object's name, {@code kubernetes:Kind/NAME} or
 * {@code kubernetes:Kind/NAMESPACE/NAME}, without a line number: lines would count in our
 * serialization, not in anything the user can look at.
 *
 * <p>Objects are serialized as JSON rather than YAML: every JSON string is quoted, so a label
 * value such as {@code null}, {@code ""} or {@code true} stays that string when SnakeYAML composes
 * it, whatever the YAML emitter's quoting rules are.
 *
 * <p>Stateless apart from the (thread-safe) serializer; safe to use from any thread.
 */
public final class ApiObjectBinder {
    /** Prefix of the "file" naming an API object in records and problems. */
    public static final String SOURCE_PREFIX = "kubernetes:";

    /**
     * One bound object: {@code value} is null when the object was refused; {@code problems} holds
     * the refusal or the warnings of an accepted policy, as {@code kubernetes:Kind/NAME: reason}.
     */
    public record Bound<T>(T value, List<String> problems) {
        public Bound {
            problems = List.copyOf(problems);
        }
    }

    private final KubernetesSerialization serialization;

    /** @param serialization the client's, so that objects serialize as the client read them */
    public ApiObjectBinder(KubernetesSerialization serialization) {
        this.serialization = Objects.requireNonNull(serialization, "serialization");
    }

    /** {@code kubernetes:Kind/NAMESPACE/NAME}, or {@code kubernetes:Kind/NAME} for cluster-scoped objects. */
    public static String sourceName(String kind, HasMetadata obj) {
        ObjectMeta meta = obj.getMetadata();
        String name = meta == null ? null : meta.getName();
        String namespace = meta == null ? null : meta.getNamespace();
        return SOURCE_PREFIX + kind + "/" + (namespace == null || namespace.isEmpty() ? "" : namespace + "/")
                + (name == null ? "?" : name);
    }

    /** Binds a Pod object. */
    public Bound<Pod> pod(HasMetadata obj) {
        String name = sourceName("Pod", obj);
        try {
            Pod p = Pod.parse(compose(name, obj, "v1", "Pod"));
            return new Bound<>(new Pod(p.namespace(), p.name(), p.uid(), p.labels(), p.nodeName(),
                    p.ipv4Addresses(), name), List.of());
        } catch (SourceException e) {
            return refused(name, e);
        }
    }

    /** Binds a Namespace object. */
    public Bound<NamespaceObj> namespace(HasMetadata obj) {
        String name = sourceName("Namespace", obj);
        try {
            NamespaceObj n = NamespaceObj.parse(compose(name, obj, "v1", "Namespace"));
            return new Bound<>(new NamespaceObj(n.name(), n.labels(), name), List.of());
        } catch (SourceException e) {
            return refused(name, e);
        }
    }

    /** Binds a Node object. */
    public Bound<NodeObj> node(HasMetadata obj) {
        String name = sourceName("Node", obj);
        try {
            NodeObj n = NodeObj.parse(compose(name, obj, "v1", "Node"));
            return new Bound<>(new NodeObj(n.name(), n.labels(), n.internalIp(), name), List.of());
        } catch (SourceException e) {
            return refused(name, e);
        }
    }

    /**
     * Binds and validates a CiliumEgressGatewayPolicy; warnings come back with the accepted policy.
     * A refused policy has no value and one problem; {@link #refused} describes it for status.
     */
    public Bound<EgressPolicy> policy(HasMetadata obj) {
        String name = sourceName(EgressPolicy.KIND, obj);
        try {
            List<String> warnings = new ArrayList<>();
            EgressPolicy p = EgressPolicy.parse(compose(name, obj, EgressPolicy.API_VERSION, EgressPolicy.KIND),
                    warnings);
            List<String> problems = new ArrayList<>(warnings.size());
            for (String w : warnings) {
                problems.add(withoutLine(name, w));
            }
            return new Bound<>(new EgressPolicy(p.name(), p.selectors(), p.destinationCidrs(), p.excludedCidrs(),
                    p.gateways(), name), problems);
        } catch (SourceException e) {
            return refused(name, e);
        }
    }

    /**
     * Serializes {@code obj} and composes it back as one YAML node tree. Objects read from a list
     * may lack apiVersion and kind (the list carries them); the informer's type supplies them then,
     * on a generic copy, since the informer's cached object is shared.
     */
    private YamlNode compose(String name, HasMetadata obj, String apiVersion, String kind) throws SourceException {
        String json;
        try {
            Object o = obj;
            if (obj.getApiVersion() == null || obj.getKind() == null) {
                GenericKubernetesResource copy = serialization.convertValue(obj, GenericKubernetesResource.class);
                if (copy.getApiVersion() == null) {
                    copy.setApiVersion(apiVersion);
                }
                if (copy.getKind() == null) {
                    copy.setKind(kind);
                }
                o = copy;
            }
            json = serialization.asJson(o);
        } catch (RuntimeException e) {
            throw new SourceException(name, 0, "cannot serialize the object: " + e.getMessage());
        }
        List<YamlNode> docs = YamlFiles.parse(name, json);
        if (docs.size() != 1) {
            throw new SourceException(name, 0, "expected one object, serialization gave " + docs.size());
        }
        return docs.get(0);
    }

    /** The refused-policy record of a policy whose {@link #policy} binding had no value. */
    public static RefusedPolicy refused(HasMetadata obj, Bound<EgressPolicy> bound) {
        String name = obj.getMetadata() == null ? null : obj.getMetadata().getName();
        return new RefusedPolicy(name, sourceName(EgressPolicy.KIND, obj), bound.problems().get(0));
    }

    private static <T> Bound<T> refused(String name, SourceException e) {
        return new Bound<>(null, List.of(withoutLine(name, e.getMessage())));
    }

    /** {@code name:LINE: reason} becomes {@code name: reason}; other messages are left as they are. */
    static String withoutLine(String name, String message) {
        String prefix = name + ":";
        if (!message.startsWith(prefix)) {
            return message;
        }
        String rest = message.substring(prefix.length());
        return LINE.matcher(rest).lookingAt() ? name + ": " + LINE.matcher(rest).replaceFirst("") : message;
    }

    private static final Pattern LINE = Pattern.compile("[0-9]+: ");
}
