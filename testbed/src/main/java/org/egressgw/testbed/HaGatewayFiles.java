package org.egressgw.testbed;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * One member's files for a gateway group in a {@link HaTopology}: {@code config.yaml} with an {@code ha} section,
 * the shared secret in {@value #SECRET_FILE} (mode 0600), and the same policy and inventory as
 * {@link GatewayFiles}. Both members are {@code gw-1}: the group serves the same policies. The tunnel listens on
 * the virtual IP, which only the active member holds.
 */
public final class HaGatewayFiles {

    /** The secret file, relative to the member's directory (and named so in {@code ha.secretFile}). */
    public static final String SECRET_FILE = "ha.key";
    /** Lowest priority the group accepts (VRRP's range for a router that does not own the address: 1..254). */
    public static final int MIN_PRIORITY = 1;
    /** Highest priority the gateway accepts ({@code ha.priority}; 255 is VRRP's address owner, which no member is). */
    public static final int MAX_PRIORITY = 254;

    private HaGatewayFiles() {
    }

    /**
     * Writes member {@code member}'s files under {@code dir} (created if needed), overwriting older ones.
     *
     * @param member   0 ({@code gwa}) or 1 ({@code gwb}); its peer is the other member
     * @param priority the member's advertisement priority, {@value #MIN_PRIORITY}..{@value #MAX_PRIORITY}
     * @param secret   the group's shared secret, written verbatim (no newline added)
     * @return the path of {@code config.yaml}
     * @throws IllegalArgumentException for an unknown member, a priority out of range or a blank secret
     */
    public static Path write(Path dir, int member, int priority, String secret) throws IOException {
        String config = configYaml(member, priority);
        if (secret == null || secret.isBlank()) {
            throw new IllegalArgumentException("HA secret must not be blank");
        }
        Files.createDirectories(dir);
        Path key = dir.resolve(SECRET_FILE);
        // created 0600 (never wider, not even for a moment), then filled
        Files.deleteIfExists(key);
        Files.createFile(key, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(key, secret, StandardCharsets.UTF_8);
        return GatewayFiles.write(dir, config);
    }

    /**
     * Member {@code member}'s settings: {@link GatewayFiles#configYaml()}'s sections with the tunnel on the
     * virtual IP, plus {@code ha} naming the other member's underlay address as its peer.
     *
     * @throws IllegalArgumentException for an unknown member or a priority out of range
     */
    public static String configYaml(int member, int priority) {
        String peer = HaTopology.MEMBER_UNDERLAY_IPS.get(1 - HaTopology.checkMember(member));
        if (priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
            throw new IllegalArgumentException("HA priority " + priority + " is not within "
                    + MIN_PRIORITY + ".." + MAX_PRIORITY);
        }
        return GatewayFiles.configYaml(HaTopology.VIRTUAL_IP)
                + String.format("ha: {peers: [\"%s\"], virtualIP: %s, priority: %d, secretFile: %s}\n",
                        peer, HaTopology.VIRTUAL_IP, priority, SECRET_FILE);
    }
}
