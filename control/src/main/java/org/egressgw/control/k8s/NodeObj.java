package org.egressgw.control.k8s;

import java.util.Map;
import java.util.OptionalInt;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;
import org.egressgw.packet.Ipv4Address;

/**
 * A Kubernetes Node as far as egress policies need it.
 *
 * @param internalIp the first IPv4 {@code status.addresses[]} entry of type InternalIP
 * @param source {@code file:line} of the object
 */
public record NodeObj(String name, Map<String, String> labels, OptionalInt internalIp, String source) {
    public NodeObj {
        labels = Map.copyOf(labels);
    }

    /** Binds a {@code kind: Node} object; fields other than name, labels and addresses are ignored. */
    public static NodeObj parse(YamlNode obj) throws SourceException {
        YamlNode meta = obj.require("metadata");
        String name = meta.require("name").nonEmptyString();
        YamlNode labels = meta.get("labels");
        OptionalInt ip = OptionalInt.empty();
        YamlNode status = obj.get("status");
        YamlNode addresses = status == null ? null : status.get("addresses");
        if (addresses != null) {
            for (YamlNode a : addresses.list()) {
                YamlNode type = a.get("type");
                YamlNode address = a.get("address");
                if (type == null || address == null || !"InternalIP".equals(type.string())) {
                    continue;
                }
                String text = address.string();
                if (text.indexOf(':') >= 0) {
                    continue; // IPv6 InternalIP of a dual-stack node
                }
                try {
                    ip = OptionalInt.of(Ipv4Address.parse(text));
                } catch (IllegalArgumentException e) {
                    throw address.error("not an IP address: '" + YamlNode.abbreviate(text) + "'");
                }
                break;
            }
        }
        return new NodeObj(name, labels == null ? Map.of() : labels.stringMap(), ip, obj.where());
    }
}
