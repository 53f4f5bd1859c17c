"""Gratuitous ARP for the testbed: garp.py IFACE IP [COUNT].

Broadcasts COUNT (default 1) ARP requests whose sender and target protocol address are both IP and whose
sender hardware address is IFACE's MAC, 100 ms apart (what `arping -U` sends). Every host on the segment
that already has a neighbour entry for IP moves it to IFACE's MAC at once; Linux creates no new entry from
it unless arp_accept is set. Standard library only (an AF_PACKET socket), so it needs CAP_NET_RAW and no
arping package.
"""
import socket
import struct
import sys
import time

ETH_P_ARP = 0x0806
ARPHRD_ETHER = 1
ETH_P_IP = 0x0800
ARPOP_REQUEST = 1


def main():
    iface, ip = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    with open(f"/sys/class/net/{iface}/address") as f:
        mac = bytes.fromhex(f.read().strip().replace(":", ""))
    addr = socket.inet_aton(ip)
    frame = (b"\xff" * 6 + mac + struct.pack("!H", ETH_P_ARP)
             + struct.pack("!HHBBH", ARPHRD_ETHER, ETH_P_IP, 6, 4, ARPOP_REQUEST)
             + mac + addr + b"\x00" * 6 + addr)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((iface, 0))
        for i in range(count):
            if i:
                time.sleep(0.1)
            sock.send(frame)


if __name__ == "__main__":
    main()
