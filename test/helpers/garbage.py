#!/usr/bin/env python3
"""Sends garbage frames at a MAC from a raw socket: the flood the link layer must count and drop.

    python3 garbage.py IFACE DST_MAC SRC_MAC DST_IPV4 DST_IPV6 COUNT SEED

Each frame is addressed to DST_MAC (the link layer's) and is one of: random bytes after a random
EtherType; an IPv4, IPv6 or ARP header cut short at a random length; a whole-looking IPv4 or IPv6
header to our address with random contents after it; or just an Ethernet header.
Deterministic for a SEED. Prints the number of frames sent.
"""
import random
import socket
import sys
import time

iface, dst_mac, src_mac, dst4, dst6, count, seed = sys.argv[1:8]
count = int(count)
rng = random.Random(int(seed))
dst = bytes.fromhex(dst_mac.replace(":", ""))
src = bytes.fromhex(src_mac.replace(":", ""))
ip4 = socket.inet_pton(socket.AF_INET, dst4)
ip6 = socket.inet_pton(socket.AF_INET6, dst6)


def noise(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def checksum(b):
    """RFC 1071 over big-endian 16-bit words."""
    total = sum(int.from_bytes(b[i : i + 2], "big") for i in range(0, len(b), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame():
    kind = rng.randrange(7)
    if kind == 0:  # random EtherType and payload
        return dst + src + noise(2) + noise(rng.randrange(0, 120))
    if kind == 1:  # IPv4 header cut short
        return dst + src + b"\x08\x00" + b"\x45" + noise(rng.randrange(0, 19))
    if kind == 2:  # IPv6 header cut short
        return dst + src + b"\x86\xdd" + b"\x60" + noise(rng.randrange(0, 39))
    if kind == 3:  # ARP cut short, or with nonsense fields
        return dst + src + b"\x08\x06" + noise(rng.randrange(0, 40))
    if kind == 4:  # IPv4 to us: version and length plausible, the rest random, half with a good checksum
        body = noise(rng.randrange(0, 100))
        total = 20 + len(body)
        # Not a fragment: net_af_packet's sockets ask the kernel to reassemble fragments
        # (PACKET_FANOUT_FLAG_DEFRAG), so random fragment fields would never reach the port.
        head = bytearray(b"\x45\x00" + total.to_bytes(2, "big") + noise(2) + b"\x00\x00" + noise(2) + b"\x00\x00" + noise(4) + ip4)
        if rng.randrange(2):
            head[10:12] = checksum(bytes(head)).to_bytes(2, "big")
        else:
            head[10:12] = noise(2)
        return dst + src + b"\x08\x00" + bytes(head) + body
    if kind == 5:  # IPv6 to us with a random next header and payload
        body = noise(rng.randrange(0, 100))
        head = b"\x60\x00\x00\x00" + len(body).to_bytes(2, "big") + noise(2) + noise(16) + ip6
        return dst + src + b"\x86\xdd" + head + body
    return dst + src + noise(2)  # an Ethernet header and nothing else


s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
sent = 0
for i in range(count):
    s.send(frame())
    sent += 1
    if i % 64 == 63:
        time.sleep(0.002)  # a flood, but not faster than a 512-frame packet ring drains
print(sent)
