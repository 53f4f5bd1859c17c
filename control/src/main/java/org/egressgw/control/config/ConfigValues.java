package org.egressgw.control.config;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.egressgw.control.yaml.SourceException;
import org.egressgw.control.yaml.YamlNode;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.MacAddress;

/**
 * The value parsers the configuration sections share: each reads one node and throws a {@link SourceException}
 * naming the file, line and field when the value is not of its form.
 */
final class ConfigValues {
    /** Linux IFNAMSIZ (16) including the terminating NUL. */
    static final int MAX_INTERFACE_NAME = 15;

    private static final Pattern DURATION = Pattern.compile("([0-9]{1,9})(ms|s|m|h)");
    private static final Pattern PORT_RANGE = Pattern.compile("([0-9]{1,5})(?:-([0-9]{1,5}))?");

    private ConfigValues() {
    }

    /** The child {@code key} of an optional section, or null when the section or the key is absent. */
    static YamlNode child(YamlNode section, String key) throws SourceException {
        return section == null ? null : section.get(key);
    }

    static boolean bool(YamlNode section, String key, boolean absent) throws SourceException {
        YamlNode n = child(section, key);
        return n == null ? absent : n.booleanValue();
    }

    /** A field that names one of the {@code choices}; {@code absent} when the field is missing. */
    static String oneOf(YamlNode n, String absent, String... choices) throws SourceException {
        if (n == null) {
            return absent;
        }
        String v = n.string();
        for (String c : choices) {
            if (c.equals(v)) {
                return v;
            }
        }
        throw n.error("must be " + quotedList(choices) + ", not '" + YamlNode.abbreviate(v) + "'");
    }

    private static String quotedList(String... choices) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < choices.length; i++) {
            if (i > 0) {
                s.append(i == choices.length - 1 ? " or " : ", ");
            }
            s.append('\'').append(choices[i]).append('\'');
        }
        return s.toString();
    }

    static Path path(YamlNode p, Path dir) throws SourceException {
        String s = p.nonEmptyString();
        try {
            return dir == null ? Path.of(s) : dir.resolve(s);
        } catch (InvalidPathException e) {
            throw p.error("not a valid path: '" + YamlNode.abbreviate(s) + "'");
        }
    }

    /** {@code a.b.c.d[:port]} packed as {@code ip << 16 | port}. */
    static long ipv4AndPort(YamlNode n, int defaultPort) throws SourceException {
        String s = n.string().trim();
        int colon = s.indexOf(':');
        String ip = colon < 0 ? s : s.substring(0, colon);
        int port = defaultPort;
        if (colon >= 0) {
            port = port(n, s.substring(colon + 1), 1, s);
        }
        if (!Ipv4Address.isValid(ip)) {
            throw n.error("not an IPv4 address with optional port: '" + YamlNode.abbreviate(s) + "'");
        }
        return ((Ipv4Address.parse(ip) & 0xffff_ffffL) << 16) | port;
    }

    /** {@code host:port}, host may be an IPv6 literal in brackets; port 0 means any free port. */
    static String[] hostAndPort(YamlNode n) throws SourceException {
        String s = n.string().trim();
        int colon = s.lastIndexOf(':');
        if (colon <= 0) {
            throw n.error("expected host:port, got '" + YamlNode.abbreviate(s) + "'");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]") && host.length() > 2) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":") || host.contains("[") || host.contains("]")) {
            throw n.error("expected host:port (IPv6 literals in brackets), got '" + YamlNode.abbreviate(s) + "'");
        }
        if (host.isBlank() || host.chars().anyMatch(Character::isWhitespace)) {
            throw n.error("expected host:port, got '" + YamlNode.abbreviate(s) + "'");
        }
        int port = port(n, s.substring(colon + 1), 0, s);
        return new String[] {host, Integer.toString(port)};
    }

    private static int port(YamlNode n, String text, int min, String whole) throws SourceException {
        if (text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw n.error("bad port in '" + YamlNode.abbreviate(whole) + "'");
        }
        int port = Integer.parseInt(text);
        if (port < min || port > 65535) {
            throw n.error("port " + port + " is not within " + min + "..65535");
        }
        return port;
    }

    static long unicastMac(YamlNode n) throws SourceException {
        String s = n.string();
        long mac;
        try {
            mac = MacAddress.parse(s);
        } catch (IllegalArgumentException e) {
            throw n.error("not a MAC address: '" + YamlNode.abbreviate(s) + "'");
        }
        if (MacAddress.isMulticast(mac) || mac == 0) {
            throw n.error("not a unicast MAC address: '" + s + "'");
        }
        return mac;
    }

    static String interfaceName(YamlNode n) throws SourceException {
        String s = n.nonEmptyString();
        if (s.length() > MAX_INTERFACE_NAME) {
            throw n.error("interface name '" + YamlNode.abbreviate(s) + "' is longer than "
                    + MAX_INTERFACE_NAME + " characters");
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= ' ' || c == '/' || c == ':' || c >= 0x7f) {
                throw n.error("not a valid interface name: '" + s + "'");
            }
        }
        if (s.equals(".") || s.equals("..")) {
            throw n.error("not a valid interface name: '" + s + "'");
        }
        return s;
    }

    /** {@code LOW-HIGH} or a single port, as {low, high}. */
    static int[] portRange(YamlNode n) throws SourceException {
        String s = n.string().trim();
        Matcher m = PORT_RANGE.matcher(s);
        if (!m.matches()) {
            throw n.error("expected a port range like 32768-65535, got '" + YamlNode.abbreviate(s) + "'");
        }
        int lo = Integer.parseInt(m.group(1));
        int hi = m.group(2) == null ? lo : Integer.parseInt(m.group(2));
        if (lo < 1 || hi > 65535 || lo > hi) {
            throw n.error("port range " + s + " must satisfy 1 <= low <= high <= 65535");
        }
        return new int[] {lo, hi};
    }

    /** A duration such as 500ms, 60s, 5m or 2h, in milliseconds; {@code defaultMillis} when absent. */
    static long duration(YamlNode n, long defaultMillis) throws SourceException {
        if (n == null) {
            return defaultMillis;
        }
        String s = n.isScalar() ? n.string().trim() : "";
        Matcher m = DURATION.matcher(s);
        if (!n.isScalar() || !m.matches()) {
            throw n.error("expected a duration such as 500ms, 60s, 5m or 2h"
                    + (n.isScalar() ? ", got '" + YamlNode.abbreviate(s) + "'" : ", got " + n.kindName()));
        }
        long v = Long.parseLong(m.group(1));
        long millis = switch (m.group(2)) {
            case "ms" -> v;
            case "s" -> v * 1_000L;
            case "m" -> v * 60_000L;
            default -> v * 3_600_000L;
        };
        if (millis <= 0) {
            throw n.error("duration must be positive");
        }
        return millis;
    }

    /** A number of milliseconds with at most three decimals (0.25 = 250 µs), within 0..max, as microseconds. */
    static long millisToMicros(YamlNode node, int max) throws SourceException {
        String v = node.string().trim();
        java.math.BigDecimal ms;
        try {
            ms = new java.math.BigDecimal(v);
        } catch (NumberFormatException e) {
            throw node.error("'" + v + "' is not a number of milliseconds");
        }
        if (ms.signum() < 0 || ms.compareTo(java.math.BigDecimal.valueOf(max)) > 0) {
            throw node.error(v + " is not within 0.." + max);
        }
        java.math.BigDecimal micros = ms.movePointRight(3);
        if (micros.stripTrailingZeros().scale() > 0) {
            throw node.error(v + " has more than three decimals (the step is one microsecond)");
        }
        return micros.longValueExact();
    }
}
