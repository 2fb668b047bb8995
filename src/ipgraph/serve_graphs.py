"""Whole graphs over HTTP: the read side of the SPARQL 1.1 Graph Store
Protocol, and downloads of the whole dataset.

- ``GET``/``HEAD /graph-store?graph=IRI`` — one named graph;
  ``/graph-store?default`` — the default graph, which on this server is the
  union of all named graphs (as for queries). The same requests on
  ``/sparql`` (without a ``query``) answer the same. Turtle, N-Triples, TriG,
  N-Quads, JSON-LD or RDF/XML by ``Accept``; 404 for a graph the store does
  not have. Writes (``PUT``, ``POST``, ``DELETE``, ``PATCH``) get 405: the
  server is read-only.
- ``GET /data/ipgraph.trig`` (also ``.nq``, ``.jsonld``) — every quad served.

Bodies are streamed: Oxigraph's serialiser writes in a thread into a small
bounded queue that the response drains, so a large graph is never held in
memory as one ``bytes`` and a slow client slows the writer down.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from urllib.parse import parse_qsl

import anyio
import pyoxigraph as ox
from rdflib import BNode, URIRef
from rdflib import Literal as RdfLiteral
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ipgraph import store as store_module
from ipgraph.namespaces import PREFIXES
from ipgraph.serve_core import (
    RDF_FORMATS,
    SECURITY_HEADERS,
    HTTPProblem,
    Server,
    check_iri,
    http_date,
    negotiate,
    not_modified,
)

__all__ = ["GRAPH_STORE_TYPES", "dataset_download", "graph_store", "graph_store_endpoint", "iter_quads"]

log = logging.getLogger("ipgraph.serve")

#: media type -> format for whole graphs, in the server's order of preference.
GRAPH_STORE_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/trig": "trig",
    "application/n-quads": "nquads",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdfxml",
    "text/plain": "nt",
}
#: /data/ipgraph.<extension> -> format.
DOWNLOADS = {"trig": "trig", "nq": "nquads", "jsonld": "jsonld"}
_QUAD_FORMATS = {"trig", "nquads", "jsonld"}
READ_ONLY_ALLOW = "GET, HEAD, OPTIONS"
_CHUNK = 64 << 10


# ---------------------------------------------------------------------------
# Reading quads out of a store (both kinds), without the query machinery
# ---------------------------------------------------------------------------


def _ox_term(term):
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, RdfLiteral):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"not an RDF term: {term!r}")


def has_graph(store: store_module.Store, graph: str) -> bool:
    """Whether the store holds a named graph ``graph`` with at least one triple."""
    return next(iter_quads(store, graph), None) is not None


def iter_quads(store: store_module.Store, graph: str | None, *, union: bool = False) -> Iterator[ox.Quad]:
    """The quads of named graph ``graph``; with ``graph=None`` every quad of
    the store, or (``union=True``) each triple of the union of all graphs
    once, in the default graph.

    This reads the store directly (no query, so no row limit): the Graph
    Store Protocol returns a graph whole.
    """
    if isinstance(store, store_module.OxigraphStore):
        name = ox.NamedNode(graph) if graph is not None else None
        quads = store.store.quads_for_pattern(None, None, None, name)
        if not union:
            yield from quads
            return
        seen: set = set()
        for quad in quads:
            triple = quad.triple
            if triple not in seen:
                seen.add(triple)
                yield ox.Quad(triple.subject, triple.predicate, triple.object)
        return
    if isinstance(store, store_module.MemoryStore):
        dataset = store.dataset
        if graph is not None:
            name = ox.NamedNode(graph)
            for s, p, o in dataset.get_context(URIRef(graph)).triples((None, None, None)):
                yield ox.Quad(_ox_term(s), _ox_term(p), _ox_term(o), name)
        elif union:
            for s, p, o in dataset.triples((None, None, None)):
                yield ox.Quad(_ox_term(s), _ox_term(p), _ox_term(o))
        else:
            for s, p, o, context in dataset.quads((None, None, None, None)):
                context = getattr(context, "identifier", context)  # a graph or its name, by rdflib version
                default = context is None or context == DATASET_DEFAULT_GRAPH_ID
                name = ox.DefaultGraph() if default else _ox_term(context)
                yield ox.Quad(_ox_term(s), _ox_term(p), _ox_term(o), name)
        return
    if isinstance(store, store_module.SparqlStore):
        quads = store.quads(graph)  # graph by graph, never the whole store in one answer
        if not union:
            yield from quads
            return
        seen = set()
        for quad in quads:
            if quad.triple not in seen:
                seen.add(quad.triple)
                yield ox.Quad(quad.subject, quad.predicate, quad.object)
        return
    raise TypeError(f"cannot read graphs of a {type(store).__name__}")


# ---------------------------------------------------------------------------
# Streaming a serialisation
# ---------------------------------------------------------------------------


class _Stopped(Exception):
    """The client went away: stop writing."""


class _QueueWriter(io.RawIOBase):
    """A binary file whose writes go, in chunks, into a bounded queue."""

    def __init__(self, chunks: queue.Queue, stop: threading.Event) -> None:
        self.chunks, self.stop, self.buffer = chunks, stop, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer += data
        if len(self.buffer) >= _CHUNK:
            self.push()
        return len(data)

    def push(self) -> None:
        if not self.buffer:
            return
        chunk, self.buffer = bytes(self.buffer), bytearray()
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                self.chunks.put(chunk, timeout=0.2)
                return
            except queue.Full:
                continue


def stream_serialisation(write: Callable[[io.RawIOBase], None]) -> AsyncIterator[bytes]:
    """Run ``write(file)`` in a thread and yield what it writes, chunk by chunk."""
    chunks: queue.Queue = queue.Queue(maxsize=8)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        writer = _QueueWriter(chunks, stop)
        try:
            write(writer)
            writer.push()
        except _Stopped:
            pass
        except Exception as error:  # reported to the consumer, which ends the response
            chunks.put(error)
        finally:
            chunks.put(end)

    async def consume() -> AsyncIterator[bytes]:
        thread = threading.Thread(target=produce, name="ipgraph-graph-writer", daemon=True)
        thread.start()
        try:
            while True:
                item = await anyio.to_thread.run_sync(chunks.get)
                if item is end:
                    return
                if isinstance(item, Exception):
                    log.error("writing a graph failed", exc_info=item)
                    raise item  # the connection is cut: a client must not take a partial graph for a whole one
                yield item
        finally:
            stop.set()
            with contextlib.suppress(queue.Empty):
                while True:
                    chunks.get_nowait()

    return consume()


def _weak_etag(server: Server, *parts: str) -> str:
    generation = server.generation
    basis = repr((generation.stamp or server.started, generation.number, parts))
    return 'W/"' + hashlib.sha256(basis.encode()).hexdigest()[:32] + '"'


def _graph_response(
    server: Server, request: Request, quads: Callable[[], Iterator[ox.Quad]], rdf_format: str, extra: dict[str, str]
) -> Response:
    ox_format, media_type = RDF_FORMATS[rdf_format]
    generation = server.generation
    etag = _weak_etag(server, request.url.path, request.url.query, rdf_format)
    headers = {
        **SECURITY_HEADERS,
        **extra,
        "ETag": etag,
        "Last-Modified": http_date(generation.modified),
        "Cache-Control": f"public, max-age={server.config.cache_seconds}",
    }
    if not_modified(request, etag, generation.modified):
        return Response(status_code=304, headers={k: headers[k] for k in ("ETag", "Last-Modified", "Cache-Control")})
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type=media_type)
    prefixes = dict(PREFIXES) if rdf_format in ("turtle", "trig", "rdfxml") else None

    def write(out: io.RawIOBase) -> None:
        source = quads()
        if rdf_format not in _QUAD_FORMATS:
            source = (quad.triple for quad in source)
        ox.serialize(source, output=out, format=ox_format, prefixes=prefixes)

    return StreamingResponse(stream_serialisation(write), 200, headers=headers, media_type=media_type)


# ---------------------------------------------------------------------------
# The endpoints
# ---------------------------------------------------------------------------


def graph_store(server: Server, request: Request, graph: str | None) -> Response:
    """A Graph Store Protocol read of named graph ``graph`` (``None``: the default graph)."""
    if graph is not None:
        check_iri(graph, "graph IRI")
    accept = request.headers.get("accept")
    media = negotiate(accept, list(GRAPH_STORE_TYPES))
    if media is None:
        raise HTTPProblem(406, f"cannot send a graph as {accept}; offered: {', '.join(GRAPH_STORE_TYPES)}")
    store = server.store
    if graph is not None:
        if not has_graph(store, graph):
            raise HTTPProblem(404, f"the dataset has no graph {graph}")
        quads = lambda: iter_quads(store, graph)  # noqa: E731
    else:
        quads = lambda: iter_quads(store, None, union=True)  # noqa: E731
    return _graph_response(server, request, quads, GRAPH_STORE_TYPES[media], {"Vary": "Accept"})


def graph_of(params: list[tuple[str, str]]) -> tuple[bool, str | None]:
    """Whether ``params`` (a query string) address the Graph Store Protocol,
    and which graph: ``graph=IRI`` or ``default`` (``None``), one of them once.

    Raises:
        HTTPProblem: 400 for both, several, or an empty graph IRI.
    """
    graphs = [value for name, value in params if name == "graph"]
    default = [name for name, _ in params if name == "default"]
    if not graphs and not default:
        return False, None
    if len(graphs) + len(default) > 1:
        raise HTTPProblem(400, "give exactly one of ?graph=IRI or ?default")
    if graphs and not graphs[0]:
        raise HTTPProblem(400, "?graph= needs a graph IRI")
    return True, graphs[0] if graphs else None


async def graph_store_endpoint(server: Server, request: Request) -> Response:
    """``/graph-store``: the Graph Store Protocol, read side only."""
    if request.method not in ("GET", "HEAD"):
        raise HTTPProblem(
            405, f"{request.method} would change a graph: this endpoint is read-only", {"Allow": READ_ONLY_ALLOW}
        )
    try:
        params = parse_qsl(request.scope.get("query_string", b"").decode("ascii"), keep_blank_values=True,
                           errors="strict")  # fmt: skip
    except UnicodeError:
        raise HTTPProblem(400, "the query string is not valid percent-encoded UTF-8") from None
    addressed, graph = graph_of(params)
    if not addressed:
        raise HTTPProblem(400, "name a graph: /graph-store?graph=IRI, or /graph-store?default for the default graph")
    return graph_store(server, request, graph)


async def dataset_download(server: Server, request: Request) -> Response:
    """``/data/ipgraph.<trig|nq|jsonld>``: every quad being served, streamed."""
    extension = request.path_params["extension"]
    if extension not in DOWNLOADS:
        raise HTTPProblem(404, f"the dataset is offered as {', '.join('ipgraph.' + e for e in DOWNLOADS)}")
    store = server.store
    headers = {"Content-Disposition": f'attachment; filename="ipgraph.{extension}"'}
    return _graph_response(server, request, lambda: iter_quads(store, None), DOWNLOADS[extension], headers)
