"""Periods and figures as news articles write them.

A figure is a *stock* at an instant ("by the end of April 2025": the end of
its period) or a *flow* over an interval ("in 2024", "in the first five months
of 2021"). :func:`parse_period` reads the forms a facts file gives and returns
the reference.data.gov.uk interval IRI where one exists, the first and last
day, and a label; :func:`parse_stated_number` reads "46,000" or "2.16
million" exactly, and :func:`precision` says to which unit it was rounded.

Example:
    >>> period = parse_period({"start": "2021-01", "end": "2021-05"})
    >>> period.iri
    'http://reference.data.gov.uk/id/gregorian-interval/2021-01-01T00:00:00/P5M'
    >>> period.start, period.end, period.label
    (datetime.date(2021, 1, 1), datetime.date(2021, 5, 31), 'January–May 2021')
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["Period", "PeriodError", "parse_period", "parse_stated_number", "precision"]

_REF = "http://reference.data.gov.uk/id"


class PeriodError(ValueError):
    """A period that cannot be read; the message says which forms are expected."""


@dataclass(frozen=True)
class Period:
    """A reference period: its IRI, first day (``None`` if not stated) and last day.

    ``token`` names it in figure keys: ``2025-04-30`` for an instant (a stock
    is keyed by its instant, so "end of 2024" and "end of December 2024" are
    the same key) or ``2021-01-01--2021-05-31`` for an interval.
    """

    text: str
    iri: str
    start: dt.date | None
    end: dt.date
    label: str


FORMS = "YYYY, YYYY-MM, YYYY-MM-DD, YYYY-Qn, YYYY-Hn, or {start: ..., end: ...}"


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _single(text: str) -> Period:
    """One named period: a year, half, quarter, month or day."""
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        return Period(text, f"{_REF}/year/{text}", dt.date(year, 1, 1), dt.date(year, 12, 31), text)
    if match := re.fullmatch(r"(\d{4})-([HQ])([1-4])", text):
        year, kind, number = int(match[1]), match[2], int(match[3])
        if kind == "H" and number > 2:
            raise PeriodError(f"a year has two halves, not {number}")
        months = 6 if kind == "H" else 3
        first = (number - 1) * months + 1
        name = "half" if kind == "H" else "quarter"
        return Period(
            text,
            f"{_REF}/{name}/{year}-{kind}{number}",
            dt.date(year, first, 1),
            _month_end(year, first + months - 1),
            f"{kind}{number} {year}",
        )
    if re.fullmatch(r"\d{4}-\d{2}", text):
        year, month = map(int, text.split("-"))
        if not 1 <= month <= 12:
            raise PeriodError(f"no month {month}")
        return Period(
            text,
            f"{_REF}/month/{text}",
            dt.date(year, month, 1),
            _month_end(year, month),
            f"{calendar.month_name[month]} {year}",
        )
    try:
        day = dt.date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError as error:
        raise PeriodError(str(error)) from None
    if day is None:
        raise PeriodError(f"expected a period as {FORMS}, got {text!r}")
    return Period(text, f"{_REF}/day/{text}", day, day, text)


def _text(value: Any) -> str:
    if isinstance(value, (dt.datetime, bool)):
        raise PeriodError(f"expected a period as {FORMS}, got {value!r}")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, str)):
        return str(value)
    raise PeriodError(f"expected a period as {FORMS}, got {value!r}")


def _interval_iri(start: dt.date, end: dt.date) -> str:
    """The reference.data.gov.uk Gregorian interval from ``start`` to ``end``."""
    whole_months = start.day == 1 and end == _month_end(end.year, end.month)
    if whole_months:
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        length = f"P{months // 12}Y" if months % 12 == 0 and start.month == 1 else f"P{months}M"
    else:
        length = f"P{(end - start).days + 1}D"
    return f"{_REF}/gregorian-interval/{start.isoformat()}T00:00:00/{length}"


def _interval_label(start: dt.date, end: dt.date) -> str:
    if start.day == 1 and end == _month_end(end.year, end.month):
        if start.year == end.year:
            if start.month == 1 and end.month == 12:
                return str(start.year)
            return f"{calendar.month_name[start.month]}–{calendar.month_name[end.month]} {end.year}"
        if start.month == 1 and end.month == 12:
            return f"{start.year}–{end.year}"
        return f"{calendar.month_name[start.month]} {start.year}–{calendar.month_name[end.month]} {end.year}"
    return f"{start.isoformat()} to {end.isoformat()}"


def parse_period(value: Any) -> Period:
    """Read a period (see :data:`FORMS`); ``{end: X}`` alone has no start.

    >>> parse_period("2025-04").end
    datetime.date(2025, 4, 30)
    >>> parse_period("2021-H1").iri
    'http://reference.data.gov.uk/id/half/2021-H1'
    >>> parse_period({"end": "2024"}).start is None
    True

    Raises:
        PeriodError: not one of the forms, a date that does not exist, or a
            start after the end.
    """
    if not isinstance(value, dict):
        return _single(_text(value))
    unknown = set(value) - {"start", "end"}
    if unknown or "end" not in value:
        raise PeriodError(f"expected an interval as {{start: ..., end: ...}} or {{end: ...}}, got {dict(value)!r}")
    last = _single(_text(value["end"]))
    if "start" not in value:
        return Period(_text(value["end"]), last.iri, None, last.end, last.label)
    first = _single(_text(value["start"]))
    if first.start > last.end:
        raise PeriodError(f"the period starts ({first.start}) after it ends ({last.end})")
    text = f"{_text(value['start'])}/{_text(value['end'])}"
    if first.start == last.start and first.end == last.end:
        return Period(text, last.iri, last.start, last.end, last.label)
    return Period(
        text, _interval_iri(first.start, last.end), first.start, last.end, _interval_label(first.start, last.end)
    )


_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_NUMBER = re.compile(
    r"^(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?: (?P<scale>thousand|million|billion|trillion))?$"
)


def parse_stated_number(text: str) -> Decimal | None:
    """Read a figure as a news article writes it; ``None`` if it is not one.

    >>> parse_stated_number("46,000")
    Decimal('46000')
    >>> parse_stated_number("2.16 million")
    Decimal('2160000.00')
    >>> parse_stated_number("about 5") is None
    True
    """
    match = _NUMBER.match(text.strip())
    if not match:
        return None
    number = Decimal(match["number"].replace(",", ""))
    if match["scale"]:
        number *= _SCALES[match["scale"]]
    return number


def precision(text: str) -> Decimal:
    """The unit of the last significant digit of a stated figure: what a
    value derived from it may be rounded to.

    Trailing zeros of a whole number are read as not significant ("195,000"
    is to the thousand), as is usual for rounded news figures.

    >>> precision("195,000"), precision("2.16 million"), precision("10.2"), precision("709,725")
    (Decimal('1000'), Decimal('10000'), Decimal('0.1'), Decimal('1'))
    """
    match = _NUMBER.match(text.strip())
    if not match:
        raise ValueError(f"not a stated number: {text!r}")
    digits = match["number"].replace(",", "")
    scale = Decimal(_SCALES[match["scale"]]) if match["scale"] else Decimal(1)
    if "." in digits:
        places = len(digits.split(".", 1)[1])
        step = Decimal(1).scaleb(-places)
    else:
        zeros = len(digits) - len(digits.rstrip("0")) if digits.strip("0") else 0
        step = Decimal(1).scaleb(zeros)
    result = step * scale
    return result.quantize(Decimal(1)) if result >= 1 else result
