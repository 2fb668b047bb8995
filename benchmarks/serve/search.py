"""Benchmark of the server's search index (ipgraph.serve_search): build time,
memory and query latency at 10k, 100k and 1M names, against a scan of every
name per request (what a search without an index does), measured in one run.

Names are synthetic: two English words and a number, and a three-character
Chinese name, per entity (half the names of the corpus are Chinese). Queries:
an English word prefix, a two-word phrase, a two-character Chinese substring
and a name that matches nothing.

    .venv/bin/python benchmarks/serve/search.py
    .venv/bin/python benchmarks/serve/search.py --sizes 10000 100000 --repeat 50

Nothing is contacted; everything runs in this process.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from functools import partial

from ipgraph.serve_search import Name, SearchIndex

WORDS = [
    *("jilin", "liaoning", "harbin", "patent", "trademark", "copyright", "industry", "agency", "office"),
    *("protection", "centre", "zone", "invention", "utility", "design", "court", "case", "dispute"),
    *("pledge", "financing", "service", "innovation", "robotics", "materials"),
]
CJK = "吉林辽宁黑龙江省市知识产权局专利商标版权保护中心法院案件纠纷质押融资服务创新机器人材料"
QUERIES = ("jil", "patent office", "产权", "zzzz nothing")


def names(count: int, seed: int = 0) -> list[Name]:
    rng = random.Random(seed)  # noqa: S311 - synthetic names, not secrets
    out = []
    for number in range(count // 2):
        iri = f"https://w3id.org/ipgraph/id/x/{number}"
        out.append(Name(iri, f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {number}", "en", "label"))
        out.append(Name(iri, "".join(rng.choice(CJK) for _ in range(3)) + str(number), "zh", "altLabel"))
    return out


def scan(corpus: list[Name], text: str, limit: int = 50) -> list[str]:
    """Every name, every request: the cost an index avoids."""
    words = text.casefold().split()
    found = []
    for name in corpus:
        folded = name.text.casefold()
        if all(word in folded for word in words):
            found.append(name.iri)
    return found[:limit]


def timed(function, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    print("| names | build | RSS after | query | index p50 | scan p50 | scan / index |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in args.sizes:
        corpus = names(size)
        started = time.perf_counter()
        index = SearchIndex(corpus)
        build = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for text in QUERIES:
            indexed = timed(partial(index.search, text), args.repeat)
            scanned = timed(partial(scan, corpus, text), max(3, args.repeat // 10))
            print(
                f"| {size:,} | {build:.1f} s | {rss:.0f} MB | `{text}` | {indexed:.2f} ms | {scanned:.1f} ms "
                f"| {scanned / indexed:.0f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
