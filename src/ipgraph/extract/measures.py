"""Measures: clauses describing an action of an agency or region, with a type from the vocabulary.

The verbs, types and the shape of a document's title are data
(``extract/data/measures.yaml``). A clause is drafted once for each place it
names in a list ("approves ... Centers in Liaoning, Jilin, and Changchun"),
and a list of named documents ("including the Action Plan for ..., and
Several Opinions on ...") gives one policy-document measure each.
"""

from __future__ import annotations

import bisect
import re
from functools import cache
from typing import Any

from .entities import Agency
from .gazetteer import PLACE_KINDS, Context
from .text import Sentence, lexicon, repeated, unique_quote

#: Where a sentence splits into clauses that may each be a measure.
_CLAUSE_BREAK = re.compile(r";|, (?=and (?:has|have|will|is|are)\b|as will be\b)")
#: "the region's", "in the province": the article's main area.
_MAIN = re.compile(r"\bthe (?:region|province|city|municipality)(?:'s)?\b", re.IGNORECASE)
_LIST = re.compile(r"(?:,? and |, )")
_LIST_ITEM = re.compile(r",(?: and)? ")
_TITLE_AND = re.compile(r" and (?=(?:[A-Z][\w-]* ){1,3}(?:for|of|on) )")
#: A place after the verb counts when the clause puts something in it ("a centre in southwest China's Chongqing").
_IN = re.compile(r"\bin\b")


@cache
def _patterns() -> tuple[re.Pattern, list[tuple[re.Pattern, str]], re.Pattern]:
    data = lexicon("measures")
    # "will also build", "has further strengthened", "were also released"
    verbs = [
        re.sub(r"\b(will|has|have|were|was|is|are)(\)?) ", r"\1\2 (?:also |further |now )?", verb)
        for verb in data["verbs"]
    ]
    cue = re.compile(r"\b(?:" + "|".join(verbs) + r")\b", re.IGNORECASE)
    types = [(re.compile(entry["pattern"], re.IGNORECASE), entry["type"]) for entry in data["types"]]
    return cue, types, re.compile(data["documents"])


def _clauses(sentence: Sentence) -> list[tuple[int, int]]:
    """The clauses of ``sentence`` as article offsets."""
    bounds, start = [], 0
    for match in _CLAUSE_BREAK.finditer(sentence.text):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(sentence.text)))
    result = []
    for low, high in bounds:
        piece = sentence.text[low:high]
        low += len(piece) - len(piece.lstrip())
        high = low + len(piece.strip().rstrip("."))
        if high > low:
            result.append((sentence.start + low, sentence.start + high))
    return result


def _type(clause: str, verb: re.Match) -> str | None:
    """The earliest type named from the verb on ("will reform", "hopes to reach"), else before it."""
    _, types, _ = _patterns()
    for text in (clause[verb.start() :], clause[: verb.start()]):
        found = [(match.start(), kind) for pattern, kind in types if (match := pattern.search(text))]
        if found:
            return min(found)[1]
    return None


def _runs(context: Context, names: list[tuple[int, int, str, str]]) -> list[list[str]]:
    """Runs of two or more places listed together ("Liaoning, Jilin, and Changchun")."""
    runs: list[list[tuple[int, int, str, str]]] = []
    for name in names:
        if runs and _LIST.fullmatch(context.text[runs[-1][-1][1] : name[0]]):
            runs[-1].append(name)
        else:
            runs.append([name])
    return [list(dict.fromkeys(p[3] for p in run)) for run in runs if len({p[3] for p in run}) >= 2]


def _places(context: Context, start: int, end: int, verb_at: int, fallback: str | None) -> list[str]:
    """The places a clause is about: the first listed set, "the region", the
    place before the verb, one "in" a place after it, else ``fallback``."""
    text = context.text
    names = [p for p in context.between(start, end) if p[2] in PLACE_KINDS and p[3] != "china"]
    runs = _runs(context, names)
    if runs:
        return runs[0]
    if _MAIN.search(text, verb_at, end) and context.main_area:
        return [context.main_area]
    before = [p[3] for p in names if p[0] < verb_at]
    if before:
        return [before[-1]]
    after = [p[3] for p in names if p[0] >= verb_at and _IN.search(text, max(verb_at, p[0] - 30), p[0])]
    if after:
        return [after[0]]
    return [fallback] if fallback else []


def _documents(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The titles of named documents in the object of a policy clause, as
    article offsets: the items of a list after "including", or titles joined
    by "and" ("the Policies and Measures for ... and Measures for ...")."""
    _, _, title = _patterns()
    at = text.find("including ", start, end)
    if at >= 0:
        body, splitter = at + len("including "), _LIST_ITEM
    else:
        body, splitter = start + len(text[start:end]) - len(text[start:end].lstrip()), _TITLE_AND
    pieces, low = [], body
    for match in splitter.finditer(text, body, end):
        if len(text[low : match.start()].split()) >= 5:
            pieces.append((low, match.start()))
            low = match.end()
    pieces.append((low, end))
    found = [(low, high) for low, high in pieces if title.fullmatch(text, low, high)]
    return found if len(found) >= 2 or (found and at >= 0) else []


def find_measures(
    context: Context, sentences: list[Sentence], agencies: list[Agency], headline: str | None = None
) -> list[dict[str, Any]]:
    """The measures of the article, one per clause and place."""
    cue, _, _ = _patterns()
    agency_starts = [a.start for a in agencies]
    jurisdictions = {agency: place for place, agency in context.gazetteer.agencies.items()}
    jurisdictions.update({a.id: a.declared["jurisdiction"] for a in agencies if a.declared})
    text = context.text
    result = []
    for sentence in sentences:
        if headline and sentence.text.strip() == headline.strip():
            continue  # the title of the article states its news, not a measure of its own
        for start, end in _clauses(sentence):
            clause = text[start:end]
            verb = cue.search(clause)
            if not verb:
                continue
            kind = _type(clause, verb)
            if kind is None or any(name in clause for name in context.unknown_places):
                continue
            verb_at = start + verb.start()
            acting = [
                a.id
                for a in agencies[bisect.bisect_left(agency_starts, start) : bisect.bisect_left(agency_starts, verb_at)]
            ]
            acting += [p[3] for p in context.between(start, verb_at) if p[2] == "agency"]
            spans = [(start, end)]
            if kind == "policy-document":
                spans = _documents(text, start + verb.end(), end) or spans
            # With no place named, the acting agency's jurisdiction, else the article's main area.
            jurisdiction = next((jurisdictions[a] for a in reversed(acting) if a in jurisdictions), None)
            fallback = jurisdiction if jurisdiction and jurisdiction != "china" else context.main_area
            for place in _places(context, start, end, verb_at, fallback):
                agency = acting[-1] if acting else context.gazetteer.agencies.get(place)
                for low, high in spans:
                    quote = unique_quote(text, low, high, (sentence.start, sentence.end))
                    if repeated(text, quote):
                        continue
                    words = " ".join(text[low:high].split())
                    item: dict[str, Any] = {
                        "id": "",
                        "label": " ".join(words.split()[:12]).rstrip(",."),
                        "type": kind,
                        "implemented_in": place,
                        "description": " ".join(clause.split()).rstrip(".") + ".",
                    }
                    if agency:
                        item["implemented_by"] = agency
                    industries = sorted({p[3] for p in context.between(low, high) if p[2] == "industry"})
                    if industries:
                        item["industries"] = industries
                    item["quote"] = quote
                    item["confidence"] = 0.5
                    result.append(item)
    return result
