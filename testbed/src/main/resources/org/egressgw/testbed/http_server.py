"""HTTP server for the testbed's ext namespace.

Usage: http_server.py LOG READY PORT ADDR [ADDR ...]

Binds one ThreadingHTTPServer per address (never 0.0.0.0: replies must come from the address the
client used) and answers:
  GET /          -> "you are <client ip>\n"
  GET /10mb      -> 10 MiB of the deterministic pattern
  GET /bytes/N   -> N bytes of the pattern
Pattern: byte i of a body is i % 251 (Topology/Probes compute the same digest locally).
Each request is logged as "http <server addr> <client ip> <method> <path>" to LOG before it is
answered, so a client that got its answer can rely on the line being there. READY is created once
every address is bound.
"""
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATTERN_PERIOD = 251
TEN_MIB = 10 * 1024 * 1024
CHUNK = PATTERN_PERIOD * 256  # a whole number of periods, so every chunk is identical

_CHUNK_BYTES = bytes(i % PATTERN_PERIOD for i in range(CHUNK))


def main():
    log_path, ready_path, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    addrs = sys.argv[4:]
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def log(line):
        # one write() on an O_APPEND fd: lines from several servers never interleave
        os.write(log_fd, (line + "\n").encode())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            server_addr = self.server.server_address[0]
            client = self.client_address[0]
            log(f"http {server_addr} {client} GET {self.path}")
            if self.path == "/":
                self._send_text(200, f"you are {client}\n")
            elif self.path == "/10mb":
                self._send_pattern(TEN_MIB)
            elif self.path.startswith("/bytes/") and self.path[7:].isdigit():
                self._send_pattern(int(self.path[7:]))
            else:
                self._send_text(404, "not found\n")

        def _send_text(self, status, text):
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _send_pattern(self, length):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(length))
            self.end_headers()
            remaining = length
            while remaining > 0:
                n = min(remaining, CHUNK)
                self.wfile.write(_CHUNK_BYTES[:n])
                remaining -= n

        def log_message(self, fmt, *args):
            pass

    servers = []
    for addr in addrs:
        server = ThreadingHTTPServer((addr, port), Handler)
        server.daemon_threads = True
        servers.append(server)
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(ready_path + ".tmp", "w") as f:
        f.write("ready\n")
    os.replace(ready_path + ".tmp", ready_path)
    threading.Event().wait()


if __name__ == "__main__":
    main()
