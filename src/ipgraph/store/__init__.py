"""Stores that hold the built dataset and answer SPARQL, and the safe way to ask them.

Two stores, one behaviour:

- :class:`MemoryStore` (:mod:`ipgraph.store.memory`) — an rdflib ``Dataset``
  in memory; the default for the seed graph (a few thousand triples).
- :class:`OxigraphStore` (:mod:`ipgraph.store.oxigraph`) — pyoxigraph, in
  memory or persistent on disk, loaded with Oxigraph's bulk loader; for large
  graphs (about 30x faster than rdflib on joins and aggregates at 1M triples).

Both query the union of all named graphs as the default graph, so a query
needs no ``GRAPH`` clause to see the facts of every source.

Every query goes through :func:`execute`, which

1. reads the query with the guard (:mod:`ipgraph.store.guard`): parsed by
   rdflib's SPARQL parser, refused if it is SPARQL Update or calls
   ``SERVICE`` on an endpoint not in the caller's allow-list — decided on
   the parse, before the store is touched and before any connection is made;
2. runs the query on the graphs its ``FROM``/``FROM NAMED`` name (a
   :class:`QueryDataset`), among those already in the store: nothing is
   fetched or read from a file; a protocol dataset overrides them;
3. binds parameters as RDF terms (pyoxigraph ``substitutions``, rdflib
   ``initBindings``), never by pasting text into the query;
4. runs the query in a worker process (:mod:`ipgraph.store.workers`) that is
   killed when the timeout passes (neither engine can be interrupted from
   Python once it is inside a join), and that cannot open a connection or a
   file the query was not allowed (:mod:`ipgraph.store.sandbox`). Workers are
   forked once, by a fork server started when the store is opened, and
   reused; a killed one is replaced. A worker streams the results back and
   stops the query itself at the row limit; the caller stops reading, and
   raises :class:`~ipgraph.errors.QueryTooLarge`, past the byte limit.

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
import math
import os
import time
from pathlib import Path

import pyoxigraph as ox

from ipgraph.errors import QueryError, StoreError
from ipgraph.mappings import dataset_files
from ipgraph.store.base import UNION, QueryDataset, Result, Store, _graph_result, _select_result, to_python
from ipgraph.store.guard import CheckedQuery, check_query, query_error, split_dataset
from ipgraph.store.memory import MemoryStore
from ipgraph.store.oxigraph import OxigraphStore
from ipgraph.store.workers import run_in_worker, too_large

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "STORES",
    "UNION",
    "CheckedQuery",
    "MemoryStore",
    "OxigraphStore",
    "QueryDataset",
    "Result",
    "Store",
    "check_limits",
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
#: Bytes of results a query may return (as the engine serialises them) before it is stopped.
DEFAULT_MAX_BYTES = 64 << 20
#: Store kinds that :func:`open_store` knows.
STORES = ("memory", "oxigraph")


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


class _Bounded(io.BytesIO):
    """The in-process result buffer: raises past ``max_bytes``."""

    def __init__(self, max_bytes: int | None) -> None:
        super().__init__()
        self.max_bytes = max_bytes

    def write(self, data) -> int:
        if self.max_bytes is not None and self.tell() + len(data) > self.max_bytes:
            raise too_large(self.max_bytes)
        return super().write(data)


def execute(
    store: Store,
    query: str,
    bindings: dict[str, ox.NamedNode | ox.Literal] | None = None,
    *,
    timeout: float | None = DEFAULT_TIMEOUT,
    limit: int | None = DEFAULT_LIMIT,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
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
            killed); ``None`` runs it in this process without a limit and
            without the worker's confinement (for trusted queries and
            benchmarks; the guard still decides).
        limit: rows or triples kept; more are cut and ``Result.truncated`` set.
        max_bytes: bytes of results (as the engine writes them: SPARQL JSON,
            TSV or N-Triples) past which the query is stopped with
            :class:`~ipgraph.errors.QueryTooLarge`; ``None``: no limit.
        allow_services: SERVICE endpoints the query may call.
        dataset: base IRI and protocol dataset (default: the union of all
            graphs, or what the query's ``FROM``/``FROM NAMED`` name). A
            protocol dataset overrides ``FROM``, as the SPARQL 1.1 Protocol
            says; either way the query sees only graphs in the store.

    Raises:
        QueryError: a syntax error (with line and column).
        QueryRefused: an update, or SERVICE to an endpoint not allowed.
        QueryTimeout: the query ran longer than ``timeout``.
        QueryTooLarge: the results passed ``max_bytes``.
    """
    check_limits(timeout=timeout, limit=limit, max_bytes=max_bytes)
    allow_services = tuple(allow_services)
    checked = check_query(query, allow_services, dataset.base)
    if checked.dataset is not None and not dataset.restricted:
        dataset = checked.dataset  # a protocol dataset, when given, overrides FROM (SPARQL 1.1 Protocol 2.1.4)
    bindings = dict(bindings or {})
    started = time.perf_counter()
    if timeout is None or not hasattr(os, "fork"):
        buffer = _Bounded(max_bytes)
        try:
            store._evaluate(checked, bindings, buffer, limit, dataset)
        except Exception as error:
            raise query_error(error) from None
        payload = buffer.getvalue()
    else:
        payload = run_in_worker(store, query, bindings, timeout, limit, dataset, checked.services, max_bytes)
    result = _decode(payload, limit)
    result.seconds = time.perf_counter() - started
    return result


def check_limits(*, timeout: float | None = None, limit: int | None = None, max_bytes: int | None = None) -> None:
    """Refuse a limit that would not limit: NaN, infinite, zero or negative.

    Raises:
        QueryError: naming the limit and what it must be.

    Example:
        >>> check_limits(timeout=float("nan"))
        Traceback (most recent call last):
        ...
        ipgraph.errors.QueryError: timeout must be a positive, finite number of seconds, not nan
    """
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0
    ):
        raise QueryError(f"timeout must be a positive, finite number of seconds, not {timeout!r}")
    for name, value in (("limit", limit), ("max_bytes", max_bytes)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise QueryError(f"{name} must be a whole number of at least 1, not {value!r}")


def _decode(payload: bytes, limit: int | None) -> Result:
    head, _, body = payload.partition(b"\n")
    if head == b"nt":
        return _graph_result(body, limit)
    results_format = ox.QueryResultsFormat.TSV if head == b"tsv" else ox.QueryResultsFormat.JSON
    if head == b"json" and b'"boolean"' in body[:200]:
        return Result("ask", boolean=bool(ox.parse_query_results(body, results_format)))
    return _select_result(body, results_format, limit)
