"""Agencies (by pattern and registry), people quoted with their title, region groups."""

from __future__ import annotations

import re
from typing import Any

from .gazetteer import Context
from .text import Sentence, lexicon, repeated, slug_id, unique_quote

AGENCY = re.compile(
    r"\b(?:the )?(?:(?P<name>[A-Z][a-z]+(?: [A-Z][a-z]+)?)(?:'s)? )?(?P<level>Provincial |provincial |Municipal "
    r"|municipal |City |city )?(?:Intellectual Property|IP) (?:Office|Administration|Bureau|agency|administration|"
    r"office|bureau)\b"
)


def find_agencies(context: Context) -> list[tuple[int, int, str]]:
    found = []
    names = context.gazetteer.names
    for match in AGENCY.finditer(context.text):
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


def find_people(context: Context) -> list[dict[str, Any]]:
    """ "NAME, TITLE of ORG" where ORG is a known agency."""
    titles = sorted(lexicon("people")["titles"], key=len, reverse=True)
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
        found = AGENCY.search(org)
        if found and found.start() <= 4:
            sub = Context(context.text, context.gazetteer, context.date, [], context.main_area)
            agencies = [a for a in find_agencies(sub) if a[0] == match.start("org") + found.start()]
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
