package org.egressgw.tunio.netlink;

/**
 * What an rtnetlink monitor ({@link RtNetlink#openMonitor}) delivers: a change to a link, IPv4 address,
 * IPv4 neighbour or IPv4 route, or an {@link Overrun} saying that changes were lost. Immutable.
 *
 * <p>A change carries the object's full state after the change ({@link Action#NEW}, which the kernel also
 * sends for every modification, e.g. a link's flags) or its last state ({@link Action#DELETE}). Events arrive
 * in the order the kernel made the changes.
 */
public sealed interface RtEvent {
    /** New or changed ({@code RTM_NEW*}), or removed ({@code RTM_DEL*}). */
    enum Action {
        NEW, DELETE
    }

    /** {@code RTM_NEWLINK} (created or changed: flags, operstate, name, MTU...) or {@code RTM_DELLINK}. */
    record LinkChanged(Action action, LinkInfo link) implements RtEvent {
    }

    /** {@code RTM_NEWADDR} or {@code RTM_DELADDR} for an IPv4 address. */
    record AddressChanged(Action action, AddressInfo address) implements RtEvent {
    }

    /**
     * {@code RTM_NEWNEIGH} or {@code RTM_DELNEIGH} for an IPv4 ARP-cache entry. Proxy entries are not notified
     * by the kernel (checked on 6.18): neither when added or deleted nor when flushed at link down.
     */
    record NeighbourChanged(Action action, NeighbourInfo neighbour) implements RtEvent {
    }

    /** {@code RTM_NEWROUTE} or {@code RTM_DELROUTE} for an IPv4 route of any table. */
    record RouteChanged(Action action, RouteInfo route) implements RtEvent {
    }

    /**
     * Notifications were lost: the kernel could not queue them ({@code ENOBUFS}: the socket's receive buffer
     * was full), or one could not be read whole or parsed. State learnt from events is now unreliable; dump
     * everything again (events received after the overrun are still valid and may be applied on top).
     *
     * @param reason what happened, for logs
     */
    record Overrun(String reason) implements RtEvent {
    }
}
