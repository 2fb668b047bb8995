"""Benchmark projections and HTML views at 1k, 10k and 100k nodes.

Measures, on a synthetic graph shaped like ipgraph's (regions, agencies,
industries, measures and metrics with the same predicates as the seed data):

- projection: SPARQL (rdflib) + networkx, ``ipgraph.project.project(dataset, "overview")``;
- HTML generation: ``ipgraph.view.write_view`` (layout, JSON, page), with the page size;
- for comparison, pyvis ``Network.from_nx`` + ``generate_html`` (skipped above 10k: quadratic);
- in Chromium (Debian's, headless, via Playwright): time from navigation until the
  view is interactive (vis-network drawn, ``data-ready`` set) and until a search
  round trip answers (main thread free), at 1k and 10k nodes.

Python memory is the tracemalloc peak of each step. Run:

    .venv/bin/python benchmarks/views/bench_views.py [--sizes 1000,10000,100000] [--no-browser]

Results go to stdout as a Markdown table; benchmarks/README.md keeps the
numbers of the last run on the reference machine.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import tracemalloc
from pathlib import Path

from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from ipgraph.namespaces import IPG, IPGR, QB, SCHEMA, SDMX_DIMENSION, SDMX_MEASURE
from ipgraph.project import project
from ipgraph.view import write_view


def synthetic(nodes: int) -> Dataset:
    """A dataset whose overview projection has about ``nodes`` nodes."""
    dataset = Dataset()
    graph = dataset.graph(URIRef(IPGR["graph/synthetic"]))
    regions = max(nodes // 25, 2)
    industries = max(nodes // 100, 5)
    rest = nodes - 2 * regions - industries
    measures, metrics = rest * 3 // 4, rest - rest * 3 // 4

    def entity(kind: str, index: int, cls: URIRef, label: str) -> URIRef:
        iri = URIRef(IPGR[f"{kind}/{index}"])
        graph.add((iri, RDF.type, cls))
        graph.add((iri, RDFS.label, Literal(label, lang="en")))
        return iri

    region = [entity("region", i, IPG.Province, f"Region {i} 省") for i in range(regions)]
    agency = [entity("agency", i, IPG.Agency, f"Agency of region {i}") for i in range(regions)]
    industry = [entity("industry", i, IPG.Industry, f"Industry {i}") for i in range(industries)]
    for i in range(regions):
        graph.add((agency[i], IPG.jurisdiction, region[i]))
    for i in range(measures):
        m = entity("measure", i, IPG.Measure, f"Measure {i}")
        graph.add((m, IPG.implementedIn, region[i % regions]))
        graph.add((m, IPG.implementedBy, agency[i % regions]))
        graph.add((m, IPG.targetsIndustry, industry[i % industries]))
        graph.add((m, IPG.targetsIndustry, industry[(i * 7 + 3) % industries]))
    for i in range(metrics):
        o = entity("observation", i, QB.Observation, f"Metric {i}")
        graph.add((o, SDMX_DIMENSION.refArea, region[i % regions]))
        graph.add((o, SDMX_MEASURE.obsValue, Literal(1000 + i)))
        graph.add((o, IPG.periodEnd, Literal("2024-12-31", datatype=XSD.date)))
        graph.add((o, IPG.reportedBy, agency[i % regions]))
    graph.add((URIRef(IPGR["source/synthetic"]), RDF.type, SCHEMA.NewsArticle))
    return dataset


def measure(step, repeat: int = 3):
    """Time ``step`` alone, best of ``repeat`` runs (the machine is shared; tracemalloc
    slows Python down a lot), then run it once more under tracemalloc for its memory peak."""
    seconds = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = step()
        seconds = min(seconds, time.perf_counter() - start)
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def pyvis_html(graph) -> float:
    from pyvis.network import Network

    start = time.perf_counter()
    network = Network(directed=True, cdn_resources="in_line")
    network.from_nx(graph)
    network.generate_html()
    return time.perf_counter() - start


def _only(url: str):
    """A route handler that lets ``url`` through and blocks every other request."""

    def handle(route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            route.abort()

    return handle


#: Type a label in the search box and press Enter, as a user would; returns the selection.
SEARCH = """() => {
  const box = document.getElementById("search");
  box.value = "Measure 1";
  box.dispatchEvent(new Event("input"));
  box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
  return window.ipgraph.network.getSelectedNodes();
}"""


def browser_times(paths: dict[int, Path]) -> dict[int, tuple[float, float]]:
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    args += ["--disable-sync", "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND"]
    times = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=args)
        for size, path in paths.items():
            runs = []
            for _ in range(3):  # best of three fresh pages
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                url = path.resolve().as_uri()
                page.route("**/*", _only(url))
                page.goto(url)
                page.locator("body[data-ready='true']").wait_for(state="attached", timeout=120_000)
                ready = page.evaluate("window.ipgraph.readyAt") / 1000  # since navigation start
                start = time.perf_counter()
                found = page.evaluate(SEARCH)
                answered = time.perf_counter() - start
                assert len(found) == 1, found
                runs.append((ready, answered))
                page.close()
            times[size] = min(runs)
        browser.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--browser-max", type=int, default=10_000, help="Largest size opened in Chromium.")
    parser.add_argument("--physics-limit", type=int, default=500, help="As in ipgraph view --physics-limit.")
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    out = Path(tempfile.mkdtemp(prefix="ipgraph-bench-"))
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, {platform.system()}")
    print()
    print("| nodes | edges | triples | projection s (MiB) | HTML s (MiB) | HTML size MB | pyvis from_nx+HTML s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    pages: dict[int, Path] = {}
    for size in sizes:
        dataset = synthetic(size)
        repeat = 3 if size <= 10_000 else 1
        graph, project_s, project_mb = measure(lambda dataset=dataset: project(dataset, "overview"), repeat)
        path = out / f"view-{size}.html"
        _, html_s, html_mb = measure(
            lambda graph=graph, path=path, size=size: write_view(
                graph, path, title=f"{size} nodes", physics_limit=options.physics_limit
            ),
            repeat,
        )
        pyvis_s = f"{pyvis_html(graph):.2f}" if size <= 10_000 else "not run (quadratic)"
        if size <= options.browser_max:
            pages[graph.number_of_nodes()] = path
        print(
            f"| {graph.number_of_nodes()} | {graph.number_of_edges()} | {len(dataset)} | "
            f"{project_s:.2f} ({project_mb:.0f}) | {html_s:.2f} ({html_mb:.0f}) | "
            f"{path.stat().st_size / 1e6:.1f} | {pyvis_s} |",
            flush=True,
        )
    if not options.no_browser and pages:
        print()
        print("| nodes | Chromium: interactive s (navigation start to drawn, data-ready) | search round trip s |")
        print("| ---: | ---: | ---: |")
        for size, (ready, answered) in browser_times(pages).items():
            print(f"| {size} | {ready:.2f} | {answered:.3f} |", flush=True)


if __name__ == "__main__":
    main()
