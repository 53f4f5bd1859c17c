#!/usr/bin/env python3
"""Lists the ICMP errors in a capture and checks every checksum independently. Usage:
  icmp_check.py PCAP

Reads frames with scapy (Ethernet or raw IP captures) and parses the bytes itself. One line per ICMP
destination-unreachable (3) or time-exceeded (11):
  icmperr type=T code=C src=S dst=D mtu=M ipck=ok icmpck=ok inner_src=A inner_dst=B inner_proto=P
          inner_sport=X inner_dport=Y inner_ipck=ok inner_l4ck=ok|bad|truncated
(inner_sport is the ICMP echo identifier for a quoted echo request, inner_dport 0). Each check
reads "ok" or "bad".
"""
import socket
import struct
import sys

from scapy.all import IP, rdpcap  # noqa: E402  (python3-scapy)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ok(flag):
    return "ok" if flag else "bad"


def main():
    for pkt in rdpcap(sys.argv[1]):
        if IP not in pkt:
            continue
        raw = bytes(pkt[IP])
        ihl = (raw[0] & 0x0F) * 4
        total = struct.unpack("!H", raw[2:4])[0]
        raw = raw[:total]
        if raw[9] != 1 or len(raw) < ihl + 8:
            continue
        icmp = raw[ihl:]
        itype, code = icmp[0], icmp[1]
        if itype not in (3, 11):
            continue
        mtu = struct.unpack("!H", icmp[6:8])[0]
        inner = icmp[8:]
        if len(inner) < 20:
            print(f"icmperr type={itype} code={code} short", flush=True)
            continue
        ihl2 = (inner[0] & 0x0F) * 4
        inner_total = struct.unpack("!H", inner[2:4])[0]
        proto = inner[9]
        isrc, idst = socket.inet_ntoa(inner[12:16]), socket.inet_ntoa(inner[16:20])
        l4 = inner[ihl2:]
        sport = dport = -1
        l4ck = "truncated"
        complete = len(inner) >= inner_total
        l4full = l4[: inner_total - ihl2]
        if proto in (6, 17) and len(l4) >= 4:
            sport, dport = struct.unpack("!HH", l4[:4])
            if complete:
                pseudo = inner[12:20] + struct.pack("!BBH", 0, proto, len(l4full))
                if proto == 17 and struct.unpack("!H", l4full[6:8])[0] == 0:
                    l4ck = "ok"  # no checksum
                else:
                    l4ck = ok(csum(pseudo + l4full) == 0)
        elif proto == 1 and len(l4) >= 8:
            sport, dport = struct.unpack("!H", l4[4:6])[0], 0
            if complete:
                l4ck = ok(csum(l4full) == 0)
        print(f"icmperr type={itype} code={code} src={socket.inet_ntoa(raw[12:16])} dst={socket.inet_ntoa(raw[16:20])} "
              f"mtu={mtu} ipck={ok(csum(raw[:ihl]) == 0)} icmpck={ok(csum(icmp) == 0)} inner_src={isrc} "
              f"inner_dst={idst} inner_proto={proto} inner_sport={sport} inner_dport={dport} "
              f"inner_ipck={ok(csum(inner[:ihl2]) == 0)} inner_l4ck={l4ck}", flush=True)


if __name__ == "__main__":
    main()
