"""Analyst tables: figures, measures, entities, quotes and events, one row per thing.

Each table is a SPARQL SELECT in ``queries/tables/NAME.rq`` run on a store
(:func:`ipgraph.store.open_store`, rdflib or Oxigraph, the same rows from
both); the rows of one thing (a figure with two quotes, a measure with three
target industries) are gathered here into one row, its several values joined
(``"; "`` between names and IRIs, a line break between quotes) and sorted, so
that the same graph gives the same table. Values keep their type: a figure's
``value`` is the stored number (``int`` or ``Decimal``, never rounded), next
to ``stated_value``, the figure as its source writes it; quotes are whole.

The tables are lists of dicts (:func:`rows`), pandas DataFrames
(:func:`dataframe`, with the ``tables`` extra), CSV files and xlsx sheets
(:func:`write`). Cost: one query per table and one pass over its rows.

Example:
    >>> from ipgraph.store import open_store
    >>> store = open_store("build/ipgraph.trig")                     # doctest: +SKIP
    >>> figures = rows(store, "figures")                             # doctest: +SKIP
    >>> figures[0]["indicator_label"], figures[0]["value"], figures[0]["unit"]  # doctest: +SKIP
    ('IP cases accepted by courts', 22984, 'cases')
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from ipgraph.build import check_writable, write_atomic
from ipgraph.errors import ExportError, OutputError
from ipgraph.layout import QUERIES
from ipgraph.store import Store, execute

__all__ = ["FORMATS", "TABLES", "Table", "dataframe", "encode", "rows", "write"]

#: Output formats of :func:`write`.
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Table:
    """A table: the query's column that names a row, the columns in order, the sort order."""

    name: str
    key: str
    columns: tuple[str, ...]
    sort: tuple[str, ...]
    description: str


_SOURCE = ("quote", "headline", "date_published", "url", "source")

#: The tables, by name.
TABLES: dict[str, Table] = {
    "figures": Table(
        "figures",
        "observation",
        (
            "indicator_label", "area_label", "period_label", "period_start", "period_end", "kind", "scope_label",
            "industry_label", "qualifier", "value", "stated_value", "unit", "yoy_change_percent",
            "reported_by_label", "status", "source_count", *_SOURCE[:4],
            "observation", "figure", "indicator", "area", "period", "scope", "industry", "reported_by", "source",
        ),
        ("indicator_label", "area_label", "period_end", "period_start", "scope_label", "observation"),
        "every figure as one source states it, with its key, status across sources, quote and source",
    ),
    "measures": Table(
        "measures",
        "measure",
        (
            "label", "description", "measure_type_label", "region_label", "agency_label", "industry_label",
            *_SOURCE[:4], "measure", "measure_type", "region", "agency", "industry", "source",
        ),
        ("region_label", "label", "measure"),
        "every policy measure: type, region, agency, target industries, quote and source",
    ),
    "entities": Table(
        "entities",
        "entity",
        ("class", "label", "label_zh", "labels", "aliases", "iso3166_code", "entity"),
        ("class", "label", "entity"),
        "every entity with its class and all its labels and aliases in every language",
    ),
    "quotes": Table(
        "quotes",
        "annotation",
        (
            "quote", "prefix", "suffix", "start", "end", "supports_label", "supports", "headline",
            "date_published", "url", "source", "annotation",
        ),
        ("source", "start", "annotation"),
        "every quote in full, with its place in its source and the fact it supports",
    ),
    "events": Table(
        "events",
        "event",
        ("label", "start_date", "occurring_on", "location_label", *_SOURCE[:4], "event", "location", "source"),
        ("start_date", "occurring_on", "label", "event"),
        "every event with its date, place, quote and source",
    ),
}  # fmt: skip

#: The class an entity is shown as: the first of its types in this order.
_CLASSES = {
    "https://w3id.org/ipgraph/ontology#Municipality": "Municipality",
    "https://w3id.org/ipgraph/ontology#AutonomousRegion": "AutonomousRegion",
    "https://w3id.org/ipgraph/ontology#SpecialAdministrativeRegion": "SpecialAdministrativeRegion",
    "https://w3id.org/ipgraph/ontology#Province": "Province",
    "https://w3id.org/ipgraph/ontology#City": "City",
    "https://w3id.org/ipgraph/ontology#RegionGroup": "RegionGroup",
    "https://schema.org/Country": "Country",
    "https://w3id.org/ipgraph/ontology#Agency": "Agency",
    "https://w3id.org/ipgraph/ontology#Measure": "Measure",
    "https://w3id.org/ipgraph/ontology#Industry": "Industry",
    "https://w3id.org/ipgraph/ontology#Indicator": "Indicator",
    "https://w3id.org/ipgraph/ontology#MeasureType": "MeasureType",
    "https://schema.org/Person": "Person",
    "https://schema.org/Event": "Event",
    "https://schema.org/NewsArticle": "Source",
    "https://schema.org/Organization": "Organization",
}


def _sort_key(value: object) -> tuple:
    """Sort numbers as numbers, dates as dates, the rest as text; missing first."""
    if value is None:
        return (0, "")
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return (1, value)
    if isinstance(value, date):
        return (2, value.isoformat())
    return (3, str(value))


def _joined(values: set, column: str) -> object:
    if len(values) == 1:
        return next(iter(values))
    ordered = sorted(values, key=_sort_key)
    return ("\n" if column in ("quote", "prefix", "suffix") else "; ").join(str(v) for v in ordered)


def _gather(table: Table, records: Iterable[dict]) -> list[dict]:
    """One row per value of the table's key, each column's distinct values joined."""
    grouped: dict[object, list[dict]] = {}
    for record in records:
        key = record.get(table.key)
        if key is not None:
            grouped.setdefault(key, []).append(record)
    found = []
    for group in grouped.values():
        if len(group) == 1:  # the common case: one row, nothing to join
            found.append({c: group[0].get(c) for c in table.columns})
            continue
        cells: dict[str, set] = {}
        for record in group:
            for column, value in record.items():
                if value is not None:
                    cells.setdefault(column, set()).add(value)
        found.append({c: _joined(cells[c], c) if c in cells else None for c in table.columns})
    return found


def _entities(records: Iterable[dict]) -> list[dict]:
    gathered: dict[str, dict] = {}
    for record in records:
        entity = gathered.setdefault(
            record["entity"], {"types": set(), "labels": set(), "aliases": set(), "iso": set()}
        )
        entity["types"].add(record["type"])
        if record.get("iso3166_code"):
            entity["iso"].add(record["iso3166_code"])
        name = record.get("name")
        if name is not None:
            entity["labels" if record.get("name_kind") == "label" else "aliases"].add(name)
    rows_ = []
    for iri, entity in gathered.items():
        labels = sorted(entity["labels"], key=lambda n: (n[1] or "", n[0]))
        aliases = sorted(entity["aliases"], key=lambda n: (n[1] or "", n[0]))
        english = [text for text, lang in labels if lang in ("en", "")] or [text for text, _ in labels]
        chinese = [text for text, lang in labels + aliases if lang.startswith("zh")]
        rows_.append(
            {
                "class": next((name for cls, name in _CLASSES.items() if cls in entity["types"]), "Thing"),
                "label": english[0] if english else None,
                "label_zh": chinese[0] if chinese else None,
                "labels": "; ".join(f"{text}@{lang}" if lang else text for text, lang in labels) or None,
                "aliases": "; ".join(f"{text}@{lang}" if lang else text for text, lang in aliases) or None,
                "iso3166_code": "; ".join(sorted(entity["iso"])) or None,
                "entity": iri,
            }
        )
    return rows_


def _select(store: Store, name: str):
    """The result of the table query ``queries/tables/NAME.rq`` (trusted: no row, byte or time limit)."""
    text = (QUERIES / "tables" / f"{name}.rq").read_text(encoding="utf-8")
    return execute(store, text, timeout=None, limit=None, max_bytes=None)


def _labels(store: Store, name: str) -> dict[str, str]:
    """IRI to label, from a query of ``?thing ?label``: the English (or untagged) one where there is one."""
    chosen: dict[str, tuple[int, str]] = {}
    for thing, label in _select(store, name).rows:
        rank = (0 if getattr(label, "language", None) in (None, "", "en") else 1, label.value)
        if thing.value not in chosen or rank < chosen[thing.value]:
            chosen[thing.value] = rank
    return {iri: label for iri, (_, label) in chosen.items()}


def _figure_records(store: Store) -> list[dict]:
    """The rows of ``figures.rq`` with the labels, sources, statuses and scope industries joined in."""
    labels = _labels(store, "figure-labels")
    sources = {r["source"]: r for r in _select(store, "sources").records()}
    status = {r["figure"]: r for r in _select(store, "figure-status").records()}
    industries: dict[str, list[str]] = {}
    for r in _select(store, "scope-industries").records():
        industries.setdefault(r["scope"], []).append(r["industry"])
    records = []
    for r in _select(store, "figures").records():
        figure = status.get(r["figure"], {})
        record = dict(r)
        record.update(sources.get(r.get("source"), {}))
        record.update(
            indicator_label=labels.get(r["indicator"]),
            area_label=labels.get(r["area"]),
            period_label=labels.get(r.get("period")),
            scope_label=labels.get(r.get("scope")),
            qualifier=labels.get(r.get("qualifier")),
            unit=labels.get(r.get("unit")),
            reported_by_label=labels.get(r.get("reported_by")),
            kind="flow" if r.get("flow") else "stock",
            status=labels.get(figure.get("status")),
            source_count=figure.get("source_count"),
        )
        named = industries.get(r.get("scope"))
        if named is None:
            records.append(record)
        else:  # one row per industry of the scope, joined again by _gather
            records.extend({**record, "industry": i, "industry_label": labels.get(i)} for i in named)
    return records


def rows(store: Store, name: str) -> list[dict]:
    """The table ``name`` (one of :data:`TABLES`) of the graph in ``store``: a list of dicts,
    one per figure, measure, entity, quote or event, with the table's columns in order.

    Raises:
        ExportError: unknown table.
    """
    table = TABLES.get(name)
    if table is None:
        raise ExportError(f"unknown table {name!r}; expected one of {', '.join(TABLES)}")
    if name == "figures":
        found = _gather(table, _figure_records(store))
    elif name == "entities":
        result = _select(store, name)
        records = [
            {
                "entity": row[0].value,
                "type": row[1].value,
                "name": None if row[2] is None else (row[2].value, getattr(row[2], "language", None) or ""),
                "name_kind": None if row[3] is None else row[3].value,
                "iso3166_code": None if row[4] is None else row[4].value,
            }
            for row in result.rows
        ]
        found = _entities(records)
    else:
        found = _gather(table, _select(store, name).records())
    found.sort(key=lambda row: tuple(_sort_key(row.get(column)) for column in table.sort))
    return found


def dataframe(store: Store, name: str):
    """The table ``name`` as a pandas ``DataFrame`` (needs pandas: ``pip install 'ipgraph[tables]'``).

    Raises:
        ExportError: unknown table, or pandas is not installed.
    """
    try:
        import pandas
    except ImportError:
        raise ExportError("DataFrames need pandas: pip install 'ipgraph[tables]'") from None
    return pandas.DataFrame(rows(store, name), columns=list(TABLES[name].columns) if name in TABLES else None)


def _cell(value: object) -> str:
    """A CSV cell: numbers in their exact decimal form, dates in ISO 8601, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _csv(table: Table, found: list[dict]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in found:
        writer.writerow([_cell(row[c]) for c in table.columns])
    return buffer.getvalue().encode("utf-8")


def _xlsx(sheets: dict[str, list[dict]]) -> bytes:
    try:
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
        from openpyxl.utils import get_column_letter
    except ImportError:
        raise ExportError("xlsx needs openpyxl: pip install openpyxl") from None
    book = Workbook(write_only=True)  # rows streamed to the archive: several times faster, and flat in memory
    for name, found in sheets.items():
        table = TABLES[name]
        sheet = book.create_sheet(name)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(found) + 1}"
        sheet.append(list(table.columns))
        for row in found:
            cells = []
            for column in table.columns:
                value = row[column]
                if isinstance(value, str):
                    # Control characters are not allowed in xlsx cells; a text this long would be cut.
                    value = ILLEGAL_CHARACTERS_RE.sub(" ", value)
                    if len(value) > 32_767:
                        raise ExportError(f"a {column} of table {name} is longer than an xlsx cell holds (32,767)")
                cells.append(value)
            sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return _deterministic_zip(buffer.getvalue())


def _deterministic_zip(data: bytes) -> bytes:
    """The xlsx archive with fixed member dates and document times, so the same tables give the same bytes."""
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"1980-01-01T00:00:00Z", content)
            member = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            target.writestr(member, content)
    return out.getvalue()


def encode(store: Store, file_format: str, name: str) -> bytes:
    """The table ``name`` as the bytes of a file: a workbook of one sheet (``xlsx``) or CSV (what
    the server's downloads send).

    Raises:
        ExportError: unknown table or format.
    """
    if name not in TABLES:
        raise ExportError(f"unknown table {name!r}; expected {', '.join(TABLES)}")
    if file_format not in FORMATS:
        raise ExportError(f"unknown table format {file_format!r}; expected one of {', '.join(FORMATS)}")
    found = rows(store, name)
    return _xlsx({name: found}) if file_format == "xlsx" else _csv(TABLES[name], found)


def write(store: Store, file_format: str, out: str | Path, names: Iterable[str] = tuple(TABLES)) -> list[Path]:
    """Write the tables ``names``: as ``xlsx`` one workbook ``out`` with a sheet per table; as
    ``csv`` one file per table, ``out`` itself for one table or ``out/NAME.csv`` for several.
    Every file is written whole or not at all. Returns the paths written.

    Raises:
        ExportError: unknown table or format; a file cannot be written.
    """
    names = list(dict.fromkeys(names))
    unknown = [name for name in names if name not in TABLES]
    if unknown or not names:
        raise ExportError(f"unknown table {', '.join(map(repr, unknown)) or '(none)'}; expected {', '.join(TABLES)}")
    if file_format not in FORMATS:
        raise ExportError(f"unknown table format {file_format!r}; expected one of {', '.join(FORMATS)}")
    out = Path(out)
    targets = [out] if file_format == "xlsx" or len(names) == 1 else [out / f"{name}.csv" for name in names]
    try:
        for path in targets:
            check_writable(path)
    except OutputError as error:
        raise ExportError(f"cannot write the table: {error.message}", path=error.path) from None
    found = {name: rows(store, name) for name in names}
    if file_format == "xlsx":
        files = {out: _xlsx(found)}
    else:
        files = {path: _csv(TABLES[name], found[name]) for path, name in zip(targets, names, strict=True)}
    try:
        for path, data in files.items():
            write_atomic(path, data)
    except OutputError as error:
        raise ExportError(f"cannot write the table: {error.message}", path=error.path) from None
    return list(files)
