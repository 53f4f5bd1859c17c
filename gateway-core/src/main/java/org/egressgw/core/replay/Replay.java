package org.egressgw.core.replay;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.agrona.concurrent.UnsafeBuffer;
import org.egressgw.control.config.GatewayConfig;
import org.egressgw.core.datapath.DropObserver;
import org.egressgw.packet.Checksum;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Udp;

/**
 * Replays captures through the production pipeline with pcap files as its ports
 * ({@code egress-gateway replay}).
 *
 * <ul>
 *   <li><b>tunnel-in</b>: frames captured on the gateway's underlay. An IPv4/UDP datagram to the
 *       tunnel's listen address and port is what the gateway's UDP socket would receive: its payload
 *       goes to the datapath with the outer source address as the peer. Everything else in the file
 *       (the gateway's own transmissions, ARP on the underlay, other traffic) is skipped and counted
 *       by reason, as is what the kernel would not have delivered (bad outer header checksum, outer
 *       fragments, datagrams cut by the snap length).</li>
 *   <li><b>egress-in</b>: IPv4 packets towards an egress IP of the served policies, captured on the
 *       egress side (Ethernet, Linux cooked or a TUN device's raw capture): what the TUN device would
 *       deliver. Link-layer padding beyond the IPv4 total length is removed, as the kernel does.</li>
 *   <li>Both inputs are merged by timestamp (ties: tunnel first); the pipeline's clock is the
 *       capture time of the packet being handled, so connection expiry follows the capture.</li>
 *   <li><b>egress-out</b> gets what the gateway would write to the TUN device, <b>tunnel-out</b> the
 *       outer IPv4/UDP/VXLAN packets it would send to the nodes, both stamped with the time of the
 *       packet that caused them.</li>
 * </ul>
 *
 * <p>Not thread-safe; needs no privileges and touches no interface.
 */
public final class Replay implements AutoCloseable {
    private final GatewayConfig config;
    private final ReplayPipeline pipeline;
    private final PcapSink tunnelOut;
    private final PcapSink egressOut;
    private long currentMicros;

    private Replay(GatewayConfig config, PrintStream log, int tableEntries, PcapSink tunnelOut, PcapSink egressOut)
            throws IOException {
        this.config = config;
        this.tunnelOut = tunnelOut;
        this.egressOut = egressOut;
        this.pipeline = ReplayPipeline.fromConfig(config, log, tableEntries,
                p -> write(egressOut, p), p -> write(tunnelOut, p));
    }

    /**
     * Builds the pipeline for {@code config} and creates the two output files.
     *
     * @param tableEntries connection table capacity, 0 for the configuration's
     */
    public static Replay open(GatewayConfig config, PrintStream log, Path tunnelOutFile, Path egressOutFile,
            int tableEntries) throws IOException {
        PcapSink t = PcapSink.create(tunnelOutFile);
        PcapSink e = null;
        try {
            e = PcapSink.create(egressOutFile);
            return new Replay(config, log, tableEntries, t, e);
        } catch (IOException | RuntimeException ex) {
            t.close();
            if (e != null) {
                e.close();
            }
            throw ex;
        }
    }

    private void write(PcapSink sink, byte[] packet) {
        try {
            sink.write(packet, currentMicros);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Shows every dropped packet to {@code observer} as well. */
    public void dropObserver(DropObserver observer) {
        pipeline.dropObserver(observer);
    }

    /** Capture time of the packet being handled, microseconds since the epoch (a clock for a drop capture). */
    public long currentMicros() {
        return currentMicros;
    }

    public ReplayPipeline pipeline() {
        return pipeline;
    }

    /**
     * Replays {@code tunnelIn} and, if not null, {@code egressIn}.
     *
     * @throws IOException when a capture cannot be read or an output written
     */
    public ReplaySummary run(Path tunnelIn, Path egressIn) throws IOException {
        ReplaySummary summary = new ReplaySummary(tunnelIn, egressIn);
        UnsafeBuffer view = new UnsafeBuffer(new byte[0]);
        try (CaptureReader tunnel = CaptureReader.open(tunnelIn);
                CaptureReader egress = egressIn == null ? null : CaptureReader.open(egressIn)) {
            checkLinkType(tunnel);
            if (egress != null) {
                checkLinkType(egress);
            }
            boolean moreTunnel = tunnel.next();
            boolean moreEgress = egress != null && egress.next();
            while (moreTunnel || moreEgress) {
                boolean takeTunnel = moreTunnel && (!moreEgress || tunnel.timeMicros() <= egress.timeMicros());
                CaptureReader r = takeTunnel ? tunnel : egress;
                currentMicros = r.timeMicros();
                long nowMillis = Math.floorDiv(currentMicros, 1000);
                if (takeTunnel) {
                    tunnelFrame(r, view, nowMillis, summary);
                    moreTunnel = tunnel.next();
                } else {
                    egressFrame(r, view, nowMillis, summary);
                    moreEgress = egress.next();
                }
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        summary.finish(pipeline, tunnelOut.packets(), egressOut.packets());
        return summary;
    }

    private static void checkLinkType(CaptureReader r) throws IOException {
        if (!LinkLayer.supported(r.dlt())) {
            throw new IOException("capture " + r.file() + " has link type " + r.dlt()
                    + "; supported: Ethernet (1), raw IPv4 (12, 228), Linux cooked (113, 276), BSD loopback (0)");
        }
    }

    private void tunnelFrame(CaptureReader r, UnsafeBuffer view, long nowMillis, ReplaySummary s) {
        s.tunnelFrames++;
        byte[] f = r.frame();
        int ip = LinkLayer.ipv4Offset(r.dlt(), f, f.length);
        if (ip < 0) {
            s.skipTunnel("not IPv4");
            return;
        }
        view.wrap(f);
        int avail = f.length - ip;
        if (avail < 20 || (f[ip] & 0x0f) < 5 || avail < (f[ip] & 0x0f) * 4) {
            s.skipTunnel("IPv4 header cut by the capture");
            return;
        }
        int hl = (f[ip] & 0x0f) * 4;
        if (Ipv4.protocol(view, ip) != Ipv4.PROTO_UDP
                || Ipv4.dstAddress(view, ip) != config.tunnel().listenIp()) {
            s.skipTunnel("not UDP to the tunnel address");
            return;
        }
        if (!Checksum.verifyIpv4Header(view, ip, hl)) {
            s.skipTunnel("outer IPv4 header checksum wrong (the kernel drops it)");
            return;
        }
        if (Ipv4.isFragment(view, ip)) {
            s.skipTunnel("outer IPv4 fragment (the kernel would reassemble; not replayed)");
            return;
        }
        int total = Ipv4.totalLength(view, ip);
        if (avail < hl + 8 || total < hl + 8) {
            s.skipTunnel("UDP header cut by the capture");
            return;
        }
        int udp = ip + hl;
        if (Udp.dstPort(view, udp) != config.tunnel().listenPort()) {
            s.skipTunnel("not UDP to the tunnel address");
            return;
        }
        int udpLen = Udp.length(view, udp);
        if (udpLen < 8 || udpLen > total - hl) {
            s.skipTunnel("UDP length inconsistent (the kernel drops it)");
            return;
        }
        if (udpLen > avail - hl) {
            s.skipTunnel("datagram cut by the capture's snap length");
            return;
        }
        s.tunnelReplayed++;
        pipeline.request(view, udp + 8, udpLen - 8, Ipv4.srcAddress(view, ip), nowMillis);
    }

    private void egressFrame(CaptureReader r, UnsafeBuffer view, long nowMillis, ReplaySummary s) {
        s.egressFrames++;
        byte[] f = r.frame();
        int ip = LinkLayer.ipv4Offset(r.dlt(), f, f.length);
        if (ip < 0) {
            s.skipEgress("not IPv4");
            return;
        }
        view.wrap(f);
        int avail = f.length - ip;
        if (avail < 20) {
            s.skipEgress("IPv4 header cut by the capture");
            return;
        }
        if (!pipeline.isEgressIp(Ipv4.dstAddress(view, ip))) {
            s.skipEgress("not to an egress IP");
            return;
        }
        if (r.originalLength() > f.length) {
            s.skipEgress("packet cut by the capture's snap length");
            return;
        }
        int len = avail;
        int total = Ipv4.totalLength(view, ip);
        if (LinkLayer.pads(r.dlt()) && total >= 20 && total < avail) {
            len = total;
        }
        s.egressReplayed++;
        pipeline.reply(view, ip, len, nowMillis);
    }

    @Override
    public void close() {
        tunnelOut.close();
        egressOut.close();
        pipeline.close();
    }
}
