"""Validate a graph against the SHACL shapes (``ontology/shapes.ttl``) and
report each violation readably: focus node, path, message.

The shapes run on the union of all named graphs, so that class targets reach
instances of subclasses through the ontology's ``rdfs:subClassOf``.

Example:
    >>> from ipgraph.validate import validate_file
    >>> report = validate_file("build/ipgraph.trig", "ontology/shapes.ttl")  # doctest: +SKIP
    >>> report.conforms                                                       # doctest: +SKIP
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyshacl import validate as shacl_validate
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.exceptions import ParserError
from rdflib.namespace import SH

from ipgraph.errors import IpgraphError, ValidationError
from ipgraph.namespaces import RDFS, bind_prefixes

__all__ = ["Report", "Violation", "load_dataset", "validate_file", "validate_graph"]


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

    def __str__(self) -> str:
        if self.conforms:
            return "Conforms: the graph passes every shape."
        return "\n\n".join(str(v) for v in self.violations) + f"\n\n{len(self.violations)} violation(s)."


def load_dataset(path: str | Path) -> Dataset:
    """Parse a TriG, N-Quads, Turtle or N-Triples file into a dataset.

    Raises:
        IpgraphError: the file is missing or does not parse.
    """
    path = Path(path)
    formats = {".trig": "trig", ".nq": "nquads", ".ttl": "turtle", ".nt": "nt"}
    rdf_format = formats.get(path.suffix)
    if rdf_format is None:
        raise IpgraphError(f"unknown file type {path.suffix!r}; expected one of {', '.join(formats)}", path=path)
    if not path.is_file():
        raise IpgraphError("file not found (run 'ipgraph build' first?)", path=path)
    dataset = Dataset()
    try:
        dataset.parse(path, format=rdf_format)
    except (ParserError, SyntaxError, ValueError) as error:
        raise IpgraphError(f"not valid {rdf_format}: {error}", path=path) from None
    return bind_prefixes(dataset)


def _union(graph: Graph) -> Graph:
    union = bind_prefixes(Graph(bind_namespaces="none"))
    quads = graph.quads((None, None, None, None)) if isinstance(graph, Dataset) else graph.triples((None, None, None))
    for quad in quads:
        union.add(quad[:3])
    return union


def check(graph: Graph, shapes: str | Path) -> Report:
    """Run the shapes on ``graph`` (a Graph or Dataset) and return the report."""
    shapes_graph = Graph()
    try:
        shapes_graph.parse(shapes, format="turtle")
    except FileNotFoundError:
        raise IpgraphError("shapes file not found", path=shapes) from None
    except (ParserError, SyntaxError) as error:
        raise IpgraphError(f"not valid Turtle: {error}", path=shapes) from None
    data = _union(graph)
    conforms, results, _ = shacl_validate(data, shacl_graph=shapes_graph, inference="none", allow_warnings=True)
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
    violations.sort(key=lambda v: (v.focus, v.path or "", v.message))
    return Report(conforms=bool(conforms), violations=tuple(violations))


def _show(node, names) -> str:
    if isinstance(node, URIRef):
        return node.n3(names)
    if isinstance(node, Literal):
        return node.n3()
    return str(node)


def validate_graph(graph: Graph, shapes: str | Path) -> Report:
    """Like :func:`check`, but raise when the graph does not conform.

    Raises:
        ValidationError: with the readable report in ``.report``.
    """
    report = check(graph, shapes)
    if not report.conforms:
        raise ValidationError(
            f"the graph breaks {len(report.violations)} SHACL constraint(s)", report=str(report), path=shapes
        )
    return report


def validate_file(path: str | Path, shapes: str | Path) -> Report:
    """Validate an RDF file (TriG, N-Quads, Turtle, N-Triples)."""
    return check(load_dataset(path), shapes)
