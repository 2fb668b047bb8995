"""Speed of `ipgraph extract`: one article of 1 MB, and 100 articles of normal length.

Run: .venv/bin/python benchmarks/extract/run.py [--data data]
Prints wall-clock and CPU seconds (the machine is shared: CPU time is the
cost of the work itself) and peak memory (RSS); benchmarks, not tests (see
benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from ipgraph.extract import extract, load_gazetteer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data"))
    args = parser.parse_args()
    texts = [path.read_text("utf-8") for path in sorted((args.data / "sources").glob("*.txt"))]
    assert texts, "no articles found in data/sources"
    started = time.perf_counter()
    gazetteer = load_gazetteer(args.data)
    print(f"gazetteer: {time.perf_counter() - started:.2f} s")

    hundred = [texts[i % len(texts)] for i in range(100)]
    started, cpu = time.perf_counter(), time.process_time()
    figures = sum(len(extract(text, gazetteer, "bench").get("observations", [])) for text in hundred)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"100 articles ({sum(map(len, hundred)) / 1000:.0f} kB): {seconds:.2f} s ({cpu:.2f} s CPU), {figures} figures"
    )

    big = ""
    index = 0
    while len(big.encode("utf-8")) < 1_000_000:
        big += texts[index % len(texts)] + "\n"
        index += 1
    started, cpu = time.perf_counter(), time.process_time()
    drafted = extract(big, gazetteer, "bench")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"one article of {len(big.encode('utf-8')) / 1e6:.2f} MB: {seconds:.2f} s ({cpu:.2f} s CPU), "
        f"{len(drafted.get('observations', []))} figures"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MB")


if __name__ == "__main__":
    main()
