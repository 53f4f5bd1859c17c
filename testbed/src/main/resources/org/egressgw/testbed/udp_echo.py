"""UDP echo server for the testbed's ext namespace.

Usage: udp_echo.py LOG READY PORT ADDR [ADDR ...]

One socket bound per address (a socket bound to 0.0.0.0 would answer from the outgoing interface's
primary address, not the one the client used). Each datagram is logged as
"udp <server addr> <client ip> <len>" to LOG, then sent back unchanged. READY is created once every
address is bound.
"""
import os
import socket
import sys
import threading


def main():
    log_path, ready_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    addrs = sys.argv[4:]
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def serve(sock, addr):
        while True:
            data, peer = sock.recvfrom(65535)
            os.write(log_fd, f"udp {addr} {peer[0]} {len(data)}\n".encode())
            sock.sendto(data, peer)

    socks = []
    for addr in addrs:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((addr, port))
        socks.append((sock, addr))
    for sock, addr in socks:
        threading.Thread(target=serve, args=(sock, addr), daemon=True).start()
    with open(ready_path + ".tmp", "w") as f:
        f.write("ready\n")
    os.replace(ready_path + ".tmp", ready_path)
    threading.Event().wait()


if __name__ == "__main__":
    main()
