"""The names an article may mention (registry, region groups, industries) and where they stand in it."""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..facts import load_facts
from ..vocab import Vocabulary, load_vocabulary
from .periods import Period
from .text import lexicon, pipeline

#: A news agency's dateline at the start of a line.
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]+, [A-Z][a-z]+\.? \d{1,2} \([A-Za-z ]+\) -- ", re.MULTILINE)

#: The kinds of names that are places (an area of a figure, a measure's region).
PLACE_KINDS = ("region", "city", "region-group", "country")


@dataclass
class Gazetteer:
    """Names of the entities and concepts an article may mention: ``names``
    maps a lower-cased name to ``(kind, id)``."""

    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    vocabulary: Vocabulary | None = None
    agencies: dict[str, str] = field(default_factory=dict)  # jurisdiction -> agency id
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)  # group id -> members
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
    registry_agencies = {ident for kind, ident in gazetteer.names.values() if kind == "agency"}
    for alias, ident in lexicon("agencies")["aliases"].items():
        if ident in registry_agencies:
            gazetteer.add(alias, "agency", ident)
    for concept in vocabulary.concepts.get("industry", {}).values():
        for name in (concept.label, *concept.alt_labels, *([concept.label_zh] if concept.label_zh else [])):
            gazetteer.add(name, "industry", concept.id)
    return gazetteer


@dataclass
class Context:
    text: str
    gazetteer: Gazetteer
    date: dt.date | None
    places: list[tuple[int, int, str, str]]  # start, end, kind, id (article offsets)
    main_area: str | None = None
    group: dict[str, Any] | None = None
    unknown_places: tuple[str, ...] = ()
    #: The article's one year, when every period phrase in it names that year.
    year: Period | None = None
    _starts: list[int] = field(default_factory=list)

    def between(self, start: int, end: int) -> list[tuple[int, int, str, str]]:
        """The names found starting in ``[start, end)`` (``places`` is sorted)."""
        if len(self._starts) != len(self.places):
            self._starts = [place[0] for place in self.places]
        return self.places[bisect.bisect_left(self._starts, start) : bisect.bisect_left(self._starts, end)]


def find_names(text: str, gazetteer: Gazetteer) -> list[tuple[int, int, str, str]]:
    from spacy.matcher import PhraseMatcher

    nlp = pipeline()
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    keys = sorted(gazetteer.names)
    for name in keys:
        matcher.add(name, [nlp.make_doc(name)])
    found = []
    nlp.max_length = max(nlp.max_length, len(text) + 1)
    doc = nlp.make_doc(text)
    spans = [doc[start:end] for _, start, end in matcher(doc)]
    from spacy.util import filter_spans

    # "BEIJING, April 13 (Xinhua) --" names where a report was filed, not what it is about.
    datelines = [match.span() for match in _DATELINE.finditer(text)]
    dateline_starts = [start for start, _ in datelines]
    for span in filter_spans(spans):
        at = bisect.bisect_right(dateline_starts, span.start_char) - 1
        if at >= 0 and span.start_char < datelines[at][1]:
            continue
        kind, ident = gazetteer.names[span.text.lower()]
        found.append((span.start_char, span.end_char, kind, ident))
    # CJK names are not split into words: find them as substrings.
    for name, (kind, ident) in gazetteer.names.items():
        if re.search(r"[\u4e00-\u9fff]", name):
            for match in re.finditer(re.escape(name), text):
                found.append((match.start(), match.end(), kind, ident))
    return sorted(found)
