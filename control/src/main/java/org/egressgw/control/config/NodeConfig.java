package org.egressgw.control.config;

import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;

/**
 * {@code node:} — who this gateway is.
 *
 * @param name this gateway's Kubernetes Node name, matched against the policies' gateway nodeSelectors (required)
 */
public record NodeConfig(String name) {
    static NodeConfig parse(YamlNode node) throws SourceException {
        node.allowOnly("name");
        return new NodeConfig(node.require("name").nonEmptyString());
    }
}
