"""Read curated facts: source texts with their metadata, and the YAML facts
that rest on them, each fact with the exact quote it is taken from.

A source is two files in ``data/sources/``: ``<slug>.txt`` (the article,
verbatim, UTF-8) and ``<slug>.yaml`` (headline, publisher, date, URL). Its
facts are ``data/facts/<slug>.yaml``. Loading checks every field, every
reference between facts and every quote; the first problem raises a
:class:`~ipgraph.errors.FactsError` naming the file, line and field.

Example:
    >>> from ipgraph.facts import load_facts
    >>> facts = load_facts("data")                          # doctest: +SKIP
    >>> facts.records["region/jilin"].fields["label"]       # doctest: +SKIP
    'Jilin'
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ipgraph.errors import FactsError, QuoteError, SourceError

__all__ = [
    "KINDS",
    "Evidence",
    "Facts",
    "Period",
    "Record",
    "Source",
    "load_facts",
    "parse_stated_number",
]

#: How many characters of context ``oa:prefix`` and ``oa:suffix`` keep.
CONTEXT_CHARS = 32

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# ---------------------------------------------------------------------------
# YAML with line numbers
# ---------------------------------------------------------------------------


class _Map(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    """Safe YAML loader: mappings keep line numbers, floats stay exact
    decimals, and a repeated key is an error instead of a silent overwrite."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_decimal(loader: _Loader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        return Decimal(text)
    except InvalidOperation:  # .inf, .nan
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a finite number", node.start_mark
        ) from None


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> dt.date:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as error:  # e.g. 2025-02-30
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a valid date ({error})", node.start_mark
        ) from None


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError("file not found", path=path) from None
    except UnicodeDecodeError as error:
        raise FactsError(f"not UTF-8 text (byte {error.start})", path=path) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise FactsError(f"malformed YAML: {error.problem or error}", path=path, line=line) from None
    except yaml.YAMLError as error:
        raise FactsError(f"malformed YAML: {error}", path=path) from None


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


@dataclass(frozen=True)
class Evidence:
    """Where a quote stands in its source (character offsets, end exclusive)."""

    source: str
    exact: str
    start: int
    end: int
    prefix: str
    suffix: str


@dataclass(frozen=True)
class Period:
    """A reference period: ``2024`` (a year), ``2025-04`` (a month) or a day."""

    text: str
    iri: str
    end: dt.date
    label: str


@dataclass
class Record:
    """One curated fact or entity, checked and with its evidence located."""

    kind: str
    id: str
    fields: dict[str, Any]
    evidence: Evidence
    path: Path
    line: int

    @property
    def key(self) -> str:
        """``kind/id``, for example ``region/jilin``."""
        return f"{KINDS[self.kind].path}/{self.id}"


@dataclass
class Facts:
    """Everything read from ``data/``: sources and the records resting on them."""

    sources: dict[str, Source] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)

    def of_source(self, slug: str) -> Iterator[Record]:
        """The records whose evidence is in source ``slug``, in a stable order."""
        for key in sorted(self.records):
            if self.records[key].evidence.source == slug:
                yield self.records[key]


# ---------------------------------------------------------------------------
# The schema of a facts file
# ---------------------------------------------------------------------------

# Field types: "text", "date", "period", "count" (a number >= 0),
# "percent" (any number), "enum:a|b", "ref:kind|kind" (one id) and
# "refs:kind|kind" (a list of ids). Kinds "industry", "indicator", "unit" and
# "measure-type" are SKOS concepts defined in ontology/vocab/.


@dataclass(frozen=True)
class Kind:
    """A top-level section of a facts file and the fields of its items."""

    section: str
    path: str  # IRI path segment under ipgr:
    required: dict[str, str]
    optional: dict[str, str] = field(default_factory=dict)


_LABELS = {"label_zh": "text", "alt_labels": "texts"}

KINDS: dict[str, Kind] = {
    kind.section: kind
    for kind in [
        Kind("countries", "country", {"label": "text"}, dict(_LABELS)),
        Kind(
            "regions",
            "region",
            {"label": "text", "type": "enum:province|autonomous-region|municipality"},
            {**_LABELS, "part_of": "ref:countries"},
        ),
        Kind("region_groups", "region-group", {"label": "text", "members": "refs:regions"}, dict(_LABELS)),
        Kind(
            "cities",
            "city",
            {"label": "text", "in": "ref:regions"},
            {**_LABELS, "capital_of": "ref:regions"},
        ),
        Kind(
            "agencies",
            "agency",
            {"label": "text", "jurisdiction": "ref:regions|countries"},
            {**_LABELS, "part_of": "ref:agencies"},
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
            {"label": "text", "location": "ref:cities|regions"},
            {**_LABELS, "start_date": "date", "occurring_on": "date"},
        ),
        Kind("focus", "focus", {"of": "ref:regions|region_groups", "industries": "refs:industry"}),
        Kind(
            "measures",
            "measure",
            {
                "label": "text",
                "type": "ref:measure-type",
                "implemented_in": "ref:regions|region_groups",
                "description": "text",
            },
            {"implemented_by": "ref:agencies", "industries": "refs:industry"},
        ),
        Kind(
            "observations",
            "observation",
            {
                "area": "ref:regions|region_groups|cities",
                "period": "period",
                "indicator": "ref:indicator",
                "value": "count",
                "stated_value": "text",
                "unit": "ref:unit",
            },
            {"yoy_change_percent": "percent", "industry_scope": "refs:industry", "reported_by": "ref:agencies"},
        ),
        Kind("mentions", "mention", {"concept": "ref:industry|indicator"}),
    ]
}

#: IRI path segment of each vocabulary kind.
CONCEPT_PATHS = {"industry": "industry", "indicator": "indicator", "unit": "unit", "measure-type": "measure-type"}

_COMMON = {"id", "quote"}


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def load_facts(data_dir: str | Path, concepts: dict[str, set[str]] | None = None) -> Facts:
    """Read and check every source and facts file under ``data_dir``.

    Parameters:
        data_dir: the folder holding ``sources/`` and ``facts/``.
        concepts: the ids of each vocabulary kind (``industry``, ``indicator``,
            ``unit``, ``measure-type``), to check references to them; from
            :func:`ipgraph.build.vocabulary_ids`. ``None`` skips that check.

    Raises:
        FactsError: a file is malformed, a field is missing, unknown or of the
            wrong type, an id is repeated, or a reference names nothing.
        QuoteError: a quote is not in its source exactly once.
        SourceError: a source text or its metadata is missing or not UTF-8.
    """
    data_dir = Path(data_dir)
    facts_dir = data_dir / "facts"
    fact_files = sorted(facts_dir.glob("*.yaml"))
    if not fact_files:
        raise FactsError("no facts files (*.yaml) found", path=facts_dir)
    facts = Facts()
    pending: list[tuple[Record, dict[str, str], _Map]] = []
    for path in fact_files:
        document = _read_yaml(path)
        if not isinstance(document, _Map):
            raise FactsError("expected a mapping with 'source:' and fact sections", path=path, line=1)
        source = _load_source(data_dir, document, path)
        facts.sources[source.slug] = source
        for section, items in document.items():
            if section == "source":
                continue
            kind = KINDS.get(section)
            if kind is None:
                raise FactsError(
                    f"unknown section {section!r}; expected one of: {', '.join(['source', *KINDS])}",
                    path=path,
                    line=document.key_lines[section],
                )
            if not isinstance(items, list):
                raise FactsError("expected a list of items", path=path, line=document.key_lines[section], field=section)
            for item in items:
                record, refs = _load_item(kind, item, source, path, document.key_lines[section])
                if record.key in facts.records:
                    other = facts.records[record.key]
                    raise FactsError(
                        f"duplicate id {record.id!r}: already defined at {other.path}:{other.line}",
                        path=path,
                        line=record.line,
                        field=f"{section}.id",
                    )
                facts.records[record.key] = record
                pending.append((record, refs, item))
    ids_by_section: dict[str, set[str]] = {}
    for record in facts.records.values():
        ids_by_section.setdefault(record.kind, set()).add(record.id)
    for record, refs, item in pending:
        _check_references(record, refs, item, ids_by_section, concepts)
    return facts


def _load_source(data_dir: Path, document: _Map, path: Path) -> Source:
    slug = document.get("source")
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise FactsError(
            "expected 'source: <slug>' naming a file in data/sources/ (lower case, digits, hyphens)",
            path=path,
            line=document.key_lines.get("source", 1),
            field="source",
        )
    text_path = data_dir / "sources" / f"{slug}.txt"
    meta_path = data_dir / "sources" / f"{slug}.yaml"
    try:
        text = text_path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SourceError(f"source text of {slug!r} not found", path=text_path) from None
    except UnicodeDecodeError as error:
        raise SourceError(f"source text is not UTF-8 (byte {error.start})", path=text_path) from None
    meta = _read_yaml(meta_path)
    if not isinstance(meta, _Map):
        raise SourceError("expected a mapping of headline, publisher, date_published, url", path=meta_path, line=1)
    expected = {"headline": str, "publisher": str, "date_published": dt.date, "url": str, "language": str}
    for key in meta:
        if key not in expected:
            raise SourceError(
                f"unknown field; expected: {', '.join(expected)}", path=meta_path, line=meta.key_lines[key], field=key
            )
    for key, kind in expected.items():
        value = meta.get(key)
        if isinstance(value, dt.datetime) or not isinstance(value, kind):
            wanted = "a date (YYYY-MM-DD)" if kind is dt.date else "text"
            raise SourceError(
                f"expected {wanted}, got {value!r}", path=meta_path, line=meta.key_lines.get(key, meta.line), field=key
            )
    if not re.match(r"^https?://\S+$", meta["url"]):
        raise SourceError("expected an http(s) URL", path=meta_path, line=meta.key_lines["url"], field="url")
    return Source(
        slug=slug,
        headline=meta["headline"],
        publisher=meta["publisher"],
        date_published=meta["date_published"],
        url=meta["url"],
        language=meta["language"],
        text=text,
        text_path=text_path,
    )


def _load_item(kind: Kind, item: Any, source: Source, path: Path, section_line: int) -> tuple[Record, dict[str, str]]:
    if not isinstance(item, _Map):
        raise FactsError("expected a mapping (id, quote and fields)", path=path, line=section_line, field=kind.section)
    line = item.line

    def fail(message: str, key: str | None = None, error: type[FactsError] = FactsError) -> FactsError:
        where = item.key_lines.get(key, line) if key else line
        name = f"{kind.section}.{key}" if key else kind.section
        return error(message, path=path, line=where, field=name)

    allowed = _COMMON | set(kind.required) | set(kind.optional)
    for key in item:
        if key not in allowed:
            raise fail(f"unknown field {key!r}; expected: {', '.join(sorted(allowed))}", key)
    for key in ["id", "quote", *kind.required]:
        if key not in item:
            raise fail(f"missing field {key!r}")
    ident = item["id"]
    if not isinstance(ident, str) or not SLUG.match(ident):
        raise fail(f"expected an id of lower-case letters, digits and hyphens, got {ident!r}", "id")
    quote = item["quote"]
    if not isinstance(quote, str) or not quote.strip():
        raise fail("expected the exact words of the source, as text", "quote")
    evidence = locate_quote(source, quote)
    if isinstance(evidence, str):
        raise fail(evidence, "quote", QuoteError)

    fields: dict[str, Any] = {}
    refs: dict[str, str] = {}
    for key, kind_of_field in {**kind.required, **kind.optional}.items():
        if key not in item:
            continue
        value = item[key]
        if kind_of_field.startswith(("ref:", "refs:")):
            refs[key] = kind_of_field
            fields[key] = _check_ref_value(value, kind_of_field, fail, key)
        else:
            fields[key] = _check_value(value, kind_of_field, fail, key)
    record = Record(kind=kind.section, id=ident, fields=fields, evidence=evidence, path=path, line=line)
    if kind.section == "observations":
        _check_observation(record, fail)
    if kind.section == "statements":
        record.fields["text"] = quote
    return record, refs


def _check_value(value: Any, kind_of_field: str, fail, key: str) -> Any:
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
    if kind_of_field == "period":
        return parse_period(value, lambda message: fail(message, key))
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


def _check_ref_value(value: Any, kind_of_field: str, fail, key: str) -> str | list[str]:
    if kind_of_field.startswith("refs:"):
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise fail(f"expected a list of ids, got {value!r}", key)
        if len(set(value)) != len(value):
            raise fail(f"an id is listed twice in {value!r}", key)
        return list(value)
    if not isinstance(value, str):
        raise fail(f"expected an id, got {value!r}", key)
    return value


def _check_references(
    record: Record,
    refs: dict[str, str],
    item: _Map,
    ids_by_section: dict[str, set[str]],
    concepts: dict[str, set[str]] | None,
) -> None:
    """Resolve each reference to ``(section, id)``; fail on ids that name nothing."""
    for key, kind_of_field in refs.items():
        targets = kind_of_field.split(":", 1)[1].split("|")
        values = record.fields[key] if isinstance(record.fields[key], list) else [record.fields[key]]
        resolved = []
        for value in values:
            found = [
                target
                for target in targets
                if value in ids_by_section.get(target, ())
                or (target in CONCEPT_PATHS and (concepts is None or value in concepts.get(target, ())))
            ]
            if not found:
                wanted = " or ".join((KINDS[t].path if t in KINDS else t).replace("-", " ") for t in targets)
                raise FactsError(
                    f"unknown {wanted} {value!r}",
                    path=record.path,
                    line=item.key_lines.get(key, item.line),
                    field=f"{record.kind}.{key}",
                )
            resolved.append((found[0], value))
        record.fields[key] = resolved if isinstance(record.fields[key], list) else resolved[0]


def _check_observation(record: Record, fail) -> None:
    """The stated value must read as the value, and stand in the quote."""
    fields = record.fields
    stated = fields["stated_value"]
    number = parse_stated_number(stated)
    if number is None:
        raise fail(f"cannot read {stated!r} as a number (expected e.g. '46,000' or '2.16 million')", "stated_value")
    if number != fields["value"]:
        raise fail(f"value {fields['value']} does not match the stated value {stated!r} (= {number})", "value")
    if stated not in record.evidence.exact:
        raise fail(f"stated value {stated!r} is not in the quote", "stated_value")
    change = fields.get("yoy_change_percent")
    if change is not None and f"{abs(change)} percent" not in record.evidence.exact:
        raise fail(f"'{abs(change)} percent' is not in the quote", "yoy_change_percent")


# ---------------------------------------------------------------------------
# Quotes, numbers, periods
# ---------------------------------------------------------------------------


def locate_quote(source: Source, quote: str) -> Evidence | str:
    """Find ``quote`` in the source text; return its evidence, or why not."""
    start = source.text.find(quote)
    if start < 0:
        hint = ""
        folded = " ".join(quote.split())
        if folded and folded in " ".join(source.text.split()):
            hint = " (it is, with different white space: copy it from the source as it is)"
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


_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}
_NUMBER = re.compile(
    r"^(?P<number>\d{1,3}(?:,\d{3})*(?:\.\d+)?|\d+(?:\.\d+)?)(?: (?P<scale>thousand|million|billion))?$"
)


def parse_stated_number(text: str) -> Decimal | None:
    """Read a figure as a news article writes it.

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


def parse_period(value: Any, fail) -> Period:
    """A year (``2024``), month (``2025-04``) or day as a reference period.

    The IRI is the reference.data.gov.uk interval; ``end`` is its last day.
    """
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = value.isoformat()
    text = str(value) if isinstance(value, (int, str)) and not isinstance(value, bool) else None
    if text is None:
        raise fail(f"expected a period as YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}")
    try:
        if re.fullmatch(r"\d{4}", text):
            year = int(text)
            return Period(text, f"http://reference.data.gov.uk/id/year/{text}", dt.date(year, 12, 31), text)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = map(int, text.split("-"))
            last = calendar.monthrange(year, month)[1]
            end = dt.date(year, month, last)
            label = f"{calendar.month_name[month]} {year}"
            return Period(text, f"http://reference.data.gov.uk/id/month/{text}", end, label)
        day = dt.date.fromisoformat(text)
        return Period(text, f"http://reference.data.gov.uk/id/day/{text}", day, text)
    except (ValueError, calendar.IllegalMonthError):
        raise fail(f"expected a period as YYYY, YYYY-MM or YYYY-MM-DD, got {value!r}") from None
