"""Cheap-query latency of ``ipgraph serve`` while N runaway queries run.

For N = 0, 4, 8, 16 the script sends N runaway queries (a five-way cross
join of the whole graph that only the timeout stops), waits until they are
running, then measures a cheap ``ASK`` and an entity page
(``/id/region/jilin.html``), one after the other, ``--samples`` times each,
from another client address. Two ways of sending the runaways: all from one
client (127.0.0.2), and each from its own client (127.0.0.10, .11, ...);
Linux routes all of 127.0.0.0/8 to the loopback interface.

Usage (from the repository root, after ``ipgraph build``):

    .venv/bin/python benchmarks/serve/runaways.py
    .venv/bin/python benchmarks/serve/runaways.py --store memory --samples 10

Only 127.0.0.0/8 is contacted; the server is started and stopped by this script.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"
CHEAP = {"ASK": "/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D", "page": "/id/region/jilin.html"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def runaway(base: str, address: str, out: list) -> None:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=base, transport=transport, timeout=120) as http:
        response = await http.get("/sparql", params={"query": RUNAWAY})
        out.append(response.status_code)


async def measure(base: str, runaways: int, spread: bool, samples: int, settle: float) -> dict:
    statuses: list = []
    addresses = [f"127.0.0.{10 + i}" if spread else "127.0.0.2" for i in range(runaways)]
    tasks = [asyncio.create_task(runaway(base, address, statuses)) for address in addresses]
    await asyncio.sleep(settle if runaways else 0)
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        health = (await http.get("/health")).json().get("queries", {})  # (before the queue: no such key)
        latencies: dict[str, list[float]] = {name: [] for name in CHEAP}
        failures = 0
        for _ in range(samples):
            for name, path in CHEAP.items():
                started = time.perf_counter()
                response = await http.get(path)
                latencies[name].append((time.perf_counter() - started) * 1000)
                failures += response.status_code != 200
    still_running = sum(1 for task in tasks if not task.done())
    await asyncio.gather(*tasks)
    return {
        "runaways": runaways,
        "from": "own client each" if spread else "one client",
        "server": health,
        "runaways_unfinished_after": still_running,
        "failures": failures,
        "runaway_statuses": sorted(set(statuses)),
        **{
            name: {
                "p50_ms": round(statistics.median(values), 1),
                "max_ms": round(max(values), 1),
            }
            for name, values in latencies.items()
        },
    }


async def run_all(base: str, samples: int, settle: float) -> list[dict]:
    rows = []
    for runaways in (0, 4, 8, 16):
        for spread in (False, True) if runaways else (False,):
            rows.append(await measure(base, runaways, spread, samples, settle))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["oxigraph", "memory"], default="oxigraph")
    parser.add_argument("--samples", type=int, default=20, help="Cheap requests of each kind per measurement.")
    parser.add_argument("--timeout", type=float, default=10.0, help="The server's --timeout (stops the runaways).")
    parser.add_argument("--settle", type=float, default=1.5, help="Seconds between sending runaways and measuring.")
    parser.add_argument("--dataset", default=str(ROOT / "build" / "ipgraph.trig"))
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "ipgraph", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--store", args.store, "--dataset", args.dataset, "--timeout", str(args.timeout),
               "--views", str(ROOT / "build" / "no-views")]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - our CLI
    try:
        for _ in range(300):
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        rows = asyncio.run(run_all(base, args.samples, args.settle))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print("\n| runaways | sent from | running / waiting | ASK p50 | ASK max | page p50 | page max | failures |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        queries = row["server"]
        print(
            f"| {row['runaways']} | {row['from']} | {queries.get('running', '?')} / {queries.get('waiting', '?')} "
            f"| {row['ASK']['p50_ms']} ms | {row['ASK']['max_ms']} ms | {row['page']['p50_ms']} ms "
            f"| {row['page']['max_ms']} ms | {row['failures']} |"
        )


if __name__ == "__main__":
    main()
