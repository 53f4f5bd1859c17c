package org.egressgw.core.host;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One gateway per network namespace (per host, for a gateway in the host's namespace): an exclusive lock on
 * {@code /run/egress-gateway/netns-INODE.lock}, holding the owner's pid. The kernel releases the lock when its
 * process dies however it dies (kill -9 too), so a crashed gateway never blocks its successor, while a second
 * gateway started by accident next to a live one is refused before it touches anything — two would fight over the
 * same devices, filters and proxy entries. The namespace's inode names the file, so gateways in different network
 * namespaces of one machine (containers, tests) do not exclude each other.
 */
public final class GatewayLock implements AutoCloseable {
    /** Where the lock and the plumbing state live unless told otherwise ({@code EGW_RUN_DIR}). */
    public static final Path DEFAULT_DIR = Path.of("/run/egress-gateway");

    private final FileChannel channel;
    private final FileLock lock;
    private final Path stateFile;

    private GatewayLock(FileChannel channel, FileLock lock, Path stateFile) {
        this.channel = channel;
        this.lock = lock;
        this.stateFile = stateFile;
    }

    /** The directory for the lock and state files: {@code $EGW_RUN_DIR}, else {@link #DEFAULT_DIR}. */
    public static Path runDir() {
        String dir = System.getenv("EGW_RUN_DIR");
        return dir == null || dir.isBlank() ? DEFAULT_DIR : Path.of(dir);
    }

    /**
     * Takes the lock of this process's network namespace.
     *
     * @throws IOException naming the lock file and the pid of the gateway that holds it, or why it cannot be taken
     */
    public static GatewayLock acquire(Path dir) throws IOException {
        Files.createDirectories(dir);
        String netns = networkNamespace();
        Path file = dir.resolve("netns-" + netns + ".lock");
        FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            String holder = Files.readString(file, StandardCharsets.US_ASCII).trim();
            ch.close();
            throw new IOException("another egress gateway (pid " + (holder.isEmpty() ? "unknown" : holder)
                    + ") already runs in this network namespace: it holds " + file
                    + "; two gateways would fight over the same plumbing, stop that one first");
        }
        ch.truncate(0);
        ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
        ch.force(false);
        return new GatewayLock(ch, lock, dir.resolve("netns-" + netns + ".state"));
    }

    /** The inode of this process's network namespace, e.g. 4026531840 for {@code net:[4026531840]}. */
    static String networkNamespace() throws IOException {
        String link = Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString();
        int open = link.indexOf('[');
        int close = link.indexOf(']');
        if (open < 0 || close < open) {
            throw new IOException("cannot read this process's network namespace from /proc/self/ns/net: " + link);
        }
        return link.substring(open + 1, close);
    }

    /** Where this namespace's gateway keeps what it must find again after a crash ({@link PlumbingState}). */
    public Path stateFile() {
        return stateFile;
    }

    /** Releases the lock (the file stays, empty of meaning once unlocked). */
    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
