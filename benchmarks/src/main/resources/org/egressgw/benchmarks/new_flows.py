"""Sends 64-byte IPv4/UDP packets, each opening a new flow: a (source port, destination port)
pair not used before in this run. Raw socket with IP_HDRINCL (the kernel fills in the IPv4
checksum and length), UDP checksum 0 ("none"), so the sender costs one sendto per packet and
no socket churn.

usage: new_flows.py SRC_IP DST_IP COUNT DST_PORT_BASE DST_PORTS MAX_SECONDS
prints: "<packets sent> <seconds> errors=<sendto failures>"
"""
import socket
import struct
import sys
import time


def main():
    src, dst = sys.argv[1], sys.argv[2]
    count, base, nports, max_seconds = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
    if count > nports * (65536 - 1024):
        sys.exit("COUNT larger than the number of distinct (source port, destination port) pairs")
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 64, 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    payload = bytes(36)
    pack = struct.Struct("!HHHH").pack
    send = s.sendto
    addr = (dst, 0)
    sent = errors = 0
    start = time.perf_counter()
    deadline = start + max_seconds
    done = False
    for sport in range(1024, 65536):
        for dport in range(base, base + nports):
            try:
                send(ip + pack(sport, dport, 44, 0) + payload, addr)
            except OSError:
                errors += 1
            sent += 1
            if sent >= count:
                done = True
                break
        if done or (sport & 255 == 0 and time.perf_counter() > deadline):
            break
    elapsed = time.perf_counter() - start
    print(sent, "%.4f" % elapsed, "errors=%d" % errors)


if __name__ == "__main__":
    main()
