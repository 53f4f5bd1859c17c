package org.egressgw.control.k8s;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;
import org.egressgw.packet.Ipv4Address;

/**
 * A Kubernetes Pod as far as egress policies need it.
 *
 * @param namespace {@code metadata.namespace}, "default" when absent
 * @param uid {@code metadata.uid}, "" when absent
 * @param nodeName {@code spec.nodeName}, null when not scheduled
 * @param ipv4Addresses the pod's IPv4 addresses that egress policies may act on (see {@link #parse})
 * @param source {@code file:line} of the object
 */
public record Pod(String namespace, String name, String uid, Map<String, String> labels, String nodeName,
                  List<Integer> ipv4Addresses, String source) {
    public Pod {
        labels = Map.copyOf(labels);
        ipv4Addresses = List.copyOf(ipv4Addresses);
    }

    /**
     * Binds a {@code kind: Pod} object. Addresses come from {@code status.podIPs[].ip}, or
     * {@code status.podIP} when podIPs is absent; IPv6 entries are skipped. As with Cilium, which
     * has no endpoint for them, pods with {@code spec.hostNetwork: true} (their IP is the node's)
     * and finished pods ({@code status.phase} Succeeded or Failed, whose IP may already belong to
     * another pod) get no addresses. Fields other than these are ignored.
     */
    public static Pod parse(YamlNode obj) throws SourceException {
        YamlNode meta = obj.require("metadata");
        String name = meta.require("name").nonEmptyString();
        YamlNode nsNode = meta.get("namespace");
        String namespace = nsNode == null ? "default" : nsNode.nonEmptyString();
        YamlNode uidNode = meta.get("uid");
        String uid = uidNode == null ? "" : uidNode.string();
        YamlNode labelsNode = meta.get("labels");
        Map<String, String> labels = labelsNode == null ? Map.of() : labelsNode.stringMap();

        YamlNode spec = obj.get("spec");
        String nodeName = null;
        boolean hostNetwork = false;
        if (spec != null) {
            YamlNode nn = spec.get("nodeName");
            nodeName = nn == null ? null : nn.string();
            YamlNode hn = spec.get("hostNetwork");
            hostNetwork = hn != null && hn.booleanValue();
        }

        List<Integer> ips = new ArrayList<>();
        YamlNode status = obj.get("status");
        if (status != null) {
            YamlNode podIps = status.get("podIPs");
            if (podIps != null) {
                for (YamlNode entry : podIps.list()) {
                    addIpv4(entry.require("ip"), ips);
                }
            } else {
                YamlNode podIp = status.get("podIP");
                if (podIp != null) {
                    addIpv4(podIp, ips);
                }
            }
            YamlNode phase = status.get("phase");
            if (phase != null && phase.isScalar()
                    && ("Succeeded".equals(phase.string()) || "Failed".equals(phase.string()))) {
                ips.clear();
            }
        }
        if (hostNetwork) {
            ips.clear();
        }
        return new Pod(namespace, name, uid, labels, nodeName, ips, obj.where());
    }

    private static void addIpv4(YamlNode n, List<Integer> out) throws SourceException {
        String text = n.string();
        if (text.indexOf(':') >= 0) {
            return; // IPv6: not supported by the gateway yet
        }
        try {
            int ip = Ipv4Address.parse(text);
            if (!out.contains(ip)) {
                out.add(ip);
            }
        } catch (IllegalArgumentException e) {
            throw n.error("not an IP address: '" + YamlNode.abbreviate(text) + "'");
        }
    }
}
