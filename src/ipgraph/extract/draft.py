"""The draft of an article: every finder run on its text, ids given, written as YAML."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .entities import find_agencies, find_group, find_people
from .events import event_id, find_events
from .figures import LOCAL_PLACE, draft_figures, one_per_key, period_token, table_figures
from .gazetteer import Context, Gazetteer, find_names, load_gazetteer
from .measures import find_measures
from .periods import Period, periods_in
from .reading import read_article
from .text import repeated, slug_id, split_sentences, unique_quote


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
    sentences = split_sentences(text)
    names = find_names(text, gazetteer)
    context = Context(text=text, gazetteer=gazetteer, date=date, places=names)
    group = find_group(context, sentences)
    # The main area: a group listed in the article, else the place named most often.
    counts: dict[str, int] = {}
    for _, _, kind, ident in names:
        if kind in ("region", "city", "region-group"):
            counts[ident] = counts.get(ident, 0) + 1
    if headline:
        for _, _, kind, ident in find_names(headline, gazetteer):
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
    for match in LOCAL_PLACE.finditer(text):
        if match[1].lower() not in gazetteer.names and match[1] not in unknown:
            unknown[match[1]] = len(re.findall(rf"\b{match[1]}\b", text))
    context.unknown_places = tuple(unknown)
    if unknown and context.main_area and max(unknown.values()) >= counts.get(context.main_area, 0):
        context.main_area = None  # the article is about a place the registry does not know
    # The article's one year: every period phrase in it falls in that year, and one names it.
    stated = [period.value for sentence in sentences for period in periods_in(sentence.text, date, None)]
    years = {str(value)[:4] for value in stated if not isinstance(value, dict)}
    years |= {str(bound)[:4] for value in stated if isinstance(value, dict) for bound in value.values()}
    if len(years) == 1 and next(iter(years)) in stated:
        context.year = Period(0, 0, years.pop(), None)
    agencies = find_agencies(context)
    observations = one_per_key(draft_figures(context, sentences) + table_figures(context))
    _unique_ids(
        observations,
        lambda o: slug_id(f"{o['area']}-{o['indicator']}-{period_token(o['period'])}"),
        "observations",
        gazetteer.taken,
    )
    measures = find_measures(context, sentences, agencies, headline)
    _unique_ids(measures, lambda m: slug_id(f"{m['implemented_in']}-{m['type']}"), "measures", gazetteer.taken)
    events = find_events(context, sentences, headline)
    _unique_ids(events, event_id, "events", gazetteer.taken)
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
    declared: dict[str, dict[str, Any]] = {}
    for agency in agencies:
        if agency.declared and agency.id not in declared and ("agencies", agency.id) not in gazetteer.taken:
            declared[agency.id] = agency.declared
    for start, end, kind, ident in names + [(a.start, a.end, "agency", a.id) for a in agencies]:
        if ident in mentions or ident in declared or (group and not group["_known"] and ident == group["id"]):
            continue
        tries[ident] = tries.get(ident, 0) + 1
        if tries[ident] > 3:  # repeated in the same words each time: leave it to the reviewer
            continue
        quote = unique_quote(text, start, end)
        if repeated(text, quote):
            continue
        mentions[ident] = {"id": ident, "of": f"{path[kind]}/{ident}", "quote": quote, "confidence": 0.9}
    people = []
    for person in find_people(context):
        if ("people", person["id"]) in gazetteer.taken:  # another source declares them: a mention
            mentions.setdefault(
                person["id"],
                {"id": person["id"], "of": f"person/{person['id']}", "quote": person["quote"], "confidence": 0.7},
            )
        else:
            people.append(person)
    if declared:
        draft["agencies"] = list(declared.values())
    if people:
        draft["people"] = people
    if events:
        draft["events"] = events
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
    publisher = slug_id(str(meta.get("publisher", "article")))[:20].strip("-") or "article"
    topic = slug_id(str(meta.get("headline") or path.stem))[:40].strip("-") or "draft"
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
