"""Read and check the SSSOM mapping files (``data/mappings/*.sssom.tsv``) and
turn them into the ``links`` named graph of the build.

A mapping file is SSSOM/TSV: a ``#``-commented YAML header holding at least
the ``curie_map``, then one tab-separated row per mapping. Checking stops at
the first problem with a :class:`~ipgraph.errors.MappingError` naming the
file, the line and the column: a CURIE that is malformed or has an undeclared
prefix, a subject the facts do not define, a predicate that does not suit the
subject (``owl:sameAs`` for things, ``skos:*Match`` for concepts), or a second
identity link of one subject into the same target (Wikidata, GeoNames).

This module also says where enrichment graphs live, so that every stage that
loads the dataset can include them (:func:`dataset_files`).

Example:
    >>> from ipgraph.mappings import parse_curie
    >>> parse_curie("wd:Q45208")
    ('wd', 'Q45208')
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph
import yaml
from rdflib import Dataset, Graph, URIRef

from ipgraph.errors import MappingError
from ipgraph.namespaces import IPGR, OWL, PREFIXES, RDF, SKOS, bind_prefixes
from ipgraph.yamlfile import read_text

__all__ = [
    "COLUMNS",
    "ENRICHMENT_DIR",
    "LINKS_GRAPH",
    "Mapping",
    "MappingSet",
    "dataset_files",
    "endpoint_slug",
    "enrichment_graph",
    "known_subjects",
    "links_graph",
    "load_mappings",
    "parse_curie",
    "read_sssom",
]

#: The named graph that holds the links made from the SSSOM files.
LINKS_GRAPH = IPGR["graph/links"]

#: Folder, beside the built dataset, of the enrichment graphs (one TriG file per endpoint).
ENRICHMENT_DIR = "enrichment"

#: Columns a mapping file may have, in the order ipgraph writes them; the
#: first six are required.
COLUMNS = (
    "subject_id",
    "subject_label",
    "predicate_id",
    "object_id",
    "object_label",
    "mapping_justification",
    "confidence",
    "author_label",
    "reviewer_label",
    "mapping_date",
    "mapping_tool",
    "comment",
)
_REQUIRED = COLUMNS[:6]

SEMAPV = "https://w3id.org/semapv/vocab/"
_JUSTIFICATIONS = {
    "semapv:ManualMappingCuration",
    "semapv:LexicalMatching",
    "semapv:LogicalReasoning",
    "semapv:MappingReview",
}
#: Prefixes every SSSOM file may use without declaring them (SSSOM's built-ins).
_BUILTIN = {"owl": str(OWL), "skos": str(SKOS), "semapv": SEMAPV, "rdf": str(RDF)}
_CURIE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]*):(\S+)$")
#: What the local part of a CURIE must look like, by prefix (others: any non-blank text).
_LOCAL_PATTERNS = {
    "wd": re.compile(r"^Q[1-9][0-9]*$"),
    "gn": re.compile(r"^[1-9][0-9]*/$"),
}
_CONCEPT_PREFIXES = {"industry", "indicator", "unit", "mtype"}
_IDENTITY = {"owl:sameAs", "skos:exactMatch"}
_ENTITY_PREDICATES = {"owl:sameAs", "skos:closeMatch"}
_CONCEPT_PREDICATES = {"skos:exactMatch", "skos:closeMatch", "skos:broadMatch", "skos:narrowMatch"}


@dataclass(frozen=True)
class Mapping:
    """One row of a SSSOM file, with its CURIEs expanded and where it stands."""

    subject_id: str
    predicate_id: str
    object_id: str
    subject: URIRef
    predicate: URIRef
    object: URIRef
    justification: str
    confidence: Decimal | None
    values: dict[str, str]
    path: Path
    line: int

    @property
    def target(self) -> str:
        """The prefix of the object: which external graph it points into."""
        return self.object_id.split(":", 1)[0]


@dataclass
class MappingSet:
    """A SSSOM file: its header (with the curie map) and its mappings."""

    path: Path
    metadata: dict
    curie_map: dict[str, str]
    mappings: list[Mapping] = field(default_factory=list)


def parse_curie(text: str) -> tuple[str, str] | None:
    """``(prefix, local)`` of a CURIE, or None when ``text`` is not one.

    >>> parse_curie("region:jilin")
    ('region', 'jilin')
    >>> parse_curie("Q45208") is None
    True
    """
    match = _CURIE.match(text)
    if not match or match[2].startswith("//"):
        return None
    return match[1], match[2]


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def read_sssom(path: str | Path) -> MappingSet:
    """Read one SSSOM/TSV file and check each row on its own.

    Raises:
        MappingError: the header or a row is malformed (file, line, column).
    """
    path = Path(path)
    text = read_text(path, MappingError)  # refuses directories, devices, FIFOs, huge and non-UTF-8 files
    # Rows end at LF (or CRLF); splitlines() would also cut a label at U+2028, U+0085, VT, FF ...
    lines = re.split(r"\r?\n", text)
    header_lines = []
    index = 0
    while index < len(lines) and lines[index].startswith("#"):
        header_lines.append(lines[index][1:])
        index += 1
    metadata = _read_header(path, header_lines)
    curie_map = {**_BUILTIN, **{str(k): str(v) for k, v in metadata.get("curie_map", {}).items()}}
    for prefix, iri in curie_map.items():
        problem = _iri_problem(iri)
        if problem:
            raise MappingError(f"prefix {prefix!r}: {iri!r} {problem}", path=path, line=1, field="curie_map")
    for prefix, iri in PREFIXES.items():
        if prefix in curie_map and curie_map[prefix] != iri:
            raise MappingError(
                f"prefix {prefix!r} is declared as {curie_map[prefix]!r}; ipgraph uses {iri!r}",
                path=path,
                line=1,
                field="curie_map",
            )
    if index >= len(lines):
        raise MappingError(f"no column header row; expected: {', '.join(_REQUIRED)}", path=path, line=index + 1)
    columns = lines[index].split("\t")
    header_line = index + 1
    for column in columns:
        if column not in COLUMNS:
            raise MappingError(
                f"unknown column {column!r}; expected some of: {', '.join(COLUMNS)}", path=path, line=header_line
            )
    for column in _REQUIRED:
        if column not in columns:
            raise MappingError(f"missing column {column!r}", path=path, line=header_line)
    if len(set(columns)) != len(columns):
        raise MappingError("a column appears twice in the header row", path=path, line=header_line)
    mapping_set = MappingSet(path=path, metadata=metadata, curie_map=curie_map)
    for number, line in enumerate(lines[index + 1 :], start=header_line + 1):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(columns):
            raise MappingError(
                f"expected {len(columns)} tab-separated cells, found {len(cells)}", path=path, line=number
            )
        mapping_set.mappings.append(_read_row(dict(zip(columns, cells, strict=True)), curie_map, path, number))
    return mapping_set


def _read_header(path: Path, header_lines: list[str]) -> dict:
    if not header_lines:
        raise MappingError("no '#'-commented YAML header with a curie_map", path=path, line=1)
    try:
        metadata = yaml.safe_load("\n".join(header_lines))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        raise MappingError(
            f"malformed YAML header: {error.problem}", path=path, line=mark.line + 1 if mark else 1
        ) from None
    except yaml.YAMLError as error:
        raise MappingError(f"malformed YAML header: {error}", path=path, line=1) from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("curie_map"), dict):
        raise MappingError("the header must be a YAML mapping with a 'curie_map'", path=path, line=1, field="curie_map")
    return metadata


def _read_row(values: dict[str, str], curie_map: dict[str, str], path: Path, line: int) -> Mapping:
    def fail(message: str, column: str) -> MappingError:
        return MappingError(message, path=path, line=line, field=column)

    for column, value in values.items():
        control = next((c for c in value if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0), None)
        if control is not None:
            raise fail(f"a control character (U+{ord(control):04X}) in the cell", column)
    for column in _REQUIRED:
        if not values.get(column, "").strip():
            raise fail("empty; a value is required", column)
    iris = {}
    for column in ("subject_id", "predicate_id", "object_id"):
        iris[column] = _expand(values[column], curie_map, lambda message, c=column: fail(message, c))
    justification = values["mapping_justification"]
    if justification not in _JUSTIFICATIONS:
        raise fail(
            f"expected one of {', '.join(sorted(_JUSTIFICATIONS))}, got {justification!r}", "mapping_justification"
        )
    confidence = None
    if values.get("confidence", "").strip():
        try:
            confidence = Decimal(values["confidence"])
        except InvalidOperation:
            raise fail(f"expected a number from 0 to 1, got {values['confidence']!r}", "confidence") from None
        if not confidence.is_finite() or not 0 <= confidence <= 1:
            raise fail(f"expected a number from 0 to 1, got {values['confidence']!r}", "confidence")
    elif justification == "semapv:LexicalMatching":
        raise fail("a lexical match needs its score as confidence", "confidence")
    if values.get("mapping_date", "").strip():
        try:
            dt.date.fromisoformat(values["mapping_date"])
        except ValueError:
            raise fail(f"expected a date (YYYY-MM-DD), got {values['mapping_date']!r}", "mapping_date") from None
    prefix = values["subject_id"].split(":", 1)[0]
    allowed = _CONCEPT_PREDICATES if prefix in _CONCEPT_PREFIXES else _ENTITY_PREDICATES
    if values["predicate_id"] not in allowed:
        what = "a concept" if prefix in _CONCEPT_PREFIXES else "an entity"
        raise fail(f"{what} takes one of {', '.join(sorted(allowed))}, got {values['predicate_id']!r}", "predicate_id")
    return Mapping(
        subject_id=values["subject_id"],
        predicate_id=values["predicate_id"],
        object_id=values["object_id"],
        subject=iris["subject_id"],
        predicate=iris["predicate_id"],
        object=iris["object_id"],
        justification=justification,
        confidence=confidence,
        values=values,
        path=path,
        line=line,
    )


def _expand(curie: str, curie_map: dict[str, str], fail) -> URIRef:
    parts = parse_curie(curie)
    if parts is None:
        raise fail(f"malformed CURIE {curie!r}; expected prefix:local, e.g. wd:Q45208")
    prefix, local = parts
    if prefix not in curie_map:
        raise fail(f"prefix {prefix!r} of {curie!r} is not in the curie_map")
    pattern = _LOCAL_PATTERNS.get(prefix)
    if pattern is not None and not pattern.match(local):
        raise fail(f"malformed CURIE {curie!r}: the local part does not match {pattern.pattern}")
    iri = curie_map[prefix] + local
    problem = _iri_problem(iri)
    if problem:
        raise fail(f"{curie!r} expands to {iri!r}, which {problem}")
    return URIRef(iri)


def _iri_problem(iri: str) -> str | None:
    """Why ``iri`` may not stand in the graph (None when it may): it must be an
    http(s) or urn IRI that a conformant parser (Oxigraph) accepts."""
    try:
        pyoxigraph.NamedNode(iri)
    except ValueError as error:
        return f"is not a valid IRI ({error})"
    if not iri.lower().startswith(("http://", "https://", "urn:")):
        return "is not an http(s) IRI"
    return None


# ---------------------------------------------------------------------------
# Checking a whole folder against the facts, and the links graph
# ---------------------------------------------------------------------------


def known_subjects(dataset: Dataset) -> set[URIRef]:
    """Every IRI the dataset gives a type: what a mapping may have as subject."""
    return {s for s, _, _, _ in dataset.quads((None, RDF.type, None, None)) if isinstance(s, URIRef)}


def load_mappings(mappings_dir: str | Path, subjects: Iterable[URIRef] | None = None) -> list[Mapping]:
    """Read every ``*.sssom.tsv`` of ``mappings_dir`` (none is fine) and check
    them together: subjects known (when ``subjects`` is given), no row twice,
    one identity link per subject per target.

    Raises:
        MappingError: the first problem, with file, line and column.
    """
    mappings_dir = Path(mappings_dir)
    if mappings_dir.exists() and not mappings_dir.is_dir():
        raise MappingError("expected a folder of *.sssom.tsv files, found a file", path=mappings_dir)
    known = set(subjects) if subjects is not None else None
    seen: dict[tuple, Mapping] = {}
    identity: dict[tuple[URIRef, str], Mapping] = {}
    result = []
    for path in sorted(mappings_dir.glob("*.sssom.tsv")):
        for mapping in read_sssom(path).mappings:
            where = {"path": mapping.path, "line": mapping.line}
            if known is not None and mapping.subject not in known:
                raise MappingError(
                    f"unknown subject {mapping.subject_id!r}: no entity or concept of the facts has this IRI",
                    field="subject_id",
                    **where,
                )
            key = (mapping.subject, mapping.predicate, mapping.object)
            if key in seen:
                other = seen[key]
                raise MappingError(
                    f"the same mapping is already at {other.path}:{other.line}", field="object_id", **where
                )
            seen[key] = mapping
            if mapping.predicate_id in _IDENTITY:
                slot = (mapping.subject, mapping.target)
                if slot in identity:
                    other = identity[slot]
                    raise MappingError(
                        f"{mapping.subject_id} already has an identity link into {mapping.target!r} "
                        f"({other.object_id}, at {other.path}:{other.line}); keep one",
                        field="object_id",
                        **where,
                    )
                identity[slot] = mapping
            result.append(mapping)
    return result


def links_graph(mappings_dir: str | Path, subjects: Iterable[URIRef] | None = None) -> Graph:
    """The ``links`` graph: one triple per mapping of ``mappings_dir``
    (``owl:sameAs`` for things, ``skos:*Match`` for concepts).

    Raises:
        MappingError: see :func:`load_mappings`.
    """
    graph = bind_prefixes(Graph(bind_namespaces="none"))
    for mapping in load_mappings(mappings_dir, subjects):
        graph.add((mapping.subject, mapping.predicate, mapping.object))
    return graph


# ---------------------------------------------------------------------------
# Enrichment graphs: where they live, so every loader includes them
# ---------------------------------------------------------------------------


def endpoint_slug(endpoint: str) -> str:
    """A file and IRI slug for an endpoint: its host and port.

    >>> endpoint_slug("https://query.wikidata.org/sparql")
    'query-wikidata-org'
    >>> endpoint_slug("http://127.0.0.1:7878/query")
    '127-0-0-1-7878'
    """
    parts = urlsplit(endpoint)
    host = (parts.hostname or "endpoint") + (f"-{parts.port}" if parts.port else "")
    return re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")


def enrichment_graph(endpoint: str) -> URIRef:
    """The named graph of the facts fetched from ``endpoint``."""
    return IPGR[f"graph/enrichment/{endpoint_slug(endpoint)}"]


def dataset_files(dataset_path: str | Path) -> list[Path]:
    """The files that make the dataset: the built TriG, then each enrichment
    TriG beside it (``<dir>/enrichment/*.trig``, in name order).

    The build never reads enrichment (it stays deterministic and offline);
    loaders (query, serve, project) load all of these files together.
    """
    dataset_path = Path(dataset_path)
    return [dataset_path, *sorted((dataset_path.parent / ENRICHMENT_DIR).glob("*.trig"))]
