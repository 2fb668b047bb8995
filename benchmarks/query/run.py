"""Benchmark the named queries on a synthetic 1M-triple graph: load time and
peak memory of each store, and each query through ipgraph's API against the
same query on raw pyoxigraph. Writes its table into benchmarks/README.md.

    python benchmarks/query/run.py            # or: make bench-query

Each store runs in its own process so that its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).parent))

PARAMS = {
    "regions-by-industry": {"industry": "https://w3id.org/ipgraph/id/industry/i1"},
    "entity": {"entity": "https://w3id.org/ipgraph/id/region/r7"},
    "source-facts": {"source": "https://w3id.org/ipgraph/id/source/s3"},
    "fact-sources": {"fact": "https://w3id.org/ipgraph/id/measure/m1"},
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times) if repeat < 3 else statistics.median(times)


def measure(kind: str, data: Path, repeat: int, timeout: float) -> dict:
    """Run in a child process: load one store, time every named query."""
    import pyoxigraph as ox

    from ipgraph.namespaces import PREFIXES
    from ipgraph.query import list_named, open_graph

    base = peak_mb()
    report = {"store": kind, "queries": {}}
    folder = None
    if kind == "raw-bulk-load":  # pyoxigraph's own bulk load, for reference
        folder = tempfile.mkdtemp()
        started = time.perf_counter()
        store = ox.Store(folder)
        store.bulk_load(path=str(data), format=ox.RdfFormat.N_QUADS)
        report["load_s"] = time.perf_counter() - started
        report["peak_mb"] = peak_mb() - base
        shutil.rmtree(folder)
        return report
    if kind == "raw-memory-load":
        started = time.perf_counter()
        store = ox.Store()
        store.bulk_load(path=str(data), format=ox.RdfFormat.N_QUADS)
        report["load_s"] = time.perf_counter() - started
        report["peak_mb"] = peak_mb() - base
        return report
    started = time.perf_counter()
    if kind == "oxigraph-disk":
        folder = tempfile.mkdtemp()
        graph = open_graph(data, "oxigraph", store_path=Path(folder) / "store", timeout=timeout, limit=None)
    else:
        graph = open_graph(data, kind, timeout=timeout, limit=None)
    report["load_s"] = time.perf_counter() - started
    report["peak_mb"] = peak_mb() - base
    report["triples"] = len(graph.store) if kind != "memory" else None
    for named in list_named():
        params = PARAMS.get(named.name, {})
        entry = {}
        try:
            rows = len(graph.query(named, **params))
            entry["rows"] = rows
            entry["api_s"] = best(lambda named=named, params=params: graph.query(named, **params), repeat)
            if kind != "memory":
                entry["api_inprocess_s"] = best(
                    lambda named=named, params=params: graph.query(named, timeout=None, **params), repeat
                )
                raw_store = graph.store.store
                substitutions = {ox.Variable(k): ox.NamedNode(v) for k, v in params.items()}

                def raw(named=named, substitutions=substitutions, raw_store=raw_store):
                    results = raw_store.query(
                        named.text,
                        prefixes=PREFIXES,
                        use_default_graph_as_union=True,
                        substitutions=substitutions,
                    )
                    return [tuple(solution) for solution in results]

                entry["raw_s"] = best(raw, repeat)
        except Exception as error:  # a timeout on rdflib is a result too
            entry["error"] = type(error).__name__
        report["queries"][named.name] = entry
    report["peak_mb"] = peak_mb() - base
    if folder:
        shutil.rmtree(folder)
    return report


def table(reports: list[dict], triples: int) -> str:
    by = {r["store"]: r for r in reports}
    lines = [
        f"Synthetic graph: {triples:,} quads (`benchmarks/query/generate.py`), "
        f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}. Times in seconds "
        "(median of 3 runs, `api` after one more that counts the rows; rdflib: 1 run). "
        "`api` runs through `Graph.query` with a timeout "
        "(the default): in a worker process of the store's pool, forked once and reused, killed when the "
        "timeout passes; the rows come back as SPARQL TSV and are decoded into pyoxigraph terms. `in-proc` "
        "is the same API with `timeout=None` (no worker, no timeout); `raw` is `pyoxigraph.Store.query` on "
        "the same store, iterating every row into a tuple.",
        "",
        "| store | load (s) | peak memory (MB) |",
        "| --- | ---: | ---: |",
    ]
    for name in ("memory", "oxigraph-memory", "oxigraph-disk", "raw-memory-load", "raw-bulk-load"):
        if name in by:
            lines.append(f"| {name} | {by[name]['load_s']:.1f} | {by[name]['peak_mb']:.0f} |")
    lines += [
        "",
        "| query | rows | rdflib api | ox-mem api | ox-mem in-proc | ox-mem raw | api/raw | "
        "ox-disk api | ox-disk raw | api/raw |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def cell(store, name, key):
        entry = by.get(store, {}).get("queries", {}).get(name, {})
        if "error" in entry:
            return entry["error"]
        value = entry.get(key)
        return "" if value is None else f"{value:.3f}"

    def ratio(store, name):
        entry = by.get(store, {}).get("queries", {}).get(name, {})
        if "api_s" in entry and "raw_s" in entry and entry["raw_s"] > 0:
            return f"{entry['api_s'] / entry['raw_s']:.2f}"
        return ""

    for name in by["oxigraph-memory"]["queries"]:
        rows = by["oxigraph-memory"]["queries"][name].get("rows", "")
        lines.append(
            f"| {name} | {rows} | {cell('memory', name, 'api_s')} | {cell('oxigraph-memory', name, 'api_s')} | "
            f"{cell('oxigraph-memory', name, 'api_inprocess_s')} | {cell('oxigraph-memory', name, 'raw_s')} | "
            f"{ratio('oxigraph-memory', name)} | {cell('oxigraph-disk', name, 'api_s')} | "
            f"{cell('oxigraph-disk', name, 'raw_s')} | {ratio('oxigraph-disk', name)} |"
        )
    lines += ["", "Reading it (written by the script from the numbers above):", ""]
    for store, label in (("oxigraph-memory", "Oxigraph in memory"), ("oxigraph-disk", "Oxigraph on disk")):
        queries = by.get(store, {}).get("queries", {})
        met, missed, slowest_missed = [], [], 0.0
        for name, entry in queries.items():
            if "api_s" not in entry or not entry.get("raw_s"):
                continue
            share = entry["api_s"] / entry["raw_s"]
            extra = (entry["api_s"] - entry["raw_s"]) * 1000
            (met if share <= 1.3 else missed).append(f"{name} ({share:.2f}x, {extra:+.1f} ms)")
            if share > 1.3:
                slowest_missed = max(slowest_missed, entry["raw_s"])
        lines.append(
            f"- {label}: {len(met)} of {len(met) + len(missed)} named queries within 1.3x of raw pyoxigraph"
            + (f"; not within it: {', '.join(missed)}." if missed else ".")
        )
        if missed and slowest_missed < 0.005:
            lines[-1] += (
                " Those take raw Oxigraph under 5 ms: the fixed cost of the round trip to the worker process "
                "(send the query, wake the worker, stream the rows back, decode them) is what exceeds 1.3x."
            )
    return "\n".join(lines) + "\n"


def write_readme(text: str) -> Path:
    readme = ROOT / "benchmarks" / "README.md"
    start, end = "<!-- bench-query:start -->", "<!-- bench-query:end -->"
    body = readme.read_text(encoding="utf-8") if readme.exists() else "# Benchmarks\n"
    section = f"{start}\n## Queries (`make bench-query`)\n\n{text}{end}"
    if start in body and end in body:
        body = body[: body.index(start)] + section + body[body.index(end) + len(end) :]
    else:
        body = body.rstrip("\n") + "\n\n" + section + "\n"
    readme.write_text(body, encoding="utf-8")
    return readme


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=ROOT / "build" / "bench" / "synthetic.nq")
    parser.add_argument("--timeout", type=float, default=120.0, help="per rdflib query")
    parser.add_argument("--skip-rdflib", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        repeat = 1 if arguments.child == "memory" else 3
        timeout = arguments.timeout if arguments.child == "memory" else 600.0
        print(json.dumps(measure(arguments.child, arguments.data, repeat, timeout)))
        return
    from generate import generate

    triples = generate(arguments.triples, arguments.data)
    print(f"generated {triples:,} quads in {arguments.data}", flush=True)
    kinds = ["raw-memory-load", "raw-bulk-load", "oxigraph-memory", "oxigraph-disk"]
    if not arguments.skip_rdflib:
        kinds.append("memory")
    reports = []
    for kind in kinds:
        started = time.perf_counter()
        child_kind = "oxigraph" if kind == "oxigraph-memory" else kind
        output = subprocess.run(  # noqa: S603 - this very script
            [
                sys.executable,
                __file__,
                "--child",
                child_kind,
                "--data",
                str(arguments.data),
                "--timeout",
                str(arguments.timeout),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        report = json.loads(output.strip().splitlines()[-1])
        report["store"] = kind
        reports.append(report)
        print(f"{kind}: {time.perf_counter() - started:.0f} s", flush=True)
    text = table(reports, triples)
    print(text)
    print(f"wrote {write_readme(text)}")


if __name__ == "__main__":
    main()
