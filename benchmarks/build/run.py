"""Benchmark ``ipgraph build`` on synthetic corpora (``ipgraph synth``): full
build time and peak memory by size, how time grows with the number of
sources, an incremental rebuild after one source changed, and the limit:
pyoxigraph's bulk loader on the N-Quads of the same build, in the same run.

    python benchmarks/build/run.py                    # or: make bench-build
    python benchmarks/build/run.py --sources 100 300 1000 3000 --incremental 1000

Each build runs as ``ipgraph build`` in a child process under ``nice``; its
peak memory is the largest sum of the resident sets of the build and its
workers (proportional set sizes, so that the pages forked workers share
with the build count once), sampled every 20 ms. Results go to ``benchmarks/build/results.json``,
a log-log plot to ``benchmarks/build/scaling.png`` and a table into
``benchmarks/README.md`` (between the build markers).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
IPGRAPH = [sys.executable, "-m", "ipgraph"]
BEGIN, END = "<!-- build benchmark: begin -->", "<!-- build benchmark: end -->"


def timed(command: list[str], env: dict | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system of the process and every
    worker) and peak resident MB (the largest sum of the process's and its
    workers' RSS, sampled every 50 ms; pages forked workers share with the
    build are counted in each) of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = 0
    while process.poll() is None:
        try:
            rss = sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
        except psutil.Error:
            rss = 0
        peak = max(peak, rss)
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, command))} failed:\n{process.stderr.read().decode()}")
    return seconds, cpu, peak / 2**20


def synth(work: Path, sources: int) -> Path:
    folder = work / f"synth-{sources}"
    if not folder.exists():
        subprocess.run(  # noqa: S603 - ipgraph itself
            [*IPGRAPH, "synth", "--sources", str(sources), "--seed", "1", "--out", str(folder)],
            check=True,
            capture_output=True,
        )
    return folder / "data"


def _build_command(data: Path, out: Path, jobs: int) -> list[str]:
    return [
        "nice",
        "-n",
        "10",
        *IPGRAPH,
        "build",
        "--data",
        str(data),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--quiet",
    ]


def build(data: Path, out: Path, jobs: int) -> dict:
    shutil.rmtree(out.parent, ignore_errors=True)
    seconds, cpu, peak = timed(_build_command(data, out, jobs))
    state = json.loads((out.with_name("ipgraph.parts") / "state.json").read_text(encoding="utf-8"))
    triples = sum(entry["quads"] for entry in state["graphs"].values())
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_mb": round(peak),
        "triples": triples,
        "jobs": jobs,
    }


def bulk_load(trig: Path, work: Path) -> tuple[float, float]:
    """Wall and CPU seconds of pyoxigraph's bulk loader (an on-disk store) on
    the build's N-Quads, in a child process."""
    nquads = work / "dataset.nq"
    import pyoxigraph

    pyoxigraph.serialize(
        pyoxigraph.parse(path=str(trig), format=pyoxigraph.RdfFormat.TRIG),
        output=str(nquads),
        format=pyoxigraph.RdfFormat.N_QUADS,
    )
    store = work / "oxigraph-store"
    shutil.rmtree(store, ignore_errors=True)
    code = (
        "import sys, pyoxigraph as ox\n"
        "store = ox.Store(sys.argv[2]); store.bulk_load(path=sys.argv[1], format=ox.RdfFormat.N_QUADS); store.flush()\n"
    )
    seconds, cpu, _ = timed(["nice", "-n", "10", sys.executable, "-c", code, str(nquads), str(store)])
    shutil.rmtree(store, ignore_errors=True)
    nquads.unlink()
    return round(seconds, 3), round(cpu, 3)


def incremental(data: Path, out: Path, jobs: int) -> dict:
    """Change one source's headline after a full build, then rebuild; then rebuild with nothing changed."""
    meta = sorted((data / "sources").glob("synth-1-*.yaml"))[0]
    original = meta.read_text(encoding="utf-8")
    meta.write_text(original.replace('headline: "', 'headline: "Revised, ', 1), encoding="utf-8")
    try:
        seconds, cpu, peak = timed(_build_command(data, out, jobs))
        again, again_cpu, _ = timed(_build_command(data, out, jobs))
    finally:
        meta.write_text(original, encoding="utf-8")
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "peak_mb": round(peak),
        "unchanged_seconds": round(again, 2),
        "unchanged_cpu_seconds": round(again_cpu, 2),
    }


def slope(points: list[tuple[float, float]]) -> float:
    xs, ys = [math.log(x) for x, _ in points], [math.log(y) for _, y in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    for jobs, marker in ((1, "o"), (2, "s")):
        points = sorted((r["triples"], r["cpu_seconds"]) for r in results["builds"] if r["jobs"] == jobs)
        if points:
            axes.plot(*zip(*points, strict=True), marker=marker, label=f"ipgraph build --jobs {jobs}")
    points = sorted((r["triples"], r["bulk_load_cpu_seconds"]) for r in results["builds"] if "bulk_load_seconds" in r)
    if points:
        axes.plot(*zip(*points, strict=True), marker="^", label="pyoxigraph bulk load of its N-Quads")
    if results["builds"]:
        low = min(r["triples"] for r in results["builds"])
        high = max(r["triples"] for r in results["builds"])
        base = min(r["cpu_seconds"] for r in results["builds"] if r["triples"] == low)
        axes.plot([low, high], [base, base * high / low], linestyle=":", color="grey", label="linear")
    axes.set_xscale("log")
    axes.set_yscale("log")
    # Labels at 1, 2 and 5 of each decade (matplotlib's own labels of the minor ticks overlap).
    axes.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
    axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x / 1000:,.0f}k"))
    axes.set_xlabel("triples")
    axes.set_ylabel("CPU seconds (build and workers)")
    axes.set_title("ipgraph build on synthetic corpora")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def table(results: dict) -> str:
    lines = [
        "| sources | triples | jobs | build (wall) | build (CPU) | peak RSS | MB per 1M triples"
        " | pyoxigraph bulk load (wall / CPU) | ratio (wall / CPU) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in sorted(results["builds"], key=lambda r: (r["triples"], r["jobs"])):
        load, load_cpu = r.get("bulk_load_seconds"), r.get("bulk_load_cpu_seconds")
        bulk = f"{load:.2f} s / {load_cpu:.2f} s" if load else "—"
        ratio = f"{r['seconds'] / load:.0f}x / {r['cpu_seconds'] / load_cpu:.0f}x" if load else "—"
        lines.append(
            f"| {r['sources']:,} | {r['triples']:,} | {r['jobs']} | {r['seconds']:.1f} s | {r['cpu_seconds']:.1f} s"
            f" | {r['peak_mb']:,} MB | {r['peak_mb'] / (r['triples'] / 1e6):,.0f} | {bulk} | {ratio} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[10, 250],
        help="synthetic sources of the size points built with --jobs 1 and 2",
    )
    parser.add_argument(
        "--sources",
        type=int,
        nargs="*",
        default=[100, 300, 1000, 2600],
        help="synthetic sources of the scaling points (--jobs 2; the largest also with --jobs 1)",
    )
    parser.add_argument("--incremental", type=int, default=1000, help="sources of the incremental rebuild")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder [default: a temporary one]")
    parser.add_argument("--plot-only", action="store_true", help="redraw scaling.png from results.json")
    args = parser.parse_args()
    if args.plot_only:
        plot(json.loads((HERE / "results.json").read_text(encoding="utf-8")), HERE / "scaling.png")
        return
    work = args.work or Path(tempfile.mkdtemp(prefix="ipgraph-bench-build-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {"builds": [], "machine": f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB"}
    runs = [(n, 1) for n in args.sizes] + [(n, 2) for n in args.sizes]
    runs += [(n, 2) for n in args.sources] + [(max(args.sources), 1)]
    for sources, jobs in sorted(set(runs)):
        data = synth(work, sources)
        out = work / f"out-{sources}-{jobs}" / "ipgraph.trig"
        result = {"sources": sources, **build(data, out, jobs)}
        if jobs == 1:
            result["bulk_load_seconds"], result["bulk_load_cpu_seconds"] = bulk_load(out, work)
        results["builds"].append(result)
        print(json.dumps(result), flush=True)
        if sources != args.incremental or jobs != 2:
            shutil.rmtree(out.parent, ignore_errors=True)
    if args.incremental:
        data = synth(work, args.incremental)
        out = work / f"out-{args.incremental}-2" / "ipgraph.trig"
        if not out.exists():
            results["builds"].append({"sources": args.incremental, **build(data, out, 2)})
        full = next(r for r in results["builds"] if r["sources"] == args.incremental and r["jobs"] == 2)
        results["incremental"] = {
            "sources": args.incremental,
            "full_seconds": full["seconds"],
            "full_cpu_seconds": full["cpu_seconds"],
            **incremental(data, out, 2),
        }
        print(json.dumps(results["incremental"]), flush=True)
    scaling = [r for r in results["builds"] if r["jobs"] == 2 and r["sources"] in args.sources]
    if len(scaling) >= 2:
        results["exponent"] = round(slope([(r["sources"], r["seconds"]) for r in scaling]), 3)
        results["exponent_cpu"] = round(slope([(r["sources"], r["cpu_seconds"]) for r in scaling]), 3)
        results["exponent_range"] = [min(args.sources), max(args.sources)]
    (HERE / "results.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    plot(results, HERE / "scaling.png")
    text = [table(results)]
    if "exponent" in results:
        text.append(
            f"\nTime vs sources (--jobs 2, {results['exponent_range'][0]:,} to {results['exponent_range'][1]:,}"
            f" sources): exponent {results['exponent']:.2f} in wall time, {results['exponent_cpu']:.2f} in CPU time"
            " (least squares on log-log)."
        )
    if "incremental" in results:
        inc = results["incremental"]
        text.append(
            f"\nIncremental rebuild at {inc['sources']:,} sources after one source changed: {inc['seconds']:.1f} s"
            f" against {inc['full_seconds']:.1f} s for the full build"
            f" ({100 * inc['seconds'] / inc['full_seconds']:.1f}%; CPU {inc['cpu_seconds']:.1f} s against"
            f" {inc['full_cpu_seconds']:.1f} s, {100 * inc['cpu_seconds'] / inc['full_cpu_seconds']:.1f}%);"
            f" nothing changed: {inc['unchanged_seconds']:.1f} s."
        )
    readme = ROOT / "benchmarks" / "README.md"
    current = readme.read_text(encoding="utf-8")
    block = f"{BEGIN}\n" + "\n".join(text) + f"\n{END}"
    if BEGIN in current:
        current = current[: current.index(BEGIN)] + block + current[current.index(END) + len(END) :]
        readme.write_text(current, encoding="utf-8")
    print("\n".join(text))


if __name__ == "__main__":
    main()
