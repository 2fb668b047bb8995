"""Stores that hold the built dataset and answer SPARQL, and the safe way to ask them.

Two stores, one behaviour:

- :class:`MemoryStore` — an rdflib ``Dataset`` in memory; the default for the
  seed graph (a few thousand triples).
- :class:`OxigraphStore` — pyoxigraph, in memory or persistent on disk, loaded
  with Oxigraph's bulk loader; for large graphs (about 30x faster than rdflib
  on joins and aggregates at 1M triples).

Both query the union of all named graphs as the default graph, so a query
needs no ``GRAPH`` clause to see the facts of every source.

Every query goes through :func:`execute`, which

1. refuses SPARQL Update and ``SERVICE`` to any endpoint not in the
   caller's allow-list — checked on the query text, before the store is
   touched and before any connection is made;
2. takes ``FROM``/``FROM NAMED`` out of the query text and runs the query on
   a :class:`QueryDataset` of the graphs they name, so that it sees only
   graphs already in the store (rdflib would otherwise fetch the IRI from the
   web or read a local file); a protocol dataset overrides them;
3. binds parameters as RDF terms (pyoxigraph ``substitutions``, rdflib
   ``initBindings``), never by pasting text into the query;
4. runs the query in a worker process that is killed when the timeout
   passes (neither engine can be interrupted from Python once it is inside a
   join). Workers are forked once, by a fork server started when the store
   is opened, and reused across queries; a killed one is replaced. A worker
   streams the results back and stops the query itself at the row limit.
   See "Worker processes" below for why this is safe with threads.

Results come back as :class:`Result`, whose rows are pyoxigraph terms for
both stores, so that output is the same whichever store answered.

Example:
    >>> from ipgraph.store import open_store
    >>> store = open_store("build/ipgraph.trig", "oxigraph")            # doctest: +SKIP
    >>> execute(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows  # doctest: +SKIP
    [(<Literal value=1274 datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#integer>>,)]
"""

from __future__ import annotations

import contextlib
import functools
import gc
import io
import json
import os
import pickle
import re
import select
import signal
import socket
import stat
import struct
import threading
import time
import weakref
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urljoin

import pyoxigraph as ox
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.exceptions import ParserError

from ipgraph.errors import IpgraphError, QueryError, QueryRefused, QueryTimeout, StoreError
from ipgraph.mappings import dataset_files
from ipgraph.namespaces import PREFIXES
from ipgraph.validate import check_rdf_file

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_TIMEOUT",
    "STORES",
    "MemoryStore",
    "OxigraphStore",
    "QueryDataset",
    "Result",
    "Store",
    "check_query",
    "execute",
    "open_store",
    "split_dataset",
    "to_python",
]

#: Seconds a query may run before it is stopped.
DEFAULT_TIMEOUT = 5.0
#: Rows (or triples) a query may return before the rest is cut off.
DEFAULT_LIMIT = 10_000
#: Store kinds that :func:`open_store` knows.
STORES = ("memory", "oxigraph")

_OX_FORMATS = {
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
}


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass
class Result:
    """What a query returned.

    ``kind`` is ``"select"`` (``variables`` and ``rows``), ``"ask"``
    (``boolean``) or ``"graph"`` (``triples``, for CONSTRUCT and DESCRIBE).
    Terms are pyoxigraph terms (``NamedNode``, ``BlankNode``, ``Literal``),
    ``None`` where a variable is unbound. ``truncated`` says that the row
    limit cut the result.
    """

    kind: str
    variables: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    truncated: bool = False
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.triples) if self.kind == "graph" else len(self.rows)

    def records(self) -> list[dict]:
        """The rows as dicts of plain Python values (see :func:`to_python`),
        ready for ``pandas.DataFrame(result.records())``."""
        return [
            {name: to_python(term) for name, term in zip(self.variables, row, strict=True) if term is not None}
            for row in self.rows
        ]

    def to_dataframe(self):
        """The rows as a pandas ``DataFrame`` (pandas must be installed)."""
        try:
            import pandas
        except ImportError:
            raise QueryError("pandas is not installed (pip install pandas)") from None
        return pandas.DataFrame(self.records(), columns=self.variables)


_XSD = "http://www.w3.org/2001/XMLSchema#"
_CONVERT = {
    _XSD + "integer": int,
    _XSD + "int": int,
    _XSD + "long": int,
    _XSD + "nonNegativeInteger": int,
    _XSD + "positiveInteger": int,
    _XSD + "decimal": Decimal,
    _XSD + "double": float,
    _XSD + "float": float,
    _XSD + "boolean": lambda value: value in ("true", "1"),
    _XSD + "date": date.fromisoformat,
}


def to_python(term):
    """An RDF term as a Python value: an IRI as ``str``, a literal as ``int``,
    ``Decimal``, ``float``, ``bool``, ``datetime.date`` or ``str`` by its
    datatype, a blank node as ``"_:id"``, unbound as ``None``.

    Example:
        >>> to_python(ox.Literal("10.2", datatype=ox.NamedNode(_XSD + "decimal")))
        Decimal('10.2')
    """
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    convert = _CONVERT.get(term.datatype.value)
    if convert is not None:
        try:
            return convert(term.value)
        except (ValueError, ArithmeticError):
            return term.value
    return term.value


def _select_result(payload: bytes, results_format: ox.QueryResultsFormat, limit: int | None) -> Result:
    solutions = ox.parse_query_results(payload, results_format)
    variables = [v.value for v in solutions.variables]
    rows = [tuple(solution) for solution in solutions]
    truncated = limit is not None and len(rows) > limit
    return Result("select", variables, rows[:limit] if truncated else rows, truncated=truncated)


def _graph_result(payload: bytes, limit: int | None) -> Result:
    triples = list(ox.parse(payload, ox.RdfFormat.N_TRIPLES))
    truncated = limit is not None and len(triples) > limit
    return Result("graph", triples=triples[:limit] if truncated else triples, truncated=truncated)


# ---------------------------------------------------------------------------
# Stores
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryDataset:
    """What a query sees, as a SPARQL 1.1 Protocol request can set it.

    ``base`` resolves relative IRIs. With ``default_graphs`` or
    ``named_graphs`` given, the default graph is the merge of the former and
    ``GRAPH`` sees only the latter (an omitted list is empty, Protocol 2.1.4);
    with neither, the default graph is the union of all named graphs. An IRI
    that names no graph in the store is an empty graph: nothing is fetched.
    The query's own ``FROM``/``FROM NAMED`` give one too (:func:`split_dataset`).
    """

    base: str | None = None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        return bool(self.default_graphs or self.named_graphs)


UNION = QueryDataset()


class Store(ABC):
    """A dataset loaded for querying. ``kind`` names it ("memory", "oxigraph")."""

    kind: str = ""

    @abstractmethod
    def _evaluate(
        self,
        query: str,
        bindings: dict[str, ox.NamedNode | ox.Literal],
        out: BinaryIO,
        limit: int | None,
        dataset: QueryDataset = UNION,
    ) -> None:
        """Run ``query`` and write its results to ``out``: a first line naming
        the payload format (``tsv``, ``json``, ``nt``), then the payload.
        Streamed formats (tsv, nt) are cut by the writer; others keep at most
        ``limit + 1`` rows."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of quads in the store."""

    def start_workers(self) -> None:
        """Start the fork server that forks this store's query workers (see
        :func:`execute`), if the platform can fork. :func:`open_store` calls
        it once the store is loaded, while the process has one thread; a
        query with a timeout starts it otherwise."""
        if hasattr(os, "fork"):
            _pool(self)

    def stop_workers(self) -> None:
        """Stop the fork server and idle workers (also done when the store is
        garbage-collected; :meth:`load` does it, since they hold a snapshot)."""
        pool = self.__dict__.pop("_pool", None)
        if pool is not None:
            pool.close()


class MemoryStore(Store):
    """The dataset in an rdflib ``Dataset`` whose default graph is the union.

    Fine for the seed graph; at 1M triples a load takes ~25 s and 1.3 GB.
    """

    kind = "memory"

    def __init__(self) -> None:
        self.dataset = Dataset(default_union=True)

    def load(self, path: str | Path) -> MemoryStore:
        """Parse an RDF file (TriG, N-Quads, Turtle, N-Triples) into the store."""
        path, rdf_format = check_rdf_file(path)
        self.stop_workers()
        try:
            self.dataset.parse(path, format=rdf_format)
        except (ParserError, SyntaxError, ValueError) as error:
            raise StoreError(f"not valid {rdf_format}: {error}", path=path) from None
        return self

    def __len__(self) -> int:
        return sum(1 for _ in self.dataset.quads((None, None, None, None)))

    def _evaluate(self, query, bindings, out, limit, dataset=UNION) -> None:
        init = {name: _to_rdflib(term) for name, term in bindings.items()}
        result = self._view(dataset).query(query, initNs=PREFIXES, initBindings=init, base=dataset.base)
        if limit is not None and result.type == "SELECT":
            result.bindings = result.bindings[: limit + 1]
        if result.type == "ASK":
            out.write(b"json\n" + json.dumps({"head": {}, "boolean": bool(result.askAnswer)}).encode())
        elif result.type in ("CONSTRUCT", "DESCRIBE"):
            out.write(b"nt\n" + result.graph.serialize(format="nt", encoding="utf-8"))
        else:
            out.write(b"json\n")
            result.serialize(out, format="json")

    def _view(self, dataset: QueryDataset) -> Dataset:
        """The rdflib dataset a query sees: the union, or a protocol dataset copied out."""
        if not dataset.restricted:
            return self.dataset
        view = Dataset(default_union=False)
        for iri in dataset.default_graphs:
            for triple in self._graph(iri):
                view.default_graph.add(triple)
        for iri in dataset.named_graphs:
            source = self._graph(iri)
            if len(source):
                target = view.graph(URIRef(iri))
                for triple in source:
                    target.add(triple)
        return view

    def _graph(self, iri: str):
        """The named graph ``iri``, empty if the store has none (``get_context``
        does not add it to the store, as ``Dataset.graph`` would)."""
        return self.dataset.get_context(URIRef(iri))


class OxigraphStore(Store):
    """The dataset in a pyoxigraph ``Store``, in memory or on disk at ``path``.

    A store on disk remembers which files it was loaded from (size and
    modification time, in ``ipgraph-source.json`` inside its folder) and is
    reloaded only when one changed; once loaded it is reopened read-only.
    """

    kind = "oxigraph"
    _MARK = "ipgraph-source.json"

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        try:
            self.store = ox.Store(str(self.path)) if self.path is not None else ox.Store()
        except OSError as error:
            raise StoreError(f"cannot open the Oxigraph store: {error}", path=self.path) from None

    def load(self, *paths: str | Path) -> OxigraphStore:
        """Bulk-load RDF files into the store (skipped when an on-disk store
        already holds these very files)."""
        checked = [check_rdf_file(path) for path in paths]
        self.stop_workers()
        stamp = [
            {"file": str(path.resolve()), "size": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns}
            for path, _ in checked
        ]
        mark = self.path / self._MARK if self.path is not None else None
        if mark is None or not mark.is_file() or json.loads(mark.read_text(encoding="utf-8")) != stamp:
            if mark is not None:
                mark.unlink(missing_ok=True)
                self.store.clear()
            for path, rdf_format in checked:
                try:
                    self.store.bulk_load(path=str(path), format=_OX_FORMATS[rdf_format])
                except SyntaxError as error:
                    raise StoreError(f"not valid {rdf_format}: {error}", path=path) from None
            if mark is not None:
                self.store.flush()
                mark.write_text(json.dumps(stamp), encoding="utf-8")
        if self.path is not None:
            # Queries run in forked workers (see execute); a writable RocksDB
            # store may be flushing or compacting in a background thread at
            # the fork, and a child that inherits its held lock hangs. A
            # read-only store does no background work.
            self.store = None
            self.store = ox.Store.read_only(str(self.path))
        return self

    def __len__(self) -> int:
        return len(self.store)

    def _evaluate(self, query, bindings, out, limit, dataset=UNION) -> None:
        graphs: dict = {"use_default_graph_as_union": True}
        if dataset.restricted:
            graphs = {
                "default_graph": [ox.NamedNode(iri) for iri in dataset.default_graphs],
                "named_graphs": [ox.NamedNode(iri) for iri in dataset.named_graphs],
            }
        result = self.store.query(
            query,
            prefixes=PREFIXES,
            base_iri=dataset.base,
            substitutions={ox.Variable(name): term for name, term in bindings.items()},
            **graphs,
        )
        if isinstance(result, ox.QueryBoolean):
            out.write(b"json\n")
            result.serialize(out, ox.QueryResultsFormat.JSON)
        elif isinstance(result, ox.QueryTriples):
            out.write(b"nt\n")
            result.serialize(out, ox.RdfFormat.N_TRIPLES)
        else:
            out.write(b"tsv\n")
            result.serialize(out, ox.QueryResultsFormat.TSV)


def open_store(dataset: str | Path, kind: str = "memory", path: str | Path | None = None) -> Store:
    """Load ``dataset`` (a TriG file written by ``ipgraph build``), and the
    enrichment graphs beside it (``ipgraph link enrich``), into a new store.

    Parameters:
        dataset: the RDF file to load.
        kind: ``"memory"`` (rdflib) or ``"oxigraph"``.
        path: for ``"oxigraph"``, a folder for a persistent store on disk.

    Raises:
        StoreError: unknown store kind, missing or broken file.
    """
    files = dataset_files(dataset)
    if kind == "memory":
        if path is not None:
            raise StoreError("a store path needs the oxigraph store (--store oxigraph)")
        store: Store = MemoryStore()
        for file in files:
            store.load(file)
    elif kind == "oxigraph":
        store = OxigraphStore(path).load(*files)
    else:
        raise StoreError(f"unknown store {kind!r}; expected one of {', '.join(STORES)}")
    store.start_workers()
    return store


def _to_rdflib(term):
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


# ---------------------------------------------------------------------------
# Safety: checked on the query text before anything runs
# ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              |'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\s]*>)
  | (?P<var>[?$][\w]+)
  | (?P<pname>(?:[A-Za-z][\w.-]*)?:(?:[\w.%-]|\\.)*)
  | (?P<word>[A-Za-z_]\w*)
  | (?P<other>\S)
    """,
    re.VERBOSE,
)
_UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}


def _tokens(query: str) -> list[tuple[str, str, int]]:
    return [
        (match.lastgroup, match.group(), match.start())
        for match in _TOKEN.finditer(query)
        if match.lastgroup != "comment"
    ]


def _position(query: str, offset: int) -> tuple[int, int]:
    line = query.count("\n", 0, offset) + 1
    return line, offset - (query.rfind("\n", 0, offset) + 1) + 1


def check_query(query: str, allow_services: tuple[str, ...] | list[str] = ()) -> None:
    """Refuse what a read-only, offline query must not do.

    ``FROM``/``FROM NAMED`` are not refused: :func:`execute` takes them out
    of the text (:func:`split_dataset`) and runs the query on the graphs they
    name among those already in the store, so nothing is fetched.

    Raises:
        QueryError: SPARQL Update, or ``SERVICE`` to an endpoint that is not
            in ``allow_services`` (checked on the text: no connection is made).

    Example:
        >>> check_query("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
        Traceback (most recent call last):
        ...
        ipgraph.errors.QueryRefused: line 1, column 18: SERVICE <http://example.org/sparql> is not allowed ...
    """
    tokens = _tokens(query)
    prefixes = dict(PREFIXES)
    allowed = {iri.strip("<>") for iri in allow_services}
    first = True
    for index, (kind, text, offset) in enumerate(tokens):
        word = text.upper() if kind == "word" else ""
        if word == "PREFIX" and index + 2 < len(tokens):
            prefixes[tokens[index + 1][1].rstrip(":")] = tokens[index + 2][1].strip("<>")
        elif word == "BASE":
            pass
        elif first and kind == "word":
            first = False
            if word in _UPDATE_WORDS:
                line, column = _position(query, offset)
                raise QueryRefused(
                    f"line {line}, column {column}: SPARQL Update ({word}) is not allowed; "
                    "'ipgraph query' only reads the graph"
                )
        if word == "SERVICE":
            rest = [t for t in tokens[index + 1 : index + 3] if t[1].upper() != "SILENT"]
            target_kind, target = (rest[0][0], rest[0][1]) if rest else ("", "")
            if target_kind == "iri":
                endpoint = target.strip("<>")
            elif target_kind == "pname" and target.split(":", 1)[0] in prefixes:
                prefix, local = target.rstrip(".").split(":", 1)
                endpoint = prefixes[prefix] + local
            else:
                endpoint = target or "?"
            if endpoint not in allowed:
                line, column = _position(query, offset)
                hint = f"allowed: {', '.join(sorted(allowed))}" if allowed else "no endpoint is allowed"
                raise QueryRefused(
                    f"line {line}, column {column}: SERVICE <{endpoint}> is not allowed ({hint}; "
                    "allow it with --allow-service)"
                )


_ABSOLUTE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _iri_of(kind: str, text: str, prefixes: dict[str, str], base: str | None) -> str | None:
    """The IRI an ``iri`` or ``pname`` token stands for (relative IRIs resolved
    against ``base``); ``None`` if it stands for none."""
    if kind == "iri":
        iri = text[1:-1]
    elif kind == "pname" and text.split(":", 1)[0] in prefixes:
        prefix, local = text.split(":", 1)
        iri = prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
    else:
        return None
    if not _ABSOLUTE_IRI.match(iri):
        return urljoin(base, iri) if base and _ABSOLUTE_IRI.match(base) else None
    return iri


def split_dataset(query: str, base: str | None = None) -> tuple[str, QueryDataset | None]:
    """Take the ``FROM`` and ``FROM NAMED`` clauses out of ``query``.

    Returns the query with each clause blanked out (replaced by as many
    spaces, so that the line and column of a later syntax error still point
    into the user's text) and the dataset the clauses name, or ``None`` when
    there are none. Run with that dataset, the query sees only graphs already
    in the store: a ``FROM`` IRI that names no graph there is an empty graph,
    and nothing is ever fetched. Only real clauses are taken (not words in
    strings, comments or IRIs); prefixed names are expanded with the query's
    ``PREFIX`` declarations and the project's prefixes.

    Raises:
        QueryError: ``FROM`` that is not followed by an IRI, or stands
            outside the dataset clause (before ``WHERE``).

    Example:
        >>> text, dataset = split_dataset("SELECT * FROM region:jilin WHERE { ?s ?p ?o }")
        >>> dataset.default_graphs, dataset.named_graphs
        (('https://w3id.org/ipgraph/id/region/jilin',), ())
        >>> " ".join(text.split())
        'SELECT * WHERE { ?s ?p ?o }'
    """
    matches = [match for match in _TOKEN.finditer(query) if match.lastgroup != "comment"]
    prefixes = dict(PREFIXES)
    given_base = base
    default: list[str] = []
    named: list[str] = []
    spans: list[tuple[int, int]] = []
    form, depth, groups, where = "", 0, 0, False
    index = 0
    while index < len(matches):
        match = matches[index]
        kind, text = match.lastgroup, match.group()
        word = text.upper() if kind == "word" else ""
        following = matches[index + 1] if index + 1 < len(matches) else None
        if word == "PREFIX" and index + 2 < len(matches):
            prefixes[following.group().rstrip(":")] = matches[index + 2].group().strip("<>")
        elif word == "BASE" and following is not None and following.lastgroup == "iri":
            base = _iri_of("iri", following.group(), prefixes, base) or base
        elif word in ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK") and not form and depth == 0:
            form = word
        elif word == "WHERE" and depth == 0:
            where = True
        elif text == "{":
            groups += depth == 0
            depth += 1
        elif text == "}":
            depth -= 1
        elif word == "FROM":
            in_clause = depth == 0 and not where and (groups == 0 or (form == "CONSTRUCT" and groups == 1))
            is_named = following is not None and following.lastgroup == "word" and following.group().upper() == "NAMED"
            target = matches[index + 2] if is_named and index + 2 < len(matches) else following
            iri = _iri_of(target.lastgroup, target.group(), prefixes, base) if target is not None else None
            if not in_clause or iri is None:
                line, column = _position(query, match.start())
                problem = (
                    "must be followed by an absolute IRI or a prefixed name"
                    if in_clause
                    else "may only stand before WHERE { ... }"
                )
                raise QueryError(f"syntax error at line {line}, column {column}: FROM {problem}")
            (named if is_named else default).append(iri)
            spans.append((match.start(), target.end()))
            index += 3 if is_named else 2
            continue
        index += 1
    if not spans:
        return query, None
    pieces, last = [], 0
    for start, end in spans:
        pieces += [query[last:start], re.sub(r"[^\n]", " ", query[start:end])]
        last = end
    pieces.append(query[last:])
    return "".join(pieces), QueryDataset(given_base, tuple(dict.fromkeys(default)), tuple(dict.fromkeys(named)))


# ---------------------------------------------------------------------------
# Execution: checked, then run in this process or in a worker process
# ---------------------------------------------------------------------------


def execute(
    store: Store,
    query: str,
    bindings: dict[str, ox.NamedNode | ox.Literal] | None = None,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    limit: int | None = DEFAULT_LIMIT,
    allow_services: tuple[str, ...] | list[str] = (),
    dataset: QueryDataset = UNION,
) -> Result:
    """Run a read-only SPARQL query on ``store`` safely.

    Parameters:
        store: a loaded store.
        query: SPARQL 1.1 query text (SELECT, ASK, CONSTRUCT, DESCRIBE).
        bindings: variable name (without ``?``) to an RDF term, bound as a
            value (never pasted into the text).
        timeout: seconds before the query is stopped (its worker process is
            killed); ``None`` runs it in this process without a limit (for
            trusted queries and benchmarks).
        limit: rows or triples kept; more are cut and ``Result.truncated`` set.
        allow_services: SERVICE endpoints the query may call.
        dataset: base IRI and protocol dataset (default: the union of all
            graphs, or what the query's ``FROM``/``FROM NAMED`` name). A
            protocol dataset overrides ``FROM``, as the SPARQL 1.1 Protocol
            says; either way the query sees only graphs in the store.

    Raises:
        QueryError: a syntax error (with line and column).
        QueryRefused: an update, or SERVICE to an endpoint not allowed.
        QueryTimeout: the query ran longer than ``timeout``.
    """
    query, named_in_query = _prepare(query, tuple(allow_services), dataset.base)
    if named_in_query is not None and not dataset.restricted:
        dataset = named_in_query  # a protocol dataset, when given, overrides FROM (SPARQL 1.1 Protocol 2.1.4)
    bindings = dict(bindings or {})
    started = time.perf_counter()
    if timeout is None or not hasattr(os, "fork"):
        buffer = io.BytesIO()
        try:
            store._evaluate(query, bindings, buffer, limit, dataset)
        except Exception as error:
            raise _query_error(error) from None
        payload = buffer.getvalue()
    else:
        payload = _run_in_worker(store, query, bindings, timeout, limit, dataset)
    result = _decode(payload, limit)
    result.seconds = time.perf_counter() - started
    return result


@functools.lru_cache(maxsize=256)
def _prepare(query: str, allow_services: tuple[str, ...], base: str | None) -> tuple[str, QueryDataset | None]:
    """:func:`check_query` and :func:`split_dataset`, remembered for the
    queries asked again and again (named queries, pages)."""
    check_query(query, allow_services)
    return split_dataset(query, base)


def _decode(payload: bytes, limit: int | None) -> Result:
    head, _, body = payload.partition(b"\n")
    if head == b"nt":
        return _graph_result(body, limit)
    results_format = ox.QueryResultsFormat.TSV if head == b"tsv" else ox.QueryResultsFormat.JSON
    if head == b"json" and b'"boolean"' in body[:200]:
        return Result("ask", boolean=bool(ox.parse_query_results(body, results_format)))
    return _select_result(body, results_format, limit)


def _query_error(error: Exception) -> IpgraphError:
    if isinstance(error, IpgraphError):
        return error
    message = str(error)
    match = re.match(r"error at (\d+):(\d+): (.*)", message, re.S)
    if match:
        return QueryError(f"syntax error at line {match[1]}, column {match[2]}: {match[3]}")
    match = re.search(r"does not contains? variable \?(\w+) in its SELECT projection", message)
    if match:
        return QueryError(
            f"the parameter {match[1]!r} must be among the SELECT variables (add ?{match[1]} to the SELECT clause)"
        )
    lineno, col = getattr(error, "lineno", None), getattr(error, "col", None)
    if lineno is not None and col is not None:  # rdflib (pyparsing) ParseException
        return QueryError(f"syntax error at line {lineno}, column {col}: {getattr(error, 'msg', message)}")
    return QueryError(f"the query failed: {type(error).__name__}: {message}")


# ---------------------------------------------------------------------------
# Worker processes: forked once from a fork server, reused, killed on timeout
# ---------------------------------------------------------------------------
#
# Neither engine can be interrupted from Python once it is inside a join, so
# a query with a timeout runs in another process that is killed (SIGKILL)
# when the timeout passes. Forking a large process per query costs ~10 ms
# and slows the query itself (copy-on-write faults), so each store has a
# pool of workers that are reused:
#
# - a *fork server*, forked from the process when the store is opened
#   (:func:`open_store`, before a server starts its threads), holds a
#   snapshot of the loaded store and forks the workers. It has one thread, so
#   forking it is safe even when the parent has started threads (``serve``
#   runs queries from anyio worker threads; forking a process whose other
#   threads hold locks can leave the child waiting on them forever). A store
#   is read-only once loaded (an on-disk Oxigraph store is reopened
#   read-only, so RocksDB has no background work at a fork either); changes
#   made to it afterwards by hand are not seen by queries with a timeout
#   (``load`` restarts the fork server). A store not opened by
#   :func:`open_store` starts its fork server at its first such query, from
#   whatever thread runs it. The fork server closes the pipes and sockets it
#   inherited (:func:`_detach`), so that it keeps none of the parent's open;
# - a worker answers queries one at a time over a socket pair, streaming the
#   results as frames; past the row limit it stops the query itself (the
#   writer raises, Oxigraph stops evaluating) and stays usable;
# - on a timeout the worker is killed and reaped before ``execute`` returns;
#   the next query gets a new worker from the fork server. A worker also
#   kills itself (SIGALRM, default action) a little after its timeout, in
#   case the caller has died; workers and fork server exit when their
#   socket closes (the store is garbage-collected or the process exits).

_FRAME = struct.Struct("!cI")  # kind (b"D" data, b"E" end, b"X" error), payload length
_GRACE = 2.0  # seconds past its timeout after which a worker stops itself
_MAX_IDLE = 8  # idle workers kept per store
_MAX_USES = 1000  # queries a worker answers before it is replaced (bounds its memory growth)


class _Enough(Exception):
    """Raised by the worker's writer once the row limit is reached: stops the query."""


class _FrameWriter(io.RawIOBase):
    """The worker's output: data frames on the socket, cut after the row limit.

    The first write starts with the payload-format line (``tsv``, ``nt``,
    ``json``); the first is followed by the header line. Streamed formats
    are cut after ``limit + 1`` rows (one more, so that the reader knows
    the result was cut), raising :class:`_Enough`; later writes are dropped.
    """

    def __init__(self, sock: socket.socket, limit: int | None) -> None:
        self.sock, self.limit = sock, limit
        self.lines, self.enough, self.done = 0, None, False
        self.pending = b""  # the last chunk, sent with the next one or with the end frame

    def send(self, data: bytes = b"", end: bytes | None = None) -> None:
        """Send the pending chunk, keep ``data`` pending; with ``end`` (the
        final frame), send everything."""
        frames = self.pending
        if end is not None:
            frames += (_FRAME.pack(b"D", len(data)) + data if data else b"") + end
            data = b""
        self.pending = _FRAME.pack(b"D", len(data)) + data if data else b""
        if frames:
            self.sock.sendall(frames)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        size = len(data)
        if self.done:
            return size
        data = bytes(data)
        if self.limit is not None:
            if self.enough is None:
                head = data.partition(b"\n")[0]
                self.enough = {b"tsv": self.limit + 3, b"nt": self.limit + 2}.get(head, 0)
            if self.enough:
                lines = data.count(b"\n")
                if self.lines + lines >= self.enough:
                    self.send(data[: _nth_newline(data, self.enough - self.lines) + 1])
                    self.done = True
                    raise _Enough
                self.lines += lines
        self.send(data)
        return size


def _detach(keep: socket.socket) -> None:
    """In the freshly forked fork server: let go of what belongs to the parent.

    It would otherwise hold, for as long as it lives, every pipe and socket
    the parent had open (a driver's stdin, a server's listening socket,
    another store's worker sockets), and their readers would never see
    end-of-file. Regular files stay open: an on-disk store needs its own.
    Objects inherited from the parent are frozen (``gc.freeze``), so that no
    finalizer of theirs closes a descriptor number that is reused here.
    """
    gc.freeze()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 4096))
    for fd in fds:
        if fd <= 2 or fd == keep.fileno():
            continue
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            os.close(fd)


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _worker_main(store: Store, sock: socket.socket) -> None:
    """A worker: answer requests from ``sock`` until it closes, then exit."""
    status = 0
    try:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
        while True:
            size = _receive_exactly(sock, 4)
            if size is None:
                break
            request = _receive_exactly(sock, struct.unpack("!I", size)[0])
            if request is None:
                break
            query, bindings, limit, dataset, timeout = pickle.loads(request)  # noqa: S301 - from our own parent
            signal.setitimer(signal.ITIMER_REAL, timeout + _GRACE)  # SIGALRM's default action ends the process
            raw = _FrameWriter(sock, limit)
            out = io.BufferedWriter(raw, buffer_size=1 << 16)
            kind, body = b"E", b""
            try:
                store._evaluate(query, bindings, out, limit, dataset)
                out.flush()
            except _Enough:
                pass
            except Exception as error:
                try:
                    body = pickle.dumps(_query_error(error))
                except Exception:
                    body = pickle.dumps(QueryError(f"the query failed: {error}"))
                kind = b"X"
            raw.done = True
            signal.setitimer(signal.ITIMER_REAL, 0)
            if kind == b"X":
                raw.pending = b""
            raw.send(end=_FRAME.pack(kind, len(body)) + body)
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def _fork_server_main(store: Store, control: socket.socket) -> None:
    """The fork server: for each socket the parent sends, fork a worker on it."""
    status = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the workers
        while True:
            message, fds, _, _ = socket.recv_fds(control, 16, 1)
            if not message or not fds:
                break
            pid = os.fork()
            if pid == 0:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _worker_main(store, socket.socket(fileno=fds[0]))
            os.close(fds[0])
            control.sendall(struct.pack("!i", pid))
        with contextlib.suppress(ChildProcessError):
            os.wait()  # with SIGCHLD ignored: returns once every worker has ended
    except BaseException:
        status = 1
    finally:
        os._exit(status)


class _Worker:
    """The parent's handle on a worker process."""

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self.sock, self.pid, self.uses, self.closed = sock, pid, 0, False
        self.view = memoryview(bytearray(1 << 20))  # receive buffer, reused
        try:
            self.pidfd: int | None = os.pidfd_open(pid)
        except (AttributeError, OSError):
            self.pidfd = None

    def close(self) -> None:
        """Let the worker go: it exits when it reads the end of its socket."""
        self.closed = True
        self.sock.close()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None

    def kill(self) -> None:
        """Kill the worker and wait (up to 5 s) until it is gone."""
        if self.closed:
            return
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                select.select([self.pidfd], [], [], 5.0)  # readable once the process has ended
            else:
                os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, OSError):
            pass
        self.close()

    def run(self, request: bytes, timeout: float) -> bytes:
        """Send a request and collect the payload; raise the query's error,
        or :class:`QueryTimeout` (the worker is then killed by the caller)."""
        self.uses += 1
        self.sock.sendall(struct.pack("!I", len(request)) + request)
        deadline = time.monotonic() + timeout
        chunks: list[bytearray] = []
        buffer = bytearray()
        view = self.view
        fd = self.sock.fileno()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped (raise it with --timeout)")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            received = self.sock.recv_into(view)
            if not received:
                raise QueryError("the query process ended abnormally (out of memory?)")
            buffer += view[:received]
            position = 0
            while len(buffer) - position >= _FRAME.size:
                kind, size = _FRAME.unpack_from(buffer, position)
                start = position + _FRAME.size
                if len(buffer) - start < size:
                    break
                payload = buffer[start : start + size]
                position = start + size
                if kind == b"D":
                    chunks.append(payload)
                elif kind == b"X":
                    raise pickle.loads(bytes(payload))  # noqa: S301 - written by our own worker
                else:
                    return b"".join(chunks)
            del buffer[:position]


class _Pool:
    """A store's fork server and its idle workers (parent side)."""

    def __init__(self, store: Store) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []
        self.busy: set[_Worker] = set()
        self.closed = False
        control, theirs = socket.socketpair()
        pid = os.fork()
        if pid == 0:
            _detach(theirs)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _fork_server_main(store, theirs)
        theirs.close()
        self.control, self.pid = control, pid

    def acquire(self) -> _Worker:
        with self.lock:
            if self.closed:
                raise QueryError("the store's worker processes have been shut down")
            if self.idle:
                worker = self.idle.pop()
            else:
                mine, theirs = socket.socketpair()
                try:
                    socket.send_fds(self.control, [b"w"], [theirs.fileno()])
                    answer = _receive_exactly(self.control, 4)
                except OSError:
                    answer = None
                finally:
                    theirs.close()
                if answer is None:
                    mine.close()
                    self.closed = True  # the next query starts a new fork server
                    raise QueryError("the query process server has ended (out of memory?); try again")
                mine.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
                worker = _Worker(mine, struct.unpack("!i", answer)[0])
            self.busy.add(worker)
            return worker

    def release(self, worker: _Worker, healthy: bool) -> None:
        with self.lock:
            self.busy.discard(worker)
            keep = healthy and not self.closed and worker.uses < _MAX_USES and len(self.idle) < _MAX_IDLE
            if keep:
                self.idle.append(worker)
        if not healthy:
            worker.kill()
        elif not keep:
            worker.close()

    def close(self) -> None:
        """Stop the fork server and its workers, busy ones included."""
        with self.lock:
            idle, self.idle = self.idle, []
            busy, self.busy = self.busy, set()
            self.closed = True
        for worker in idle:
            worker.close()
        for worker in busy:
            worker.kill()
        with contextlib.suppress(OSError):
            self.control.close()
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(self.pid, 0)  # it exits once its workers have (at once when idle)


_POOLS_LOCK = threading.Lock()


def _pool(store: Store) -> _Pool:
    pool = store.__dict__.get("_pool")
    if pool is None or pool.closed:
        with _POOLS_LOCK:
            pool = store.__dict__.get("_pool")
            if pool is None or pool.closed:
                pool = _Pool(store)
                store._pool = pool
                weakref.finalize(store, pool.close)
    return pool


def _run_in_worker(
    store: Store, query: str, bindings: dict, timeout: float, limit: int | None, dataset: QueryDataset
) -> bytes:
    pool = _pool(store)
    request = pickle.dumps((query, bindings, limit, dataset, timeout))
    worker = pool.acquire()
    healthy = False
    try:
        payload = worker.run(request, timeout)
        healthy = True
        return payload
    except IpgraphError as error:
        healthy = not isinstance(error, QueryTimeout) and "abnormally" not in str(error)
        raise
    finally:
        pool.release(worker, healthy)


def _nth_newline(data: bytes, n: int) -> int:
    position = -1
    for _ in range(n):
        position = data.index(b"\n", position + 1)
    return position
