package org.egressgw.testbed;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Hands out per-run namespace prefixes and tells which runs are dead.
 *
 * <p>A prefix is {@code egw} plus four hex digits. Claiming one atomically creates a marker file named after
 * it that records the owning process (pid and start time, so a recycled pid is not mistaken for the owner).
 * The marker is written <em>before</em> any namespace with the prefix exists, so a namespace whose prefix has
 * no marker, or whose marker names a dead process, belongs to a dead run and may be deleted.
 *
 * <p>Thread safety: no mutable state. Claims and stale-run cleanups must run inside {@link #locked}, which
 * serialises them across threads (a JVM-wide monitor) and processes (a file lock), so that a cleanup can never
 * judge a prefix stale just as another run claims it.
 */
final class RunRegistry {

    /** Where markers live by default; {@code /run} is a tmpfs, so a reboot forgets them with the namespaces. */
    static final Path DEFAULT_DIR = Path.of("/run/egw-testbed");

    /** Namespace names this registry owns: prefix, dash, role. */
    static final Pattern NAMESPACE = Pattern.compile("(egw[0-9a-f]{4})-[a-z0-9]+");

    private static final int PREFIX_SPACE = 1 << 16;
    private static final int MAX_CLAIM_ATTEMPTS = 64;

    private static final Object JVM_LOCK = new Object();

    private final Path dir;
    private final Predicate<Owner> alive;

    /**
     * @param dir   the marker directory (created on demand)
     * @param alive decides whether a recorded owner still runs; {@link Owner#isAlive()} outside tests
     */
    RunRegistry(Path dir, Predicate<Owner> alive) {
        this.dir = dir;
        this.alive = alive;
    }

    /** The registry under {@link #DEFAULT_DIR} that asks the OS about owners. */
    static RunRegistry system() {
        return new RunRegistry(DEFAULT_DIR, Owner::isAlive);
    }

    /** Work done while holding the registry lock. */
    @FunctionalInterface
    interface LockedAction<T> {
        T run() throws IOException, InterruptedException;
    }

    /** Runs {@code action} while holding the registry's lock (other threads and processes wait). */
    <T> T locked(LockedAction<T> action) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        synchronized (JVM_LOCK) {
            try (FileChannel channel = FileChannel.open(dir.resolve(".lock"),
                    StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                channel.lock(); // released when the channel closes, also if the process dies
                return action.run();
            }
        }
    }

    /**
     * Claims a fresh prefix for {@code owner}.
     *
     * @param inUse  namespace names that exist right now; a prefix used by any of them is skipped
     * @param random source of candidate prefixes
     * @throws IOException when no free prefix was found or the marker cannot be written
     */
    String claim(Owner owner, Collection<String> inUse, Random random) throws IOException {
        Files.createDirectories(dir);
        Set<String> taken = new TreeSet<>();
        for (String ns : inUse) {
            prefixOf(ns).ifPresent(taken::add);
        }
        for (int attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
            String prefix = String.format("egw%04x", random.nextInt(PREFIX_SPACE));
            if (taken.contains(prefix)) {
                continue;
            }
            try {
                Files.writeString(Files.createFile(marker(prefix)), owner.toMarker(), StandardCharsets.US_ASCII);
                return prefix;
            } catch (FileAlreadyExistsException e) {
                // another live or dead run has it; try another
            }
        }
        throw new IOException("no free namespace prefix after " + MAX_CLAIM_ATTEMPTS + " attempts in " + dir);
    }

    /** Forgets a prefix (after its namespaces are gone). */
    void release(String prefix) throws IOException {
        Files.deleteIfExists(marker(prefix));
    }

    /** True when no live process owns {@code prefix}. */
    boolean isStale(String prefix) throws IOException {
        Optional<Owner> owner = readOwner(prefix);
        return owner.isEmpty() || !alive.test(owner.get());
    }

    /** The namespaces among {@code namespaces} that belong to dead runs. */
    List<String> staleNamespaces(Collection<String> namespaces) throws IOException {
        List<String> stale = new ArrayList<>();
        for (String ns : namespaces) {
            Optional<String> prefix = prefixOf(ns);
            if (prefix.isPresent() && isStale(prefix.get())) {
                stale.add(ns);
            }
        }
        return stale;
    }

    /** Prefixes that have a marker whose owner is dead. */
    List<String> staleMarkers() throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        List<String> stale = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (name.matches("egw[0-9a-f]{4}") && isStale(name)) {
                    stale.add(name);
                }
            }
        }
        return stale;
    }

    /** The run prefix of a namespace name this registry owns, or empty for anyone else's namespace. */
    static Optional<String> prefixOf(String namespace) {
        Matcher m = NAMESPACE.matcher(namespace);
        return m.matches() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** Namespace names from {@code ip netns list} output (lines like {@code name} or {@code name (id: 3)}). */
    static List<String> parseNetnsList(String output) {
        List<String> names = new ArrayList<>();
        for (String line : output.split("\n")) {
            String trimmed = line.strip();
            if (!trimmed.isEmpty()) {
                names.add(trimmed.split("\\s+", 2)[0]);
            }
        }
        return names;
    }

    private Optional<Owner> readOwner(String prefix) throws IOException {
        try {
            return Owner.parse(Files.readString(marker(prefix), StandardCharsets.US_ASCII));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    private Path marker(String prefix) {
        return dir.resolve(prefix);
    }

    /**
     * The process that owns a run.
     *
     * @param pid         its process id
     * @param startMillis its start time in epoch milliseconds, or -1 when the OS did not say
     */
    record Owner(long pid, long startMillis) {

        /** This JVM. */
        static Owner current() {
            ProcessHandle self = ProcessHandle.current();
            return new Owner(self.pid(), self.info().startInstant().map(Instant::toEpochMilli).orElse(-1L));
        }

        /** True when a process with this pid runs and (if both are known) started at the same time. */
        boolean isAlive() {
            Optional<ProcessHandle> handle = ProcessHandle.of(pid);
            if (handle.isEmpty() || !handle.get().isAlive()) {
                return false;
            }
            Optional<Instant> start = handle.get().info().startInstant();
            return startMillis < 0 || start.isEmpty() || start.get().toEpochMilli() == startMillis;
        }

        String toMarker() {
            return pid + " " + startMillis + "\n";
        }

        /** Reads {@link #toMarker()} output; empty for anything else (a corrupt marker means a dead run). */
        static Optional<Owner> parse(String marker) {
            String[] parts = marker.strip().split("\\s+");
            if (parts.length != 2) {
                return Optional.empty();
            }
            try {
                return Optional.of(new Owner(Long.parseLong(parts[0]), Long.parseLong(parts[1])));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
    }
}
