"""Benchmark the analyst pages (figures, map, timeline) on a graph of 100 sources and about 10,000 figures.

Steps, each timed (best of ``--repeat`` runs):

1. ``ipgraph synth --sources 100 --figures 105`` and ``ipgraph build`` (once; reported, not the subject);
2. load the TriG into an in-memory Oxigraph store (``ipgraph.store.open_store``);
3. the analyst tables the pages need (``ipgraph.tables.rows``: figures, measures, entities, events);
4. each page alone as ``ipgraph view NAME`` writes it: its tables, rendering and the atomic write
   (``ipgraph.charts.write_pages(store, out, (name,), as_file=True)``), with the page's size;
5. in Chromium (Debian's, headless, via Playwright, every request but the file blocked): time from
   navigation start until the page's script has run (DOM parsed, charts painted, controls live:
   ``window.ipgraph.readyAt``), and the round trip of a first interaction (pick another indicator,
   colour the map by an indicator, filter the timeline by a region) until the next frame.

Run (about 10 minutes, most of it the build):

    nice .venv/bin/python benchmarks/views/bench_analyst.py [--sources 100 --figures 105] [--keep build/bench-analyst]

Results go to stdout as Markdown; benchmarks/README.md keeps the last run's numbers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ipgraph import charts, tables
from ipgraph.store import open_store

ROOT = Path(__file__).resolve().parents[2]
IPGRAPH = [sys.executable, "-m", "ipgraph"]
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-default-apps",
]  # fmt: skip

#: A first interaction per page, run in the page; resolves after the next frame is drawn.
INTERACTIONS = {
    "figures": "() => { const t = performance.now(); window.ipgraph.showIndicator(1);"
    " return new Promise(r => requestAnimationFrame(() => r(performance.now() - t))); }",
    "map": "() => { const t = performance.now(); window.ipgraph.colour(window.ipgraph.data.choices.length - 1);"
    " return new Promise(r => requestAnimationFrame(() => r(performance.now() - t))); }",
    "timeline": "() => { const t = performance.now(); const s = document.getElementById('filter-r');"
    " s.value = s.options[1].value; window.ipgraph.filter();"
    " return new Promise(r => requestAnimationFrame(() => r(performance.now() - t))); }",
}


def only(url: str, blocked: list[str]):
    """A Playwright route handler that lets ``url`` load and blocks (and records) every other request."""

    def handle(route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    return handle


def best(function, repeat: int) -> tuple[float, float, object]:
    """The best wall-clock seconds of ``repeat`` runs, the CPU seconds of that run, and its result.
    (On a shared machine the CPU time is the steadier of the two.)"""
    runs, result = [], None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    wall, cpu = min(runs)
    return wall, cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--figures", type=int, default=105, help="figures per synthetic source")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="a folder to keep the corpus, build and pages in (reused)")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="ipgraph-bench-analyst-"))
    dataset = work / "ipgraph.trig"
    if not dataset.is_file():
        shutil.rmtree(work / "corpus", ignore_errors=True)
        started = time.perf_counter()
        synth = ["synth", "--sources", str(args.sources), "--figures", str(args.figures), "--out", str(work / "corpus")]
        build = ["build", "--data", str(work / "corpus" / "data"), "--out", str(dataset)]
        for command in (synth, build):
            subprocess.run([*IPGRAPH, *command], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)  # noqa: S603
        print(f"synth + build: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    load, load_cpu, store = best(lambda: open_store(dataset, "oxigraph"), 1)
    print(f"Load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)\n")
    counts = {}
    print(f"| step | wall s (best of {args.repeat}) | CPU s | rows |")
    print("| --- | ---: | ---: | ---: |")
    size = dataset.stat().st_size / 1e6
    print(f"| load {size:.0f} MB TriG, {len(store):,} quads into Oxigraph | {load:.2f} | {load_cpu:.2f} | |")
    for name in ("figures", "measures", "entities", "events"):
        seconds, cpu, found = best(lambda name=name: tables.rows(store, name), args.repeat)
        counts[name] = len(found)
        print(f"| table {name} | {seconds:.2f} | {cpu:.2f} | {len(found):,} |")
    print()
    pages = work / "pages"
    sizes = {}
    print("| page | written (its tables + render + write): wall s | CPU s | size |")
    print("| --- | ---: | ---: | ---: |")
    for name, file in charts.PAGES.items():

        def write(name=name, file=file):
            return charts.write_pages(store, pages / file, (name,), as_file=True)

        seconds, cpu, _ = best(write, args.repeat)
        sizes[name] = (pages / file).stat().st_size
        print(f"| {name} | **{seconds:.2f}** | {cpu:.2f} | {sizes[name] / 1e6:.1f} MB |")
    seconds, cpu, _ = best(lambda: charts.write_pages(store, pages), args.repeat)
    print(f"| all three (`ipgraph view --all` shares the tables) | {seconds:.2f} | {cpu:.2f} | |")
    print()
    if args.no_browser:
        return
    from playwright.sync_api import sync_playwright

    print("| page | Chromium: navigation → script done (painted, controls live) | first interaction → next frame |")
    print("| --- | ---: | ---: |")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        for name, file in charts.PAGES.items():
            url = (pages / file).resolve().as_uri()
            ready, interaction = [], []
            for _ in range(args.repeat):
                context = browser.new_context(viewport={"width": 1400, "height": 900})
                blocked: list[str] = []
                context.route("**/*", only(url, blocked))
                page = context.new_page()
                page.goto(url)
                page.locator("body[data-ready='true']").wait_for(state="attached", timeout=60_000)
                ready.append(page.evaluate("window.ipgraph.readyAt") / 1000)
                interaction.append(page.evaluate(INTERACTIONS[name]) / 1000)
                assert not blocked, blocked
                context.close()
            print(f"| {name} | **{min(ready):.2f} s** | {min(interaction) * 1000:.0f} ms |")
        browser.close()
    print(f"\nLoad average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"\n{counts['figures']:,} figures, {counts['measures']:,} measures, {counts['events']:,} events; "
          f"{args.sources} synthetic sources of {args.figures} figures beside the corpus of data/.")  # fmt: skip


if __name__ == "__main__":
    main()
