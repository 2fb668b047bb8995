"""Draft the facts of a new article for a person to review.

:func:`extract` reads an article's text and returns a facts document in the
format of ``data/facts/`` (see docs/curating.md): mentions of the registry's
regions, cities and agencies and of the vocabulary's industries, measures,
and above all figures, each with a quote that stands once in the text and a
``confidence``. A wrong number is worse than a missing one, so a figure is
drafted only when its indicator, period and area are all found.

The gazetteer is built from the registry and the vocabularies (never from the
article's own curated facts); the phrases that name indicators, periods and
measures are data, in ``extract_data/*.yaml``. spaCy's blank English pipeline
splits sentences and its ``PhraseMatcher`` finds names.

Example:
    >>> draft = extract(
    ...     "By the end of 2024, Jilin had 9,100 valid invention patents.",
    ...     load_gazetteer("data"), slug="example-2025-01-01-jilin", date=dt.date(2025, 1, 1))
    >>> [(o["indicator"], o["area"], o["period"], o["value"]) for o in draft["observations"]]
    [('valid-invention-patents', 'jilin', '2024', 9100)]
"""

from __future__ import annotations

import bisect
import datetime as dt
import html.parser
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .errors import SourceError
from .facts import load_facts
from .periods import parse_stated_number
from .vocab import Vocabulary, load_vocabulary

__all__ = [
    "Draft",
    "Gazetteer",
    "draft_article",
    "dump_draft",
    "extract",
    "load_gazetteer",
    "read_article",
    "strip_html",
]

#: An article longer than this is refused (a news article is a few kB).
MAX_ARTICLE_BYTES = 8 * 1024 * 1024

_PLACE_KINDS = ("region", "city", "region-group", "country")


@cache
def _lexicon(name: str) -> Any:
    """One data file of ``extract_data/``."""
    return yaml.safe_load(resources.files("ipgraph").joinpath(f"extract_data/{name}.yaml").read_text("utf-8"))


# ---------------------------------------------------------------------------
# The gazetteer
# ---------------------------------------------------------------------------


@dataclass
class Gazetteer:
    """Names of the entities and concepts an article may mention: ``names``
    maps a lower-cased name to ``(kind, id)``."""

    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    vocabulary: Vocabulary | None = None
    agencies: dict[str, str] = field(default_factory=dict)  # jurisdiction -> agency id
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group id -> members
    capitals: dict[str, str] = field(default_factory=dict)  # city -> region
    city_region: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)  # id -> English label
    taken: set[tuple[str, str]] = field(default_factory=set)  # (section, id) declared elsewhere

    def add(self, name: str, kind: str, ident: str) -> None:
        key = name.lower().strip()
        if len(key) < 2:
            return
        # A name of a region and of a city (Beijing, Shanghai): the region.
        if key in self.names and self.names[key][0] == "region" and kind == "city":
            return
        self.names[key] = (kind, ident)


@lru_cache(maxsize=4)
def _load_data(data_dir: Path, stamp: tuple) -> tuple[Vocabulary, Any]:
    """The vocabulary and facts of ``data_dir``, read again when a file changes (``stamp``)."""
    del stamp
    vocabulary = load_vocabulary(data_dir / "vocab")
    return vocabulary, load_facts(data_dir, vocabulary)


def load_gazetteer(data_dir: str | Path, exclude_source: str | None = None) -> Gazetteer:
    """The gazetteer of ``data_dir``: registry records, region groups of
    sources other than ``exclude_source``, and the vocabulary's industries.

    Raises:
        FactsError: the data does not load (see :func:`ipgraph.facts.load_facts`).
    """
    data_dir = Path(data_dir).resolve()
    stamp = tuple(sorted((str(path), path.stat().st_mtime_ns) for path in data_dir.glob("*/*.yaml")))
    vocabulary, facts = _load_data(data_dir, stamp)
    gazetteer = Gazetteer(vocabulary=vocabulary)
    paths = {"regions": "region", "cities": "city", "agencies": "agency", "countries": "country"}
    for record in facts.records.values():
        fields = record.fields
        if record.source != exclude_source and record.kind != "mentions":
            gazetteer.taken.add((record.kind, record.id))
        if record.source is None and record.kind in paths:
            kind = paths[record.kind]
        elif record.kind == "region_groups" and record.source != exclude_source:
            kind = "region-group"
            gazetteer.groups[record.id] = tuple(ref[1] if isinstance(ref, tuple) else ref for ref in fields["members"])
        else:
            continue
        names = [fields["label"], *fields.get("alt_labels", ()), *fields.get("former_names", ())]
        if fields.get("label_zh"):
            names.append(fields["label_zh"])
        if kind == "region":
            names += [f"{fields['label']} {suffix}" for suffix in ("Province", "Autonomous Region", "Municipality")]
        gazetteer.labels.setdefault(record.id, fields["label"])
        for name in names:
            gazetteer.add(name, kind, record.id)
        if kind == "agency":
            jurisdiction = fields["jurisdiction"]
            gazetteer.agencies[jurisdiction[1] if isinstance(jurisdiction, tuple) else jurisdiction] = record.id
        if kind == "city":
            region = fields["in"]
            gazetteer.city_region[record.id] = region[1] if isinstance(region, tuple) else region
    for concept in vocabulary.concepts.get("industry", {}).values():
        for name in (concept.label, *concept.alt_labels, *([concept.label_zh] if concept.label_zh else [])):
            gazetteer.add(name, "industry", concept.id)
    return gazetteer


# ---------------------------------------------------------------------------
# Reading an article
# ---------------------------------------------------------------------------


class _TextOnly(html.parser.HTMLParser):
    """The text of an HTML page, one line per block element."""

    _BLOCKS = frozenset({"p", "div", "br", "h1", "h2", "h3", "h4", "li", "tr", "title", "section", "article"})
    _SKIP = frozenset({"script", "style", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """The text of an HTML document: tags removed, one paragraph a line.

    >>> strip_html("<html><p>Jilin <b>grew</b>.</p><script>x()</script><p>Then &amp; now</p></html>")
    'Jilin grew.\\nThen & now'
    """
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    return "\n".join(line for line in lines if line)


def _looks_like_html(text: str) -> bool:
    return bool(re.search(r"<(?:html|body|p|div|!doctype)\b", text[:4096], re.IGNORECASE))


def read_article(path: str | Path) -> tuple[str, dict[str, Any]]:
    """The text of the article at ``path`` (HTML stripped) and its metadata
    (the ``.yaml`` beside it, if there is one).

    Raises:
        SourceError: not a file, empty, too large, binary or not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError("not a file (expected an article as a UTF-8 text or HTML file)", path=path)
    size = path.stat().st_size
    if size > MAX_ARTICLE_BYTES:
        raise SourceError(f"the file has {size} bytes; an article may have at most {MAX_ARTICLE_BYTES}", path=path)
    data = path.read_bytes()
    if b"\x00" in data:
        raise SourceError("a binary file, not an article text (it holds NUL bytes)", path=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(f"not UTF-8 text (byte {error.start} cannot be read)", path=path) from None
    text = text.removeprefix("\ufeff")
    if _looks_like_html(text):
        text = strip_html(text)
    if not text.strip():
        raise SourceError("the article is empty", path=path)
    meta: dict[str, Any] = {}
    beside = path.with_suffix(".yaml")
    if beside.is_file() and beside != path:
        loaded = yaml.safe_load(beside.read_text("utf-8"))
        if isinstance(loaded, dict) and "source" not in loaded:
            meta = loaded
    return text, meta


# ---------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------


@cache
def _nlp() -> Any:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    text: str
    paragraph: int


def _sentences(text: str) -> list[_Sentence]:
    """The sentences of ``text`` with their offsets; a line is a paragraph."""
    nlp = _nlp()
    lines, offset = [], 0
    for line in text.split("\n"):
        if line.strip():
            lines.append((offset, line))
        offset += len(line) + 1
    nlp.max_length = max(nlp.max_length, max((len(line) for _, line in lines), default=0) + 1)
    result = []
    for number, ((offset, _), doc) in enumerate(zip(lines, nlp.pipe(line for _, line in lines), strict=True)):
        for sent in doc.sents:
            start, end = offset + sent.start_char, offset + sent.end_char
            if text[start:end].strip():
                result.append(_Sentence(start, end, text[start:end], number))
    return result


_NEXT_WORD = re.compile(r"\s*\S+")
_LAST_WORD = re.compile(r"\S+\s*$")


def _repeated(text: str, part: str) -> bool:
    """``part`` stands more than once in ``text`` (stops at the second)."""
    first = text.find(part)
    return first >= 0 and text.find(part, first + 1) >= 0


def unique_quote(text: str, start: int, end: int, limit: tuple[int, int] | None = None, words: int = 40) -> str:
    """``text[start:end]``, extended a word at a time (at most ``words`` on
    each side, within ``limit``) until it stands once in ``text``; the caller
    checks that it does."""
    low, high = limit or (max(0, start - 400), min(len(text), end + 400))
    for _ in range(words):
        if not _repeated(text, text[start:end]):
            break
        grown = False
        if end < high:
            match = _NEXT_WORD.match(text, end)
            if match and match.end() <= high:
                end, grown = match.end(), True
        if _repeated(text, text[start:end]) and start > low:
            window = max(low, start - 100)
            match = _LAST_WORD.search(text[window:start])
            if match:
                start, grown = window + match.start(), True
        if not grown:
            break
    return text[start:end].strip()


# ---------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    start: int
    end: int
    value: Any  # "2024", "2025-04", {start:, end:}
    figure: str | None


def _periods_in(sentence: str, date: dt.date | None, last: _Period | None) -> list[_Period]:
    data = _lexicon("periods")
    months = {name: index for index, name in enumerate(data["months"], start=1)}
    found: list[_Period] = []
    taken: list[tuple[int, int]] = []
    for phrase in data["phrases"]:
        for match in re.finditer(phrase["pattern"], sentence, re.IGNORECASE):
            if any(match.start() < b and a < match.end() for a, b in taken):
                continue
            groups = match.groupdict()
            relative = phrase.get("relative")
            if relative in ("this", "last", "today") and date is None:
                continue
            if relative == "carry":
                if last is None:
                    continue
                value: Any = last.value
            elif "start" in phrase:
                value = {"start": phrase["start"], "end": phrase["end"]}
            elif relative == "today":
                value = date.isoformat()
            else:
                year = int(groups["year"]) if groups.get("year") else date.year - (relative == "last")
                value = str(year)
                if groups.get("count"):
                    count = data["numbers"].get(groups["count"].lower())
                    if count is None:
                        continue
                    value = {"start": f"{year}-01", "end": f"{year}-{count:02d}"}
                elif groups.get("month"):
                    month = months.get(groups["month"].lower())
                    if month is None:
                        continue
                    value = f"{year}-{month:02d}"
                    if groups.get("day"):
                        value = f"{value}-{int(groups['day']):02d}"
            taken.append(match.span())
            found.append(_Period(match.start(), match.end(), value, phrase.get("figure")))
    return sorted(found, key=lambda period: period.start)


# ---------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?<![\w.,\-–])(?P<stated>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?: (?P<scale>thousand|million|billion|trillion))?"
    r"(?![\w]|,\d|\.\d|-\d|–\d|\s(?:years?|months?|days?|times)\b)"
)
_BREAKDOWN = re.compile(r"(?:including|among which|of which|among them)\s+(?:\S+\s+)?$", re.IGNORECASE)
_PERCENT_AFTER = re.compile(r"\s?(?:percent|per cent|%|percentage points)")
_YOY = [
    re.compile(
        r"\b(?P<dir>up|rise of|increase of|growth of|jump of|grew by|increased by|rose by|down|decrease of|"
        r"drop of|fell by)\s+(?P<n>\d+(?:\.\d+)?)\s?(?:percent|%)",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:an?\s+)?(?P<n>\d+(?:\.\d+)?)\s?(?:percent|%)\s+(?:year-on-year|year on year)\s*"
        r"(?P<dir>increase|growth|rise|decrease|decline|drop)?",
        re.IGNORECASE,
    ),
]
_MONTH_BEFORE = re.compile(
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December)\s$"
)
_SAME_AREA = re.compile(
    r"\b(?:the|this) (?:whole |entire )?(?P<what>province|city|municipality|region|autonomous region)\b|"
    r"\bthe (?:two|three|four|five|six) (?:provinces|provincial-level regions|regions)\b",
    re.IGNORECASE,
)
_COUNTRY = re.compile(r"\b(?:across the country|nationwide|in China|across China)\b")


def _indicators(vocabulary: Vocabulary) -> list[tuple[re.Pattern, dict[str, str]]]:
    entries = []
    known = vocabulary.concepts.get("indicator", {})
    lexicon = {entry["id"]: entry for entry in _lexicon("indicators")["indicators"]}
    for ident, entry in lexicon.items():
        if ident not in known:
            continue
        concept = known[ident]
        patterns = [*entry["patterns"], *(re.escape(label) for label in (concept.label, *concept.alt_labels))]
        for pattern in patterns:
            entries.append((re.compile(rf"\b{pattern}", re.IGNORECASE), entry))
    return entries


_GAP_BREAK = re.compile(r"[,;:()]| and | or | including | among ")
_LINK = re.compile(r"\b(?:reached|was|were|stood at|amounted to|totall?ed|hit)\s+$")
_YOY_LIST = re.compile(
    r"\bup (?P<list>\d+(?:\.\d+)?\s?(?:percent|%)(?:,\s*\d+(?:\.\d+)?\s?(?:percent|%))*,? and "
    r"\d+(?:\.\d+)?\s?(?:percent|%))(?:,? respectively)?"
)


def _find_indicator(
    after: str, before: str, patterns: list[tuple[re.Pattern, dict[str, str]]], stated: str = ""
) -> tuple[dict[str, str], float, int] | None:
    """The indicator named right after the number (``195,000 valid invention
    patents``), else right before it (``the number of ... has reached``), with
    a confidence and the end of the match (an offset into ``after``, or 0)."""
    best = None
    # A phrase around the number ("granted 163,000 patents", "placed 341 cases on file").
    window = before + stated + after
    for pattern, entry in patterns:
        for match in pattern.finditer(window):
            if match.start() < len(before) and match.end() > len(before) + len(stated):
                score = (-(match.end() - match.start()),)
                if best is None or score < best[0]:
                    best = (score, entry, 0.95, match.end() - len(before) - len(stated))
    if best:
        return best[1], best[2], best[3]
    for pattern, entry in patterns:
        for match in pattern.finditer(after):
            gap = after[: match.start()]
            if len(gap) <= 25 and not _GAP_BREAK.search(gap):
                score = (match.start(), -(match.end() - match.start()))
                if best is None or score < best[0]:
                    best = (score, entry, 0.95, match.end())
    if best:
        return best[1], best[2], best[3]
    for pattern, entry in patterns:
        for match in pattern.finditer(before):
            gap = before[match.end() :]
            limit = 60 if _LINK.search(gap) else 40
            if len(gap) <= limit and not _GAP_BREAK.search(gap):
                score = (len(before) - match.end(), -(match.end() - match.start()))
                if best is None or score < best[0]:
                    best = (score, entry, 0.85, 0)
    return (best[1], best[2], best[3]) if best else None


@dataclass
class _Context:
    text: str
    gazetteer: Gazetteer
    date: dt.date | None
    places: list[tuple[int, int, str, str]]  # start, end, kind, id (article offsets)
    main_area: str | None = None
    group: dict[str, Any] | None = None
    unknown_places: tuple[str, ...] = ()
    #: The article's one year, when every period phrase in it names that year.
    year: _Period | None = None
    _starts: list[int] = field(default_factory=list)

    def between(self, start: int, end: int) -> list[tuple[int, int, str, str]]:
        """The names found starting in ``[start, end)`` (``places`` is sorted)."""
        if len(self._starts) != len(self.places):
            self._starts = [place[0] for place in self.places]
        return self.places[bisect.bisect_left(self._starts, start) : bisect.bisect_left(self._starts, end)]


def _area_for(context: _Context, sentence: _Sentence, at: int) -> tuple[str, float] | None:
    text = sentence.text
    inside = context.between(sentence.start, sentence.end)
    if context.group and sentence.start <= context.group["_start"] < sentence.end:
        return context.group["id"], 0.9
    same = _SAME_AREA.search(text)
    if same and context.main_area:
        return context.main_area, 0.85
    if any(name in text for name in context.unknown_places):
        return None
    ids = {place[3] for place in inside if place[2] in _PLACE_KINDS}
    if len(ids) > 1:
        ids.discard("china")
        inside = [place for place in inside if place[3] != "china"]
    if len(ids) == 1:
        return ids.pop(), 0.95
    if len(ids) > 1:
        before = [place for place in inside if place[0] < sentence.start + at and place[2] in _PLACE_KINDS]
        if before:
            return before[-1][3], 0.6
        return None
    if _COUNTRY.search(text):
        return "china", 0.8
    if context.main_area:
        return context.main_area, 0.75
    return None


def _figures(context: _Context, sentences: list[_Sentence]) -> list[dict[str, Any]]:
    vocabulary = context.gazetteer.vocabulary
    patterns = _indicators(vocabulary)
    qualifiers = [
        (concept.id, word) for concept in vocabulary.concepts.get("qualifier", {}).values() for word in concept.words
    ]
    results: list[dict[str, Any]] = []
    last_period: _Period | None = None
    last_paragraph = -1
    for sentence in sentences:
        text = sentence.text
        if sentence.paragraph != last_paragraph:
            carried = None
            last_paragraph = sentence.paragraph
        periods = _periods_in(text, context.date, last_period)
        numbers, candidates = [], []
        for match in _NUMBER.finditer(text):
            start, end = match.span()
            tail, head = text[end:], text[:start]
            if re.search(r"(?:per|each|No\.|top|first|No)\s$", head, re.IGNORECASE):
                continue  # "per 10,000 people", "top 10": not a figure, not a boundary
            if re.fullmatch(r"(?:19|20)\d\d", match["stated"]) and not match["scale"]:
                continue
            if _MONTH_BEFORE.search(head) or any(p.start <= start < p.end for p in periods):
                continue
            numbers.append(match)
            if _PERCENT_AFTER.match(tail) or re.match(r"\s?times\b", tail):
                continue
            candidates.append(match)
        breakdowns = {index for index, match in enumerate(candidates) if _BREAKDOWN.search(text[: match.start()])}
        drafted: list[str] = []  # the indicators of this sentence's figures so far
        listed: dict[int, tuple[Decimal, int]] = {}  # candidate index -> (change, end of the list)
        for listing in _YOY_LIST.finditer(text):
            changes = [Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", listing["list"])]
            before_list = [i for i, m in enumerate(candidates) if m.end() <= listing.start()]
            if len(before_list) >= len(changes):
                for i, change in zip(before_list[-len(changes) :], changes, strict=True):
                    listed[i] = (change, listing.end())
        for index, match in enumerate(candidates):
            start, end = match.span()
            following = [m.start() for m in numbers if m.start() >= end]
            stop = min([*following, len(text)])
            next_figure = candidates[index + 1].start() if index + 1 < len(candidates) else len(text)
            after = text[end:stop].split(";")[0]
            previous = [m.end() for m in numbers if m.end() <= start]
            before = text[max([0, *previous]) : start].split(";")[-1]
            found = _find_indicator(after, before, patterns, match[0])
            if found is None:
                continue
            entry, indicator_confidence, named_until = found
            if index in breakdowns and (not drafted or entry["id"] == drafted[-1]):
                continue  # a part of the figure before ("including 317 in e-commerce"): its scope is not known
            drafted.append(entry["id"])
            # The period: the nearest before the number, else after it, else carried.
            period = next((p for p in reversed(periods) if p.start < start), None) or next(
                (p for p in periods if p.start >= end), None
            )
            period_confidence = 0.95
            if period is None:
                period, period_confidence = carried, 0.8
            if period is None and context.year is not None:
                period, period_confidence = context.year, 0.7
            if period is None:
                continue
            if entry["figure"] == "flow" and period.figure == "stock":
                continue  # a count over an interval dated at an instant: which interval is not said
            area = _area_for(context, sentence, start)
            if area is None:
                continue
            figure = period.figure or entry["figure"]
            if entry["figure"] == "stock":
                figure = "stock"
            stated = match[0]
            value = parse_stated_number(stated)
            if value is None:
                continue
            unit = entry["unit"]
            if re.match(r"\s+yuan", text[end:]) or re.search(r"RMB\s$|¥$", text[:start]):
                unit = "yuan"
            item: dict[str, Any] = {
                "id": "",
                "indicator": entry["id"],
                "area": area[0],
                "figure": figure,
                "period": period.value,
                "value": int(value) if value == value.to_integral_value() else float(value),
                "stated_value": stated,
                "unit": unit,
            }
            for qualifier, word in sorted(qualifiers, key=lambda pair: -len(pair[1])):
                if re.search(rf"(?<!\w){re.escape(word)}\s+(?:\S+\s+)?$", text[:start], re.IGNORECASE) and re.search(
                    rf"(?<!\w){re.escape(word)}\s+(?:RMB\s+)?$", text[:start], re.IGNORECASE
                ):
                    item["qualifier"] = qualifier
                    break
            segment = text[end:next_figure].split(";")[0]
            if index in listed:
                item["yoy_change_percent"] = float(listed[index][0])
                segment = text[end : listed[index][1]]
            for pattern in _YOY if index not in listed and not _YOY_LIST.search(segment) else ():
                change = pattern.search(segment)
                if change:
                    number = Decimal(change["n"])
                    direction = (change["dir"] or "").lower()
                    if direction.startswith(("down", "decrease", "drop", "fell", "decline")):
                        number = -number
                    item["yoy_change_percent"] = float(number)
                    break
            quote_end = sentence.start + (end + len(segment) if "yoy_change_percent" in item else end + named_until)
            quote_start = sentence.start + (start - len(before) if len(before) < 200 else start)
            first_period = min([p.start for p in periods if p is period], default=None)
            if first_period is not None:
                quote_start = min(quote_start, sentence.start + first_period)
            quote = unique_quote(context.text, quote_start, quote_end, (sentence.start, sentence.end))
            if stated not in quote or _repeated(context.text, quote):
                continue
            item["quote"] = quote.rstrip(",;: ")
            item["confidence"] = round(indicator_confidence * period_confidence * area[1], 2)
            results.append(item)
        if periods:
            last_period = periods[-1]
            carried = periods[-1]
    return results


_TABLE_TITLE = re.compile(r"^Table \d+\.? (?P<title>[^\n]+)$", re.MULTILINE)
_TABLE_MONTH = re.compile(r"^(?P<month>[A-Z][a-z]+) (?P<year>(?:19|20)\d\d)$", re.MULTILINE)
_TABLE_ROW = re.compile(r"^(?P<name>[^\n%]{2,40})\n[ \t]*\n(?P<value>\d+(?:\.\d+)?)%$", re.MULTILINE)


def _table_figures(context: _Context) -> list[dict[str, Any]]:
    """Figures of a statistics table stored one cell a line: a title naming
    the indicator ("Table 9 Statistics on ..."), a month line ("October
    2018"), then rows of a place and its percentage."""
    text = context.text
    title = _TABLE_TITLE.search(text)
    month = _TABLE_MONTH.search(text)
    if not title or not month:
        return []
    months = _lexicon("periods")["months"]
    if month["month"].lower() not in months:
        return []
    period = f"{month['year']}-{months.index(month['month'].lower()) + 1:02d}"
    entry = None
    for pattern, candidate in _indicators(context.gazetteer.vocabulary):
        if pattern.search(title["title"]) and candidate["unit"] == "percent":
            entry = candidate
            break
    if entry is None:
        return []
    results = []
    for row in _TABLE_ROW.finditer(text, month.end()):
        name = row["name"].strip()
        place = context.gazetteer.names.get(name.lower())
        if name == "Total" and "China" in title["title"]:
            place = ("country", "china")
        if place is None or place[0] not in _PLACE_KINDS:
            continue
        quote = row[0]
        if _repeated(text, quote):
            continue
        value = Decimal(row["value"])
        results.append(
            {
                "id": "",
                "indicator": entry["id"],
                "area": place[1],
                "figure": "stock",
                "period": period,
                "value": float(value),
                "stated_value": row["value"],
                "unit": "percent",
                "quote": quote,
                "confidence": 0.85,
            }
        )
    return results


_LOCAL_PLACE = re.compile(
    r"\b([A-Z][a-z]+) (?:New Area|New District|District|County|Economic and Technological Development Zone|"
    r"High-tech Zone|Free Trade Zone)\b"
)


def _one_per_key(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One figure per key: a key drafted twice with different values is dropped."""
    by_key: dict[tuple, list[dict[str, Any]]] = {}
    for item in items:
        key = (item["indicator"], item["area"], _period_token(item["period"]), item.get("scope"))
        by_key.setdefault(key, []).append(item)
    return [group[0] for group in by_key.values() if len({str(item["value"]) for item in group}) == 1]


def _period_token(period: Any) -> str:
    if isinstance(period, dict):
        return f"{period.get('start', '')}-{period['end']}"
    return str(period)


# ---------------------------------------------------------------------------
# Mentions, groups, agencies, measures
# ---------------------------------------------------------------------------


def _find_names(text: str, gazetteer: Gazetteer) -> list[tuple[int, int, str, str]]:
    from spacy.matcher import PhraseMatcher

    nlp = _nlp()
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    keys = sorted(gazetteer.names)
    for name in keys:
        matcher.add(name, [nlp.make_doc(name)])
    found = []
    nlp.max_length = max(nlp.max_length, len(text) + 1)
    doc = nlp.make_doc(text)
    spans = [doc[start:end] for _, start, end in matcher(doc)]
    from spacy.util import filter_spans

    for span in filter_spans(spans):
        kind, ident = gazetteer.names[span.text.lower()]
        found.append((span.start_char, span.end_char, kind, ident))
    # CJK names are not split into words: find them as substrings.
    for name, (kind, ident) in gazetteer.names.items():
        if re.search(r"[\u4e00-\u9fff]", name):
            for match in re.finditer(re.escape(name), text):
                found.append((match.start(), match.end(), kind, ident))
    return sorted(found)


_AGENCY = re.compile(
    r"\b(?:the )?(?:(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)?)(?:'s)? )?(?P<level>Provincial |provincial |Municipal "
    r"|municipal |City |city )?(?:Intellectual Property|IP) (?:Office|Administration|Bureau|agency|administration|"
    r"office|bureau)\b"
)


def _agencies(context: _Context) -> list[tuple[int, int, str]]:
    found = []
    names = context.gazetteer.names
    for match in _AGENCY.finditer(context.text):
        place = None
        if match["name"] and match["name"].lower() in names:
            kind, ident = names[match["name"].lower()]
            if kind in ("region", "city"):
                place = ident
        elif match["level"] and context.main_area:
            place = context.main_area
        agency = context.gazetteer.agencies.get(place) if place else None
        if agency:
            found.append((match.start(), match.end(), agency))
    return found


def _people(context: _Context) -> list[dict[str, Any]]:
    """ "NAME, TITLE of ORG" where ORG is a known agency."""
    titles = sorted(_lexicon("people")["titles"], key=len, reverse=True)
    title = "|".join(re.escape(t) for t in titles)
    pattern = re.compile(
        rf"\b(?P<name>[A-Z][a-z]+ [A-Z][a-z]+), (?P<title>(?:{title})(?: and (?:{title}))?) (?:of|for|at) "
        r"(?P<org>[^,.;\n]{3,90})",
        re.IGNORECASE,
    )
    result = []
    for match in pattern.finditer(context.text):
        if not (match["name"][0].isupper() and match["name"].split()[1][0].isupper()):
            continue
        org = match["org"]
        agency = None
        found = _AGENCY.search(org)
        if found and found.start() <= 4:
            sub = _Context(context.text, context.gazetteer, context.date, [], context.main_area)
            agencies = [a for a in _agencies(sub) if a[0] == match.start("org") + found.start()]
            agency = agencies[0][2] if agencies else None
        if agency is None:
            key = re.sub(r"^the ", "", org.strip(), flags=re.IGNORECASE).lower()
            for name, (kind, ident) in context.gazetteer.names.items():
                if kind == "agency" and key.startswith(name):
                    agency = ident
                    break
        if agency is None:
            continue
        quote = unique_quote(context.text, match.start(), match.end())
        if _repeated(context.text, quote):
            continue
        result.append(
            {
                "id": _slug_id(match["name"]),
                "label": match["name"],
                "job_title": match["title"],
                "works_for": agency,
                "quote": quote,
                "confidence": 0.8,
            }
        )
    return list({person["id"]: person for person in result}.values())


def _group(context: _Context, sentences: list[_Sentence]) -> dict[str, Any] | None:
    """A region group: the first sentence that lists two or more regions."""
    for sentence in sentences:
        regions = [p for p in context.between(sentence.start, sentence.end) if p[2] == "region"]
        members = list(dict.fromkeys(p[3] for p in regions))
        if len(members) < 2:
            continue
        between = context.text[regions[0][1] : regions[-1][0]]
        if not re.search(r",| and ", between) or len(between) > 120:
            continue
        # A group the data already knows (other sources) by the same members.
        known = [g for g, m in context.gazetteer.groups.items() if set(m) == set(members)]
        labels = [context.gazetteer.labels.get(member, member) for member in members]
        label = ", ".join(labels[:-1]) + " and " + labels[-1]
        ident = known[0] if known else "-".join(members)
        later = re.search(
            r"\bthe (?:two|three|four|five|six) (?:provinces|provincial-level regions|regions)\b", context.text
        )
        quote = unique_quote(context.text, regions[0][0], regions[-1][1], (sentence.start, sentence.end))
        return {
            "id": ident,
            "label": label,
            "members": members,
            "quote": quote,
            "_known": bool(known),
            "_start": later.start() if later else -1,
            "_list": (sentence.start, sentence.end),
        }
    return None


def _measures(context: _Context, sentences: list[_Sentence], agencies: list) -> list[dict[str, Any]]:
    data = _lexicon("measures")
    verbs = re.compile(r"\b(?:" + "|".join(data["verbs"]) + r")\b", re.IGNORECASE)
    subjects = re.compile(data["subjects"])
    agency_starts = [a[0] for a in agencies]
    result = []
    for sentence in sentences:
        for clause_match in re.finditer(r"[^;]+", sentence.text):
            clause = clause_match.group(0)
            offset = sentence.start + clause_match.start()
            verb = verbs.search(clause)
            if not verb or verb.start() > 120:
                continue
            actors = context.between(offset, offset + verb.start())
            acting = [a for a in agencies[bisect.bisect_left(agency_starts, offset) :] if a[0] < offset + verb.start()]
            place = next((p[3] for p in reversed(actors) if p[2] in _PLACE_KINDS and p[3] != "china"), None)
            agency = acting[-1][2] if acting else next((p[3] for p in reversed(actors) if p[2] == "agency"), None)
            if place is None and agency is None and not subjects.search(clause.strip()):
                continue
            rest = clause[verb.end() :]
            kind = next((t["type"] for t in data["types"] if re.search(t["pattern"], rest, re.IGNORECASE)), None)
            if kind is None:
                continue
            place = place or context.main_area
            if place is None:
                continue
            agency = agency or context.gazetteer.agencies.get(place)
            start = offset + len(clause) - len(clause.lstrip())
            quote = unique_quote(context.text, start, offset + len(clause.rstrip(" .")), (sentence.start, sentence.end))
            words = rest.split()
            item: dict[str, Any] = {
                "id": "",
                "label": " ".join(clause.split()[:12]).rstrip(",."),
                "type": kind,
                "implemented_in": place,
                "description": " ".join(clause.split()).rstrip(".") + ".",
            }
            if agency:
                item["implemented_by"] = agency
            found = sorted({p[3] for p in context.between(start, offset + len(clause)) if p[2] == "industry"})
            if found:
                item["industries"] = found
            item["quote"] = quote
            item["confidence"] = 0.6 if words else 0.4
            result.append(item)
    return result


# ---------------------------------------------------------------------------
# The draft
# ---------------------------------------------------------------------------


def _slug_id(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")


def _unique_ids(items: list[dict[str, Any]], make: Any, section: str, taken: set[tuple[str, str]]) -> None:
    """Give each item an id of its own: not repeated in the draft, nor
    declared in ``section`` by another source (ids of facts are global)."""
    used = {ident for kind, ident in taken if kind == section}
    for item in items:
        base = make(item)
        ident, number = base, 1
        while ident in used:
            number += 1
            ident = f"{base}-{number}"
        used.add(ident)
        item["id"] = ident


def extract(
    text: str,
    gazetteer: Gazetteer,
    slug: str,
    date: dt.date | None = None,
    headline: str | None = None,
) -> dict[str, Any]:
    """Draft the facts document of article ``text`` (source ``slug``).

    Parameters:
        text: the article as stored in ``data/sources/<slug>.txt``.
        gazetteer: from :func:`load_gazetteer`.
        date: the article's date, to read "last year" and "so far".
        headline: weighs the article's main area.

    Returns a mapping in the format of ``data/facts/*.yaml``; every item has
    a ``quote`` found once in ``text`` and a ``confidence`` between 0 and 1.
    """
    sentences = _sentences(text)
    names = _find_names(text, gazetteer)
    context = _Context(text=text, gazetteer=gazetteer, date=date, places=names)
    group = _group(context, sentences)
    # The main area: a group listed in the article, else the place named most often.
    counts: dict[str, int] = {}
    for _, _, kind, ident in names:
        if kind in ("region", "city", "region-group"):
            counts[ident] = counts.get(ident, 0) + 1
    if headline:
        for _, _, kind, ident in _find_names(headline, gazetteer):
            if kind in ("region", "city", "region-group"):
                counts[ident] = counts.get(ident, 0) + 2
    if group:
        context.group = group
        context.main_area = group["id"]
    elif counts:
        ranked = sorted(counts.items(), key=lambda pair: -pair[1])
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            context.main_area = ranked[0][0]
    unknown: dict[str, int] = {}
    for match in _LOCAL_PLACE.finditer(text):
        if match[1].lower() not in gazetteer.names:
            unknown[match[1]] = len(re.findall(rf"\b{match[1]}\b", text))
    context.unknown_places = tuple(unknown)
    if unknown and context.main_area and max(unknown.values()) >= counts.get(context.main_area, 0):
        context.main_area = None  # the article is about a place the registry does not know
    years = {
        period.value
        for sentence in sentences
        for period in _periods_in(sentence.text, date, None)
        if isinstance(period.value, str) and len(period.value) == 4
    }
    everything = {str(p.value) for sentence in sentences for p in _periods_in(sentence.text, date, None)}
    if len(years) == 1 and everything == years:
        context.year = _Period(0, 0, years.pop(), None)
    agencies = _agencies(context)
    observations = _one_per_key(_figures(context, sentences) + _table_figures(context))
    _unique_ids(
        observations,
        lambda o: _slug_id(f"{o['area']}-{o['indicator']}-{_period_token(o['period'])}"),
        "observations",
        gazetteer.taken,
    )
    measures = _measures(context, sentences, agencies)
    _unique_ids(measures, lambda m: _slug_id(f"{m['implemented_in']}-{m['type']}"), "measures", gazetteer.taken)
    draft: dict[str, Any] = {"source": slug}
    if group and not group["_known"]:
        draft["region_groups"] = [
            {
                "id": group["id"],
                "label": group["label"],
                "members": group["members"],
                "quote": group["quote"],
                "confidence": 0.7,
            }
        ]
    mentions: dict[str, dict[str, Any]] = {}
    tries: dict[str, int] = {}
    path = {
        "region": "region",
        "city": "city",
        "agency": "agency",
        "country": "country",
        "region-group": "region-group",
        "industry": "industry",
    }
    for start, end, kind, ident in names + [(a, b, "agency", ident) for a, b, ident in agencies]:
        if ident in mentions or (group and not group["_known"] and ident == group["id"]):
            continue
        tries[ident] = tries.get(ident, 0) + 1
        if tries[ident] > 3:  # repeated in the same words each time: leave it to the reviewer
            continue
        quote = unique_quote(text, start, end)
        if _repeated(text, quote):
            continue
        mentions[ident] = {"id": ident, "of": f"{path[kind]}/{ident}", "quote": quote, "confidence": 0.9}
    people = []
    for person in _people(context):
        if ("people", person["id"]) in gazetteer.taken:  # another source declares them: a mention
            mentions.setdefault(
                person["id"],
                {"id": person["id"], "of": f"person/{person['id']}", "quote": person["quote"], "confidence": 0.7},
            )
        else:
            people.append(person)
    if people:
        draft["people"] = people
    if observations:
        draft["observations"] = observations
    if measures:
        draft["measures"] = measures
    if mentions:
        draft["mentions"] = list(mentions.values())
    return draft


def dump_draft(draft: dict[str, Any]) -> str:
    """The draft as YAML, sections in the order of the curated files."""
    header = (
        f"# Draft facts of {draft['source']}, written by `ipgraph extract`: review every\n"
        "# item (quote, value, period, area), delete what is wrong, then `ipgraph accept`.\n"
        "# The extractor rated each item (confidence, 0-1); accept removes those lines.\n"
    )
    return header + yaml.safe_dump(draft, sort_keys=False, allow_unicode=True, width=100)


def strip_confidence(document: Any) -> Any:
    """The document without the extractor's ``confidence`` fields."""
    if isinstance(document, dict):
        return {key: strip_confidence(value) for key, value in document.items() if key != "confidence"}
    if isinstance(document, list):
        return [strip_confidence(value) for value in document]
    return document


@dataclass
class Draft:
    """A drafted article: its facts document, stored text and metadata, and
    whether ``data/sources/`` already holds that text."""

    slug: str
    document: dict[str, Any]
    text: str
    meta: dict[str, Any]
    stored: bool

    @property
    def empty(self) -> bool:
        """Nothing of interest found: no figures, measures or mentions."""
        return set(self.document) == {"source"}


def _article_slug(path: Path, meta: dict[str, Any]) -> str:
    if re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", path.stem):
        return path.stem
    date = meta.get("date_published")
    publisher = _slug_id(str(meta.get("publisher", "article")))[:20].strip("-") or "article"
    topic = _slug_id(str(meta.get("headline") or path.stem))[:40].strip("-") or "draft"
    return f"{publisher}-{date}-{topic}" if date else f"{publisher}-{topic}"


def draft_article(path: str | Path, data_dir: str | Path = "data") -> Draft:
    """Read the article at ``path`` (and the ``.yaml`` metadata beside it)
    and draft its facts with the gazetteer of ``data_dir`` (the article's own
    curated facts, if any, are left out of it).

    Raises:
        SourceError: the article is not a readable UTF-8 text (see :func:`read_article`).
        FactsError: ``data_dir`` does not load.
    """
    path, data_dir = Path(path), Path(data_dir)
    text, meta = read_article(path)
    slug = _article_slug(path, meta)
    stored_path = data_dir / "sources" / f"{slug}.txt"
    stored = stored_path.is_file() and stored_path.read_text("utf-8") == text
    if stored and not meta:
        loaded = yaml.safe_load((data_dir / "sources" / f"{slug}.yaml").read_text("utf-8"))
        meta = loaded if isinstance(loaded, dict) else {}
    date = meta.get("date_published")
    if isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date)
        except ValueError:
            date = None
    gazetteer = load_gazetteer(data_dir, exclude_source=slug)
    document = extract(
        text, gazetteer, slug, date=date if isinstance(date, dt.date) else None, headline=meta.get("headline")
    )
    return Draft(slug, document, text, meta, stored)
