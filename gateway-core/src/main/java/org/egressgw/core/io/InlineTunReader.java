package org.egressgw.core.io;

import io.netty.channel.IoEvent;
import io.netty.channel.IoEventLoop;
import io.netty.channel.IoRegistration;
import io.netty.channel.epoll.EpollIoEvent;
import io.netty.channel.epoll.EpollIoHandle;
import io.netty.channel.epoll.EpollIoOps;
import io.netty.channel.unix.FileDescriptor;
import org.egressgw.tunio.TunDevice;

/**
 * The inline pipeline's second input: the TUN device's file descriptor registered on the tunnel
 * socket's Netty epoll event loop, so one thread reads both sides and runs the datapath on what it
 * read (run to completion: no hand-off between threads, no wake-up of another thread).
 *
 * <p>Registered level-triggered: each readiness event reads one bounded burst and then lets the
 * event loop serve the tunnel socket again, so neither direction can starve the other; packets
 * left in the device's queue make epoll report it again at once.
 */
public final class InlineTunReader implements EpollIoHandle {
    private final FileDescriptor fd;
    private final EgressReceiver receiver;
    private final Runnable consumer;
    private volatile IoRegistration registration;
    private volatile boolean failed;

    private InlineTunReader(TunDevice tun, EgressReceiver receiver, Runnable consumer) {
        // a view of the device's descriptor: closing the TUN device stays TunDevice's job
        this.fd = new FileDescriptor(tun.fd());
        this.receiver = receiver;
        this.consumer = consumer;
    }

    /** Registers the device on {@code loop}: each burst read from it is handed to {@code consumer} on that loop. */
    public static InlineTunReader register(IoEventLoop loop, TunDevice tun, EgressReceiver receiver, Runnable consumer)
            throws Exception {
        InlineTunReader reader = new InlineTunReader(tun, receiver, consumer);
        IoRegistration reg = loop.register(reader).sync().getNow();
        reader.registration = reg;
        reg.submit(EpollIoOps.EPOLLIN.with(EpollIoOps.EPOLLERR));
        return reader;
    }

    @Override
    public FileDescriptor fd() {
        return fd;
    }

    @Override
    public void handle(IoRegistration registration, IoEvent event) {
        EpollIoOps ops = ((EpollIoEvent) event).ops();
        if (failed) {
            return;
        }
        if (ops.contains(EpollIoOps.EPOLLIN) || ops.contains(EpollIoOps.EPOLLERR)) {
            try {
                receiver.readBurst();
            } catch (RuntimeException e) {
                // an unexpected read error would repeat on every poll (level-triggered): stop
                // reading the device once, say so, and let the health check report it
                if (!failed) {
                    failed = true;
                    System.err.println("egress: reading the TUN device failed, no longer read: " + e.getMessage());
                    registration.cancel();
                }
                return;
            }
            consumer.run();
        }
    }

    /** True once reading the device failed and it was taken off the event loop. */
    public boolean failed() {
        return failed;
    }

    /** Takes the device off the event loop (before the device is closed). */
    public void cancel() {
        IoRegistration reg = registration;
        if (reg != null) {
            reg.cancel();
        }
    }

    @Override
    public void close() {
        // nothing: the descriptor belongs to the TUN device
    }
}
