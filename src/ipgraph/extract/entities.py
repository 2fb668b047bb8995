"""Agencies (by pattern and registry), people quoted with their title, region groups."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from .gazetteer import Context
from .text import Sentence, lexicon, repeated, slug_id, unique_quote

AGENCY = re.compile(
    r"\b(?:the )?(?:(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)?)(?:'s)? )?(?P<level>Provincial |provincial |Municipal "
    r"|municipal |City |city )?(?:Intellectual Property|IP) (?:Office|Administration|Bureau|agency|administration|"
    r"office|bureau)\b"
    r"|\bAdministration for Market Regulation \(IP Office\) of (?P<of>[A-Z][a-z]+(?: [A-Z][a-z]+)?)"
)
# A place name of one or two words ("Inner Mongolia"), not swallowing the
# agency's own words ("Nanjing Municipal ...").
_NAME = r"[A-Z][a-z]+(?: (?!Municipal|Provincial|City|Customs|Party|High|Intermediate|Public)[A-Z][a-z]+)?"
_PLACE = rf"(?P<place>{_NAME})"
_PLACES = rf"(?P<places>{_NAME}(?:(?:,? and |, ){_NAME})+)"


@dataclass(frozen=True)
class Agency:
    """An agency named at ``start:end``; ``declared`` is the item of a new
    agency (one the registry does not hold) in the draft's ``agencies``."""

    start: int
    end: int
    id: str
    declared: dict[str, Any] | None = None


@cache
def _kinds() -> list[tuple[re.Pattern, list[re.Pattern], dict[str, Any]]]:
    """Each kind of agency: its cue, its patterns and its entry."""
    result = []
    for kind in lexicon("agencies")["kinds"]:
        patterns = [re.compile(p.replace("{places}", _PLACES).replace("{place}", _PLACE)) for p in kind["patterns"]]
        result.append((re.compile(kind["cue"]), patterns, kind))
    return result


def _place(context: Context, name: str | None) -> str | None:
    """The region or city of the gazetteer called ``name``."""
    found = context.gazetteer.names.get((name or "").lower().removesuffix("'s"))
    return found[1] if found and found[0] in ("region", "city") else None


def _registry_agency(context: Context, match: re.Match) -> str | None:
    """The registry's IP administration an ``AGENCY`` match names, if any."""
    place = None
    if match["of"]:
        place = _place(context, match["of"])
    elif match["name"] and match["name"].lower() in context.gazetteer.names:
        place = _place(context, match["name"])
    elif match["level"] and context.main_area:
        place = context.main_area
    return context.gazetteer.agencies.get(place) if place else None


def _registry_agencies(context: Context) -> list[Agency]:
    """CNIPA and the registry's IP administrations: by name, by pattern
    ("the provincial IP office" is the main area's), and "local IP agencies"
    of a group (each member's)."""
    found = []
    for match in AGENCY.finditer(context.text):
        agency = _registry_agency(context, match)
        if agency:
            found.append(Agency(match.start(), match.end(), agency))
    if context.group:
        for match in re.finditer(lexicon("agencies")["local"], context.text):
            for member in context.group["members"]:
                if member in context.gazetteer.agencies:
                    found.append(Agency(match.start(), match.end(), context.gazetteer.agencies[member]))
    return found


def _new_agencies(context: Context) -> list[Agency]:
    """Courts, police, customs, centres and governments by the patterns of
    ``extract/data/agencies.yaml``, each of one place."""
    found = []
    text = context.text
    main = _place(context, context.gazetteer.labels.get(context.main_area or ""))
    lines, offset = [], 0
    for line in text.split("\n"):
        lines.append((offset, offset + len(line)))
        offset += len(line) + 1
    matches = []
    for cue, patterns, kind in _kinds():
        cued = [(low, high) for low, high in lines if cue.search(text, low, high)]
        for pattern in patterns:
            matches += [(match, kind) for low, high in cued for match in pattern.finditer(text, low, high)]
    for match, kind in matches:
        groups = match.groupdict()
        if groups.get("places"):
            places = [_place(context, name) for name in re.split(r",? and |, ", groups["places"])]
        elif "place" in groups:
            places = [_place(context, groups["place"])]
        else:
            places = [main]
        if None in places:
            continue
        quote = unique_quote(text, match.start(), match.end())
        if repeated(text, quote):
            continue
        for place in places:
            label = kind["label"].replace("{place}", context.gazetteer.labels.get(place, place))
            item = {
                "id": f"{place}-{kind['suffix']}",
                "label": label,
                "jurisdiction": place,
                "quote": quote,
                "confidence": 0.7,
            }
            found.append(Agency(match.start(), match.end(), item["id"], item))
    return found


def find_agencies(context: Context) -> list[Agency]:
    """The agencies the article names, in the order of the text."""
    return sorted(_registry_agencies(context) + _new_agencies(context), key=lambda a: (a.start, a.id))


def find_people(context: Context) -> list[dict[str, Any]]:
    """ "NAME, TITLE of ORG" where ORG is a known agency."""
    titles = sorted(lexicon("people")["titles"], key=len, reverse=True)
    title = "|".join(re.escape(t) for t in titles)
    titles = rf"(?P<title>(?:{title})(?: and (?:{title}))?)"
    org = r"(?:of|for|at) (?P<org>[^,.;\n]{3,90})"
    # "Rui Wenbiao, director of Shanghai Intellectual Property Office"
    named_first = re.compile(rf"\b(?P<name>[A-Z][a-z]+ [A-Z][a-z]+), {titles} {org}", re.IGNORECASE)
    # "Deputy Director He Huaying of Nanjing Intellectual Property Office"
    title_first = re.compile(rf"\b{titles} (?P<name>[A-Z][a-z]+ [A-Z][a-z]+) {org}", re.IGNORECASE)
    matches = sorted(
        [*named_first.finditer(context.text), *title_first.finditer(context.text)], key=lambda m: m.start()
    )
    result = []
    for match in matches:
        if not (match["name"][0].isupper() and match["name"].split()[1][0].isupper()):
            continue
        org = match["org"]
        agency = None
        found = AGENCY.search(org)
        if found and found.start() <= 4:
            agency = _registry_agency(context, found)
        if agency is None:
            key = re.sub(r"^the ", "", org.strip(), flags=re.IGNORECASE).lower()
            for name, (kind, ident) in context.gazetteer.names.items():
                if kind == "agency" and key.startswith(name):
                    agency = ident
                    break
        if agency is None:
            continue
        quote = unique_quote(context.text, match.start(), match.end())
        if repeated(context.text, quote):
            continue
        result.append(
            {
                "id": slug_id(match["name"]),
                "label": match["name"],
                "job_title": match["title"],
                "works_for": agency,
                "quote": quote,
                "confidence": 0.8,
            }
        )
    return list({person["id"]: person for person in result}.values())


def find_group(context: Context, sentences: list[Sentence]) -> dict[str, Any] | None:
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
