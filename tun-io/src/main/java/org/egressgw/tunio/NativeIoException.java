package org.egressgw.tunio;

import java.io.IOException;

/**
 * A failed system call: the operation (naming the offending file, device or value), the errno and its
 * {@code strerror} text. Used on control paths; packet paths turn expected errnos into return codes and
 * only wrap unexpected ones in {@link java.io.UncheckedIOException}.
 */
public final class NativeIoException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int errno;

    /**
     * @param operation what failed, e.g. {@code "ioctl(TUNSETIFF, tun0)"}
     * @param errno the errno the call left behind
     */
    public NativeIoException(String operation, int errno) {
        super(operation + ": " + LibC.strerror(errno) + " (errno " + errno + ")");
        this.errno = errno;
    }

    /** The errno of the failed call. */
    public int errno() {
        return errno;
    }
}
