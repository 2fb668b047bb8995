"""Benchmark the stores: load time into each (rdflib in memory, Oxigraph on
disk, Oxigraph server, Virtuoso), a sync after one graph changed, every named
query on each store against raw pyoxigraph on the same data, and the
overview projection and its HTML view from each store. Writes its tables
into benchmarks/README.md.

    nice -n 10 .venv/bin/python benchmarks/stores/run.py --sources 10 100 --million

Corpora come from ``ipgraph synth --sources N --seed 1`` built by ``ipgraph
build``. ``--million`` adds a corpus of about 1M triples made from the
largest built one: its source graphs copied under new graph and entity ids
(``synth-1-`` becomes ``synth-1-cK-``), the shared graphs (registry,
vocabularies, figures, links) once. Servers are started here on free
loopback ports (``oxigraph serve``; Virtuoso's ``virtuoso-t`` when installed).
"""

from __future__ import annotations

import argparse
import gc
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

PARAMS = {
    "source-facts": {"source": "source:synth-1-000001"},
    "entity": {"entity": "region:jilin"},
    "regions-by-industry": {"industry": "industry:robotics"},
    "fact-sources": {"fact": "region:jilin"},
}
START, END = "<!-- bench-stores:start -->", "<!-- bench-stores:end -->"


def timed(function, repeat: int = 3) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), value


def corpus(sources: int, work: Path) -> Path:
    folder = work / f"s{sources}"
    dataset = folder / "ipgraph.trig"
    if not dataset.is_file():
        ipgraph = str(Path(sys.executable).with_name("ipgraph"))
        subprocess.run([ipgraph, "synth", "--sources", str(sources), "--seed", "1", "--out", str(folder)], check=True)  # noqa: S603
        subprocess.run(  # noqa: S603
            [ipgraph, "build", "--data", str(folder / "data"), "--out", str(dataset)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return dataset


def million(source: Path, work: Path, target: int = 1_000_000) -> Path:
    """About ``target`` triples: the source graphs of ``source`` copied under new ids."""
    out = work / "m1" / "ipgraph.nq"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    quads = ox.serialize(ox.parse(path=str(source), format=ox.RdfFormat.TRIG), format=ox.RdfFormat.N_QUADS)
    lines = quads.decode("utf-8").splitlines(keepends=True)
    shared = [line for line in lines if "/graph/synth-1-" not in line]
    own = [line for line in lines if "/graph/synth-1-" in line]
    copies = max(1, (target - len(shared)) // max(1, len(own)))
    with out.open("w", encoding="utf-8") as stream:
        stream.writelines(shared)
        stream.writelines(own)
        for k in range(1, copies):
            stream.writelines(line.replace("synth-1-", f"synth-1-c{k}-") for line in own)
    return out


def free_port() -> int:
    from conftest import _free_port

    return _free_port()


class Server:
    def __init__(self, command: list[str], ready: str, cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                httpx.get(ready, timeout=2)
                return
            except httpx.TransportError:
                time.sleep(0.3)
        raise RuntimeError(f"{command[0]} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def oxigraph_server(folder: Path):
    from ipgraph.store import RemoteConfig

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    server = Server(
        [binary, "serve", "--location", str(folder), "--bind", f"127.0.0.1:{port}", "--union-default-graph"],
        f"{base}/query?query=ASK%7B%7D",
    )
    return server, RemoteConfig(f"{base}/query", f"{base}/update", f"{base}/store", timeout=600)


def virtuoso_server(folder: Path):
    from ipgraph.store import RemoteConfig
    from test_stores_remote import VIRTUOSO_INI

    binary = shutil.which("virtuoso-t")
    if binary is None:
        return None, None
    folder.mkdir(parents=True)
    http = free_port()
    ini = folder / "virtuoso.ini"
    text = VIRTUOSO_INI.format(d=folder, sql=free_port(), http=http)
    text = text.replace("NumberOfBuffers = 10000", "NumberOfBuffers = 170000").replace(
        "MaxDirtyBuffers = 6000", "MaxDirtyBuffers = 130000"
    )
    ini.write_text(text, encoding="utf-8")
    base = f"http://127.0.0.1:{http}"
    server = Server([binary, "-f", "-c", str(ini)], f"{base}/sparql?query=ASK%7B%7D", cwd=folder)
    return server, RemoteConfig(
        f"{base}/sparql", f"{base}/sparql-auth", f"{base}/sparql-graph-crud-auth", "dba", "dba", timeout=600
    )


def one_changed(dataset: Path, work: Path) -> Path:
    """The dataset with one triple added to one source graph."""
    graph = next(
        quad.graph_name
        for quad in ox.parse(
            path=str(dataset), format=ox.RdfFormat.N_QUADS if dataset.suffix == ".nq" else ox.RdfFormat.TRIG
        )
        if "/graph/synth-1-" in str(quad.graph_name)
    )
    out = work / f"changed-{dataset.parent.name}.nq"
    with out.open("wb") as stream:
        fmt = ox.RdfFormat.N_QUADS if dataset.suffix == ".nq" else ox.RdfFormat.TRIG
        ox.serialize(ox.parse(path=str(dataset), format=fmt), stream, ox.RdfFormat.N_QUADS)
        extra = ox.Quad(ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:p"), ox.Literal("changed"), graph)
        stream.write(ox.serialize([extra], format=ox.RdfFormat.N_QUADS))
    return out


def run_size(label: str, dataset: Path, work: Path, rdflib_ok: bool) -> dict:
    from ipgraph import project as project_module
    from ipgraph import view as view_module
    from ipgraph.namespaces import PREFIXES
    from ipgraph.query import Graph, list_named
    from ipgraph.store import OxigraphStore, SparqlStore

    fmt = ox.RdfFormat.N_QUADS if dataset.suffix == ".nq" else ox.RdfFormat.TRIG
    triples = sum(1 for _ in ox.parse(path=str(dataset), format=fmt))
    result = {"label": label, "triples": triples, "load": {}, "sync": {}, "queries": {}, "projection": {}}
    changed = one_changed(dataset, work)

    # raw pyoxigraph: the limit
    raw_dir = work / f"raw-{label}"
    seconds, raw = timed(lambda: _raw_load(raw_dir, dataset, fmt), repeat=1)
    result["load"]["raw pyoxigraph bulk_load"] = seconds

    stores = {}
    if rdflib_ok:
        seconds, memory = timed(lambda: _memory(dataset), repeat=1)
        result["load"]["rdflib (memory)"] = seconds
        stores["rdflib"] = memory
    disk = work / f"disk-{label}"
    seconds, oxigraph = timed(lambda: OxigraphStore(disk).load(dataset), repeat=1)
    result["load"]["Oxigraph disk"] = seconds
    del oxigraph
    gc.collect()
    seconds, _ = timed(lambda: OxigraphStore(disk).load(changed), repeat=1)
    result["sync"]["Oxigraph disk"] = seconds
    stores["Oxigraph disk"] = OxigraphStore(disk).load(changed)
    servers = []
    try:
        for name, start in (("Oxigraph server", oxigraph_server), ("Virtuoso", virtuoso_server)):
            server, config = start(work / f"{name.split()[0].lower()}-{label}")
            if server is None:
                continue
            servers.append(server)
            seconds, remote = timed(lambda config=config: SparqlStore(config).load(dataset), repeat=1)
            result["load"][name] = seconds
            seconds, remote = timed(lambda config=config: SparqlStore(config).load(changed), repeat=1)
            result["sync"][name] = seconds
            stores[name] = remote
        raw = ox.Store.read_only(str(raw_dir))
        for named in list_named():
            params = PARAMS.get(named.name, {})
            row = {}
            graph0 = Graph(stores["Oxigraph disk"], timeout=600, limit=None, max_bytes=None)
            bindings = graph0._bind(named, dict(params))
            substitutions = {ox.Variable(k): v for k, v in bindings.items()}
            row["raw"], count = timed(
                lambda text=named.text, substitutions=substitutions: sum(
                    1
                    for _ in raw.query(
                        text, prefixes=PREFIXES, use_default_graph_as_union=True, substitutions=substitutions
                    )
                )
            )
            row["rows"] = count
            for name, store in stores.items():
                graph = Graph(store, timeout=600, limit=None, max_bytes=None)
                try:
                    row[name], _ = timed(
                        lambda graph=graph, params=params, named=named: graph.query(named, **dict(params)),
                        repeat=1 if name == "rdflib" else 3,
                    )
                except Exception as error:
                    row[name] = type(error).__name__
            result["queries"][named.name] = row
        for name, store in stores.items():
            started = time.perf_counter()
            projected = project_module.project(store, "overview")
            middle = time.perf_counter()
            view_module.write_view(projected, work / f"view-{label}-{name.replace(' ', '-')}.html", title="overview")
            result["projection"][name] = (middle - started, time.perf_counter() - middle, projected.number_of_nodes())
    finally:
        for server in servers:
            server.stop()
    return result


def _raw_load(folder: Path, dataset: Path, fmt) -> ox.Store:
    store = ox.Store(str(folder))
    store.bulk_load(path=str(dataset), format=fmt)
    store.flush()
    del store
    return None


def _memory(dataset: Path):
    from ipgraph.store import MemoryStore

    return MemoryStore().load(dataset)


def table(results: list[dict]) -> str:
    lines = [START, ""]
    lines.append(
        "Load into each store (s; Oxigraph disk: a first load with the bulk loader and the digests of every "
        "graph; servers: one Graph Store Protocol PUT and one MOVE per graph), and a sync after one triple "
        "was added to one source graph (the digests of every graph computed, that graph replaced):"
    )
    lines.append("")
    names = sorted({name for r in results for name in r["load"]}, key=lambda n: (n != "raw pyoxigraph bulk_load", n))
    lines.append("| triples | " + " | ".join(names) + " | sync: " + " | sync: ".join(sorted(results[0]["sync"])) + " |")
    lines.append("| ---: " * (1 + len(names) + len(results[0]["sync"])) + "|")
    for r in results:
        cells = [f"{r['load'][n]:.2f}" if n in r["load"] else "—" for n in names]
        syncs = [f"{r['sync'][n]:.2f}" for n in sorted(results[0]["sync"])]
        lines.append(f"| {r['triples']:,} | " + " | ".join(cells) + " | " + " | ".join(syncs) + " |")
    for r in results:
        stores = [n for n in ("rdflib", "Oxigraph disk", "Oxigraph server", "Virtuoso") if n in r["projection"]]
        lines += [
            "",
            f"Named queries at {r['triples']:,} triples (s, median of 3; rdflib 1 run), through ipgraph's "
            "API with a timeout, against raw pyoxigraph (`Store.query` on the same data, every row read):",
            "",
        ]
        lines.append("| query | rows | raw pyoxigraph | " + " | ".join(stores) + " | Oxigraph disk / raw |")
        lines.append("| --- | ---: | ---: | " + "---: | " * len(stores) + "---: |")
        for query, row in r["queries"].items():
            cells = [f"{row[s]:.3f}" if isinstance(row[s], float) else row[s] for s in stores]
            ratio = row["Oxigraph disk"] / row["raw"] if isinstance(row["Oxigraph disk"], float) and row["raw"] else 0
            lines.append(f"| {query} | {row['rows']} | {row['raw']:.3f} | " + " | ".join(cells) + f" | {ratio:.2f} |")
        lines += ["", "| overview from | projection (s) | HTML view (s) | nodes |", "| --- | ---: | ---: | ---: |"]
        for store in stores:
            projection, html, nodes = r["projection"][store]
            lines.append(f"| {store} | {projection:.2f} | {html:.2f} | {nodes:,} |")
    lines += ["", END]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--million", action="store_true", help="Also a ~1M-triple corpus (see the module doc).")
    parser.add_argument("--work", type=Path, default=None, help="Folder for corpora and stores (kept).")
    parser.add_argument("--no-write", action="store_true", help="Print the tables; do not touch benchmarks/README.md.")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ipgraph-bench-stores-"))
    results = []
    datasets = [(f"s{n}", corpus(n, work)) for n in args.sources]
    if args.million:
        datasets.append(("m1", million(datasets[-1][1], work)))
    shutil.rmtree(work / "stores", ignore_errors=True)  # every store loaded from nothing
    (work / "stores").mkdir(parents=True)
    for label, dataset in datasets:
        print(f"{label}: {dataset}", flush=True)
        results.append(run_size(label, dataset, work / "stores", rdflib_ok=label != "m1"))
        print(results[-1], flush=True)
    text = table(results)
    print(text)
    if not args.no_write:
        readme = ROOT / "benchmarks" / "README.md"
        current = readme.read_text(encoding="utf-8")
        if START in current:
            current = re.sub(re.escape(START) + ".*?" + re.escape(END), text, current, flags=re.S)
        else:
            current += (
                "\n## stores: load, sync, named queries and projections per store (benchmarks/stores/run.py)\n\n"
                + text
                + "\n"
            )
        readme.write_text(current, encoding="utf-8")


if __name__ == "__main__":
    main()
