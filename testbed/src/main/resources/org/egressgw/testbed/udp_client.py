"""One-off UDP echo client: udp_client.py DST PORT PAYLOAD TRIES TIMEOUT_S.

Sends PAYLOAD, prints the first reply to stdout; retries TRIES times; exit code 1 when nothing came back.
"""
import socket
import sys

dst, port, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
tries, timeout = int(sys.argv[4]), float(sys.argv[5])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.settimeout(timeout)
for _ in range(tries):
    sock.sendto(payload, (dst, port))
    try:
        data, _peer = sock.recvfrom(65535)
    except socket.timeout:
        continue
    sys.stdout.write(data.decode(errors="replace"))
    sys.exit(0)
sys.stderr.write(f"no reply from {dst}:{port} after {tries} tries\n")
sys.exit(1)
