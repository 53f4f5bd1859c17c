package org.egressgw.control.source;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.egressgw.control.policy.ClusterLoader;
import org.egressgw.control.policy.ClusterState;

/**
 * Cluster state from {@code cluster.paths} (files and directories, as {@link ClusterLoader} reads
 * them), re-read when they change.
 *
 * <p>Change detection: every {@value #POLL_MILLIS} ms a fingerprint of the path set is taken —
 * the list of files and a CRC32C of each file's content. Content, not timestamps, so that editors'
 * write-to-temp-then-rename and a Kubernetes ConfigMap's {@code ..data} symlink swap are seen even
 * when sizes and mtimes coincide. A change is applied once the fingerprint has been the same for
 * one more poll (so a file caught half-written is not applied), i.e. 250-500 ms after it, and
 * {@code onChange} is called with the new state well within a second. Nothing changed: no call.
 *
 * <p>Bad edits: a file that becomes unreadable, not UTF-8 or not valid YAML keeps its LAST GOOD
 * objects (a problem says so), because a half-saved or mistyped file should not withdraw every
 * policy and pod it held, which would cut the traffic it governs; the API server behaves alike, as
 * it refuses an invalid update and keeps the old object. Objects that are individually invalid in
 * an otherwise well-formed file are dropped with a problem, as at start. A deleted file's objects
 * are removed.
 *
 * <p>Threading: one daemon thread polls and calls {@code onChange}, never concurrently with itself;
 * {@link #close} stops it.
 */
public final class FileClusterSource implements ClusterSource {
    /** Poll period. */
    public static final long POLL_MILLIS = 250;

    private final byte[] readBuffer = new byte[64 * 1024];
    private final CRC32C crc = new CRC32C();
    private final List<Path> paths;
    private final long pollMillis;
    private final Map<Path, ClusterLoader.FileObjects> lastGood = new LinkedHashMap<>();
    private Map<Path, Long> applied;
    private Map<Path, Long> pending;
    private Thread thread;
    private volatile boolean closed;

    /** @param paths files and directories, in reading order */
    public FileClusterSource(List<Path> paths) {
        this(paths, POLL_MILLIS);
    }

    /** @param pollMillis poll period, for tests */
    public FileClusterSource(List<Path> paths, long pollMillis) {
        this.paths = List.copyOf(paths);
        if (pollMillis <= 0) {
            throw new IllegalArgumentException("pollMillis " + pollMillis + " must be positive");
        }
        this.pollMillis = pollMillis;
    }

    /** @throws IOException when an existing path cannot be read at start */
    @Override
    public synchronized void start(Consumer<ClusterState> onChange) throws IOException {
        Objects.requireNonNull(onChange, "onChange");
        if (thread != null || closed) {
            throw new IllegalStateException("already started or closed");
        }
        Map<Path, Long> fp = fingerprint();
        ClusterState first = read(fp, true);
        applied = fp;
        onChange.accept(first);
        thread = new Thread(() -> loop(onChange), "egw-file-source");
        thread.setDaemon(true);
        thread.start();
    }

    @Override
    public String describe() {
        return "files " + paths;
    }

    @Override
    public void close() {
        closed = true;
        Thread t;
        synchronized (this) {
            t = thread;
        }
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
            try {
                t.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void loop(Consumer<ClusterState> onChange) {
        while (!closed) {
            try {
                Thread.sleep(pollMillis);
            } catch (InterruptedException e) {
                return;
            }
            try {
                ClusterState next = poll();
                if (next != null && !closed) {
                    onChange.accept(next);
                }
            } catch (IOException | RuntimeException e) {
                // a directory vanished mid-listing or the consumer threw: try again next poll
            }
        }
    }

    /** One poll: the new state when a settled change is seen, else null. Package-private for tests. */
    ClusterState poll() throws IOException {
        Map<Path, Long> fp = fingerprint();
        if (fp.equals(applied)) {
            pending = null;
            return null;
        }
        if (!fp.equals(pending)) {
            pending = fp; // wait one more poll for the writer to finish
            return null;
        }
        pending = null;
        ClusterState next = read(fp, false);
        applied = fp;
        return next;
    }

    private ClusterState read(Map<Path, Long> fp, boolean atStart) throws IOException {
        List<String> problems = new ArrayList<>();
        List<ClusterLoader.FileObjects> files = new ArrayList<>();
        for (Path path : paths) {
            List<String> pathProblems = new ArrayList<>();
            for (Path f : ClusterLoader.listFiles(List.of(path), pathProblems)) {
                ClusterLoader.FileObjects objects;
                try {
                    objects = ClusterLoader.readFile(f);
                } catch (NoSuchFileException e) {
                    continue; // deleted since the listing
                } catch (IOException e) {
                    if (atStart) {
                        throw e;
                    }
                    objects = null;
                    problems.add(f + ": cannot read: " + e.getMessage() + keepNote(f));
                }
                if (objects != null && !objects.wellFormed()) {
                    problems.add(objects.fileProblem() + keepNote(f));
                    objects = null;
                }
                if (objects == null) {
                    objects = lastGood.get(f);
                } else {
                    lastGood.put(f, objects);
                }
                if (objects != null) {
                    files.add(objects);
                }
            }
            if (!pathProblems.isEmpty()) {
                files.add(ClusterLoader.FileObjects.problems(path, pathProblems));
            }
        }
        lastGood.keySet().retainAll(fp.keySet());
        return ClusterLoader.merge(problems, files);
    }

    private String keepNote(Path f) {
        ClusterLoader.FileObjects previous = lastGood.get(f);
        return previous == null ? "" : "; keeping its last good " + previous.objectCount() + " object(s)";
    }

    /** File to content checksum (-1 when unreadable), in reading order. */
    private Map<Path, Long> fingerprint() throws IOException {
        Map<Path, Long> out = new LinkedHashMap<>();
        List<String> ignored = new ArrayList<>();
        for (Path f : ClusterLoader.listFiles(paths, ignored)) {
            out.put(f, checksum(f));
        }
        // a missing path shows up as a changed key set when it appears
        return out;
    }

    /**
     * Content checksum of one file. The buffer and the CRC are reused: this runs four times a
     * second for every file, for the gateway's whole life (a fresh 64 KiB buffer per file per poll
     * was the process's largest steady allocation). Synchronized: the first fingerprint is taken
     * by the thread that starts the source, the later ones by the poller.
     */
    private synchronized long checksum(Path f) {
        CRC32C crc = this.crc;
        crc.reset();
        byte[] buf = readBuffer;
        try (InputStream in = Files.newInputStream(f)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
            }
            return crc.getValue();
        } catch (IOException e) {
            return -1;
        }
    }
}
