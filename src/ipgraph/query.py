"""Ask the graph questions in SPARQL: named queries (``queries/*.rq``, package data),
parameters bound as RDF terms, results as rows, tables or W3C result formats.

A named query is a file ``NAME.rq`` in the package's ``queries/`` (or a
project's own ``queries/``, searched first) that opens with comments::

    # Question: Which regions target a given industry, including narrower ones?
    # @param industry iri required  The industry, e.g. industry:robotics
    # @param lang string default=zh  A language tag
    # @values industry ipg:Industry

A parameter is ``iri`` (an IRI, a prefixed name such as ``region:jilin``, or
a label that names exactly one entity), ``string``, ``integer``, ``decimal``
or ``date``; it is bound to the variable of the same name as an RDF term,
never pasted into the query text. An optional parameter left out leaves its
variable free. ``@values NAME CLASS...`` says which classes a parameter's
known values come from (the server's query forms offer them to pick from).

Example:
    >>> from ipgraph.query import open_graph
    >>> graph = open_graph("build/ipgraph.trig")                          # doctest: +SKIP
    >>> rows = graph.query_named("measures", region="region:jilin")       # doctest: +SKIP
    >>> rows.records()[0]["measureLabel"]                                 # doctest: +SKIP
    'Jilin IP-favoured industrial zones'
    >>> rows.to_dataframe()                                               # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pyoxigraph as ox

from ipgraph import terminal
from ipgraph.errors import QueryError
from ipgraph.layout import QUERIES
from ipgraph.namespaces import PREFIXES
from ipgraph.store import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    RemoteConfig,
    Result,
    Store,
    check_limits,
    execute,
    open_store,
)
from ipgraph.yamlfile import read_text

__all__ = [
    "FORMATS",
    "QUERIES_DIR",
    "Graph",
    "NamedQuery",
    "Param",
    "bind",
    "format_result",
    "list_named",
    "load_named",
    "open_graph",
    "shorten",
]

#: The package's folder of named queries (package data).
QUERIES_DIR = QUERIES
#: Output formats of ``ipgraph query``.
FORMATS = ("table", "csv", "tsv", "json", "xml", "ttl")
_KINDS = ("iri", "string", "language", "integer", "decimal", "date")
_XSD = "http://www.w3.org/2001/XMLSchema#"
_PARAM = re.compile(r"#\s*@param\s+(\w+)\s+(\w+)\s+(required|optional|default=\S+)\s*(.*)")
_VALUES = re.compile(r"#\s*@values\s+(\w+)((?:\s+[\w-]+:[\w.-]+)+)\s*$")


@dataclass(frozen=True)
class Param:
    """A parameter of a named query: the variable it binds and its kind."""

    name: str
    kind: str
    required: bool = False
    default: str | None = None
    description: str = ""
    #: The classes (IRIs) of the values to pick from (``@values``), if declared.
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class NamedQuery:
    """A query file and what its header comments say about it."""

    name: str
    path: Path
    text: str
    question: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    #: whether the header declares its parameters (``@param`` or
    #: ``# Parameters: none``); if not, any parameter may be given.
    declared: bool = False

    @classmethod
    def from_file(cls, path: str | Path) -> NamedQuery:
        """Read a ``.rq`` file and its header (``# Question:``, ``# @param``)."""
        path = Path(path)
        text = read_text(path, QueryError)  # refuses directories, FIFOs, devices, huge and non-UTF-8 files
        question, params, declared, values = "", [], False, {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.startswith("#"):
                break
            if line.startswith("# Question:"):
                question = line.removeprefix("# Question:").strip()
            elif line.lower().startswith("# parameters: none"):
                declared = True
            elif "@values" in line:
                match = _VALUES.match(line)
                classes = [_expand(curie) for curie in match[2].split()] if match else [None]
                if match is None or None in classes:
                    raise QueryError(
                        "bad @values line; expected '# @values NAME PREFIX:CLASS...' with the project's prefixes",
                        path=path,
                        line=number,
                    )
                values[match[1]] = tuple(classes)
            elif "@param" in line:
                match = _PARAM.match(line)
                if match is None or match[2] not in _KINDS:
                    raise QueryError(
                        f"bad @param line; expected '# @param NAME {'|'.join(_KINDS)} required|optional|default=VALUE'",
                        path=path,
                        line=number,
                    )
                name, kind, need, description = match.groups()
                default = need.removeprefix("default=") if need.startswith("default=") else None
                params.append(Param(name, kind, need == "required", default, description.strip()))
        unknown = sorted(set(values) - {param.name for param in params})
        if unknown:
            raise QueryError(f"@values for {unknown[0]!r}, which is not a @param of the query", path=path)
        params = [replace(param, values=values.get(param.name, ())) for param in params]
        return cls(path.stem, path, text, question, tuple(params), declared or bool(params))


#: One folder of named queries, or several searched in order (a project's own first).
Folders = str | Path | Sequence[str | Path] | None


def _folders(folders: Folders) -> list[Path]:
    if folders is None:
        return [QUERIES_DIR]
    if isinstance(folders, str | Path):
        return [Path(folders)]
    return [Path(folder) for folder in folders]


def list_named(folders: Folders = None) -> list[NamedQuery]:
    """Every named query in ``folders`` (default :data:`QUERIES_DIR`), by name;
    of two with the same name, the one in the earlier folder."""
    found: dict[str, Path] = {}
    for folder in _folders(folders):
        for path in sorted(folder.glob("*.rq")):
            found.setdefault(path.stem, path)
    return [NamedQuery.from_file(found[name]) for name in sorted(found)]


def load_named(name: str, folders: Folders = None) -> NamedQuery:
    """The named query ``name``, from the first of ``folders`` that has it.

    Raises:
        QueryError: no such query (the message lists the names there are).
    """
    if re.fullmatch(r"[\w.-]+", name):
        for folder in _folders(folders):
            path = folder / f"{name}.rq"
            if path.is_file():
                return NamedQuery.from_file(path)
    names = ", ".join(query.name for query in list_named(folders)) or "(none)"
    raise QueryError(f"unknown named query {name!r}; the named queries are: {names}")


# ---------------------------------------------------------------------------
# The graph: a store plus the settings every query runs with
# ---------------------------------------------------------------------------


class Graph:
    """A loaded dataset to ask questions of; see :func:`open_graph`."""

    def __init__(
        self,
        store: Store,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        limit: int | None = DEFAULT_LIMIT,
        max_bytes: int | None = DEFAULT_MAX_BYTES,
        allow_services: tuple[str, ...] | list[str] = (),
        queries: Folders = None,
    ) -> None:
        check_limits(timeout=timeout, limit=limit, max_bytes=max_bytes)
        self.store = store
        self.timeout = timeout
        self.limit = limit
        self.max_bytes = max_bytes
        self.allow_services = tuple(allow_services)
        self.queries = _folders(queries)

    def __len__(self) -> int:
        return len(self.store)

    def named_queries(self) -> list[NamedQuery]:
        """The named queries this graph knows."""
        return list_named(self.queries)

    def query(
        self, query: str | NamedQuery, *, timeout: float | None = ..., limit: int | None = ..., **params
    ) -> Result:
        """Run SPARQL text or a :class:`NamedQuery`, binding ``params`` by name.

        Parameter values may be strings (``"region:jilin"``, ``"Jilin"``) or
        RDF terms; for a named query they are checked against its ``@param``
        declarations.

        Raises:
            QueryError: syntax error, unknown or missing parameter, refused query.
            QueryTimeout: the query ran past ``timeout`` seconds.
        """
        named = query if isinstance(query, NamedQuery) else None
        text = named.text if named else query
        bindings = self._bind(named, params)
        return execute(
            self.store,
            text,
            bindings,
            timeout=self.timeout if timeout is ... else timeout,
            limit=self.limit if limit is ... else limit,
            max_bytes=self.max_bytes,
            allow_services=self.allow_services,
        )

    def query_named(self, name: str, *, timeout: float | None = ..., limit: int | None = ..., **params) -> Result:
        """Run the named query ``name`` (``NAME.rq`` of its query folders) with ``params``."""
        return self.query(load_named(name, self.queries), timeout=timeout, limit=limit, **params)

    def _bind(self, named: NamedQuery | None, params: dict) -> dict:
        return bind(named, params, self._entities_named)

    def _entities_named(self, text: str) -> list[str]:
        found = execute(self.store, _LABEL_LOOKUP, {"name": ox.Literal(text)}, timeout=self.timeout, limit=20)
        return sorted({row[0].value for row in found.rows})


def bind(
    named: NamedQuery | None,
    params: dict,
    entities_named: Callable[[str], list[str]],
    *,
    empty_is_missing: bool = False,
) -> dict[str, ox.NamedNode | ox.Literal]:
    """The RDF terms to bind for ``params`` (name to text or term), checked
    against ``named``'s declarations: defaults filled in, a missing required
    parameter (or one given empty) or an unknown one refused.
    ``entities_named(label)`` gives the IRIs of the entities with that label
    (for an ``iri`` parameter given as a label). With ``empty_is_missing``
    (a form's empty fields), an empty value counts as left out; otherwise an
    empty optional value is checked like any other.

    Raises:
        QueryError: a missing or unknown parameter, a value of the wrong kind,
            a label that names no entity or several.
    """
    params = {
        name: value
        for name, value in params.items()
        if value is not None and not (empty_is_missing and value == "")
    }
    declared = {param.name: param for param in named.params} if named else {}
    if named and named.declared:
        unknown = sorted(set(params) - set(declared))
        if unknown:
            known = ", ".join(declared) or "none"
            raise QueryError(
                f"unknown parameter {', '.join(unknown)} for query {named.name!r}; its parameters: {known}"
            )
        for param in named.params:
            if param.name not in params and param.default is not None:
                params[param.name] = param.default
            if param.required and params.get(param.name, "") == "":
                raise QueryError(
                    f"query {named.name!r} needs the parameter {param.name!r} ({param.kind}): "
                    f"{param.description or 'no description'} (--param {param.name}=VALUE)"
                )
    bindings = {}
    for name, value in params.items():
        param = declared.get(name) or Param(name, "iri" if _looks_like_iri(value) else "string")
        bindings[name] = _term(param, value, entities_named)
    return bindings


def _term(param: Param, value, entities_named: Callable[[str], list[str]]) -> ox.NamedNode | ox.Literal:
    if isinstance(value, ox.NamedNode | ox.Literal):
        return value
    text = str(value)
    if param.kind == "iri":
        return _resolve(param.name, text, entities_named)
    if param.kind == "string":
        return ox.Literal(text)
    if param.kind == "language":
        try:
            ox.Literal("", language=text)  # Oxigraph checks the tag is well-formed BCP 47
        except ValueError:
            message = f"parameter {param.name!r} must be a language tag such as zh or en, not {text!r}"
            raise QueryError(message) from None
        return ox.Literal(text)
    checks = {"integer": r"[+-]?\d+", "decimal": r"[+-]?(\d+(\.\d*)?|\.\d+)", "date": r"\d{4}-\d{2}-\d{2}"}
    if not re.fullmatch(checks[param.kind], text):
        raise QueryError(f"parameter {param.name!r} must be an xsd:{param.kind}, not {text!r}")
    return ox.Literal(text, datatype=ox.NamedNode(_XSD + param.kind))


def _resolve(name: str, text: str, entities_named: Callable[[str], list[str]]) -> ox.NamedNode:
    """An IRI, a prefixed name, or the one entity with this label."""
    iri = _expand(text)
    if iri is not None:
        if not re.match(r"(https?|urn|mailto|file):", iri, re.IGNORECASE):
            raise QueryError(f"parameter {name!r}: {text!r} is not an http(s), urn, mailto or file IRI")
        try:
            return ox.NamedNode(iri)
        except ValueError as error:
            raise QueryError(f"parameter {name!r}: {text!r} is not a valid IRI ({error})") from None
    entities = entities_named(text)
    if not entities:
        raise QueryError(f"parameter {name!r}: no entity has the label {text!r} (give an IRI or region:…)")
    if len(entities) > 1:
        shown = ", ".join(shorten(ox.NamedNode(iri)) for iri in entities)
        raise QueryError(f"parameter {name!r}: the label {text!r} names several entities: {shown}")
    return ox.NamedNode(entities[0])


_LABEL_LOOKUP = """
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <https://schema.org/>
SELECT DISTINCT ?entity ?name WHERE {
  ?entity rdfs:label|skos:prefLabel|skos:altLabel|schema:headline ?label .
  FILTER(isIRI(?entity) && LCASE(STR(?label)) = LCASE(STR(?name)))
}"""


def _looks_like_iri(value) -> bool:
    return isinstance(value, ox.NamedNode) or (isinstance(value, str) and _expand(value) is not None)


def _expand(text: str) -> str | None:
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1]
    if re.match(r"(https?|urn|mailto|file):", text) and " " not in text:
        return text
    prefix, colon, local = text.partition(":")
    if colon and prefix in PREFIXES and re.fullmatch(r"[\w.%/-]*", local):
        return PREFIXES[prefix] + local
    return None


def open_graph(
    dataset: str | Path = "build/ipgraph.trig",
    store: str = "memory",
    *,
    store_path: str | Path | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    limit: int | None = DEFAULT_LIMIT,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    allow_services: tuple[str, ...] | list[str] = (),
    queries: Folders = None,
    remote: RemoteConfig | None = None,
) -> Graph:
    """Load ``dataset`` into a store and return a :class:`Graph` to query.

    Parameters:
        dataset: the TriG file written by ``ipgraph build`` (or .nq/.ttl/.nt).
        store: ``"memory"`` (rdflib, default), ``"oxigraph"`` or ``"sparql"``.
        store_path: a folder for a persistent Oxigraph store (synced graph by graph).
        remote: for ``"sparql"``, the remote store (synced graph by graph).
        timeout: seconds a query may run (``None``: no limit, run in this process).
        limit: rows a query may return (``None``: all).
        max_bytes: bytes of results a query may return before it is stopped
            (:class:`~ipgraph.errors.QueryTooLarge`; ``None``: no limit).
        allow_services: SPARQL endpoints that ``SERVICE`` may call.
        queries: the folder of named queries, or folders searched in order
            (default: the package's, :data:`QUERIES_DIR`).
    """
    check_limits(timeout=timeout, limit=limit, max_bytes=max_bytes)  # before the store is loaded
    return Graph(
        open_store(dataset, store, store_path, remote),
        timeout=timeout,
        limit=limit,
        max_bytes=max_bytes,
        allow_services=allow_services,
        queries=queries,
    )


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------

_NAMESPACES = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))


def shorten(term) -> str:
    """A term as people read it: a prefixed name where a prefix fits, a
    literal's text, an empty string for unbound.

    Example:
        >>> shorten(ox.NamedNode("https://w3id.org/ipgraph/id/region/jilin"))
        'region:jilin'
    """
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        for prefix, iri in _NAMESPACES:
            local = term.value[len(iri) :]
            if term.value.startswith(iri) and re.fullmatch(r"[\w.-]*", local):
                return f"{prefix}:{local}"
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def _solutions_tsv(result: Result) -> bytes:
    lines = ["\t".join(f"?{name}" for name in result.variables)]
    lines += ["\t".join("" if term is None else str(term) for term in row) for row in result.rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def format_result(result: Result, output: str, width: int | None = None) -> str:
    """Render a result: ``table`` (columns for a terminal, long cells wrapped
    to ``width`` columns, or one line per row without it), ``csv``,
    ``tsv``, ``json``, ``xml`` (W3C SPARQL 1.1 results formats, written by
    Oxigraph) or, for CONSTRUCT/DESCRIBE, ``ttl`` (also ``xml`` = RDF/XML).

    Raises:
        QueryError: a format that does not fit the kind of result.
    """
    if output not in FORMATS:
        raise QueryError(f"unknown format {output!r}; expected one of {', '.join(FORMATS)}")
    if result.kind == "graph":
        if output == "table":
            rows = [(shorten(t.subject), shorten(t.predicate), shorten(t.object)) for t in result.triples]
            return terminal.table(["subject", "predicate", "object"], rows, width)
        rdf = {"ttl": ox.RdfFormat.TURTLE, "xml": ox.RdfFormat.RDF_XML}.get(output)
        if rdf is None:
            raise QueryError(f"a CONSTRUCT or DESCRIBE query gives RDF: use --format ttl or xml, not {output}")
        prefixes = PREFIXES if rdf == ox.RdfFormat.TURTLE else None
        return ox.serialize(result.triples, format=rdf, prefixes=prefixes).decode("utf-8")
    if output == "ttl":
        raise QueryError("--format ttl is for CONSTRUCT and DESCRIBE queries; use table, csv, tsv, json or xml")
    if result.kind == "ask":
        if output in ("table", "csv", "tsv"):
            return "true\n" if result.boolean else "false\n"
        payload = b'{"head":{},"boolean":%s}' % (b"true" if result.boolean else b"false")
        solutions = ox.parse_query_results(payload, ox.QueryResultsFormat.JSON)
    else:
        if output == "table":
            return terminal.table(result.variables, [[shorten(term) for term in row] for row in result.rows], width)
        solutions = ox.parse_query_results(_solutions_tsv(result), ox.QueryResultsFormat.TSV)
    results_format = {
        "csv": ox.QueryResultsFormat.CSV,
        "tsv": ox.QueryResultsFormat.TSV,
        "json": ox.QueryResultsFormat.JSON,
        "xml": ox.QueryResultsFormat.XML,
    }[output]
    return solutions.serialize(format=results_format).decode("utf-8")
