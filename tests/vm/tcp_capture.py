#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Captures what crosses the loopback interface over TCP to or from one port, for
kernel_krb5_test.sh: the bytes an eavesdropper on the wire would see.

  tcp_capture.py PORT OUT

Opens a raw AF_PACKET socket on `lo` (needs CAP_NET_RAW, no other tool), then creates OUT, so
that OUT existing means the capture has begun. Appends to OUT the TCP payload of every IPv4
segment whose source or destination port is PORT, in the order seen, until SIGTERM or SIGINT;
then prints "captured N segments, B bytes of payload" on stderr.

On `lo` the kernel shows each segment twice, leaving and arriving; the leaving copy is skipped,
so every byte is written once."""
import signal
import socket
import struct
import sys

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
IPPROTO_TCP = 6


def main():
    port, out_path = int(sys.argv[1]), sys.argv[2]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind(("lo", 0))
    sock.settimeout(0.2)
    stopping = False

    def stop(_signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    segments = payload_bytes = 0
    with open(out_path, "wb") as out:
        # Drain what is queued after the stop too: segments that arrived before it.
        while True:
            try:
                frame, addr = sock.recvfrom(1 << 18)
            except socket.timeout:
                if stopping:
                    break
                continue
            if addr[2] == PACKET_OUTGOING or len(frame) < 14 + 20:
                continue
            (ethertype,) = struct.unpack_from(">H", frame, 12)
            if ethertype != ETH_P_IP:
                continue
            ip = frame[14:]
            ihl = (ip[0] & 0x0F) * 4
            (total,) = struct.unpack_from(">H", ip, 2)
            if ip[9] != IPPROTO_TCP or len(ip) < ihl + 20:
                continue
            sport, dport = struct.unpack_from(">HH", ip, ihl)
            if port not in (sport, dport):
                continue
            doff = (ip[ihl + 12] >> 4) * 4
            # `total` is 0 for a segment larger than 64 KiB (GSO on lo): then the frame's end.
            end = total if total else len(ip)
            payload = ip[ihl + doff:end]
            if payload:
                out.write(payload)
                segments += 1
                payload_bytes += len(payload)
    print(f"captured {segments} segments, {payload_bytes} bytes of payload", file=sys.stderr)


if __name__ == "__main__":
    main()
