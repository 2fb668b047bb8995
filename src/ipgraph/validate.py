"""Validate a graph against the SHACL shapes (``ontology/shapes.ttl``) and the
W3C Data Cube integrity constraints (``queries/datacube/``, both package data), and report each
violation readably: focus node, path, message.

Both run on the union of all named graphs, so that class targets reach
instances of subclasses through the ontology's ``rdfs:subClassOf``. The Data
Cube constraints run after the recommendation's normalisation step, on
Oxigraph.

Example:
    >>> from ipgraph.validate import validate_file
    >>> report = validate_file("build/ipgraph.trig", "ontology/shapes.ttl")  # doctest: +SKIP
    >>> report.conforms                                                       # doctest: +SKIP
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
from pyshacl import validate as shacl_validate
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.exceptions import ParserError
from rdflib.namespace import SH

from ipgraph import layout
from ipgraph.errors import IpgraphError, StoreError
from ipgraph.namespaces import RDFS, bind_prefixes
from ipgraph.yamlfile import read_text, regular_file

__all__ = [
    "RDF_FORMATS",
    "Report",
    "Violation",
    "check",
    "check_datacube",
    "check_nodes",
    "check_rdf_file",
    "check_rdf_syntax",
    "load_dataset",
    "parse_turtle",
    "validate_file",
]

#: The Data Cube normalisation updates and integrity-constraint ASK queries (package data).
DATACUBE_QUERIES = layout.DATACUBE_QUERIES


@dataclass(frozen=True)
class Violation:
    """One SHACL result, in the terms a curator reads."""

    focus: str
    label: str | None
    path: str | None
    value: str | None
    message: str
    severity: str

    def __str__(self) -> str:
        focus = f"{self.focus} ({self.label})" if self.label else self.focus
        lines = [f"{self.severity}: {focus}"]
        if self.path:
            lines.append(f"  path:    {self.path}")
        if self.value:
            lines.append(f"  value:   {self.value}")
        lines.append(f"  message: {self.message}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Report:
    """The outcome of a validation: whether it conforms, and every violation."""

    conforms: bool
    violations: tuple[Violation, ...]
    #: Figures that sources state with different values: reported, not errors.
    warnings: tuple[str, ...] = ()

    def __str__(self) -> str:
        warnings = "".join(f"Warning: {warning}\n\n" for warning in self.warnings)
        if self.conforms:
            return warnings + "Conforms: the graph passes every shape and every Data Cube integrity constraint."
        return warnings + "\n\n".join(str(v) for v in self.violations) + f"\n\n{len(self.violations)} violation(s)."


#: RDF file types ipgraph reads, by suffix, with their rdflib parser names.
RDF_FORMATS = {".trig": "trig", ".nq": "nquads", ".ttl": "turtle", ".nt": "nt"}
_OX_FORMATS = {
    "trig": pyoxigraph.RdfFormat.TRIG,
    "nquads": pyoxigraph.RdfFormat.N_QUADS,
    "turtle": pyoxigraph.RdfFormat.TURTLE,
    "nt": pyoxigraph.RdfFormat.N_TRIPLES,
}


def check_rdf_file(path: str | Path) -> tuple[Path, str]:
    """The path and rdflib format of an RDF file to load, by its suffix.

    Raises:
        StoreError: an unknown suffix; no such file; a directory, device or
            FIFO; an empty file; one with a NUL byte in its first 64 KiB.
    """
    path = Path(path)
    rdf_format = RDF_FORMATS.get(path.suffix)
    if rdf_format is None:
        raise StoreError(f"unknown file type {path.suffix!r}; expected one of {', '.join(RDF_FORMATS)}", path=path)
    info = regular_file(path, StoreError, "file not found (run 'ipgraph build' first?)")
    if info.st_size == 0:
        raise StoreError("the file is empty (a built dataset never is)", path=path)
    try:
        with path.open("rb") as stream:
            head = stream.read(1 << 16)
    except OSError as problem:
        raise StoreError(f"cannot read: {problem.strerror or problem}", path=path) from None
    if b"\0" in head:
        raise StoreError(f"not RDF text: a NUL byte at offset {head.index(0)}", path=path)
    return path, rdf_format


def check_rdf_syntax(path: str | Path) -> tuple[Path, str]:
    """:func:`check_rdf_file`, then a parse by Oxigraph, a conformant parser
    whose errors carry line and column (rdflib's parsers end in IndexError on
    some truncated files): for loaders that then parse with rdflib.

    Raises:
        StoreError: as :func:`check_rdf_file`, or the file does not parse.
    """
    path, rdf_format = check_rdf_file(path)
    try:
        for _ in pyoxigraph.parse(path=str(path), format=_OX_FORMATS[rdf_format]):
            pass
    except (SyntaxError, ValueError) as error:
        raise StoreError(f"not valid {rdf_format}: {error}", path=path) from None
    except OSError as error:
        raise StoreError(f"cannot read: {error.strerror or error}", path=path) from None
    return path, rdf_format


def load_dataset(path: str | Path) -> Dataset:
    """Parse a TriG, N-Quads, Turtle or N-Triples file into a dataset.

    Raises:
        StoreError: the file is missing, of an unknown type, or does not parse.
    """
    path, rdf_format = check_rdf_syntax(path)
    dataset = Dataset()
    try:
        dataset.parse(path, format=rdf_format)
    except (ParserError, SyntaxError, ValueError) as error:
        raise StoreError(f"not valid {rdf_format}: {error}", path=path) from None
    return bind_prefixes(dataset)


def parse_turtle(*paths: Path) -> Graph:
    """Parse Turtle files into one graph (with ipgraph's prefixes bound).

    Raises:
        IpgraphError: a file is missing or not valid Turtle.
    """
    graph = bind_prefixes(Graph(bind_namespaces="none"))
    for path in paths:
        path = Path(path)
        text = read_text(path, IpgraphError)  # refuses directories, devices, FIFOs, huge and non-UTF-8 files
        try:
            graph.parse(data=text, format="turtle", publicID=path.resolve().as_uri())
        except (ParserError, SyntaxError, ValueError, IndexError) as error:
            raise IpgraphError(f"not valid Turtle: {error}", path=path) from None
    return graph


def _union(graph: Graph) -> Graph:
    union = bind_prefixes(Graph(bind_namespaces="none"))
    quads = graph.quads((None, None, None, None)) if isinstance(graph, Dataset) else graph.triples((None, None, None))
    for quad in quads:
        union.add(quad[:3])
    return union


def check(graph: Graph, shapes: str | Path, datacube: str | Path | None = DATACUBE_QUERIES) -> Report:
    """Run the shapes, and the Data Cube constraints unless ``datacube`` is None,
    on ``graph`` (a Graph or Dataset) and return the report."""
    shapes_graph = parse_turtle(Path(shapes))
    data = _union(graph)
    conforms, results, _ = shacl_validate(data, shacl_graph=shapes_graph, inference="none", allow_warnings=True)
    violations = _violations(results, data)
    violations.sort(key=lambda v: (v.focus, v.path or "", v.message))
    ntriples = data.serialize(format="nt", encoding="utf-8")
    if datacube is not None:
        violations += [
            Violation(focus="the Data Cube", label=None, path=None, value=None, message=title, severity="Violation")
            for title in check_datacube(data, datacube, ntriples=ntriples)
        ]
    return Report(
        conforms=bool(conforms) and not violations,
        violations=tuple(violations),
        warnings=conflicts(data, ntriples=ntriples),
    )


def _violations(results: Graph, data: Graph) -> list[Violation]:
    """The SHACL results of a report graph as :class:`Violation` (labels read from ``data``)."""
    names = data.namespace_manager
    violations = []
    for result in results.subjects(SH.resultSeverity, None):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        value = results.value(result, SH.value)
        label = data.value(focus, RDFS.label)
        violations.append(
            Violation(
                focus=_show(focus, names),
                label=str(label) if label is not None else None,
                path=_show(path, names) if path is not None else None,
                value=_show(value, names) if value is not None else None,
                message=str(results.value(result, SH.resultMessage) or "constraint violated"),
                severity=_show(results.value(result, SH.resultSeverity), names).removeprefix("sh:"),
            )
        )
    return violations


def check_nodes(data: Graph, shapes: Graph, focus: list[URIRef]) -> list[Violation]:
    """The shapes' violations at the ``focus`` nodes of ``data`` (only they are
    validated, but against all of ``data``: a source graph with the shared
    graphs it refers to). ``data`` is not copied and not changed."""
    if not focus:
        return []
    _, results, _ = shacl_validate(
        data, shacl_graph=shapes, inference="none", allow_warnings=True, inplace=True, focus_nodes=focus
    )
    violations = _violations(results, data)
    violations.sort(key=lambda v: (v.focus, v.path or "", v.message))
    return violations


def datacube_store(store: pyoxigraph.Store, queries: str | Path = DATACUBE_QUERIES) -> list[str]:
    """:func:`check_datacube` on an Oxigraph store (its default graph), which it normalises in place."""
    queries = Path(queries)
    constraints = sorted(queries.glob("ic-*.rq"))
    if not constraints:
        raise IpgraphError("no Data Cube constraint queries (ic-*.rq) found", path=queries)
    for update in sorted(queries.glob("normalize-phase*.ru")):
        store.update(update.read_text(encoding="utf-8"))
    parent_child = [
        row[0].value
        for row in store.query(
            "SELECT DISTINCT ?p WHERE { ?h a <http://purl.org/linked-data/cube#HierarchicalCodeList> ;"
            " <http://purl.org/linked-data/cube#parentChildProperty> ?p . FILTER(isIRI(?p)) }"
        )
    ]
    broken = []
    for path in constraints:
        text = path.read_text(encoding="utf-8")
        title = text.splitlines()[0].lstrip("# ").split(" [Template", 1)[0]
        body = text.split("\n", 1)[1]
        instances = [body.replace("$p", f"<{p}>") for p in parent_child] if "$p" in body else [body]
        if any(bool(store.query(query)) for query in instances):
            broken.append(title)
    return broken


def conflicts(graph: Graph, *, ntriples: bytes | None = None) -> tuple[str, ...]:
    """Each figure that sources state with different values, with every
    reading, its source and its quote (``queries/figure-conflicts.rq``, run
    on Oxigraph: on rdflib it took seconds at a few hundred sources)."""
    query = layout.QUERIES / "figure-conflicts.rq"
    readings: dict[str, list[str]] = {}
    for row in _store(graph, ntriples).query(query.read_text(encoding="utf-8")):
        readings.setdefault(row["figureLabel"].value, []).append(
            f"  {row['stated'].value} in {row['source'].value} ({row['headline'].value}): «{row['quote'].value}»"
        )
    return tuple(f"conflicting figure: {label}\n" + "\n".join(lines) for label, lines in sorted(readings.items()))


def _store(graph: Graph, ntriples: bytes | None = None) -> pyoxigraph.Store:
    """An Oxigraph store of ``graph`` (its N-Triples, when already made)."""
    store = pyoxigraph.Store()
    store.load(ntriples or graph.serialize(format="nt", encoding="utf-8"), pyoxigraph.RdfFormat.N_TRIPLES)
    return store


def check_datacube(graph: Graph, queries: str | Path = DATACUBE_QUERIES, *, ntriples: bytes | None = None) -> list[str]:
    """The W3C Data Cube integrity constraints (IC-1 to IC-21) that ``graph`` breaks.

    Normalises a copy of the graph (the recommendation's phase 1 and 2
    updates), then runs each ``ic-*.rq`` ASK; IC-20 and IC-21 are templates,
    run once per ``qb:parentChildProperty`` of the graph's hierarchical code
    lists. Returns the first comment line (``IC-n. Title: ...``) of each
    constraint whose ASK answers true.
    """
    return datacube_store(_store(graph, ntriples), queries)


def _show(node, names) -> str:
    if isinstance(node, URIRef):
        return node.n3(names)
    if isinstance(node, Literal):
        return node.n3()
    return str(node)


def validate_file(path: str | Path, shapes: str | Path, datacube: str | Path | None = DATACUBE_QUERIES) -> Report:
    """Validate an RDF file (TriG, N-Quads, Turtle, N-Triples)."""
    return check(load_dataset(path), shapes, datacube)
