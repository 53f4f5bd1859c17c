package org.egressgw.tunio.netlink;

import java.util.function.Consumer;

import org.agrona.DirectBuffer;
import org.egressgw.tunio.LibC;

/**
 * Turns one received notification datagram into {@link RtEvent}s: links of family AF_UNSPEC, and AF_INET
 * addresses, neighbours and routes. Everything else (other families, bridge-port link messages, control
 * messages, other types) is counted as ignored. A message that cannot be parsed becomes an
 * {@link RtEvent.Overrun}, since a change was lost with it; a framing error ends the datagram, as the next
 * message cannot be found.
 *
 * <p>Not thread-safe: owned by the thread that receives; the counters may be read elsewhere as stale values.
 */
final class RtEventDecoder {
    private long malformedCount;
    private long ignoredCount;

    /**
     * Decodes the messages in {@code [0, limit)} of {@code buffer}, handing each event to {@code sink} in order.
     *
     * @return the number of events handed over
     */
    int decode(DirectBuffer buffer, int limit, Consumer<? super RtEvent> sink) {
        int offset = 0;
        int events = 0;
        while (offset < limit) {
            final int length = Netlink.validate(buffer, offset, limit);
            if (length < 0) {
                malformedCount++;
                sink.accept(new RtEvent.Overrun("malformed notification datagram: " + Malformed.describe(length)));
                return events + 1;
            }
            final RtEvent event = decodeMessage(buffer, offset, length);
            if (event != null) {
                sink.accept(event);
                events++;
            }
            offset = Netlink.next(offset, length, limit);
        }
        return events;
    }

    private RtEvent decodeMessage(DirectBuffer buffer, int offset, int length) {
        final int type = Netlink.type(buffer, offset);
        final RtEvent.Action action;
        final int check;
        switch (type) {
            case Netlink.RTM_NEWLINK:
            case Netlink.RTM_DELLINK:
                action = type == Netlink.RTM_NEWLINK ? RtEvent.Action.NEW : RtEvent.Action.DELETE;
                check = IfInfoMsg.check(buffer, offset, length);
                if (check < 0) {
                    return malformed(type, check);
                }
                if (IfInfoMsg.family(buffer, offset) != IfInfoMsg.AF_UNSPEC) {
                    // e.g. AF_BRIDGE: a port joining or leaving a bridge, while the link itself stays
                    return ignored();
                }
                return new RtEvent.LinkChanged(action, IfInfoMsg.decode(buffer, offset, length));
            case Netlink.RTM_NEWADDR:
            case Netlink.RTM_DELADDR:
                action = type == Netlink.RTM_NEWADDR ? RtEvent.Action.NEW : RtEvent.Action.DELETE;
                check = IfAddrMsg.check(buffer, offset, length);
                if (check < 0) {
                    return malformed(type, check);
                }
                if (IfAddrMsg.family(buffer, offset) != LibC.AF_INET) {
                    return ignored();
                }
                return new RtEvent.AddressChanged(action, IfAddrMsg.decode(buffer, offset, length));
            case Netlink.RTM_NEWNEIGH:
            case Netlink.RTM_DELNEIGH:
                action = type == Netlink.RTM_NEWNEIGH ? RtEvent.Action.NEW : RtEvent.Action.DELETE;
                check = NdMsg.check(buffer, offset, length);
                if (check < 0) {
                    return malformed(type, check);
                }
                if (NdMsg.family(buffer, offset) != LibC.AF_INET) {
                    return ignored();
                }
                return new RtEvent.NeighbourChanged(action, NdMsg.decode(buffer, offset, length));
            case Netlink.RTM_NEWROUTE:
            case Netlink.RTM_DELROUTE:
                action = type == Netlink.RTM_NEWROUTE ? RtEvent.Action.NEW : RtEvent.Action.DELETE;
                check = RtMsg.check(buffer, offset, length);
                if (check < 0) {
                    return malformed(type, check);
                }
                if (RtMsg.family(buffer, offset) != LibC.AF_INET) {
                    return ignored();
                }
                return new RtEvent.RouteChanged(action, RtMsg.decode(buffer, offset, length));
            case Netlink.NLMSG_OVERRUN:
                malformedCount++;
                return new RtEvent.Overrun("NLMSG_OVERRUN");
            default:
                return ignored();
        }
    }

    private RtEvent malformed(int type, int code) {
        malformedCount++;
        return new RtEvent.Overrun("malformed " + Netlink.typeName(type) + ": " + Malformed.describe(code));
    }

    private RtEvent ignored() {
        ignoredCount++;
        return null;
    }

    long malformedCount() {
        return malformedCount;
    }

    long ignoredCount() {
        return ignoredCount;
    }
}
