package org.egressgw.control.explain;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Function;
import org.egressgw.control.policy.ClusterLoader;
import org.egressgw.control.policy.ClusterState;
import org.egressgw.packet.Ipv4Address;

/** A small cluster covering every verdict, written as files in kubectl's format. */
final class Fixture {
    static final Function<String, OptionalInt> IFACES = name -> name.equals("ext0")
            ? OptionalInt.of(Ipv4Address.parse("192.0.2.100")) : OptionalInt.empty();

    static final String INVENTORY = """
            apiVersion: v1
            kind: List
            items:
            - {apiVersion: v1, kind: Node, metadata: {name: gw-1, labels: {egress-gateway: "true"}},
               status: {addresses: [{type: InternalIP, address: 198.51.100.2}]}}
            - {apiVersion: v1, kind: Node, metadata: {name: gw-2, labels: {role: gw2}},
               status: {addresses: [{type: InternalIP, address: 198.51.100.3}]}}
            - {apiVersion: v1, kind: Node, metadata: {name: worker-a, labels: {zone: a}},
               status: {addresses: [{type: InternalIP, address: 198.51.100.10}]}}
            - {apiVersion: v1, kind: Namespace, metadata: {name: pay, labels: {team: payments}}}
            - {apiVersion: v1, kind: Namespace, metadata: {name: web, labels: {team: web}}}
            - {apiVersion: v1, kind: Pod, metadata: {name: pay-1, namespace: pay, uid: pod-1, labels: {app: payment-processor}},
               spec: {nodeName: worker-a}, status: {podIPs: [{ip: 10.244.1.10}]}}
            - {apiVersion: v1, kind: Pod, metadata: {name: front, namespace: web, uid: pod-2, labels: {app: frontend}},
               spec: {nodeName: worker-a}, status: {podIPs: [{ip: 10.244.1.11}]}}
            - {apiVersion: v1, kind: Pod, metadata: {name: impostor, namespace: web, uid: pod-3, labels: {app: payment-processor}},
               spec: {nodeName: worker-a}, status: {podIPs: [{ip: 10.244.1.12}]}}
            - {apiVersion: v1, kind: Pod, metadata: {name: pending, namespace: pay, uid: pod-4, labels: {app: payment-processor}}}
            """;

    static final String POLICIES = """
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata: {name: payment-egress}
            spec:
              selectors:
              - podSelector: {matchLabels: {app: payment-processor}}
                namespaceSelector: {matchLabels: {team: payments}}
              destinationCIDRs: [203.0.113.0/24]
              excludedCIDRs: [203.0.113.128/25]
              egressGateway:
                nodeSelector: {matchLabels: {egress-gateway: "true"}}
                egressIP: 192.0.2.10
            ---
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata: {name: frontend-elsewhere}
            spec:
              selectors: [{podSelector: {matchLabels: {app: frontend}}}]
              destinationCIDRs: [198.18.0.0/15]
              egressGateway: {nodeSelector: {matchLabels: {role: gw2}}, egressIP: 192.0.2.20}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata: {name: nogw}
            spec:
              selectors: [{podSelector: {matchLabels: {app: frontend}}}]
              destinationCIDRs: [192.0.2.0/24]
              egressGateway: {nodeSelector: {matchLabels: {role: missing}}}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata: {name: iface-policy}
            spec:
              selectors: [{podSelector: {matchLabels: {app: payment-processor}}}]
              destinationCIDRs: [198.51.100.0/24]
              egressGateway: {nodeSelector: {matchLabels: {egress-gateway: "true"}}, interface: eth9}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata: {name: zone-b}
            spec:
              selectors:
              - podSelector: {matchExpressions: [{key: app, operator: Exists}]}
                nodeSelector: {matchLabels: {zone: b}}
              destinationCIDRs: [8.8.8.0/24]
              egressGateway: {nodeSelector: {matchLabels: {egress-gateway: "true"}}}
            ---
            apiVersion: cilium.io/v2
            kind: CiliumEgressGatewayPolicy
            metadata: {name: broken}
            spec:
              selectors: [{podSelector: {}}]
              destinationCIDRs: [0.0.0.0/0]
              egressGateway: {nodeSelector: {}, egressIP: 192.0.2.1, interface: eth0}
            """;

    private Fixture() {
    }

    static List<Path> write(Path dir) throws Exception {
        Path inv = Files.writeString(dir.resolve("inventory.yaml"), INVENTORY);
        Path pol = Files.writeString(dir.resolve("policies.yaml"), POLICIES);
        return List.of(pol, inv);
    }

    static ClusterState load(Path dir) throws Exception {
        return ClusterLoader.load(write(dir));
    }
}
