"""Traffic and counting for the soak (benchmarks' Soak.java). Two modes:

send SRC DST SPORT_BASE NSPORTS DPORT_BASE NDPORTS RATE SECONDS COUNT STATUS
    Sends 64-byte IPv4/UDP packets (36-byte payload) from SRC to DST over NSPORTS x NDPORTS
    flows, one distinct (source port, destination port) pair each, visited round robin so every
    flow is revisited every NSPORTS*NDPORTS/RATE seconds. RATE packets/s (0 = as fast as
    possible), for SECONDS (0 = no limit) or COUNT packets (0 = no limit), whichever ends first.
    Raw socket with IP_HDRINCL: one sendto per packet, no socket per flow (a process could not
    hold 100 000 of them), the kernel fills in the IPv4 checksum and length; UDP checksum 0.
    Every 50 ms a line "<monotonic s> <sent> <errors>" is appended to STATUS (CLOCK_MONOTONIC
    is the same in every namespace, so these lines line up with the counter's). A sender that
    falls behind its schedule (descheduled on a busy machine) catches up by at most 100 ms worth
    of packets at once and gives up the rest ("skipped"), so the rate stays fixed instead of
    turning into bursts. At the end it prints
    "sent=<n> errors=<n> start=<mono> end=<mono> maxlag=<s> skipped=<n>" (maxlag: how far, at
    worst, the sender fell behind its schedule).

count IFACE OUT
    Appends "<monotonic s> <rx packets of IFACE>" to OUT every 50 ms, forever (read from
    /proc/net/dev, i.e. this process's network namespace).
"""
import signal
import socket
import struct
import sys
import time

INTERVAL = 0.05


def send(argv):
    src, dst = argv[0], argv[1]
    sbase, nsports, dbase, ndports = int(argv[2]), int(argv[3]), int(argv[4]), int(argv[5])
    rate, seconds, count, status = float(argv[6]), float(argv[7]), int(argv[8]), argv[9]
    if not (0 < sbase and sbase + nsports <= 65536 and 0 < dbase and dbase + ndports <= 65536):
        sys.exit("port ranges outside 1-65535")
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 64, 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    payload = bytes(36)
    pack = struct.Struct("!HHHH").pack
    # source port varies fastest: consecutive packets belong to different destinations' port sets
    pkts = [ip + pack(sbase + s, dbase + d, 44, 0) + payload for d in range(ndports) for s in range(nsports)]
    n = len(pkts)
    chunk = 256
    ring = pkts + pkts[:chunk]  # a slice never has to wrap
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock_send = s.sendto
    addr = (dst, 0)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    out = open(status, "a", buffering=1)
    mono = time.monotonic
    start = mono()
    deadline = start + seconds if seconds > 0 else float("inf")
    limit = count if count > 0 else float("inf")
    sent = errors = i = skipped = 0
    cap = max(1, int(rate * 0.1))
    maxlag = 0.0
    next_status = start
    while not stop:
        now = mono()
        if now >= next_status:
            out.write("%.4f %d %d\n" % (now, sent, errors))
            next_status = now + INTERVAL
        if now >= deadline or sent >= limit:
            break
        if rate > 0:
            due = int((now - start) * rate) - sent - skipped
            if due <= 0:
                time.sleep(min(0.001, -due / rate + 0.0002))
                continue
            lag = due / rate
            if lag > maxlag:
                maxlag = lag
            if due > cap:
                skipped += due - cap
                due = cap
            k = min(due, chunk, limit - sent)
        else:
            k = min(chunk, limit - sent)
        for p in ring[i:i + k]:
            try:
                sock_send(p, addr)
            except OSError:
                errors += 1
        sent += k
        i += k
        if i >= n:
            i -= n
    end = mono()
    out.write("%.4f %d %d\n" % (end, sent, errors))
    out.close()
    print("sent=%d errors=%d start=%.4f end=%.4f maxlag=%.3f skipped=%d" % (sent, errors, start, end, maxlag, skipped),
          flush=True)


def count(argv):
    iface, path = argv[0], argv[1]
    prefix = iface + ":"
    out = open(path, "a", buffering=1)
    while True:
        with open("/proc/net/dev") as f:
            for line in f:
                line = line.strip()
                if line.startswith(prefix):
                    rx = line[len(prefix):].split()[1]
                    out.write("%.4f %s\n" % (time.monotonic(), rx))
                    break
        time.sleep(INTERVAL)


def main():
    if len(sys.argv) == 12 and sys.argv[1] == "send":
        send(sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "count":
        count(sys.argv[2:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
