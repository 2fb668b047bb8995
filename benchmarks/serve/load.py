"""Load test of ``ipgraph serve``: many concurrent clients on 127.0.0.1 run
the named queries (and fetch entity pages) for a fixed time, bounded in
requests too; prints throughput, latency percentiles, errors and the
server's memory (its process and its query children) over the run.

Usage (from the repository root, after ``ipgraph build``):

    .venv/bin/python benchmarks/serve/load.py --clients 32 --seconds 30
    .venv/bin/python benchmarks/serve/load.py --store memory --clients 8 --seconds 20

Only 127.0.0.1 is contacted; the server is started and stopped by this script.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from ipgraph.query import list_named  # noqa: E402

PAGES = ["/id/region/jilin.html", "/id/region/jilin.ttl", "/id/agency/cnipa.jsonld", "/"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workload() -> list[tuple[str, dict]]:
    """Every named query without a required parameter, as a POST, plus a few pages."""
    requests = [
        ("/sparql", {"query": named.text})
        for named in list_named(ROOT / "src" / "ipgraph" / "queries")
        if not any(param.required for param in named.params)
    ]
    return requests + [(page, {}) for page in PAGES]


def memory_mb(process: psutil.Process) -> float:
    """Resident memory of the server process (its query children are
    short-lived forks that share its pages, and are not counted)."""
    try:
        return process.memory_info().rss / 2**20
    except psutil.Error:
        return float("nan")


async def client(base: str, work: list, offset: int, deadline: float, budget: list[int], out: list) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        index = offset
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            path, form = work[index % len(work)]
            index += 1
            started = time.perf_counter()
            try:
                if form:
                    response = await http.post(path, data=form, headers={"Accept": "application/sparql-results+json"})
                else:
                    response = await http.get(path)
                ok = response.status_code == 200
                status = response.status_code
            except httpx.HTTPError as error:
                ok, status = False, type(error).__name__
            out.append((time.perf_counter() - started, ok, status, path))


async def run(base: str, clients: int, seconds: float, max_requests: int, server: psutil.Process) -> dict:
    work = workload()
    results: list = []
    budget = [max_requests]
    samples: list[float] = [memory_mb(server)]
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    tasks = [asyncio.create_task(client(base, work, i, deadline, budget, results)) for i in range(clients)]
    while not all(task.done() for task in tasks):
        await asyncio.sleep(1)
        samples.append(memory_mb(server))
    elapsed = time.perf_counter() - started
    latencies = sorted(r[0] * 1000 for r in results)
    errors = [r for r in results if not r[1]]

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else float("nan")

    return {
        "clients": clients,
        "requests": len(results),
        "errors": len(errors),
        "error_kinds": sorted({f"{r[2]} {r[3]}" for r in errors})[:5],
        "seconds": round(elapsed, 1),
        "throughput_rps": round(len(results) / elapsed, 1),
        "latency_ms": {
            "p50": round(pct(50), 1),
            "p90": round(pct(90), 1),
            "p99": round(pct(99), 1),
            "max": round(latencies[-1], 1) if latencies else None,
            "mean": round(statistics.fmean(latencies), 1) if latencies else None,
        },
        "memory_mb": {
            "start": round(samples[0], 1),
            "after_first_5s": round(samples[min(5, len(samples) - 1)], 1),
            "end": round(samples[-1], 1),
            "max": round(max(samples), 1),
        },
        "workload": f"{len(work)} requests round-robin: named queries by POST + entity pages",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--max-requests", type=int, default=50_000, help="Stop after this many requests in all.")
    parser.add_argument("--store", choices=["oxigraph", "memory"], default="oxigraph")
    parser.add_argument("--workers", type=int, default=4, help="The server's --workers (queries at once).")
    parser.add_argument("--dataset", default=str(ROOT / "build" / "ipgraph.trig"))
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "ipgraph", "serve", "--port", str(port), "--store", args.store,
               "--dataset", args.dataset, "--workers", str(args.workers)]  # fmt: skip
    server = subprocess.Popen(  # noqa: S603 - our own CLI
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        report = asyncio.run(run(base, args.clients, args.seconds, args.max_requests, psutil.Process(server.pid)))
        report["store"] = args.store
        report["server_workers"] = args.workers
        report["cpus"] = os.cpu_count()
        print(json.dumps(report, indent=2))
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
