"""Period phrases ("by the end of April 2025", "in the first five months") and their values."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from .text import lexicon


@dataclass(frozen=True)
class Period:
    start: int
    end: int
    value: Any  # "2024", "2025-04", {start:, end:}
    figure: str | None


@cache
def _phrases() -> tuple[dict[str, int], list[tuple[re.Pattern, dict[str, Any]]]]:
    data = lexicon("periods")
    months = {name: index for index, name in enumerate(data["months"], start=1)}
    return months, [(re.compile(phrase["pattern"], re.IGNORECASE), phrase) for phrase in data["phrases"]]


def periods_in(sentence: str, date: dt.date | None, last: Period | None) -> list[Period]:
    """The period phrases of ``sentence``, in its order; "the year" carries ``last``."""
    data = lexicon("periods")
    months, phrases = _phrases()
    found: list[Period] = []
    taken: list[tuple[int, int]] = []
    for pattern, phrase in phrases:
        for match in pattern.finditer(sentence):
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
            found.append(Period(match.start(), match.end(), value, phrase.get("figure")))
    return sorted(found, key=lambda period: period.start)
