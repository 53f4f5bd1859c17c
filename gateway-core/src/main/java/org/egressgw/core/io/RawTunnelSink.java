package org.egressgw.core.io;

import org.egressgw.core.datapath.TunnelSink;
import org.egressgw.tunio.RawIpSender;

/**
 * Encapsulated packets leave through a send-only raw IPv4 socket ({@code IPPROTO_RAW}), batched
 * with {@code sendmmsg}. A raw socket, rather than the UDP socket that receives, lets every flow
 * carry its own outer source port (the flow hash) as Linux's VXLAN device does. Packets the kernel
 * refuses in a batch are reported as lost ({@link #lostPackets()}) for the datapath to count.
 */
public class RawTunnelSink implements TunnelSink {
    /** The raw socket every packet but an offloaded super-packet leaves through. */
    protected final RawIpSender sender;

    public RawTunnelSink(RawIpSender sender) {
        this.sender = sender;
    }

    @Override
    public boolean add(long address, int length, int dstIp) {
        return sender.add(address, length, dstIp);
    }

    @Override
    public boolean sendNow(long address, int length, int dstIp) {
        return sender.send(address, length, dstIp);
    }

    @Override
    public long lostPackets() {
        return sender.batchDroppedCount();
    }

    @Override
    public long lostBytes() {
        return sender.batchDroppedBytes();
    }

    @Override
    public int flush() {
        return sender.pending() == 0 ? 0 : sender.flush();
    }
}
