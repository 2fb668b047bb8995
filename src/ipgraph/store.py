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

1. refuses SPARQL Update, ``FROM``/``FROM NAMED`` (rdflib would fetch the
   IRI from the web or read a local file) and ``SERVICE`` to any endpoint not
   in the caller's allow-list — all checked on the query text, before the
   store is touched and before any connection is made;
2. binds parameters as RDF terms (pyoxigraph ``substitutions``, rdflib
   ``initBindings``), never by pasting text into the query;
3. runs the query in a forked child process that is killed when the timeout
   passes (neither engine can be interrupted from Python once it is inside a
   join), streaming results through a pipe so that a row limit also stops
   the work early.

Results come back as :class:`Result`, whose rows are pyoxigraph terms for
both stores, so that output is the same whichever store answered.

Example:
    >>> from ipgraph.store import open_store
    >>> store = open_store("build/ipgraph.trig", "oxigraph")            # doctest: +SKIP
    >>> execute(store, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows  # doctest: +SKIP
    [(<Literal value=1274 datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#integer>>,)]
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import select
import signal
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.exceptions import ParserError

from ipgraph.errors import IpgraphError, QueryError, QueryRefused, QueryTimeout, StoreError
from ipgraph.mappings import dataset_files
from ipgraph.namespaces import PREFIXES

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
    "to_python",
]

#: Seconds a query may run before it is stopped.
DEFAULT_TIMEOUT = 5.0
#: Rows (or triples) a query may return before the rest is cut off.
DEFAULT_LIMIT = 10_000
#: Store kinds that :func:`open_store` knows.
STORES = ("memory", "oxigraph")

_RDF_FORMATS = {".trig": "trig", ".nq": "nquads", ".ttl": "turtle", ".nt": "nt"}
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
    with neither, the default graph is the union of all named graphs.
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
        Streamed formats (tsv, nt) are cut by the reader; others keep at most
        ``limit + 1`` rows."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of quads in the store."""


class MemoryStore(Store):
    """The dataset in an rdflib ``Dataset`` whose default graph is the union.

    Fine for the seed graph; at 1M triples a load takes ~25 s and 1.3 GB.
    """

    kind = "memory"

    def __init__(self) -> None:
        self.dataset = Dataset(default_union=True)

    def load(self, path: str | Path) -> MemoryStore:
        """Parse an RDF file (TriG, N-Quads, Turtle, N-Triples) into the store."""
        path, rdf_format = _check_file(path)
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
            for triple in self.dataset.graph(URIRef(iri)):
                view.default_graph.add(triple)
        for iri in dataset.named_graphs:
            target = view.graph(URIRef(iri))
            for triple in self.dataset.graph(URIRef(iri)):
                target.add(triple)
        return view


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
        checked = [_check_file(path) for path in paths]
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
            # Queries run in forked children (see execute); a writable RocksDB
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


def _check_file(path: str | Path) -> tuple[Path, str]:
    path = Path(path)
    rdf_format = _RDF_FORMATS.get(path.suffix)
    if rdf_format is None:
        raise StoreError(f"unknown file type {path.suffix!r}; expected one of {', '.join(_RDF_FORMATS)}", path=path)
    if not path.is_file():
        raise StoreError("file not found (run 'ipgraph build' first?)", path=path)
    return path, rdf_format


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
        store = MemoryStore()
        for file in files:
            store.load(file)
        return store
    if kind == "oxigraph":
        return OxigraphStore(path).load(*files)
    raise StoreError(f"unknown store {kind!r}; expected one of {', '.join(STORES)}")


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

    Raises:
        QueryError: SPARQL Update, ``FROM``/``FROM NAMED``, or ``SERVICE`` to
            an endpoint that is not in ``allow_services`` (checked on the text:
            no connection is made).

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
        if word == "FROM":
            line, column = _position(query, offset)
            raise QueryRefused(
                f"line {line}, column {column}: FROM and FROM NAMED are not allowed; the query runs on the "
                "loaded dataset (use GRAPH <iri> { ... } to pick a named graph)"
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


# ---------------------------------------------------------------------------
# Execution in a child process that can be killed
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
        timeout: seconds before the query is stopped; ``None`` runs it in this
            process without a limit (for trusted queries and benchmarks).
        limit: rows or triples kept; more are cut and ``Result.truncated`` set.
        allow_services: SERVICE endpoints the query may call.
        dataset: base IRI and protocol dataset (default: the union of all graphs).

    Raises:
        QueryError: a syntax error (with line and column).
        QueryRefused: an update, FROM, or SERVICE to an endpoint not allowed.
        QueryTimeout: the query ran longer than ``timeout``.
    """
    check_query(query, allow_services)
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
        payload = _run_in_child(store, query, bindings, timeout, limit, dataset)
    result = _decode(payload, limit)
    result.seconds = time.perf_counter() - started
    return result


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


class _PipeWriter(io.RawIOBase):
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        return len(data)


def _run_in_child(
    store: Store, query: str, bindings: dict, timeout: float, limit: int | None, dataset: QueryDataset
) -> bytes:
    data_read, data_write = os.pipe()
    error_read, error_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run, stream the results, exit without cleanup
        status = 0
        try:
            os.close(data_read)
            os.close(error_read)
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            with io.BufferedWriter(_PipeWriter(data_write), buffer_size=1 << 16) as out:
                store._evaluate(query, bindings, out, limit, dataset)
        except BaseException as error:
            status = 1
            try:
                os.write(error_write, pickle.dumps(_query_error(error)))
            except BaseException:
                os.write(error_write, pickle.dumps(QueryError(f"the query failed: {error}")))
        finally:
            os._exit(status)
    os.close(data_write)
    os.close(error_write)
    chunks: list[bytes] = []
    lines, enough, cut = 0, None, False
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([data_read], [], [], left)
            if not ready:
                continue
            chunk = os.read(data_read, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            if limit is None:
                continue
            lines += chunk.count(b"\n")
            if enough is None and lines:
                # the limit, plus one row to know the result was cut, plus the
                # format line (and the TSV header line)
                head = b"".join(chunks).partition(b"\n")[0]
                enough = {b"tsv": limit + 3, b"nt": limit + 2}.get(head, 0)
            if enough and lines >= enough:
                cut = True
                break
    finally:
        os.close(data_read)
        if timed_out or cut:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        error = _read_all(error_read)
    if timed_out:
        raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped (raise it with --timeout)")
    if error:
        raise pickle.loads(error)  # noqa: S301 - written by our own child process
    payload = b"".join(chunks)
    if cut:
        return payload[: _nth_newline(payload, enough) + 1]
    if os.WIFSIGNALED(status) or os.WEXITSTATUS(status) != 0:
        raise QueryError("the query process ended abnormally (out of memory?)")
    return payload


def _nth_newline(data: bytes, n: int) -> int:
    position = -1
    for _ in range(n):
        position = data.index(b"\n", position + 1)
    return position


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)
