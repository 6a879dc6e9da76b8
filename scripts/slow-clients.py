#!/usr/bin/env python3
"""Slow-body clients against `careband serve` with a 1,024 open-file limit, and a probe that
must keep being answered (issue 18: 1,100 clients trickling bodies stopped the server
answering anyone, "Too many open files").

    scripts/slow-clients.py BIN [--clients 1100] [--sources 1] [--trickle-ms 1000]
                                [--seconds 40] [--open-files 1024] [-- SERVE FLAGS...]

Starts `prlimit --nofile=N:N BIN serve --listen 127.0.0.1:PORT [SERVE FLAGS]`, opens CLIENTS
connections from SOURCES loopback addresses (127.0.0.2, 127.0.0.3, ...) that each send the
headers of a `POST /v1/lookup` with a 100,000-byte body and then one byte every TRICKLE-MS,
and meanwhile sends `GET /v1/lookup?postcode=NR1 1AA` from 127.0.0.1 on a new connection
every 50 ms. After SECONDS it reports the probe's latency (p50, p99, max, failures) and
what the slow clients were answered; the server's log is left in slow-clients-server.log in
the current directory. Linux only (prlimit, and 127.0.0.0/8 on loopback). Exit code 1 if a probe failed or its p99 is 1 s or more.
"""

import argparse
import asyncio
import resource
import socket
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def status_of(reader):
    line = await reader.readline()
    return int(line[9:12]) if len(line) >= 12 else None


async def slow_client(source, port, trickle, stop, results):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    except OSError as e:
        results.append(f"connect failed: {e.strerror}")
        return
    writer.write(
        b"POST /v1/lookup HTTP/1.1\r\nHost: careband\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n["
    )

    async def trickle_body():
        try:
            while True:
                await writer.drain()
                await asyncio.sleep(trickle)
                writer.write(b" ")
        except (OSError, ConnectionError):
            pass

    t = asyncio.create_task(trickle_body())
    try:
        status = await asyncio.wait_for(status_of(reader), timeout=max(1.0, stop - time.monotonic()))
        results.append(status if status is not None else "closed without an answer")
    except asyncio.TimeoutError:
        results.append("still held at the end")
    except (OSError, ConnectionError) as e:
        results.append(f"reset: {e}")
    t.cancel()
    writer.close()


async def probe(port, stop, times, failures):
    path = "/v1/lookup?postcode=NR1%201AA&date=2019-06-01"
    while time.monotonic() < stop:
        t0 = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: careband\r\nConnection: close\r\n\r\n".encode())
            status = await asyncio.wait_for(status_of(reader), 10)
            await reader.read()
            writer.close()
            if status == 200:
                times.append(time.monotonic() - t0)
            else:
                failures.append(status)
        except (OSError, asyncio.TimeoutError) as e:
            failures.append(repr(e))
        await asyncio.sleep(0.05)


def pct(sorted_times, p):
    return sorted_times[min(len(sorted_times) - 1, int(len(sorted_times) * p))]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--clients", type=int, default=1100)
    ap.add_argument("--sources", type=int, default=1)
    ap.add_argument("--trickle-ms", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--open-files", type=int, default=1024)
    argv = sys.argv[1:]
    flags = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = ap.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.serve_flags = flags
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the clients need their own fds

    port = free_port()
    n = args.open_files
    server = subprocess.Popen(
        ["prlimit", f"--nofile={n}:{n}", "--", args.bin, "serve", "--listen", f"127.0.0.1:{port}"]
        + args.serve_flags,
        stdout=subprocess.DEVNULL,
        stderr=open("slow-clients-server.log", "w"),
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        stop = time.monotonic() + args.seconds
        results, times, failures = [], [], []
        sources = [f"127.0.0.{2 + i}" for i in range(args.sources)]
        clients = [
            asyncio.create_task(
                slow_client(sources[i % len(sources)], port, args.trickle_ms / 1000, stop, results)
            )
            for i in range(args.clients)
        ]
        await asyncio.sleep(0.5)  # let the slow clients connect first
        await probe(port, stop, times, failures)
        await asyncio.gather(*clients)
    finally:
        server.terminate()
        server.wait()

    counts = {}
    for r in results:
        counts[r] = counts.get(r, 0) + 1
    times.sort()
    print(f"server: open-file limit {n}, flags {args.serve_flags or '(defaults)'}")
    print(f"slow clients: {args.clients} from {args.sources} address(es), one byte every {args.trickle_ms} ms")
    print(f"  answered: {dict(sorted(counts.items(), key=str))}")
    if times:
        print(
            f"probe: {len(times)} answered 200, {len(failures)} failed; "
            f"p50 {pct(times, 0.5) * 1000:.1f} ms, p99 {pct(times, 0.99) * 1000:.1f} ms, "
            f"max {times[-1] * 1000:.1f} ms"
        )
    else:
        print(f"probe: none answered; failures {failures[:5]}")
    ok = bool(times) and not failures and pct(times, 0.99) < 1.0
    print("ok" if ok else f"FAILED {failures[:5]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
