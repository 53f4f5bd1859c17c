package org.egressgw.ha;

import java.util.Arrays;

import org.agrona.DirectBuffer;
import org.egressgw.packet.Ipv4;
import org.egressgw.packet.Ipv4Address;
import org.egressgw.packet.PacketError;

/**
 * Decides whether a received IPv4 packet is an advertisement this member may act on, and remembers the last
 * sequence accepted from each peer so replays are refused. Every check of RFC 5798 section 7.1 that applies to
 * unicast IPv4, plus ours. In order, the first failure wins:
 *
 * <ol>
 *   <li>{@code Ipv4.check} ({@link VrrpError#IPV4_MALFORMED}); protocol 112 and not a fragment
 *       ({@link VrrpError#NOT_VRRP});</li>
 *   <li>destination is this member's address ({@link VrrpError#WRONG_DESTINATION}); source is a configured peer
 *       ({@link VrrpError#UNKNOWN_SOURCE}); TTL 255 ({@link VrrpError#BAD_TTL});</li>
 *   <li>{@link Vrrp#check} (version, type, count, length, interval, checksum);</li>
 *   <li>{@link VrrpAuth#verify} (trailer present, HMAC); the sequence above the last accepted from that peer
 *       ({@link VrrpError#AUTH_REPLAY}) — only now is the sequence recorded;</li>
 *   <li>our VRID ({@link VrrpError#WRONG_VRID}); the same virtual addresses, in any order, unless the sender claims
 *       to own them (priority 255) ({@link VrrpError#ADDRESS_MISMATCH}).</li>
 * </ol>
 *
 * <p>After {@link #accept} returns {@link VrrpError#NONE}, {@link #source}, {@link #priority},
 * {@link #intervalCentis} and {@link #sequence} describe the advertisement. Nothing here throws on packet data.
 *
 * <p>Thread-safety: confined to one thread (the agent's): it holds replay state and a {@link VrrpAuth}.
 */
public final class AdvertisementFilter {
    private final int localIp;
    private final int vrid;
    private final int[] virtualIps;
    private final int[] peers;
    private final long[] lastSequence;
    private final boolean[] seen;
    private final VrrpAuth auth;

    private int source;
    private int priority;
    private int intervalCentis;
    private long sequence;

    /**
     * @param localIp this member's address: advertisements must be addressed to it
     * @param vrid the virtual router id, 1..255
     * @param virtualIps the virtual addresses, distinct (copied)
     * @param peers the other members' addresses, distinct, not {@code localIp} (copied)
     * @param auth the group's key (used from this filter's thread only)
     * @throws IllegalArgumentException naming the offending value
     */
    public AdvertisementFilter(int localIp, int vrid, int[] virtualIps, int[] peers, VrrpAuth auth) {
        Vrrp.checkVrid(vrid);
        this.localIp = localIp;
        this.vrid = vrid;
        this.virtualIps = distinct("virtual address", virtualIps);
        this.peers = checkPeers(peers, localIp);
        this.auth = auth;
        lastSequence = new long[this.peers.length];
        seen = new boolean[this.peers.length];
    }

    /**
     * A copy of {@code peers} after checking that there is at least one, none is listed twice and none is
     * {@code localIp}.
     *
     * @throws IllegalArgumentException naming the offending address
     */
    static int[] checkPeers(int[] peers, int localIp) {
        final int[] copy = distinct("peer", peers);
        for (int peer : copy) {
            if (peer == localIp) {
                throw new IllegalArgumentException("peer " + Ipv4Address.toString(peer) + " is the local address");
            }
        }
        return copy;
    }

    static int[] distinct(String what, int[] addresses) {
        if (addresses == null || addresses.length == 0) {
            throw new IllegalArgumentException("no " + what + " configured");
        }
        final int[] copy = addresses.clone();
        final int[] sorted = addresses.clone();
        Arrays.sort(sorted);
        for (int i = 1; i < sorted.length; i++) {
            if (sorted[i] == sorted[i - 1]) {
                throw new IllegalArgumentException(what + " " + Ipv4Address.toString(sorted[i]) + " is listed twice");
            }
        }
        return copy;
    }

    /**
     * Judges the IPv4 packet {@code [off, off+len)} as received from a raw socket.
     *
     * @return {@link VrrpError#NONE} if it is an authentic, fresh advertisement for this virtual router, else the
     *     reason (see the class comment)
     */
    public int accept(DirectBuffer b, int off, int len) {
        if (Ipv4.check(b, off, len) != PacketError.NONE) {
            return VrrpError.IPV4_MALFORMED;
        }
        if (Ipv4.protocol(b, off) != Vrrp.IP_PROTOCOL || Ipv4.isFragment(b, off)) {
            return VrrpError.NOT_VRRP;
        }
        final int src = Ipv4.srcAddress(b, off);
        final int dst = Ipv4.dstAddress(b, off);
        if (dst != localIp) {
            return VrrpError.WRONG_DESTINATION;
        }
        final int peer = peerIndex(src);
        if (peer < 0) {
            return VrrpError.UNKNOWN_SOURCE;
        }
        if (Ipv4.ttl(b, off) != Vrrp.TTL) {
            return VrrpError.BAD_TTL;
        }
        final int headerLength = Ipv4.headerLength(b, off);
        final int vrrp = off + headerLength;
        final int payloadLength = Ipv4.totalLength(b, off) - headerLength;
        final int code = Vrrp.check(b, vrrp, payloadLength, src, dst);
        if (code != VrrpError.NONE) {
            return code;
        }
        final int authCode = auth.verify(b, vrrp, payloadLength, src, dst);
        if (authCode != VrrpError.NONE) {
            return authCode;
        }
        final long seq = VrrpAuth.sequence(b, vrrp);
        if (seen[peer] && Long.compareUnsigned(seq, lastSequence[peer]) <= 0) {
            return VrrpError.AUTH_REPLAY;
        }
        seen[peer] = true;
        lastSequence[peer] = seq;
        if (Vrrp.vrid(b, vrrp) != vrid) {
            return VrrpError.WRONG_VRID;
        }
        final int advertisedPriority = Vrrp.priority(b, vrrp);
        if (advertisedPriority != Vrrp.PRIORITY_OWNER && !sameAddresses(b, vrrp)) {
            return VrrpError.ADDRESS_MISMATCH;
        }
        source = src;
        priority = advertisedPriority;
        intervalCentis = Vrrp.maxAdverIntervalCentis(b, vrrp);
        sequence = seq;
        return VrrpError.NONE;
    }

    private int peerIndex(int address) {
        for (int i = 0; i < peers.length; i++) {
            if (peers[i] == address) {
                return i;
            }
        }
        return -1;
    }

    /** Same count and every configured address present (configured ones are distinct, so a permutation). */
    private boolean sameAddresses(DirectBuffer b, int vrrp) {
        final int count = Vrrp.count(b, vrrp);
        if (count != virtualIps.length) {
            return false;
        }
        for (int configured : virtualIps) {
            boolean found = false;
            for (int i = 0; i < count && !found; i++) {
                found = Vrrp.address(b, vrrp, i) == configured;
            }
            if (!found) {
                return false;
            }
        }
        return true;
    }

    /** Forgets the sequences seen, e.g. when the group's key changes. */
    public void resetReplayState() {
        Arrays.fill(seen, false);
        Arrays.fill(lastSequence, 0L);
    }

    /** Source of the last accepted advertisement. */
    public int source() {
        return source;
    }

    /** Priority of the last accepted advertisement. */
    public int priority() {
        return priority;
    }

    /** Max Adver Int of the last accepted advertisement, in centiseconds. */
    public int intervalCentis() {
        return intervalCentis;
    }

    /** Trailer sequence of the last accepted advertisement. */
    public long sequence() {
        return sequence;
    }
}
