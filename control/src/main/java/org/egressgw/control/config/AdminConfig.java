package org.egressgw.control.config;

import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;

/**
 * {@code admin:} — the HTTP endpoint for health, metrics and the CLI.
 *
 * @param host the address it listens on
 * @param port its port; 0 means any free port
 */
public record AdminConfig(String host, int port) {
    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final int DEFAULT_PORT = 9464;
    static final AdminConfig DEFAULT = new AdminConfig(DEFAULT_HOST, DEFAULT_PORT);

    /** @param admin the section, or null when absent (all defaults) */
    static AdminConfig parse(YamlNode admin) throws SourceException {
        if (admin == null) {
            return DEFAULT;
        }
        admin.allowOnly("listen");
        YamlNode listen = admin.get("listen");
        if (listen == null) {
            return DEFAULT;
        }
        String[] hp = ConfigValues.hostAndPort(listen);
        return new AdminConfig(hp[0], Integer.parseInt(hp[1]));
    }
}
