package org.egressgw.control.config;

import org.egressgw.conntrack.ConnTable;
import org.egressgw.conntrack.Timeouts;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;

/**
 * {@code conntrack:} — the connection table.
 *
 * @param maxEntries connections the gateway tracks at most (over all shards)
 * @param timeouts idle timeouts per protocol and TCP state
 */
public record ConntrackConfig(int maxEntries, Timeouts timeouts) {
    public static final int MIN_ENTRIES = 1024;
    public static final int MAX_ENTRIES = 16_777_216;

    /** @param ct the section, or null when absent (all defaults) */
    static ConntrackConfig parse(YamlNode ct) throws SourceException {
        if (ct != null) {
            ct.allowOnly("maxEntries", "timeouts");
        }
        YamlNode max = ConfigValues.child(ct, "maxEntries");
        YamlNode t = ConfigValues.child(ct, "timeouts");
        if (t != null) {
            t.allowOnly("tcpSyn", "tcpEstablished", "tcpClosing", "udp", "icmp");
        }
        Timeouts d = Timeouts.defaults();
        Timeouts timeouts = new Timeouts(
                ConfigValues.duration(ConfigValues.child(t, "tcpSyn"), d.tcpSynMillis()),
                ConfigValues.duration(ConfigValues.child(t, "tcpEstablished"), d.tcpEstablishedMillis()),
                ConfigValues.duration(ConfigValues.child(t, "tcpClosing"), d.tcpClosingMillis()),
                ConfigValues.duration(ConfigValues.child(t, "udp"), d.udpMillis()),
                ConfigValues.duration(ConfigValues.child(t, "icmp"), d.icmpMillis()));
        return new ConntrackConfig(max == null ? ConnTable.DEFAULT_CAPACITY : max.intValue(MIN_ENTRIES, MAX_ENTRIES),
                timeouts);
    }
}
