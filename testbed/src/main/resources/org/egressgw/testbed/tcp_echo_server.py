#!/usr/bin/env python3
"""Threaded TCP echo server. Usage: tcp_echo_server.py ADDR PORT READY"""
import socket
import sys
import threading


def serve(conn):
    with conn:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)


def main():
    addr, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((addr, port))
    lsock.listen(128)
    open(ready, "w").close()
    while True:
        conn, peer = lsock.accept()
        print(f"connection from {peer[0]}:{peer[1]}", flush=True)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
