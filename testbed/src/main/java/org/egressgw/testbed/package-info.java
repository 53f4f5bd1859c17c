/**
 * A throw-away network-namespace rig for the demo, the end-to-end tests and the benchmarks: two pods on a
 * node with a kernel VXLAN device, an egress gateway node and an external server namespace.
 *
 * <pre>{@code
 * try (Topology t = Topology.create(TopologyOptions.userspace())) {
 *     Path config = t.writeGatewayFiles();
 *     Process gw = t.start(t.gw(), List.of("java", "-jar", jar, "run", "--config", config.toString()),
 *             t.workDir().resolve("gateway.log"));
 *     String body = t.httpGet(t.pod1(), "http://" + Topology.SERVER_IP + "/");   // "you are 192.0.2.10\n"
 * }
 * }</pre>
 *
 * <p>Needs root, iproute2, iptables, ethtool, curl, iputils-ping, tcpdump and Debian's /usr/bin/python3
 * ({@code scripts/install-deps.sh} installs them). Nothing outside the run's own namespaces is touched,
 * except the marker files under {@code /run/egw-testbed} and a temporary work directory.
 */
package org.egressgw.testbed;
