"""Measures: clauses describing an action of an agency or region, with a type from the vocabulary."""

from __future__ import annotations

import bisect
import re
from typing import Any

from .entities import Agency
from .gazetteer import PLACE_KINDS, Context
from .text import Sentence, lexicon, unique_quote


def find_measures(context: Context, sentences: list[Sentence], agencies: list[Agency]) -> list[dict[str, Any]]:
    data = lexicon("measures")
    verbs = re.compile(r"\b(?:" + "|".join(data["verbs"]) + r")\b", re.IGNORECASE)
    subjects = re.compile(data["subjects"])
    agency_starts = [a.start for a in agencies]
    result = []
    for sentence in sentences:
        for clause_match in re.finditer(r"[^;]+", sentence.text):
            clause = clause_match.group(0)
            offset = sentence.start + clause_match.start()
            verb = verbs.search(clause)
            if not verb or verb.start() > 120:
                continue
            actors = context.between(offset, offset + verb.start())
            acting = [
                a for a in agencies[bisect.bisect_left(agency_starts, offset) :] if a.start < offset + verb.start()
            ]
            place = next((p[3] for p in reversed(actors) if p[2] in PLACE_KINDS and p[3] != "china"), None)
            agency = acting[-1].id if acting else next((p[3] for p in reversed(actors) if p[2] == "agency"), None)
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
