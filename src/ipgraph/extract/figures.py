"""Figures: a number, the indicator it counts, its period, area, year-on-year change and qualifier."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from ..periods import parse_stated_number
from ..vocab import Vocabulary
from .gazetteer import PLACE_KINDS, Context
from .periods import Period, periods_in
from .text import Sentence, lexicon, repeated, unique_quote

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
    phrases = {entry["id"]: entry for entry in lexicon("indicators")["indicators"]}
    for ident, entry in phrases.items():
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


def _area_for(context: Context, sentence: Sentence, at: int) -> tuple[str, float] | None:
    text = sentence.text
    inside = context.between(sentence.start, sentence.end)
    if context.group and sentence.start <= context.group["_start"] < sentence.end:
        return context.group["id"], 0.9
    same = _SAME_AREA.search(text)
    if same and context.main_area:
        return context.main_area, 0.85
    if any(name in text for name in context.unknown_places):
        return None
    ids = {place[3] for place in inside if place[2] in PLACE_KINDS}
    if len(ids) > 1:
        ids.discard("china")
        inside = [place for place in inside if place[3] != "china"]
    if len(ids) == 1:
        return ids.pop(), 0.95
    if len(ids) > 1:
        before = [place for place in inside if place[0] < sentence.start + at and place[2] in PLACE_KINDS]
        if before:
            return before[-1][3], 0.6
        return None
    if _COUNTRY.search(text):
        return "china", 0.8
    if context.main_area:
        return context.main_area, 0.75
    return None


_THESE_INDUSTRIES = re.compile(r"\b(?:these|those|the above|such) (?:\w+ ){0,3}industries\b", re.IGNORECASE)
_PRESENT = re.compile(
    r"\b(?:has|have) (?:reached|built|set up|established)\b|\b(?:are|is) (?:now )?$|\bthere are\b|"
    r"\bare (?:now |currently )?(?:under construction|in operation|distributed)\b"
)


def _year_end(value: Any) -> str | None:
    """The year of a period that ends a year ("2020", "2020-12", "2020-12-31")."""
    value = str(value)
    return value[:4] if re.fullmatch(r"\d{4}(?:-12(?:-31)?)?", value) else None


_ACCORDING = re.compile(r"\b(?:according to|said|released by|reported by)\s+(?:the\s+)?$", re.IGNORECASE)


def _reporter(context: Context, sentence: Sentence) -> str | None:
    """The agency a sentence cites for its figures ("according to the China
    National Intellectual Property Administration (CNIPA)")."""
    for start, _, kind, ident in context.between(sentence.start, sentence.end):
        if kind == "agency" and _ACCORDING.search(context.text[max(sentence.start, start - 30) : start]):
            return ident
    return None


def _parts(vocabulary: Vocabulary) -> dict[str, Any]:
    """The part indicators and the scope phrases of the lexicon."""
    entries = {entry["id"]: entry for entry in lexicon("indicators")["indicators"]}
    known = vocabulary.concepts.get("indicator", {})
    scopes = vocabulary.concepts.get("scope", {})
    data = lexicon("indicators")
    return {
        "parts": [
            {
                "whole": part["whole"],
                "pattern": re.compile(part["pattern"], re.IGNORECASE),
                "entry": entries[part["part"]],
                "joined": part.get("joined", "breakdown"),
            }
            for part in data.get("parts", [])
            if part["part"] in known and part["part"] in entries
        ],
        "scopes": [
            (scope["scope"], re.compile(scope["pattern"], re.IGNORECASE))
            for scope in data.get("scopes", [])
            if scope["scope"] in scopes
        ],
    }


def _scoped_part(
    context: Context, sentence: Sentence, match: re.Match, end: int, whole: dict[str, Any], scope: str, first: bool
) -> dict[str, Any] | None:
    """A part of ``whole`` in ``scope`` (its phrase ends at ``end``): same indicator, area, period and unit."""
    text = sentence.text
    value = parse_stated_number(match[0])
    if value is None or whole.get("scope"):
        return None
    start = _BREAKDOWN.search(text[: match.start()]).start() if first else match.start()
    quote = unique_quote(context.text, sentence.start + start, sentence.start + end, (sentence.start, sentence.end))
    if match[0] not in quote or repeated(context.text, quote):
        return None
    item = {key: whole[key] for key in ("id", "indicator", "area", "figure", "period")}
    item.update(
        value=int(value) if value == value.to_integral_value() else float(value),
        stated_value=match[0],
        unit=whole["unit"],
        scope=scope,
        quote=quote.rstrip(",;: "),
        confidence=round(whole["confidence"] * 0.9, 2),
    )
    return item


def draft_figures(context: Context, sentences: list[Sentence]) -> list[dict[str, Any]]:
    vocabulary = context.gazetteer.vocabulary
    patterns = _indicators(vocabulary)
    qualifiers = [
        (concept.id, word) for concept in vocabulary.concepts.get("qualifier", {}).values() for word in concept.words
    ]
    parts = _parts(vocabulary)
    results: list[dict[str, Any]] = []
    last_period: Period | None = None
    last_paragraph = -1
    industries: tuple[str, ...] = ()  # the last list of two or more industries, for "these industries"
    for sentence in sentences:
        text = sentence.text
        if sentence.paragraph != last_paragraph:
            carried = None
            last_paragraph = sentence.paragraph
        periods = periods_in(text, context.date, last_period)
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
        wholes: list[dict[str, Any]] = []  # the figures drafted in this sentence (a part refers to the last)
        scoped: dict[int, int] = {}  # candidates drafted as parts by scope -> the end of their phrase
        listed: dict[int, tuple[Decimal, int]] = {}  # candidate index -> (change, end of the list)
        for listing in _YOY_LIST.finditer(text):
            changes = [Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", listing["list"])]
            before_list = [i for i, m in enumerate(candidates) if m.end() <= listing.start()]
            if len(before_list) >= len(changes):
                for i, change in zip(before_list[-len(changes) :], changes, strict=True):
                    listed[i] = (change, listing.end())
        # The indicator phrases this sentence holds at all (the others cannot match a part of it).
        present = [entry for entry in patterns if entry[0].search(text)] if candidates else []
        for index, match in enumerate(candidates):
            start, end = match.span()
            following = [m.start() for m in numbers if m.start() >= end]
            stop = min([*following, len(text)])
            next_figure = candidates[index + 1].start() if index + 1 < len(candidates) else len(text)
            after = text[end:stop].split(";")[0]
            previous = [m.end() for m in numbers if m.end() <= start]
            before = text[max([0, *previous]) : start].split(";")[-1]
            whole = wholes[-1] if wholes else None
            listed_part = index - 1 in scoped and re.fullmatch(r",? (?:and )?", text[scoped[index - 1] : start])
            if whole and (index in breakdowns or listed_part):
                phrase = next(
                    ((scope, p.match(after.lstrip())) for scope, p in parts["scopes"] if p.match(after.lstrip())), None
                )
                if phrase:
                    phrase_end = end + len(after) - len(after.lstrip()) + phrase[1].end()
                    part = _scoped_part(context, sentence, match, phrase_end, whole, phrase[0], index in breakdowns)
                    if part:
                        results.append(part)
                        scoped[index] = phrase_end
                    continue
            found = _find_indicator(after, before, present, match[0])
            for part in parts["parts"] if whole else ():
                joined = index in breakdowns if part["joined"] == "breakdown" else re.search(r",? or $", before)
                named = part["pattern"].match(after.lstrip())
                if part["whole"] == whole["indicator"] and joined and named:
                    found = (part["entry"], 0.9, len(after) - len(after.lstrip()) + named.end())
                    break
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
            if period is None and entry["figure"] == "stock" and context.date and _PRESENT.search(text):
                # "The number of centres has reached 46": a level on the day of the article.
                period, period_confidence = Period(0, 0, context.date.isoformat(), "stock"), 0.7
            if period is None and context.year is not None:
                period, period_confidence = context.year, 0.7
            if period is None:
                continue
            if entry["figure"] == "flow" and period.figure == "stock":
                if not (context.year and _year_end(period.value) == context.year.value):
                    continue  # a count over an interval dated at an instant: which interval is not said
                period = context.year  # "By December 31, 2020, ... PCT applications were 1,389": the year's
            area = ("china", 0.9) if entry.get("area") == "china" else _area_for(context, sentence, start)
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
            # The quote holds the period phrase, before the number or after it ("... patents by the end of 2024").
            stated_here = any(p is period for p in periods)  # not carried from a sentence before
            if stated_here and period.start < start:
                quote_start = min(quote_start, sentence.start + period.start)
            elif stated_here and period.end - end <= 80:
                quote_end = max(quote_end, sentence.start + period.end)
            quote = unique_quote(context.text, quote_start, quote_end, (sentence.start, sentence.end))
            if stated not in quote or repeated(context.text, quote):
                continue
            if industries and _THESE_INDUSTRIES.search(text[start - len(before) : end + named_until]):
                item["industry_scope"] = list(industries)  # "in these strategic emerging industries"
            reporter = _reporter(context, sentence)
            if reporter:
                item["reported_by"] = reporter
            item["quote"] = quote.rstrip(",;: ")
            item["confidence"] = round(indicator_confidence * period_confidence * area[1], 2)
            results.append(item)
            wholes.append(item)
        if periods:
            last_period = periods[-1]
            carried = periods[-1]
        listed_industries = [p[3] for p in context.between(sentence.start, sentence.end) if p[2] == "industry"]
        if len(set(listed_industries)) >= 2:
            industries = tuple(dict.fromkeys(listed_industries))
    return results


_TABLE_TITLE = re.compile(r"^Table \d+\.? (?P<title>[^\n]+)$", re.MULTILINE)
_TABLE_MONTH = re.compile(r"^(?P<month>[A-Z][a-z]+) (?P<year>(?:19|20)\d\d)$", re.MULTILINE)
_TABLE_ROW = re.compile(r"^(?P<name>[^\n%]{2,40})\n[ \t]*\n(?P<value>\d+(?:\.\d+)?)%$", re.MULTILINE)


def table_figures(context: Context) -> list[dict[str, Any]]:
    """Figures of a statistics table stored one cell a line: a title naming
    the indicator ("Table 9 Statistics on ..."), a month line ("October
    2018"), then rows of a place and its percentage."""
    text = context.text
    title = _TABLE_TITLE.search(text)
    month = _TABLE_MONTH.search(text)
    if not title or not month:
        return []
    months = lexicon("periods")["months"]
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
        if place is None or place[0] not in PLACE_KINDS:
            continue
        quote = row[0]
        if repeated(text, quote):
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


LOCAL_PLACE = re.compile(
    r"\b([A-Z][a-z]+) (?:New Area|New District|District|County|Economic and Technological Development Zone|"
    r"High-tech Zone|Free Trade Zone)\b"
)


def one_per_key(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One figure per key: a key drafted twice with different values is dropped."""
    by_key: dict[tuple, list[dict[str, Any]]] = {}
    for item in items:
        key = (item["indicator"], item["area"], period_token(item["period"]), item.get("scope"))
        by_key.setdefault(key, []).append(item)
    return [group[0] for group in by_key.values() if len({str(item["value"]) for item in group}) == 1]


def period_token(period: Any) -> str:
    if isinstance(period, dict):
        return f"{period.get('start', '')}-{period['end']}"
    return str(period)
