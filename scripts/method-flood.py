#!/usr/bin/env python3
"""Sends requests with made-up HTTP method tokens to a careband server and reports what they
did to /metrics and to the server's memory (issue 18: each new method token used to become a
metric series, 50,000 of them took RSS from 100 to 221 MB and /metrics to 97 MB).

    scripts/method-flood.py http://127.0.0.1:8080 [REQUESTS] [CONNECTIONS]

Every request is `<random token> /healthz` on keep-alive connections (raw sockets, asyncio),
default 100,000 requests over 32 connections. Before and after, the script reads /metrics:
its size in bytes and `process_resident_memory_bytes`. Exit code 1 if /metrics ends up over
50 KB or RSS grew by more than 20%.
"""

import asyncio
import random
import string
import sys
import time
import urllib.request


def metrics(base):
    with urllib.request.urlopen(base + "/metrics", timeout=30) as r:
        text = r.read()
    rss = 0.0
    for line in text.decode().splitlines():
        if line.startswith("process_resident_memory_bytes "):
            rss = float(line.split()[1])
    return len(text), rss


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    close = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    if length:
        await reader.readexactly(length)
    return status, close


async def worker(host, port, count, rng, statuses):
    reader = writer = None
    for _ in range(count):
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        token = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(3, 12)))
        writer.write(f"{token} /healthz HTTP/1.1\r\nHost: careband\r\n\r\n".encode())
        await writer.drain()
        status, close = await read_response(reader)
        statuses[status] = statuses.get(status, 0) + 1
        if close:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def main():
    base = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:8080"
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    host, port = base.removeprefix("http://").split(":")
    size0, rss0 = metrics(base)
    rng = random.Random(18)  # fixed seed: the same tokens on every run
    statuses = {}
    start = time.monotonic()
    per = total // conns
    await asyncio.gather(*(worker(host, int(port), per, rng, statuses) for _ in range(conns)))
    took = time.monotonic() - start
    size1, rss1 = metrics(base)
    t0 = time.monotonic()
    metrics(base)
    scrape_ms = (time.monotonic() - t0) * 1000
    print(f"requests: {per * conns} with random method tokens in {took:.1f} s; statuses {statuses}")
    print(f"/metrics: {size0} bytes before, {size1} bytes after (one scrape {scrape_ms:.1f} ms)")
    print(f"RSS: {rss0 / 1e6:.1f} MB before, {rss1 / 1e6:.1f} MB after")
    ok = size1 < 50_000 and rss1 <= rss0 * 1.2
    print("ok" if ok else "FAILED: /metrics over 50 KB or RSS grew more than 20%")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
