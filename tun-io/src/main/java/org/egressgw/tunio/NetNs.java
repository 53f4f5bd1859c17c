package org.egressgw.tunio;

import static org.egressgw.tunio.LibC.C;

import java.util.concurrent.Callable;

/**
 * Runs code inside a named network namespace ({@code ip netns add NAME}, bound at
 * {@code /var/run/netns/NAME}). For tests and tools, not the packet path.
 *
 * <p>setns(2) with CLONE_NEWNET moves only the calling thread, so each call gets a fresh thread that enters
 * the namespace, runs the body and dies; the caller's thread never changes namespace. Sockets and TUN
 * devices created by the body belong to the namespace for life and may be used from any thread afterwards.
 */
public final class NetNs {
    /** Where iproute2 binds named namespaces. */
    public static final String NETNS_RUN_DIR = "/var/run/netns/";

    private NetNs() {
    }

    /**
     * Runs {@code body} on a new thread inside namespace {@code netnsName}, waits for it and returns its result.
     *
     * @throws IllegalArgumentException if the name is empty, ".", ".." or contains '/'
     * @throws NativeIoException if the namespace cannot be opened or entered (the message names it)
     * @throws Exception whatever the body threw, rethrown as is (Errors too)
     * @throws InterruptedException if interrupted while waiting; the body's thread is interrupted as well
     */
    public static <T> T call(String netnsName, Callable<T> body) throws Exception {
        validateName(netnsName);
        final String path = NETNS_RUN_DIR + netnsName;
        final Object[] outcome = new Object[2]; // [0] result, [1] Throwable; published by Thread.join
        final Thread thread = new Thread(() -> {
            try {
                enter(path);
                outcome[0] = body.call();
            } catch (Throwable t) {
                outcome[1] = t;
            }
        }, "netns-" + netnsName);
        thread.setDaemon(true);
        thread.start();
        try {
            thread.join();
        } catch (InterruptedException e) {
            thread.interrupt();
            throw e;
        }
        final Throwable failure = (Throwable) outcome[1];
        if (failure instanceof Exception) {
            throw (Exception) failure;
        }
        if (failure instanceof Error) {
            throw (Error) failure;
        }
        if (failure != null) {
            throw new IllegalStateException("body failed in network namespace " + netnsName, failure);
        }
        @SuppressWarnings("unchecked")
        final T result = (T) outcome[0];
        return result;
    }

    private static void enter(String path) throws NativeIoException {
        final int fd = C.open(path, LibC.O_RDONLY | LibC.O_CLOEXEC);
        if (fd < 0) {
            throw LibC.lastError("open(" + path + ")");
        }
        try {
            if (C.setns(fd, LibC.CLONE_NEWNET) != 0) {
                throw LibC.lastError("setns(" + path + ", CLONE_NEWNET)");
            }
        } finally {
            C.close(fd);
        }
    }

    private static void validateName(String netnsName) {
        if (netnsName == null || netnsName.isEmpty() || netnsName.equals(".") || netnsName.equals("..")
            || netnsName.indexOf('/') >= 0) {
            throw new IllegalArgumentException("invalid network namespace name '" + netnsName + "'");
        }
    }
}
