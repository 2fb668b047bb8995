"""Read curated facts: the registry of shared entities, the source texts with
their metadata, and the YAML facts that rest on them, each fact with the exact
quote it is taken from.

A source is two files in ``data/sources/``: ``<slug>.txt`` (the article,
verbatim, UTF-8) and ``<slug>.yaml`` (headline, publisher, date, URL). Its
facts are ``data/facts/<slug>.yaml``. Entities many sources name (regions,
cities, agencies) are declared once in ``data/registry/*.yaml``, each record
with its provenance; a source refers to them by id and records what it says of
them under ``mentions:``. Loading checks every field, every reference and
every quote; the first problem raises a :class:`~ipgraph.errors.FactsError`
naming the file, line and field (``docs/curating.md`` describes the format).

Example:
    >>> from ipgraph.facts import load_facts
    >>> from ipgraph.vocab import load_vocabulary
    >>> facts = load_facts("data", load_vocabulary("data/vocab"))   # doctest: +SKIP
    >>> facts.records["region/jilin"].fields["label"]               # doctest: +SKIP
    'Jilin'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ipgraph.errors import FactsError, IpgraphError, QuoteError, SourceError
from ipgraph.periods import Period, PeriodError, parse_period, parse_stated_number, precision
from ipgraph.vocab import SCHEMES, Vocabulary, closest
from ipgraph.yamlfile import Map, read_text, read_yaml

__all__ = [
    "CONCEPT_PATHS",
    "KINDS",
    "REGISTRY_SECTIONS",
    "Evidence",
    "Facts",
    "FactsFile",
    "Period",
    "Record",
    "Source",
    "facts_files",
    "load_facts",
    "locate_quote",
    "parse_stated_number",
    "read_facts_file",
]

#: How many characters of context ``oa:prefix`` and ``oa:suffix`` keep.
CONTEXT_CHARS = 32

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# ---------------------------------------------------------------------------
# Data classes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A source article: its slug, metadata and verbatim text."""

    slug: str
    headline: str
    publisher: str
    date_published: dt.date
    url: str
    language: str
    text: str
    text_path: Path
    note: str | None = None


@dataclass(frozen=True)
class Evidence:
    """Where a quote stands in its source (character offsets, end exclusive)."""

    source: str
    exact: str
    start: int
    end: int
    prefix: str
    suffix: str


@dataclass
class Record:
    """One curated fact or entity, checked, with its evidence located (a
    source's item) or its provenance named (a registry record).

    ``source`` is the slug of the source whose facts file declares it, or
    ``None`` for a registry record.
    """

    kind: str
    id: str
    fields: dict[str, Any]
    evidence: Evidence | None
    path: Path
    line: int
    source: str | None = None
    provenance: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """``kind/id``, for example ``region/jilin``; a mention's key also
        names its source, as its id is only unique there."""
        if self.kind == "mentions":
            return f"mention/{self.source}/{self.id}"
        return f"{KINDS[self.kind].path}/{self.id}"


@dataclass
class Facts:
    """Everything read from ``data/``: the registry, the sources and the
    records resting on them."""

    sources: dict[str, Source] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)
    #: The provenance entries of the registry files, by id.
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)
    _by_source: dict[str | None, list[Record]] = field(default_factory=dict)

    def add(self, record: Record) -> None:
        self.records[record.key] = record
        self._by_source.setdefault(record.source, []).append(record)

    def of_source(self, slug: str | None) -> Iterator[Record]:
        """The records a source's facts file declares (``None``: the
        registry's), in a stable order."""
        yield from sorted(self._by_source.get(slug, []), key=lambda record: record.key)

    def label(self, section: str, ident: str) -> str:
        """The English label of entity ``ident`` of ``section``."""
        return self.records[f"{KINDS[section].path}/{ident}"].fields["label"]


# ---------------------------------------------------------------------------
# The schema of a facts file
# ---------------------------------------------------------------------------

# Field types: "text", "texts", "date", "partial-date" (YYYY, YYYY-MM or a
# date), "period", "count" (a number >= 0), "percent" (any number), "integer",
# "enum:a|b", "ref:kind|kind" (one id), "refs:kind|kind" (a list of ids) and
# "entity" (``path/id`` of any entity or concept). Concept kinds (industry,
# indicator, unit, measure-type, scope, qualifier) are the schemes of
# data/vocab/ (ipgraph.vocab).


@dataclass(frozen=True)
class Kind:
    """A top-level section of a facts or registry file and the fields of its items."""

    section: str
    path: str  # IRI path segment under ipgr:
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)


_LABELS = {"label_zh": "text", "alt_labels": "texts"}
_PLACES = "regions|region_groups|cities|countries"

KINDS: dict[str, Kind] = {
    kind.section: kind
    for kind in [
        Kind("countries", "country", {"label": "text"}, {**_LABELS, "iso_code": "text"}),
        Kind(
            "regions",
            "region",
            {
                "label": "text",
                "type": "enum:province|autonomous-region|municipality|special-administrative-region",
            },
            {**_LABELS, "part_of": "ref:countries", "iso_code": "text"},
        ),
        Kind("region_groups", "region-group", {"label": "text", "members": "refs:regions"}, dict(_LABELS)),
        Kind(
            "cities",
            "city",
            {"label": "text", "in": "ref:regions"},
            {**_LABELS, "capital_of": "ref:regions", "geonames": "integer"},
        ),
        Kind(
            "agencies",
            "agency",
            {"label": "text", "jurisdiction": "ref:regions|cities|countries"},
            {**_LABELS, "part_of": "ref:agencies", "former_names": "texts"},
        ),
        Kind("organizations", "organization", {"label": "text"}, {**_LABELS, "location": "ref:cities|regions"}),
        Kind(
            "people",
            "person",
            {"label": "text", "job_title": "text", "works_for": "ref:agencies|organizations"},
            dict(_LABELS),
        ),
        Kind("statements", "statement", {"speaker": "ref:people"}),
        Kind(
            "events",
            "event",
            {"label": "text", "location": "ref:cities|regions|countries"},
            {**_LABELS, "start_date": "date", "occurring_on": "date"},
        ),
        Kind("focus", "focus", {"of": "ref:regions|region_groups|cities|countries", "industries": "refs:industry"}),
        Kind(
            "measures",
            "measure",
            {
                "label": "text",
                "type": "ref:measure-type",
                "implemented_in": f"ref:{_PLACES}",
                "description": "text",
            },
            {"implemented_by": "ref:agencies", "industries": "refs:industry", "date": "partial-date"},
        ),
        Kind(
            "observations",
            "observation",
            {
                "indicator": "ref:indicator",
                "area": f"ref:{_PLACES}",
                "figure": "enum:stock|flow",
                "period": "period",
                "value": "count",
                "stated_value": "text",
                "unit": "ref:unit",
            },
            {
                "qualifier": "ref:qualifier",
                "yoy_change_percent": "percent",
                "industry_scope": "refs:industry",
                "scope": "ref:scope",
                "reported_by": "ref:agencies",
            },
        ),
        Kind(
            "mentions",
            "mention",
            {"of": "entity"},
            {
                **_LABELS,
                "capital_of": "ref:regions",
                "part_of": "ref:agencies",
                "job_title": "text",
                "works_for": "ref:agencies|organizations",
            },
        ),
    ]
}

#: The sections a registry file may hold.
REGISTRY_SECTIONS = ("countries", "regions", "cities", "agencies", "organizations")

#: IRI path segment of each vocabulary kind.
CONCEPT_PATHS = {kind: kind for kind in SCHEMES}

#: Section of each IRI path segment of an entity (``region`` -> ``regions``).
_SECTION_OF_PATH = {kind.path: section for section, kind in KINDS.items() if section != "mentions"}

#: What a mention may add about an entity, by the entity's section.
_ADDITIONS = {"capital_of": {"cities"}, "part_of": {"agencies"}, "job_title": {"people"}, "works_for": {"people"}}

#: Sections whose labels and aliases must each name one entity.
_NAMED = ("countries", "regions", "region_groups", "cities", "agencies", "organizations", "people")

_COMMON = {"id", "quote"}


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def facts_files(data_dir: str | Path) -> list[Path]:
    """The facts files of ``data_dir``, in the order they are loaded.

    Raises:
        FactsError: there is none.
    """
    data_dir = Path(data_dir)
    paths = sorted((data_dir / "facts").glob("*.yaml"))
    if not paths:
        raise FactsError("no facts files (*.yaml) found", path=data_dir / "facts")
    return paths


def load_facts(
    data_dir: str | Path,
    vocabulary: Vocabulary | None = None,
    read: Callable[[list[Path]], Iterable[FactsFile]] | None = None,
) -> Facts:
    """Read and check the registry, every source and every facts file under ``data_dir``.

    Parameters:
        data_dir: the folder holding ``registry/``, ``sources/`` and ``facts/``.
        vocabulary: the concepts (``ipgraph.vocab.load_vocabulary``), to check
            references to them; ``None`` skips that check.
        read: reads the facts files (:func:`facts_files`), in their order, as
            :func:`read_facts_file` does (``ipgraph.pipeline`` reads them in
            worker processes, or from its cache); default: one after another.

    Raises:
        FactsError: a file is malformed, a field is missing, unknown or of the
            wrong type, an id is repeated, a reference names nothing, a
            registry record has no provenance, or an alias names two entities.
        QuoteError: a quote is not in its source exactly once.
        SourceError: a source text or its metadata is missing or not UTF-8.
    """
    data_dir = Path(data_dir)
    facts = Facts()
    pending: list[tuple[Record, dict[str, str], Map]] = []
    for path in sorted((data_dir / "registry").glob("*.yaml")):
        _load_registry_file(path, facts, pending)
    fact_files = facts_files(data_dir)
    files = read(fact_files) if read is not None else (read_facts_file(data_dir, path) for path in fact_files)
    for loaded in files:
        _merge_facts_file(loaded, facts, pending)
    for record in facts.of_source(None):
        for ident in record.provenance:
            if ident not in facts.provenance and ident not in facts.sources:
                known = set(facts.provenance) | set(facts.sources)
                raise FactsError(
                    f"unknown provenance {ident!r}{closest(ident, known)}: name an entry of the file's "
                    "'provenance:' list or the slug of a source in data/sources/",
                    path=record.path,
                    line=record.line,
                    field=f"{record.kind}.provenance",
                )
    ids_by_section: dict[str, set[str]] = {}
    for record in facts.records.values():
        ids_by_section.setdefault(record.kind, set()).add(record.id)
    for record, refs, item in pending:
        _check_references(record, refs, item, ids_by_section, vocabulary, data_dir)
    for record, _, item in pending:
        if record.kind == "mentions":
            _check_additions(record, item)
        if record.kind == "observations" and vocabulary is not None:
            _check_qualifier(record, item, vocabulary)
    _check_aliases(facts)
    return facts


def _duplicate(record: Record, other: Record, section: str) -> FactsError:
    where = f"{other.path}:{other.line}"
    message = f"duplicate id {record.id!r}: already defined at {where}"
    if other.source is None or record.source != other.source:
        path = KINDS[record.kind].path
        message = (
            f"{path.replace('-', ' ')} {record.id!r} is already declared at {where}; refer to it by its id "
            f"(e.g. '{record.id}' in a reference field) and record what this source says of it under "
            f"'mentions:' with 'of: {path}/{record.id}'"
        )
    return FactsError(message, path=record.path, line=record.line, field=f"{section}.id")


def _load_registry_file(path: Path, facts: Facts, pending: list) -> None:
    document = read_yaml(path)
    if not isinstance(document, Map):
        raise FactsError(
            f"expected a mapping with 'provenance:' and sections ({', '.join(REGISTRY_SECTIONS)})", path=path, line=1
        )
    entries = document.get("provenance", [])
    if not isinstance(entries, list):
        raise FactsError("expected a list of provenance entries", path=path, line=document.line_of("provenance"))
    for entry in entries:
        _load_provenance(entry, path, document.line_of("provenance"), facts)
    items: list[tuple[Record, dict[str, str], Map]] = []
    try:
        _load_sections(document, path, "provenance", REGISTRY_SECTIONS, None, items)
    finally:
        _merge_items(items, facts, pending)


def _load_provenance(entry: Any, path: Path, line: int, facts: Facts) -> None:
    if not isinstance(entry, Map):
        raise FactsError("expected a provenance entry (id, and package + version or document)", path=path, line=line)
    ident = entry.get("id")
    if not isinstance(ident, str) or not SLUG.match(ident):
        raise FactsError("expected an id of lower-case letters, digits and hyphens", path=path, line=entry.line)
    allowed = {"id", "package", "version", "part", "document", "title", "date"}
    for key in entry:
        if key not in allowed:
            raise FactsError(
                f"unknown field {key!r}; expected: {', '.join(sorted(allowed))}",
                path=path,
                line=entry.line_of(key),
                field=f"provenance.{key}",
            )
    is_package = isinstance(entry.get("package"), str) and isinstance(entry.get("version"), str)
    is_document = isinstance(entry.get("document"), str) and re.match(r"^(https?://\S+|data/\S+)$", entry["document"])
    if not (is_package or is_document):
        raise FactsError(
            "a provenance entry names a data package and its version (package:, version:) "
            "or a document (document: an http(s) URL or a path under data/, title:)",
            path=path,
            line=entry.line,
            field="provenance",
        )
    if ident in facts.provenance:
        raise FactsError(f"duplicate provenance id {ident!r}", path=path, line=entry.line, field="provenance.id")
    facts.provenance[ident] = dict(entry)


@dataclass
class FactsFile:
    """A facts file as read and checked on its own, before the references
    between files are resolved: its source, its items in file order (each
    record with the reference fields still to resolve and its YAML mapping),
    and the first problem found, if any, after those items."""

    path: Path
    source: Source | None
    items: list[tuple[Record, dict[str, str], Map]]
    error: IpgraphError | None = None


def read_facts_file(data_dir: str | Path, path: Path) -> FactsFile:
    """Read one facts file and its source: a pure function of the three files,
    so that it may run in another process or be cached by their content."""
    items: list[tuple[Record, dict[str, str], Map]] = []
    source = None
    try:
        document = read_yaml(path)
        if not isinstance(document, Map):
            raise FactsError("expected a mapping with 'source:' and fact sections", path=path, line=1)
        source = _load_source(Path(data_dir), document, path)
        _load_sections(document, path, "source", tuple(KINDS), source, items)
    except IpgraphError as error:
        return FactsFile(path, source, items, error)
    return FactsFile(path, source, items)


def _merge_facts_file(loaded: FactsFile, facts: Facts, pending: list) -> None:
    """Add a facts file's items to ``facts``, refusing an id declared twice;
    then raise the file's own problem, so that the first problem of the
    corpus is the one reported, in file and item order."""
    if loaded.source is not None:
        slug = loaded.source.slug
        if slug in facts.sources:
            other = facts.sources[slug]
            raise FactsError(f"source {slug!r} already has a facts file ({other.text_path})", path=loaded.path, line=1)
        facts.sources[slug] = loaded.source
    _merge_items(loaded.items, facts, pending)
    if loaded.error is not None:
        raise loaded.error


def _merge_items(items: list[tuple[Record, dict[str, str], Map]], facts: Facts, pending: list) -> None:
    for record, refs, item in items:
        if record.key in facts.records:
            raise _duplicate(record, facts.records[record.key], record.kind)
        facts.add(record)
        pending.append((record, refs, item))


def _load_sections(
    document: Map,
    path: Path,
    header: str,
    sections: tuple[str, ...],
    source: Source | None,
    items: list,
) -> None:
    """Load every item of every section of a registry (``source`` None) or
    facts file into ``items``; ``header`` is the key that is not a section."""
    for section, values in document.items():
        if section == header:
            continue
        if section not in sections:
            raise FactsError(
                f"unknown section {section!r}; expected one of: {', '.join([header, *sections])}",
                path=path,
                line=document.key_lines[section],
            )
        if not isinstance(values, list):
            raise FactsError("expected a list of items", path=path, line=document.key_lines[section], field=section)
        for item in values:
            record, refs = _load_item(KINDS[section], item, source, path, document.key_lines[section])
            items.append((record, refs, item))


def _load_source(data_dir: Path, document: Map, path: Path) -> Source:
    slug = document.get("source")
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise FactsError(
            "expected 'source: <slug>' naming a file in data/sources/ (lower case, digits, hyphens)",
            path=path,
            line=document.line_of("source"),
            field="source",
        )
    text_path = data_dir / "sources" / f"{slug}.txt"
    meta_path = data_dir / "sources" / f"{slug}.yaml"
    if not text_path.exists() and not text_path.is_symlink():
        raise SourceError(f"source text of {slug!r} not found", path=text_path)
    text = read_text(text_path, SourceError)
    if not text.strip():
        raise SourceError("the source text is empty", path=text_path)
    if not meta_path.exists() and not meta_path.is_symlink():
        raise SourceError(f"metadata of source {slug!r} not found", path=meta_path)
    meta = read_yaml(meta_path)
    if not isinstance(meta, Map):
        raise SourceError("expected a mapping of headline, publisher, date_published, url", path=meta_path, line=1)
    expected = {"headline": str, "publisher": str, "date_published": dt.date, "url": str, "language": str}
    for key in meta:
        if key not in expected and key != "note":
            raise SourceError(
                f"unknown field; expected: {', '.join([*expected, 'note'])}",
                path=meta_path,
                line=meta.key_lines[key],
                field=key,
            )
    for key, kind in {**expected, **({"note": str} if "note" in meta else {})}.items():
        value = meta.get(key)
        if isinstance(value, dt.datetime) or not isinstance(value, kind) or (kind is str and not value.strip()):
            wanted = "a date (YYYY-MM-DD)" if kind is dt.date else "text"
            raise SourceError(f"expected {wanted}, got {value!r}", path=meta_path, line=meta.line_of(key), field=key)
    if not re.match(r"^https?://[^\s\"<>\\^`{|}]+$", meta["url"]):
        raise SourceError("expected an http(s) URL", path=meta_path, line=meta.key_lines["url"], field="url")
    if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*", meta["language"]):
        raise SourceError(
            f"expected a language tag such as 'en', got {meta['language']!r}",
            path=meta_path,
            line=meta.key_lines["language"],
            field="language",
        )
    return Source(
        slug=slug,
        headline=meta["headline"],
        publisher=meta["publisher"],
        date_published=meta["date_published"],
        url=meta["url"],
        language=meta["language"],
        text=text,
        text_path=text_path,
        note=meta.get("note"),
    )


def _load_item(
    kind: Kind, item: Any, source: Source | None, path: Path, section_line: int
) -> tuple[Record, dict[str, str]]:
    """One item of ``kind``: of a source's facts file (with its quote), or of
    the registry (``source`` is ``None``; with its provenance)."""
    if not isinstance(item, Map):
        what = "id, quote and fields" if source else "id, provenance and fields"
        raise FactsError(f"expected a mapping ({what})", path=path, line=section_line, field=kind.section)
    line = item.line

    def fail(message: str, key: str | None = None, error: type[FactsError] = FactsError) -> FactsError:
        where = item.line_of(key) if key else line
        name = f"{kind.section}.{key}" if key else kind.section
        return error(message, path=path, line=where, field=name)

    common = _COMMON if source else {"id", "provenance"}
    allowed = common | set(kind.required) | set(kind.optional)
    for key in item:
        if key not in allowed:
            hint = " (a registry record has provenance, not a quote)" if key == "quote" and not source else ""
            raise fail(f"unknown field {key!r}{hint}; expected: {', '.join(sorted(allowed))}", key)
    for key in ["id", *sorted(common - {"id"}), *kind.required]:
        if key not in item:
            if key == "provenance":
                raise fail("a registry record needs its provenance: 'provenance: [<entry id or source slug>]'")
            raise fail(f"missing field {key!r}")
    ident = item["id"]
    if not isinstance(ident, str) or not SLUG.match(ident):
        raise fail(f"expected an id of lower-case letters, digits and hyphens, got {ident!r}", "id")
    evidence = None
    provenance: tuple[str, ...] = ()
    if source:
        quote = item["quote"]
        if not isinstance(quote, str) or not quote.strip():
            raise fail("expected the exact words of the source, as text", "quote")
        evidence = locate_quote(source, quote)
        if isinstance(evidence, str):
            raise fail(evidence, "quote", QuoteError)
    else:
        value = item["provenance"]
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise fail("expected a list of provenance ids (entries of 'provenance:' or source slugs)", "provenance")
        provenance = tuple(value)

    fields: dict[str, Any] = {}
    refs: dict[str, str] = {}
    for key, kind_of_field in {**kind.required, **kind.optional}.items():
        if key not in item:
            continue
        value = item[key]
        if kind_of_field.startswith(("ref:", "refs:")) or kind_of_field == "entity":
            refs[key] = kind_of_field
            fields[key] = _check_ref_value(value, kind_of_field, fail, key)
        else:
            fields[key] = _check_value(value, kind_of_field, fail, key)
    record = Record(
        kind=kind.section,
        id=ident,
        fields=fields,
        evidence=evidence,
        path=path,
        line=line,
        source=source.slug if source else None,
        provenance=provenance,
    )
    if kind.section == "observations":
        _check_observation(record, fail)
    if kind.section == "statements":
        record.fields["text"] = record.evidence.exact
    return record, refs


def _check_value(value: Any, kind_of_field: str, fail: Callable, key: str) -> Any:
    if kind_of_field == "text":
        if not isinstance(value, str) or not value.strip():
            raise fail(f"expected text, got {value!r}", key)
        return value
    if kind_of_field == "texts":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise fail(f"expected a list of texts, got {value!r}", key)
        return list(value)
    if kind_of_field == "date":
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise fail(f"expected a date (YYYY-MM-DD), got {value!r}", key)
        return value
    if kind_of_field == "partial-date":
        text = value.isoformat() if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else value
        if isinstance(text, int) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str) or not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
            raise fail(f"expected a date as YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}", key)
        try:
            parse_period(text)
        except PeriodError as error:
            raise fail(f"not a date: {error}", key) from None
        return text
    if kind_of_field == "period":
        try:
            return parse_period(value)
        except PeriodError as error:
            raise fail(str(error), key) from None
    if kind_of_field == "integer":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise fail(f"expected a whole number, got {value!r}", key)
        return value
    if kind_of_field in {"count", "percent"}:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
            raise fail(f"expected a number, got {value!r}", key)
        if kind_of_field == "count" and value < 0:
            raise fail(f"expected a number of zero or more, got {value}", key)
        return Decimal(value)
    if kind_of_field.startswith("enum:"):
        options = kind_of_field[5:].split("|")
        if value not in options:
            raise fail(f"expected one of {', '.join(options)}, got {value!r}", key)
        return value
    raise AssertionError(f"unknown field type {kind_of_field}")


def _check_ref_value(value: Any, kind_of_field: str, fail: Callable, key: str) -> str | list[str]:
    if kind_of_field.startswith("refs:"):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise fail(f"expected a list of ids, got {value!r}", key)
        if len(set(value)) != len(value):
            raise fail(f"an id is listed twice in {value!r}", key)
        return list(value)
    if kind_of_field == "entity":
        paths = sorted([*_SECTION_OF_PATH, *CONCEPT_PATHS])
        if not isinstance(value, str) or "/" not in value or value.split("/", 1)[0] not in paths:
            raise fail(f"expected 'kind/id' with kind one of {', '.join(paths)}, got {value!r}", key)
        return value
    if not isinstance(value, str):
        raise fail(f"expected an id, got {value!r}", key)
    return value


def _where_to_add(target: str, data_dir: Path, vocabulary: Vocabulary | None) -> str:
    if target in CONCEPT_PATHS:
        path = vocabulary.files[target] if vocabulary and target in vocabulary.files else None
        return f"add a new {target} to {path or data_dir / 'vocab' / (SCHEMES[target].file + '.yaml')}"
    if target in REGISTRY_SECTIONS:
        return f"declare a new one in {data_dir / 'registry' / (target + '.yaml')} or in a facts file's '{target}:'"
    return f"declare a new one in a facts file's '{target}:'"


def _check_references(
    record: Record,
    refs: dict[str, str],
    item: Map,
    ids_by_section: dict[str, set[str]],
    vocabulary: Vocabulary | None,
    data_dir: Path,
) -> None:
    """Resolve each reference to ``(section, id)``; fail on ids that name
    nothing, with the closest known ids and where a new one is declared."""
    concepts = vocabulary.ids() if vocabulary else None

    def known(target: str) -> set[str]:
        if target in CONCEPT_PATHS:
            return concepts.get(target, set()) if concepts is not None else set()
        return ids_by_section.get(target, set())

    for key, kind_of_field in refs.items():
        fail_line = item.line_of(key)
        if kind_of_field == "entity":
            path, value = record.fields[key].split("/", 1)
            target = _SECTION_OF_PATH.get(path, path)
            if (target in CONCEPT_PATHS and concepts is None) or value in known(target):
                record.fields[key] = (target, value)
                continue
            raise FactsError(
                f"unknown {path.replace('-', ' ')} {value!r}{closest(value, known(target))}; "
                f"{_where_to_add(target, data_dir, vocabulary)}",
                path=record.path,
                line=fail_line,
                field=f"{record.kind}.{key}",
            )
        targets = kind_of_field.split(":", 1)[1].split("|")
        values = record.fields[key] if isinstance(record.fields[key], list) else [record.fields[key]]
        resolved = []
        for value in values:
            found = [
                target for target in targets if value in known(target) or (target in CONCEPT_PATHS and concepts is None)
            ]
            if not found:
                wanted = " or ".join((KINDS[t].path if t in KINDS else t).replace("-", " ") for t in targets)
                candidates = set().union(*(known(t) for t in targets))
                raise FactsError(
                    f"unknown {wanted} {value!r}{closest(value, candidates)}; "
                    f"{_where_to_add(targets[0], data_dir, vocabulary)}",
                    path=record.path,
                    line=fail_line,
                    field=f"{record.kind}.{key}",
                )
            resolved.append((found[0], value))
        record.fields[key] = resolved if isinstance(record.fields[key], list) else resolved[0]


def _check_additions(record: Record, item: Map) -> None:
    """What a mention adds must fit the kind of entity it mentions."""
    section = record.fields["of"][0]
    for key, sections in _ADDITIONS.items():
        if key in record.fields and section not in sections:
            raise FactsError(
                f"'{key}' can be added to {' or '.join(KINDS[s].path for s in sorted(sections))} only, "
                f"not to a {KINDS[section].path if section in KINDS else section}",
                path=record.path,
                line=item.line_of(key),
                field=f"mentions.{key}",
            )


def _normal(label: str) -> str:
    return " ".join(label.casefold().split())


def _check_aliases(facts: Facts) -> None:
    """Every label and alias names one entity (casefolded, white space folded)."""
    named: dict[str, tuple[str, Record]] = {}
    for record in facts.records.values():
        if record.kind in _NAMED:
            entity = record.key
        elif record.kind == "mentions" and record.fields["of"][0] in _NAMED:
            entity = f"{KINDS[record.fields['of'][0]].path}/{record.fields['of'][1]}"
        else:
            continue
        labels = [record.fields.get("label"), record.fields.get("label_zh")]
        labels += record.fields.get("alt_labels", []) + record.fields.get("former_names", [])
        for label in labels:
            if not label:
                continue
            other = named.setdefault(_normal(label), (entity, record))
            if other[0] != entity:
                raise FactsError(
                    f"the name {label!r} names two entities: {other[0]} ({other[1].path}:{other[1].line}) "
                    f"and {entity}; give one of them another alias",
                    path=record.path,
                    line=record.line,
                    field=f"{record.kind}.alt_labels",
                )


def _percent_in(number: Decimal, text: str) -> bool:
    written = f"{abs(number)}"
    return any(f"{written}{unit}" in text for unit in (" percent", "%", " per cent", " percentage points"))


def _check_observation(record: Record, fail: Callable) -> None:
    """The stated value must read as the value and stand in the quote; a
    flow needs a start; the change must stand in the quote."""
    fields = record.fields
    stated = fields["stated_value"]
    number = parse_stated_number(stated)
    if number is None:
        raise fail(
            f"cannot read {stated!r} as a number (expected e.g. '46,000', '2.16 million' or '10.2')", "stated_value"
        )
    if number != fields["value"]:
        raise fail(f"value {fields['value']} does not match the stated value {stated!r} (= {number})", "value")
    if stated not in record.evidence.exact:
        raise fail(f"stated value {stated!r} is not in the quote", "stated_value")
    fields["precision"] = precision(stated)
    period: Period = fields["period"]
    if fields["figure"] == "flow" and period.start is None:
        raise fail("a flow figure needs a start: give period as a year, month, quarter or {start:, end:}", "period")
    change = fields.get("yoy_change_percent")
    if change is not None and not _percent_in(change, record.evidence.exact):
        raise fail(f"'{abs(change)} percent' is not in the quote", "yoy_change_percent")


def _check_qualifier(record: Record, item: Map, vocabulary: Vocabulary) -> None:
    """One of the qualifier's words stands right before the stated value."""
    if "qualifier" not in record.fields:
        return
    concept = vocabulary.concepts["qualifier"][record.fields["qualifier"][1]]
    stated = re.escape(record.fields["stated_value"])
    words = "|".join(re.escape(word) for word in concept.words)
    if not re.search(rf"(?<!\w)(?:{words})\s+(?:\S+\s+)?{stated}", record.evidence.exact, re.IGNORECASE):
        raise FactsError(
            f"none of the words of {concept.id!r} ({', '.join(concept.words)}) stands before "
            f"{record.fields['stated_value']!r} in the quote",
            path=record.path,
            line=item.line_of("qualifier"),
            field="observations.qualifier",
        )


# ---------------------------------------------------------------------------
# Quotes
# ---------------------------------------------------------------------------


def _closest_passage(text: str, quote: str) -> str:
    """Where the quote's longest matching start (or end) stands in ``text``,
    and the first character that differs."""
    low, high = 0, len(quote)
    while low < high:  # the longest prefix of quote found in text
        middle = (low + high + 1) // 2
        if quote[:middle] in text:
            low = middle
        else:
            high = middle - 1
    if low >= 8:
        at = text.find(quote[:low])
        passage = text[at : at + len(quote)]
        found = text[at + low : at + low + 1] or "the end of the text"
        return (
            f"; the closest passage is {passage!r}, which differs at character {low + 1} of the quote "
            f"({quote[low]!r} in the quote, {found!r} in the source)"
        )
    low, high = 0, len(quote)
    while low < high:  # the longest suffix
        middle = (low + high + 1) // 2
        if quote[len(quote) - middle :] in text:
            low = middle
        else:
            high = middle - 1
    if low >= 8:
        at = text.find(quote[len(quote) - low :])
        start = max(0, at - (len(quote) - low))
        return (
            f"; the closest passage is {text[start : at + low]!r}, which differs at character "
            f"{len(quote) - low} of the quote"
        )
    return ""


def locate_quote(source: Source, quote: str) -> Evidence | str:
    """Find ``quote`` in the source text; return its evidence, or why not."""
    start = source.text.find(quote)
    if start < 0:
        folded = " ".join(quote.split())
        if folded and folded in " ".join(source.text.split()):
            hint = " (it is, with different white space: copy it from the source as it is)"
        else:
            hint = _closest_passage(source.text, quote)
        return f"quote not found verbatim in {source.text_path}{hint}: {quote!r}"
    count = source.text.count(quote)
    if count > 1:
        return f"quote appears {count} times in {source.text_path}; quote more words so it appears once: {quote!r}"
    end = start + len(quote)
    return Evidence(
        source=source.slug,
        exact=quote,
        start=start,
        end=end,
        prefix=source.text[max(0, start - CONTEXT_CHARS) : start],
        suffix=source.text[end : end + CONTEXT_CHARS],
    )
