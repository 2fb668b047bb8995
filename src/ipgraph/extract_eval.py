"""How well ``ipgraph extract`` drafts the curated corpus: ``ipgraph eval-extract``.

Every curated article of ``data/`` is drafted again (with its own facts file
left out of the gazetteer) and its draft compared with ``data/facts/``:
precision, recall and F1 per kind of item.

- A figure is right only when value, indicator, period, area, year-on-year
  change and scope (``scope``, ``industry_scope``: a part counted as the whole
  is a wrong figure) are all right; a region group counts as its member set.
  ``figure values`` compares the numbers alone.
- Regions and industries are compared as sets of ids; registry agencies by
  id, agencies an article declares by jurisdiction and kind; people by name
  and employer.
- Measures are matched one to one: overlapping quotes and the same place.
  Events likewise, and with the curated day where it states one.

The split is fixed by the slug: ``sha256(slug) % 3 == 0`` is the test split,
the rest (and always the seed article) the development split. Tune on dev.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .extract import draft_article

__all__ = ["KINDS", "SEED", "Score", "evaluate", "format_report", "split_of"]

#: The seed article, always in the development split.
SEED = "xinhua-2025-05-31-northeast-ip-protection"

KINDS = ("figures", "figure values", "regions", "agencies", "industries", "measures", "people", "events")


def split_of(slug: str) -> str:
    """``test`` or ``dev``, fixed by the slug.

    >>> split_of("xinhua-2025-05-31-northeast-ip-protection"), split_of("cnipa-2021-04-25-heilongjiang-ip-protection")
    ('dev', 'test')
    """
    if slug == SEED:
        return "dev"
    return "test" if int(hashlib.sha256(slug.encode()).hexdigest(), 16) % 3 == 0 else "dev"


@dataclass
class Score:
    """True positives, drafted and curated items of one kind."""

    tp: int = 0
    predicted: int = 0
    gold: int = 0

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.predicted += other.predicted
        self.gold += other.gold

    @property
    def precision(self) -> float | None:
        return self.tp / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if not p or not r:
            return 0.0 if (p is not None and r is not None) else None
        return 2 * p * r / (p + r)


@dataclass
class Report:
    """Scores per kind for each article and in total, for one split."""

    split: str
    articles: dict[str, dict[str, Score]] = field(default_factory=dict)

    def total(self) -> dict[str, Score]:
        result = {kind: Score() for kind in KINDS}
        for scores in self.articles.values():
            for kind, score in scores.items():
                result[kind].add(score)
        return result


def _counted(gold: Counter, predicted: Counter) -> Score:
    return Score(sum((gold & predicted).values()), sum(predicted.values()), sum(gold.values()))


def _period(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value.get('start', '')}/{value['end']}"
    return str(value)


def _groups(data_dir: Path) -> dict[str, frozenset[str]]:
    groups = {}
    for path in sorted((data_dir / "facts").glob("*.yaml")):
        for group in yaml.safe_load(path.read_text("utf-8")).get("region_groups", []) or []:
            groups[group["id"]] = frozenset(group["members"])
    return groups


def _figures(document: dict[str, Any], groups: dict[str, frozenset[str]]) -> tuple[Counter, Counter]:
    local = {group["id"]: frozenset(group["members"]) for group in document.get("region_groups", []) or []}
    full, values = Counter(), Counter()
    for item in document.get("observations", []) or []:
        value = Decimal(str(item["value"])).normalize()
        area = local.get(item["area"]) or groups.get(item["area"]) or item["area"]
        change = item.get("yoy_change_percent")
        change = Decimal(str(change)).normalize() if change is not None else None
        scope = (item.get("scope"), tuple(sorted(item.get("industry_scope", []) or [])))
        full[(value, item["indicator"], _period(item["period"]), area, change, scope)] += 1
        values[value] += 1
    return full, values


def _mentioned(document: dict[str, Any], kind: str) -> set[str]:
    return {
        item["of"].split("/", 1)[1]
        for item in document.get("mentions", []) or []
        if str(item.get("of", "")).startswith(f"{kind}/")
    }


#: Kinds of agency, by the words of their labels: an agency the article
#: declares (one the registry does not hold) is matched by its jurisdiction
#: and kind, since its id is the curator's choice ("shandong-public-security"
#: and "shandong-police" are the same bureau).
_AGENCY_KINDS = (
    ("ip-protection-centre", re.compile(r"protection cent(?:er|re)|\bcent(?:er|re)\b", re.IGNORECASE)),
    ("court", re.compile(r"\bcourts?\b", re.IGNORECASE)),
    ("police", re.compile(r"police|public security", re.IGNORECASE)),
    ("customs", re.compile(r"\bcustoms\b", re.IGNORECASE)),
    ("market-regulation", re.compile(r"market regulation", re.IGNORECASE)),
    ("copyright", re.compile(r"copyright", re.IGNORECASE)),
    ("government", re.compile(r"government", re.IGNORECASE)),
)


def _agencies(document: dict[str, Any]) -> set[Any]:
    """Registry agencies by id; agencies the document declares by
    (jurisdiction, kind) where their label names a kind, else by id."""
    found: set[Any] = set(_mentioned(document, "agency"))
    for item in document.get("agencies", []) or []:
        kind = next((kind for kind, words in _AGENCY_KINDS if words.search(str(item.get("label", "")))), None)
        found.add((item.get("jurisdiction"), kind) if kind else item["id"])
    return found


def _industries(document: dict[str, Any]) -> set[str]:
    found = _mentioned(document, "industry")
    for section, key in (("focus", "industries"), ("measures", "industries"), ("observations", "industry_scope")):
        for item in document.get(section, []) or []:
            found.update(item.get(key, []) or [])
    return found


def _measures(document: dict[str, Any], text: str, groups: dict[str, frozenset[str]]) -> list[tuple[int, int, Any]]:
    """Each measure as the span of its quote in ``text`` and its place (a group as its member set)."""
    local = {group["id"]: frozenset(group["members"]) for group in document.get("region_groups", []) or []}
    spans = []
    for item in document.get("measures", []) or []:
        start = text.find(item["quote"])
        if start >= 0:
            place = item.get("implemented_in")
            spans.append((start, start + len(item["quote"]), local.get(place) or groups.get(place) or place))
    return spans


def _matched_measures(gold: list[tuple[int, int, Any]], predicted: list[tuple[int, int, Any]]) -> Score:
    """Measures matched one to one, in the order of the draft: a drafted
    measure is right when its quote overlaps the quote of a curated measure
    not matched yet that is implemented in the same place."""
    free = list(gold)
    tp = 0
    for start, end, place in predicted:
        match = next((g for g in free if g[0] < end and start < g[1] and g[2] == place), None)
        if match:
            free.remove(match)
            tp += 1
    return Score(tp, len(predicted), len(gold))


def _events(document: dict[str, Any], text: str) -> list[tuple[int, int, Any]]:
    """Each event as the span of its quote, its place and its day (``start_date`` or ``occurring_on``)."""
    spans = []
    for item in document.get("events", []) or []:
        start = text.find(item["quote"])
        day = item.get("start_date") or item.get("occurring_on")
        if start >= 0:
            spans.append((start, start + len(item["quote"]), (item.get("location"), str(day) if day else None)))
    return spans


def _matched_events(gold: list[tuple[int, int, Any]], predicted: list[tuple[int, int, Any]]) -> Score:
    """Events matched one to one like measures: overlapping quotes, the same
    place, and the same day where the curated event states one."""
    free = list(gold)
    tp = 0
    for start, end, (place, day) in predicted:
        match = next(
            (g for g in free if g[0] < end and start < g[1] and g[2][0] == place and g[2][1] in (None, day)), None
        )
        if match:
            free.remove(match)
            tp += 1
    return Score(tp, len(predicted), len(gold))


def _sets(gold: set[str], predicted: set[str]) -> Score:
    return Score(len(gold & predicted), len(predicted), len(gold))


def score_article(data_dir: Path, slug: str, groups: dict[str, frozenset[str]]) -> dict[str, Score]:
    """Draft the article ``slug`` and score it against its curated facts."""
    gold = yaml.safe_load((data_dir / "facts" / f"{slug}.yaml").read_text("utf-8"))
    draft = draft_article(data_dir / "sources" / f"{slug}.txt", data_dir)
    predicted = draft.document
    gold_full, gold_values = _figures(gold, groups)
    pred_full, pred_values = _figures(predicted, groups)
    return {
        "figures": _counted(gold_full, pred_full),
        "figure values": _counted(gold_values, pred_values),
        "regions": _sets(_mentioned(gold, "region"), _mentioned(predicted, "region")),
        "agencies": _sets(_agencies(gold), _agencies(predicted)),
        "industries": _sets(_industries(gold), _industries(predicted)),
        "measures": _matched_measures(_measures(gold, draft.text, groups), _measures(predicted, draft.text, groups)),
        "people": _sets(
            {(p["label"].lower(), p["works_for"]) for p in gold.get("people", []) or []},
            {(p["label"].lower(), p["works_for"]) for p in predicted.get("people", []) or []},
        ),
        "events": _matched_events(_events(gold, draft.text), _events(predicted, draft.text)),
    }


def evaluate(data_dir: str | Path = "data", split: str = "all") -> Report:
    """Score every curated article of ``split`` (``dev``, ``test`` or ``all``).

    Raises:
        FactsError, SourceError: ``data_dir`` does not load.
    """
    data_dir = Path(data_dir)
    groups = _groups(data_dir)
    report = Report(split)
    for path in sorted((data_dir / "facts").glob("*.yaml")):
        if split in ("all", split_of(path.stem)):
            report.articles[path.stem] = score_article(data_dir, path.stem, groups)
    return report


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def format_report(report: Report, markdown: bool = False) -> str:
    """The totals per kind, the figures of each article, then every kind of each article, as tables."""
    lines = []
    row = "| {} | {} | {} | {} | {} | {} | {} |" if markdown else "{:<16} {:>5} {:>6} {:>5} {:>9} {:>6} {:>5}"
    lines.append(f"split: {report.split} ({len(report.articles)} articles)")
    lines.append(row.format("kind", "right", "drafted", "curated", "precision", "recall", "F1"))
    if markdown:
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
    for kind, score in report.total().items():
        lines.append(
            row.format(
                kind,
                score.tp,
                score.predicted,
                score.gold,
                _number(score.precision),
                _number(score.recall),
                _number(score.f1),
            )
        )
    lines.append("")
    lines.append(
        row.format("figures of", "right", "drafted", "curated", "precision", "recall", "split")
        if markdown
        else "figures (full key) per article: right / drafted / curated"
    )
    if markdown:
        lines.append("|---|---:|---:|---:|---:|---:|---|")
    for slug, scores in report.articles.items():
        score = scores["figures"]
        if markdown:
            lines.append(
                row.format(
                    slug,
                    score.tp,
                    score.predicted,
                    score.gold,
                    _number(score.precision),
                    _number(score.recall),
                    split_of(slug),
                )
            )
        else:
            lines.append(f"  {score.tp:>3} / {score.predicted:>3} / {score.gold:>3}  {slug} ({split_of(slug)})")
    lines.append("")
    kinds = [kind for kind in KINDS if kind != "figure values"]
    if markdown:
        lines.append("| article (right / drafted / curated) | " + " | ".join(kinds) + " |")
        lines.append("|---|" + "---:|" * len(kinds))
    else:
        lines.append("every kind per article: right/drafted/curated (" + ", ".join(kinds) + ")")
    for slug, scores in report.articles.items():
        cells = [f"{scores[kind].tp}/{scores[kind].predicted}/{scores[kind].gold}" for kind in kinds]
        lines.append(f"| {slug} | " + " | ".join(cells) + " |" if markdown else f"  {slug}: " + "  ".join(cells))
    return "\n".join(lines)
