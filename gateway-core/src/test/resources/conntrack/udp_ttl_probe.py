#!/usr/bin/env python3
"""traceroute-style UDP probe that reads the ICMP error the way traceroute -e does. Usage:
  udp_ttl_probe.py DST PORT TTL WAIT_S [DF]

Sends one datagram with the given TTL from an unconnected socket with IP_RECVERR, then reads the
socket's error queue. The kernel only queues an ICMP error on this socket when the packet quoted
inside it names this socket's own address and port, so an error here proves the quoted header was
translated back. Prints "localport=P" and then
  "error origin=O type=T code=C info=I offender=A errno=E"  (exit 0)  or "no error" (exit 1).
With DF, the datagram is sent with don't-fragment set (IP_PMTUDISC_PROBE) and 1300 bytes of payload.
"""
import select
import socket
import struct
import sys

IP_RECVERR = 11
IP_MTU_DISCOVER = 10
IP_PMTUDISC_PROBE = 3
MSG_ERRQUEUE = 0x2000


def main():
    dst, port, ttl, wait = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    df = len(sys.argv) > 5 and sys.argv[5] == "DF"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    s.setsockopt(socket.SOL_IP, socket.IP_TTL, ttl)
    if df:
        s.setsockopt(socket.SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)
    s.bind(("0.0.0.0", 0))
    print(f"localport={s.getsockname()[1]}", flush=True)
    s.sendto(b"x" * (1300 if df else 32), (dst, port))
    poller = select.poll()
    poller.register(s, select.POLLERR)
    if not poller.poll(int(wait * 1000)):
        print("no error", flush=True)
        sys.exit(1)
    _data, ancdata, _flags, _addr = s.recvmsg(2048, 1024, MSG_ERRQUEUE)
    for level, ctype, cdata in ancdata:
        if level == socket.SOL_IP and ctype == IP_RECVERR:
            ee_errno, origin, etype, code, _pad, info, _data32 = struct.unpack("=IBBBBII", cdata[:16])
            offender = socket.inet_ntoa(cdata[20:24]) if len(cdata) >= 24 else "?"
            print(f"error origin={origin} type={etype} code={code} info={info} offender={offender} errno={ee_errno}",
                  flush=True)
            return
    print("no error", flush=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
