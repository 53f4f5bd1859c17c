package org.egressgw.core.io;

import org.egressgw.core.datapath.EgressSink;
import org.egressgw.tunio.TunDevice;

/** Request packets leave through the TUN device; the kernel routes them out of the egress interface. */
public final class TunEgressSink implements EgressSink {
    private final TunDevice tun;

    public TunEgressSink(TunDevice tun) {
        this.tun = tun;
    }

    @Override
    public int write(long address, int length) {
        return tun.write(address, length);
    }
}
