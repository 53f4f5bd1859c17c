#!/usr/bin/env python3
"""Sends one hand-built VXLAN datagram (RFC 7348) carrying Ethernet/IPv4/UDP, for tests that check
the gateway refuses what it must not forward. Usage:
  craft_vxlan.py BIND_IP GW_IP GW_PORT VNI INNER_DST_MAC INNER_SRC INNER_DST INNER_DPORT [COUNT]
"""
import socket
import struct
import sys


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main() -> None:
    bind_ip, gw_ip, gw_port, vni, dst_mac, src, dst, dport = sys.argv[1:9]
    count = int(sys.argv[9]) if len(sys.argv) > 9 else 1
    payload = b"must-not-leave-the-gateway"
    sport = 40000
    udp_len = 8 + len(payload)
    s_ip, d_ip = socket.inet_aton(src), socket.inet_aton(dst)
    pseudo = s_ip + d_ip + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, int(dport), udp_len, 0) + payload
    uc = csum(pseudo + udp) or 0xFFFF
    udp = struct.pack("!HHHH", sport, int(dport), udp_len, uc) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1, 0x4000, 64, 17, 0, s_ip, d_ip)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex("020000000001") + b"\x08\x00"
    vx = struct.pack("!II", 0x08000000, int(vni) << 8)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((bind_ip, 0))
    for _ in range(count):
        sock.sendto(vx + eth + ip + udp, (gw_ip, int(gw_port)))


if __name__ == "__main__":
    main()
