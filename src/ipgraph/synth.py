"""Synthetic corpora in the shape of ours, for scale tests and benchmarks.

``synthesize(data_dir, out, sources=N, seed=S)`` writes a project folder
``out/data/`` with the registry, vocabularies, mappings and curated sources
of ``data_dir`` (the registry cites some of them as provenance) and N
generated sources: short articles with figures (stocks and flows of
several indicators, periods and regions), measures and mentions, each with
facts whose quotes stand once in their text. Figures are drawn from one
table of "true" values, so that sources corroborate each other; a few state
another value, so that some figures conflict. The same arguments give the
same bytes. Never used by ``make demo``: the texts are not articles.

Example:
    >>> synthesize("data", "/tmp/synth", sources=10, seed=1)   # doctest: +SKIP
    10
"""

from __future__ import annotations

import calendar
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from ipgraph.errors import FactsError, OutputError
from ipgraph.yamlfile import Map, read_yaml

__all__ = ["synthesize"]


@dataclass(frozen=True)
class _Indicator:
    id: str
    unit: str
    flow: bool
    phrase: str  # how the sentence names what is counted
    low: int
    high: int


_INDICATORS = [
    _Indicator("valid-invention-patents", "patents", False, "valid invention patents", 5_000, 900_000),
    _Indicator("valid-registered-trademarks", "trademarks", False, "valid registered trademarks", 50_000, 9_000_000),
    _Indicator("patents-granted", "patents", True, "patents granted", 1_000, 800_000),
    _Indicator("invention-patents-granted", "patents", True, "invention patents granted", 500, 120_000),
    _Indicator("pct-applications", "applications", True, "PCT international patent applications", 10, 30_000),
    _Indicator("trademark-applications", "applications", True, "trademark applications", 5_000, 1_500_000),
]

#: Approximate shares of figures that a source states with another value, of
#: those that carry a year-on-year change, and of measures per source.
_CONFLICT = 0.03
_CHANGE = 0.5
_FIGURES = (3, 8)
_MEASURES = (1, 3)


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _entities(data_dir: Path) -> tuple[list[Map], set[str], list[str], list[str]]:
    regions = read_yaml(data_dir / "registry" / "regions.yaml")["regions"]
    agencies = {item["id"] for item in read_yaml(data_dir / "registry" / "agencies.yaml")["agencies"]}
    industries = [item["id"] for item in read_yaml(data_dir / "vocab" / "industries.yaml")["concepts"]]
    measure_types = [item["id"] for item in read_yaml(data_dir / "vocab" / "measure-types.yaml")["concepts"]]
    return regions, agencies, industries, measure_types


def _period(rng: random.Random, flow: bool) -> tuple[str, str]:
    """The period as YAML and as the sentence words it."""
    year = rng.randint(2016, 2025)
    if flow:
        months = rng.choice([12, 12, 6, 5, 3])
        if months == 12:
            return f'"{year}"', f"in {year}"
        return f"{{start: {year}-01, end: {year}-{months:02d}}}", f"in the first {months} months of {year}"
    month = rng.choice([4, 6, 9, 12])
    if month == 12:
        return f'"{year}"', f"by the end of {year}"
    return f'"{year}-{month:02d}"', f"by the end of {calendar.month_name[month]} {year}"


def synthesize(
    data_dir: str | Path, out: str | Path, *, sources: int, seed: int = 0, figures: int | None = None
) -> int:
    """Write ``out/data/`` with ``sources`` synthetic sources; return how many. Each source
    states ``figures`` figures (default: 3 to 8 at random; fewer where a draw repeats a key).

    Raises:
        FactsError: ``out`` exists and is not empty, or ``sources`` is not
            a positive number.
        OutputError: ``out`` cannot be created (a file is in the way).
    """
    data_dir, out = Path(data_dir), Path(out)
    if sources < 1:
        raise FactsError(f"expected at least one source, got {sources}", path=out)
    if figures is not None and figures < 0:
        raise FactsError(f"expected a number of figures of 0 or more, got {figures}", path=out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FactsError("expected a new or empty folder", path=out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create the folder: {error.strerror or error}", path=out) from None
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    regions, agencies, industries, measure_types = _entities(data_dir)
    target = out / "data"
    for part in ("registry", "vocab", "mappings", "sources", "facts"):
        shutil.copytree(data_dir / part, target / part, ignore=shutil.ignore_patterns("README.md"))
    truth: dict[tuple, int] = {}
    for number in range(sources):
        slug = f"synth-{seed}-{number:06d}"
        text, facts = _source(rng, slug, regions, agencies, industries, measure_types, truth, figures)
        day = 1 + number % 28
        (target / "sources" / f"{slug}.txt").write_text(text, encoding="utf-8")
        (target / "sources" / f"{slug}.yaml").write_text(
            f"headline: {_q(f'Synthetic report {number} (seed {seed})')}\npublisher: ipgraph synth\n"
            f"date_published: 2025-{1 + number % 12:02d}-{day:02d}\nurl: https://example.org/synth/{slug}\n"
            "language: en\nnote: Generated by ipgraph synth for scale tests; not an article.\n",
            encoding="utf-8",
        )
        (target / "facts" / f"{slug}.yaml").write_text(facts, encoding="utf-8")
    return sources


def _source(rng, slug, regions, agencies, industries, measure_types, truth, figures=None) -> tuple[str, str]:
    sentences: list[str] = [f"Synthetic report {slug}."]
    mentions: list[str] = []
    observations: list[str] = []
    measures: list[str] = []
    named: set[str] = set()
    keys: set[tuple] = set()
    for index in range(rng.randint(*_FIGURES) if figures is None else figures):
        region = rng.choice(regions)
        indicator = rng.choice(_INDICATORS)
        period, words = _period(rng, indicator.flow)
        key = (indicator.id, region["id"], period)
        if key in keys:
            continue
        keys.add(key)
        value = truth.setdefault(key, rng.randint(indicator.low, indicator.high))
        if rng.random() < _CONFLICT:
            value += rng.randint(1, 99)
        stated = f"{value:,}"
        change = round(rng.uniform(-5, 30), 1) if rng.random() < _CHANGE else None
        verb = "recorded" if indicator.flow else "had"
        sentence = f"{words[0].upper()}{words[1:]}, {region['label']} {verb} {stated} {indicator.phrase}"
        if change is not None:
            sentence += f", {'up' if change >= 0 else 'down'} {abs(change)} percent year on year"
        sentence += f" (figure {index})."
        sentences.append(sentence)
        quote = sentence[:-1]
        if region["id"] not in named:
            named.add(region["id"])
            mentions.append(f"  - id: {region['id']}\n    of: region/{region['id']}\n    quote: {_q(quote)}\n")
        lines = [
            f"  - id: {slug}-figure-{index}",
            f"    indicator: {indicator.id}",
            f"    area: {region['id']}",
            f"    figure: {'flow' if indicator.flow else 'stock'}",
            f"    period: {period}",
            f"    value: {value}",
            f"    stated_value: {_q(stated)}",
            f"    unit: {indicator.unit}",
        ]
        if change is not None:
            lines.append(f"    yoy_change_percent: {change}")
        lines.append(f"    quote: {_q(quote)}")
        observations.append("\n".join(lines) + "\n")
    for index in range(rng.randint(*_MEASURES)):
        region = rng.choice(regions)
        industry = rng.choice(industries)
        kind = rng.choice(measure_types)
        agency = f"{region['id']}-ip-agency"
        sentence = (
            f"{region['label']} took measure {index}, a {kind.replace('-', ' ')} for {industry.replace('-', ' ')}."
        )
        sentences.append(sentence)
        lines = [
            f"  - id: {slug}-measure-{index}",
            "    label: " + _q(f"{region['label']} measure {index} of {slug}"),
            f"    type: {kind}",
            f"    implemented_in: {region['id']}",
            f"    industries: [{industry}]",
            f"    description: {_q(sentence)}",
        ]
        if agency in agencies:
            lines.append(f"    implemented_by: {agency}")
        lines.append(f"    quote: {_q(sentence[:-1])}")
        measures.append("\n".join(lines) + "\n")
    facts = f"source: {slug}\n"
    if mentions:
        facts += "mentions:\n" + "".join(mentions)
    if observations:
        facts += "observations:\n" + "".join(observations)
    if measures:
        facts += "measures:\n" + "".join(measures)
    return "\n".join(sentences) + "\n", facts
