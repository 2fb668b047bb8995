"""Events: the meetings, ceremonies, fairs and releases an article names, with place and day.

The words that make a phrase an event, and the shapes of its day, are data
(``extract/data/events.yaml``). The place is the region or city the phrase
names, else the article's main area; the year of a day without one is the
article's.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Any

from .gazetteer import PLACE_KINDS, Context
from .text import Sentence, lexicon, repeated, slug_id, unique_quote

_ITEM_BREAK = re.compile(r"[,;:]\s+|\bincluding\s+|\s+&\s+(?=[a-z])|\s+--\s+")


@cache
def _patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern, int]:
    data = lexicon("events")
    nouns = re.compile(r"\b(?:" + "|".join(data["nouns"]) + r")\b", re.IGNORECASE)
    return nouns, re.compile(data["start"]), re.compile(data["occurring"]), data["max_words"]


def _items(sentence: Sentence) -> list[tuple[int, int]]:
    """The items of a sentence's lists and clauses, as article offsets."""
    result, low = [], 0
    text = sentence.text.rstrip(". ")
    for match in _ITEM_BREAK.finditer(text):
        result.append((low, match.start()))
        low = match.end()
    result.append((low, len(text)))
    return [(sentence.start + a, sentence.start + b) for a, b in result if text[a:b].strip()]


def _day(match: re.Match | None, date: dt.date | None) -> dt.date | None:
    if match is None:
        return None
    months = lexicon("periods")["months"]
    if match["month"].lower() not in months:
        return None
    year = int(match["year"]) if match["year"] else (date.year if date else None)
    if year is None:
        return None
    try:
        return dt.date(year, months.index(match["month"].lower()) + 1, int(match["day"]))
    except ValueError:
        return None


def find_events(context: Context, sentences: list[Sentence], headline: str | None = None) -> list[dict[str, Any]]:
    """The events the article names, one per list item or clause."""
    nouns, start_day, occurring_day, max_words = _patterns()
    text = context.text
    result = []
    for sentence in sentences:
        if headline and sentence.text.strip() == headline.strip():
            continue
        start_match = start_day.search(sentence.text)
        first = True  # the sentence's first event takes the day at its head
        for low, high in _items(sentence):
            noun = nouns.search(text, low, high)
            if not noun:
                continue
            words = text[low:high].split()
            if len(words) > max_words:  # a long clause: the words around the noun
                low = max(low, text.rfind(" ", low, max(low, noun.start() - 60)) + 1)
                cut = text.rfind(" ", noun.end(), min(high, noun.end() + 120))
                high = cut if cut > 0 else min(high, noun.end() + 120)
            places = [p[3] for p in context.between(low, high) if p[2] in PLACE_KINDS and p[3] != "china"]
            location = places[0] if places else context.main_area
            if location is None:
                continue
            quote = unique_quote(text, low, high, (sentence.start, sentence.end))
            if repeated(text, quote):
                continue
            # The label: the noun phrase from the last article before the noun ("will launch the IP Publicity Week").
            article = list(re.finditer(r"\b(?:the|a|an|at)\s+", text[low : noun.start()], re.IGNORECASE))
            head = low + article[-1].end() if article else low
            label = " ".join(text[head:high].split()).strip(" ,.;:")
            item: dict[str, Any] = {"id": "", "label": label[:1].upper() + label[1:], "location": location}
            # A day stated in the item, else at the head of the sentence ("On April 20, ...") for its first event.
            own = start_day.search(text, low, high)
            day = _day(own, context.date) or (_day(start_match, context.date) if first else None)
            first = False
            if day:
                item["start_date"] = day
            else:
                occurring = _day(occurring_day.search(text, low, sentence.end), context.date)
                if occurring:
                    item["occurring_on"] = occurring
            item["quote"] = quote
            item["confidence"] = 0.5
            result.append(item)
    return result


def event_id(item: dict[str, Any]) -> str:
    """An id for a drafted event: its place and the first words of its label."""
    return slug_id(f"{item['location']}-{' '.join(item['label'].split()[:6])}")
