package org.egressgw.testbed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GatewayFilesTest {

    @Test
    void writesTheThreeFilesWhereTheConfigPointsTo(@TempDir Path dir) throws Exception {
        Path config = GatewayFiles.write(dir);
        assertEquals(dir.resolve("config.yaml"), config);
        assertEquals("""
                node: {name: gw-1}
                tunnel: {listen: "198.51.100.2:8472", vni: 2, allowedPeers: ["198.51.100.0/24"], \
                overlayIP: 10.99.0.2, mac: "02:00:0a:63:00:02"}
                egress: {interface: ext0, device: egw0}
                cluster: {paths: [policies, inventory]}
                admin: {listen: "127.0.0.1:9464"}
                """, Files.readString(config));
        assertTrue(Files.readString(dir.resolve("policies/payment.yaml")).contains("egressIP: \"192.0.2.10\""));
        String inventory = Files.readString(dir.resolve("inventory/cluster.yaml"));
        assertEquals(5, inventory.split("(?m)^---$").length, inventory);
        assertTrue(inventory.contains("uid: " + GatewayFiles.POD1_UID));
        assertTrue(inventory.contains("  - ip: 10.244.1.11\n"));
    }

    @Test
    void inventoryDocumentsAreWellIndented() {
        for (String doc : GatewayFiles.clusterInventoryYaml().split("(?m)^---\n")) {
            assertTrue(doc.startsWith("apiVersion: v1\nkind: "), doc);
            for (String line : doc.split("\n")) {
                assertTrue(!line.startsWith("\t") && !line.endsWith(" "), "bad line: [" + line + "]");
            }
        }
    }
}
