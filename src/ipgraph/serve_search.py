"""The server's search: every name of every entity (labels in every language,
preferred, alternative and hidden labels, former names, headlines) in an
SQLite FTS5 index, built once per loaded build.

Why FTS5 and how Chinese is tokenised. FTS5's ``unicode61`` tokenizer splits
at spaces and punctuation, so a run of Chinese characters is one token:
``吉林省`` would be found by ``吉林省`` and by the prefix ``吉林*``, never by
``林省``; the ``trigram`` tokenizer finds any substring, but only of three
characters or more, and most Chinese names and queries are two (``吉林``,
``辽宁``). Here each CJK character becomes a token of its own (a space is put
around it, at indexing and at query time), and a run of CJK characters in a
query is an FTS5 *phrase*: its characters must stand next to each other, in
order. That finds a Chinese substring of any length, one character and up,
through the index. Latin words stay whole words (case and diacritics folded)
and match as prefixes, so ``jil`` finds Jilin while typing. A query is
parsed into quoted tokens only, so no FTS5 syntax (``OR``, ``NEAR``,
``col:``) can be injected.

A request costs a lookup in the index (proportional to the names that
match), never a scan of every label; an exact name (the server's parameter
forms resolve labels with it) is a B-tree lookup.

Example:
    >>> index = SearchIndex([Name("https://w3id.org/ipgraph/id/region/jilin", "吉林省", "zh", "altLabel")],
    ...                     {"https://w3id.org/ipgraph/id/region/jilin": ["https://w3id.org/ipgraph/ontology#Province"]})
    >>> [hit.iri for hit in index.search("吉林")]
    ['https://w3id.org/ipgraph/id/region/jilin']
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from ipgraph.store import Store, execute

__all__ = [
    "GROUPS",
    "MAX_QUERY",
    "Hit",
    "Name",
    "SearchError",
    "SearchIndex",
    "check_query",
    "group_of",
    "grouped",
    "index_store",
]

#: The longest query accepted (characters).
MAX_QUERY = 200
_IPG = "https://w3id.org/ipgraph/ontology#"
_SCHEMA = "https://schema.org/"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_QB = "http://purl.org/linked-data/cube#"
_OWL = "http://www.w3.org/2002/07/owl#"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"

#: The groups results are shown in, in this order: an entity is in the group
#: of the first of its classes listed here (the most telling one first).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Regions", (_IPG + "ProvincialLevelRegion", _IPG + "Province", _IPG + "AutonomousRegion",
                 _IPG + "Municipality", _IPG + "SpecialAdministrativeRegion")),
    ("Region groups", (_IPG + "RegionGroup",)),
    ("Cities and places", (_IPG + "City", _IPG + "Region", _SCHEMA + "Country", _SCHEMA + "Place")),
    ("Agencies", (_IPG + "Agency",)),
    ("Industries", (_IPG + "Industry",)),
    ("Measures", (_IPG + "Measure",)),
    ("Figures", (_IPG + "Figure",)),
    ("Figures as each source states them", (_QB + "Observation",)),
    ("Indicators", (_IPG + "Indicator",)),
    ("Sources", (_SCHEMA + "NewsArticle",)),
    ("People", (_SCHEMA + "Person",)),
    ("Events", (_SCHEMA + "Event",)),
    ("Statements", (_SCHEMA + "Quotation",)),
    ("Organisations", (_SCHEMA + "Organization",)),
    ("Reference documents", (_SCHEMA + "CreativeWork", _SCHEMA + "Dataset")),
    ("Concepts", (_SKOS + "Concept", _SKOS + "ConceptScheme")),
    ("Schema", (_OWL + "Class", _RDFS + "Class", _RDF + "Property", _OWL + "ObjectProperty",
                _OWL + "DatatypeProperty", _OWL + "Ontology", _QB + "DimensionProperty",
                _QB + "AttributeProperty", _QB + "MeasureProperty", _QB + "DataStructureDefinition")),
)  # fmt: skip
_RANK = {cls: rank for rank, (_, classes) in enumerate(GROUPS) for cls in classes}
_OTHER = "Other"
#: The order names are stored (and read) in: labels, then preferred labels, then aliases.
_PROPERTY_RANK = {"label": 0, "prefLabel": 1, "name": 1, "altLabel": 2, "headline": 2}

# CJK ideographs (with extensions and compatibility forms), kana, hangul: one token per character.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
_CJK_CHAR = re.compile(f"([{_CJK}])")
_QUERY_PART = re.compile(f"[{_CJK}]+|[^\\W_]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class SearchError(ValueError):
    """A query the search cannot take (too long, control characters, nothing to look for)."""


@dataclass(frozen=True)
class Name:
    """One name of an entity: its text, language tag and the property that gives it."""

    iri: str
    text: str
    lang: str = ""
    property: str = "label"


@dataclass
class Hit:
    """An entity found: its IRI, its display label, the name that matched and its group."""

    iri: str
    label: str
    matched: str
    lang: str
    group: str
    score: tuple = field(default=(), repr=False)


def group_of(classes: Iterable[str]) -> str:
    """The group an entity with these classes is shown in (:data:`GROUPS`), ``"Other"`` for none.

    Example:
        >>> group_of(["https://schema.org/AdministrativeArea", "https://w3id.org/ipgraph/ontology#Province"])
        'Regions'
    """
    ranks = [_RANK[cls] for cls in classes if cls in _RANK]
    return GROUPS[min(ranks)][0] if ranks else _OTHER


def _fold(text: str) -> str:
    """The key of an exact-name lookup: NFKC, case-folded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _terms(text: str) -> str:
    """``text`` as the index stores it: each CJK character a token of its own."""
    return _CJK_CHAR.sub(r" \1 ", unicodedata.normalize("NFKC", text))


def check_query(text: str) -> str:
    """``text`` as a search query, stripped; :class:`SearchError` for one
    that is empty, longer than :data:`MAX_QUERY` or holds control characters."""
    if _CONTROL.search(text):
        raise SearchError("the search text holds control characters")
    text = text.strip()
    if not text:
        raise SearchError("give something to search for: /search?q=Jilin")
    if len(text) > MAX_QUERY:
        raise SearchError(f"the search text is {len(text)} characters long; at most {MAX_QUERY} are searched")
    return text


def _match_expression(text: str) -> str | None:
    """The FTS5 query for ``text``: a phrase per run of CJK characters, a
    prefix per word, all of them required; ``None`` if there is no word."""
    parts = []
    for part in _QUERY_PART.findall(unicodedata.normalize("NFKC", text)):
        if _CJK_CHAR.match(part):
            parts.append('"' + " ".join(part) + '"')
        else:
            parts.append('"' + part.replace('"', '""') + '"*')
    return " ".join(parts) or None


_COLUMNS = "SELECT entity.iri, entity.label, entity.grp, name.text, name.lang, name.id FROM "
#: The first matches in stored order (FTS5 reads its index in rowid order and stops at the LIMIT).
_MATCHING = (
    _COLUMNS + "name_fts JOIN name ON name.id = name_fts.rowid JOIN entity ON entity.id = name.entity "
    "WHERE name_fts MATCH ? LIMIT ?"
)
#: Names equal to the query (a B-tree lookup on the folded key).
_EQUAL = _COLUMNS + "name JOIN entity ON entity.id = name.entity WHERE name.key = ? LIMIT ?"


class SearchIndex:
    """An in-memory FTS5 index of names (see the module's docstring).

    Parameters:
        names: every name of every entity.
        classes: each entity's classes (IRIs), for its group.
        labels: each entity's display label (else its first English name, else its first name).
    """

    def __init__(
        self,
        names: Iterable[Name],
        classes: dict[str, list[str]] | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        classes = classes or {}
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.executescript(
            """
            CREATE TABLE entity (id INTEGER PRIMARY KEY, iri TEXT UNIQUE NOT NULL, label TEXT, grp TEXT);
            CREATE TABLE name (id INTEGER PRIMARY KEY, entity INTEGER NOT NULL, text TEXT NOT NULL,
                               lang TEXT, property TEXT, key TEXT NOT NULL);
            CREATE INDEX name_key ON name (key);
            CREATE VIRTUAL TABLE name_fts USING fts5 (
                terms, content='', tokenize='unicode61 remove_diacritics 2', prefix='1 2 3'
            );
            """
        )
        ids: dict[str, int] = {}
        shown: dict[str, tuple[int, str]] = {}
        unique = {(name.iri, name.text, name.lang, name.property): name for name in names}
        # Rows in order of how telling a name is (labels first, then the
        # shortest): a search reads the first matches in this order and stops.
        ordered = sorted(unique.values(), key=lambda n: (_PROPERTY_RANK.get(n.property, 3), len(n.text), n.text, n.iri))
        rows = []
        for name in ordered:
            entity = ids.setdefault(name.iri, len(ids) + 1)
            # display label: rdfs:label in English, then any English name, then any name
            rank = (0 if name.property == "label" else 2) + (0 if name.lang in ("en", "") else 1)
            if name.iri not in shown or (rank, name.text) < shown[name.iri]:
                shown[name.iri] = (rank, name.text)
            rows.append((len(rows) + 1, entity, name.text, name.lang, name.property, _fold(name.text)))
        labels = {**{iri: text for iri, (_, text) in shown.items()}, **(labels or {})}
        with self._db:
            self._db.executemany(
                "INSERT INTO entity VALUES (?, ?, ?, ?)",
                ((entity, iri, labels.get(iri, iri), group_of(classes.get(iri, ()))) for iri, entity in ids.items()),
            )
            self._db.executemany("INSERT INTO name VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.executemany(
                "INSERT INTO name_fts (rowid, terms) VALUES (?, ?)", ((row[0], _terms(row[2])) for row in rows)
            )
        self.entities, self.names = len(ids), len(rows)

    def search(self, text: str, limit: int = 50, candidates: int = 500) -> list[Hit]:
        """The entities with a name that matches ``text``, best first: an exact
        name, then a name that starts with the query, then the shortest.

        The index is read in the order names were stored (labels first, then
        the shortest) and stops after ``candidates`` matches, and a name equal
        to the query is looked up on its own: a request costs about as much
        for a common word in a million names as in a thousand.

        Raises:
            SearchError: an empty or overlong query, or one with control characters.
        """
        text = check_query(text)
        expression = _match_expression(text)
        if expression is None:
            return []
        wanted = _fold(text)
        rows = self._db.execute(_MATCHING, (expression, candidates)).fetchall()
        rows += self._db.execute(_EQUAL, (wanted, candidates)).fetchall()
        best: dict[str, Hit] = {}
        for iri, label, group, matched, lang, order in rows:
            key = _fold(matched)
            score = (0 if key == wanted else 1 if key.startswith(wanted) else 2, order)
            if iri not in best or score < best[iri].score:
                best[iri] = Hit(iri, label, matched, lang or "", group, score)
        return sorted(best.values(), key=lambda hit: (hit.score, hit.iri))[:limit]

    def exact(self, text: str) -> list[str]:
        """The IRIs of the entities with a name equal to ``text`` (case and width folded)."""
        rows = self._db.execute(
            "SELECT DISTINCT entity.iri FROM name JOIN entity ON entity.id = name.entity WHERE name.key = ?"
            " ORDER BY entity.iri",
            (_fold(text),),
        )
        return [iri for (iri,) in rows]

    def label(self, iri: str) -> str | None:
        """The display label of ``iri``, if it has a name."""
        row = self._db.execute("SELECT label FROM entity WHERE iri = ?", (iri,)).fetchone()
        return row[0] if row else None


def index_store(store: Store, names_query: str, classes_query: str) -> SearchIndex:
    """The index of every name in ``store``, from the page queries
    ``search-names.rq`` and ``search-classes.rq`` (their texts), run whole
    (no row limit: a build's own, trusted queries)."""
    found = execute(store, names_query, timeout=None, limit=None, max_bytes=None)
    names = []
    for entity, prop, name in found.rows:
        if isinstance(name, ox.Literal):
            local = re.split(r"[#/]", prop.value)[-1]
            names.append(Name(entity.value, name.value, name.language or "", local))
    classes: dict[str, list[str]] = {}
    for entity, cls in execute(store, classes_query, timeout=None, limit=None, max_bytes=None).rows:
        classes.setdefault(entity.value, []).append(cls.value)
    return SearchIndex(names, classes)


def grouped(hits: list[Hit]) -> list[tuple[str, list[Hit]]]:
    """``hits`` by group, the groups in :data:`GROUPS` order (``Other`` last), each group's hits in rank order."""
    order = {name: rank for rank, (name, _) in enumerate(GROUPS)}
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.group, []).append(hit)
    return sorted(groups.items(), key=lambda item: order.get(item[0], len(order)))
