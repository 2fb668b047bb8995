"""Serve the graph over HTTP: a SPARQL 1.1 Protocol endpoint, a query UI and
dereferenceable linked-data pages.

:func:`create_app` builds a Starlette application from a loaded store
(:mod:`ipgraph.store`); :func:`serve` hands it to uvicorn. Every query, the
user's and the pages' own, waits for a slot in a bounded, per-client fair
queue (:mod:`ipgraph.serve_admission`; 503 when full) and runs through
:func:`ipgraph.store.execute`, which refuses updates and ``SERVICE`` (unless
allow-listed) on the query's parse, runs ``FROM``/``FROM NAMED`` on the
store's own graphs (never fetching them), stops a query at its timeout or
byte limit (503) and cuts its rows at the limit. This module only speaks HTTP:

- ``/sparql`` — the SPARQL 1.1 Protocol (GET, POST form, POST direct;
  ``default-graph-uri``/``named-graph-uri``); results in SPARQL JSON, XML,
  CSV, TSV, or Turtle, N-Triples, JSON-LD, RDF/XML, chosen by ``Accept``.
  Without a query it answers with its SPARQL Service Description.
- ``/id/...`` — each resource ``https://w3id.org/ipgraph/id/...``: a 303 to
  its HTML page or RDF document (``.html``, ``.ttl``, ``.jsonld``, ``.nt``,
  ``.rdf``), chosen by ``Accept``.
- ``/`` home (classes and counts, views), ``/query`` (YASGUI with the named
  queries), ``/list?class=IRI``, ``/health``.

Example:
    >>> app = open_app("build/ipgraph.trig", "oxigraph")          # doctest: +SKIP
    >>> get(app, "/sparql?query=ASK%20%7B%7D")                    # doctest: +SKIP
    (200, 'application/sparql-results+json', b'{"head":{},"boolean":true}')
    >>> serve(app, "127.0.0.1", 8000)                             # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import anyio
import pyoxigraph as ox
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ipgraph import query as query_module
from ipgraph import store as store_module
from ipgraph.errors import IpgraphError, QueryError, QueryRefused, QueryTimeout, QueryTooLarge
from ipgraph.namespaces import PREFIXES
from ipgraph.serve_admission import Admission, Busy

__all__ = ["HTTPProblem", "ServeConfig", "create_app", "get", "negotiate", "open_app", "read_operation", "serve"]

log = logging.getLogger("ipgraph.serve")

VIEWS = Path("build/views")
_STATIC = Path(__file__).resolve().parent / "static"


@dataclass
class ServeConfig:
    """What the server allows: limits, where named queries and views live.

    ``workers`` is the number of queries that start at once (each in its own
    process, see :func:`ipgraph.store.execute`); a query running longer than
    ``slow_after`` seconds no longer holds a slot, up to ``4 * workers``
    running in all; ``per_client`` (default ``workers``) bounds one client's
    running queries; at most ``queue`` wait, then 503
    (:mod:`ipgraph.serve_admission`). ``max_bytes`` bounds a result as the
    engine writes it and the response body: past it, 503.
    """

    timeout: float = 10.0
    max_rows: int = 10_000
    max_bytes: int = 16 << 20
    queue: int = 32
    per_client: int | None = None
    slow_after: float = 0.5
    max_body: int = 1 << 20
    max_url: int = 16 << 10
    workers: int = 4
    allow_services: tuple[str, ...] = ()
    queries: Path = query_module.QUERIES_DIR
    page_queries: Path | None = None
    views: Path | None = VIEWS


# ---------------------------------------------------------------------------
# Content negotiation
# ---------------------------------------------------------------------------

#: media type -> result format, in the server's order of preference.
SELECT_TYPES = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "application/xml": "xml",
    "text/xml": "xml",
}
ASK_TYPES = {k: v for k, v in SELECT_TYPES.items() if v in ("json", "xml")}
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdfxml",
    "application/x-turtle": "turtle",
    "text/plain": "nt",
    "application/json": "jsonld",
}
_RDF_FORMATS = {
    "turtle": (ox.RdfFormat.TURTLE, "text/turtle; charset=utf-8"),
    "nt": (ox.RdfFormat.N_TRIPLES, "application/n-triples; charset=utf-8"),
    "jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    "rdfxml": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
}
#: Linked-data documents: file extension -> (format, media type).
DOCUMENT_TYPES = {
    "html": "text/html",
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
    "rdf": "application/rdf+xml",
}
_EXTENSION_FORMAT = {"ttl": "turtle", "jsonld": "jsonld", "nt": "nt", "rdf": "rdfxml"}


def _accept_ranges(header: str) -> list[tuple[str, float]]:
    ranges = []
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        q = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((pieces[0].lower(), q))
    return ranges


def negotiate(accept: str | None, offers: list[str]) -> str | None:
    """The offered media type that ``accept`` (an HTTP Accept header) likes
    best, the first offer on a tie or when there is no header; ``None`` when
    it accepts none of them.

    Example:
        >>> negotiate("text/csv;q=0.5, application/sparql-results+xml", ["application/sparql-results+json",
        ...     "application/sparql-results+xml", "text/csv"])
        'application/sparql-results+xml'
        >>> negotiate("image/png", ["text/turtle"]) is None
        True
    """
    if not accept or not accept.strip():
        return offers[0]
    ranges = _accept_ranges(accept)
    best, best_q = None, 0.0
    for offer in offers:
        kind = offer.split("/")[0] + "/*"
        quality, specificity = 0.0, -1
        for media_range, q in ranges:
            rank = 2 if media_range == offer else 1 if media_range == kind else 0 if media_range == "*/*" else -1
            if rank > specificity:
                quality, specificity = q, rank
        if specificity >= 0 and quality > best_q:
            best, best_q = offer, quality
    return best


# ---------------------------------------------------------------------------
# Result writers: SPARQL results by ipgraph.query.format_result (Oxigraph's
# W3C writers); RDF here, for the formats that function does not offer
# ---------------------------------------------------------------------------


def write_results(result: store_module.Result, result_format: str) -> bytes:
    """Serialise a SELECT or ASK result as SPARQL results ``json``, ``xml``, ``csv`` or ``tsv``."""
    return query_module.format_result(result, result_format).encode("utf-8")


def write_graph(triples: list, rdf_format: str) -> bytes:
    """Serialise triples as ``turtle``, ``nt``, ``jsonld`` or ``rdfxml`` (with the project's prefixes)."""
    ox_format, _ = _RDF_FORMATS[rdf_format]
    prefixes = None
    if rdf_format in ("turtle", "rdfxml"):
        iris = {term.value for triple in triples for term in triple if isinstance(term, ox.NamedNode)}
        prefixes = {p: ns for p, ns in PREFIXES.items() if any(iri.startswith(ns) for iri in iris)}
    return ox.serialize(triples, format=ox_format, prefixes=prefixes) or b""


# ---------------------------------------------------------------------------
# The protocol dataset (default-graph-uri / named-graph-uri)
# ---------------------------------------------------------------------------
# read_operation collects the parameters; Server.execute hands them to
# ipgraph.store.execute as a QueryDataset, which overrides the query's own
# FROM / FROM NAMED when either is given (SPARQL 1.1 Protocol 2.1.4) and
# otherwise runs the query on the graphs its FROM clauses name. Either way
# only graphs in the store are seen: an IRI that names none is an empty graph.


# ---------------------------------------------------------------------------
# Errors: one function shapes every error response
# ---------------------------------------------------------------------------


class HTTPProblem(Exception):
    """An HTTP error to send: status and a one-line message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


_TITLES = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The response for any error: an HTML page for browsers, plain text
    (the message, e.g. the SPARQL parser's) for everyone else."""
    title = _TITLES.get(status, "Error")
    headers = {**_SECURITY_HEADERS, **(headers or {})}
    if negotiate(request.headers.get("accept"), ["text/plain", "text/html"]) == "text/html":
        page = _templates().get_template("error.html").render(status=status, title=title, message=message)
        return Response(page, status, headers={**headers, "Content-Security-Policy": _CSP}, media_type="text/html")
    return Response(f"{status} {title}: {message}\n", status, headers=headers, media_type="text/plain")


def _problem_for(error: IpgraphError) -> HTTPProblem:
    # 503 for every limit of this server a query reached (time, result size):
    # the query is valid, this server will not answer it whole
    if isinstance(error, QueryTimeout | QueryTooLarge):
        return HTTPProblem(503, str(error))
    if isinstance(error, QueryRefused):
        return HTTPProblem(403, str(error))
    if isinstance(error, QueryError):
        return HTTPProblem(400, str(error))
    return HTTPProblem(500, str(error))


# ---------------------------------------------------------------------------
# Reading a protocol request
# ---------------------------------------------------------------------------


@dataclass
class Operation:
    """A SPARQL query request: the query text and its protocol dataset."""

    query: str | None
    default_graphs: list[str]
    named_graphs: list[str]


_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*$")


def _form(data: bytes, where: str) -> list[tuple[str, str]]:
    try:
        text = data.decode("ascii")
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise HTTPProblem(400, f"the {where} is not valid percent-encoded UTF-8") from None


def _content_type(header: str | None) -> tuple[str, dict[str, str]]:
    if not header:
        return "", {}
    media, *parameters = header.split(";")
    options = {}
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        options[name.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), options


async def _body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise HTTPProblem(413, f"the request body is larger than {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPProblem(413, f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_operation(request: Request, config: ServeConfig) -> Operation:
    """Parse a SPARQL 1.1 Protocol query request (GET, POST form, POST direct).

    Raises:
        HTTPProblem: 400 (several queries, bad encoding, bad IRI), 403 (an
            update), 405 (another method), 413/414 (too large), 415 (a POST
            body that is neither a form nor ``application/sparql-query``).
    """
    raw_query = request.scope.get("query_string", b"")
    if len(raw_query) > config.max_url:
        raise HTTPProblem(414, f"the query string is longer than {config.max_url} bytes; POST the query instead")
    params = _form(raw_query, "query string")
    if request.method == "POST":
        media, options = _content_type(request.headers.get("content-type"))
        body = await _body(request, config.max_body)
        if media == "application/x-www-form-urlencoded":
            params += _form(body, "form body")
        elif media == "application/sparql-query":
            charset = options.get("charset", "utf-8").lower()
            if charset not in ("utf-8", "utf8"):
                raise HTTPProblem(415, f"a query must be sent in UTF-8, not {charset}")
            try:
                params.append(("query", body.decode("utf-8")))
            except UnicodeDecodeError:
                raise HTTPProblem(400, "the query is not valid UTF-8") from None
        elif media == "application/sparql-update":
            raise HTTPProblem(403, "SPARQL Update is not allowed: this endpoint is read-only")
        elif not media:
            raise HTTPProblem(
                415, "a POST needs Content-Type application/x-www-form-urlencoded or application/sparql-query"
            )
        else:
            raise HTTPProblem(
                415,
                f"unsupported Content-Type {media}; use application/x-www-form-urlencoded or application/sparql-query",
            )
    elif request.method not in ("GET", "HEAD"):
        raise HTTPProblem(
            405, f"{request.method} is not a SPARQL query method; use GET or POST", {"Allow": "GET, POST"}
        )
    names = {name for name, _ in params}
    if "update" in names:
        raise HTTPProblem(403, "SPARQL Update is not allowed: this endpoint is read-only")
    queries = [value for name, value in params if name == "query"]
    if len(queries) > 1:
        raise HTTPProblem(400, f"{len(queries)} queries given; send exactly one 'query' parameter")
    default = [value for name, value in params if name == "default-graph-uri"]
    named = [value for name, value in params if name == "named-graph-uri"]
    for iri in default + named:
        if not _IRI.match(iri):
            raise HTTPProblem(400, f"not an absolute IRI: {iri!r}")
    if not queries and request.method == "POST":
        raise HTTPProblem(400, "no query given; send a 'query' parameter or an application/sparql-query body")
    return Operation(queries[0] if queries else None, default, named)


# ---------------------------------------------------------------------------
# Named queries (for the UI) and the pages' own queries
# ---------------------------------------------------------------------------


def named_queries(folder: Path) -> list[dict[str, Any]]:
    """The named queries of ``folder`` (:func:`ipgraph.query.list_named`) as
    the UI shows them: name, question, parameters and text."""
    return [
        {
            "name": named.name,
            "question": named.question,
            "params": [param.name for param in named.params],
            "text": named.text,
        }
        for named in query_module.list_named(folder)
    ]


# ---------------------------------------------------------------------------
# The application
# ---------------------------------------------------------------------------

_ENV: Environment | None = None
#: The endpoint answers every method itself, so that a wrong one gets a SPARQL-shaped 405.
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]


def _templates() -> Environment:
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=PackageLoader("ipgraph", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return _ENV


#: The client of the request being answered (its peer address), for the admission queue.
CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("ipgraph_client", default="-")


class _ClientMiddleware:
    """Records each request's client in :data:`CLIENT` (pages' queries run with it too)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            CLIENT.set(client[0] if client else "-")
        await self.app(scope, receive, send)


class Server:
    """The state behind the routes: the store, its limits and a cache of the
    home page's counts (the store is read-only while served)."""

    def __init__(self, store: store_module.Store, config: ServeConfig) -> None:
        self.store = store
        self.config = config
        self.admission = Admission(
            config.workers, per_client=config.per_client, queue=config.queue, slow_after=config.slow_after
        )
        self.limiter = anyio.CapacityLimiter(self.admission.max_running)
        self._page_queries: dict[str, str] = {}
        self._cache: dict[str, Any] = {}
        self.started = time.time()

    # -- running queries -----------------------------------------------------

    async def execute(
        self,
        query: str,
        bindings: dict | None = None,
        *,
        default_graphs: list[str] | None = None,
        named_graphs: list[str] | None = None,
        base: str | None = None,
        limit: int | None = None,
    ) -> store_module.Result:
        """Run ``query`` through :func:`ipgraph.store.execute` in a worker thread."""
        run = partial(
            store_module.execute,
            self.store,
            query,
            bindings,
            timeout=self.config.timeout,
            limit=self.config.max_rows if limit is None else limit,
            max_bytes=self.config.max_bytes,
            allow_services=self.config.allow_services,
            dataset=store_module.QueryDataset(base, tuple(default_graphs or ()), tuple(named_graphs or ())),
        )
        try:
            store_module.check_query(query, self.config.allow_services, base)  # refused before it waits
            async with self.admission.slot(CLIENT.get()):
                return await anyio.to_thread.run_sync(run, limiter=self.limiter)
        except Busy as error:
            raise HTTPProblem(503, str(error), {"Retry-After": "1"}) from None
        except IpgraphError as error:
            raise _problem_for(error) from None

    def page_query(self, name: str) -> str:
        if name not in self._page_queries:
            folder = self.config.page_queries or Path(self.config.queries) / "serve"
            self._page_queries[name] = query_module.load_named(name, folder).text
        return self._page_queries[name]

    async def page_rows(self, name: str, **bindings) -> list[dict[str, Any]]:
        """Rows of the page query ``queries/serve/<name>.rq`` with IRIs bound as terms."""
        result = await self.execute(self.page_query(name), {k: ox.NamedNode(v) for k, v in bindings.items()})
        return [dict(zip(result.variables, row, strict=False)) for row in result.rows]

    async def cached_rows(self, name: str) -> list[dict[str, Any]]:
        """Like :meth:`page_rows` without bindings, computed once (the store does not change while served)."""
        if name not in self._cache:
            self._cache[name] = await self.page_rows(name)
        return self._cache[name]


def create_app(store: store_module.Store, config: ServeConfig | None = None) -> Starlette:
    """The web application serving ``store``: SPARQL endpoint, pages, UI.

    Parameters:
        store: a loaded :class:`ipgraph.store.Store` (memory or oxigraph).
        config: limits and folders; :class:`ServeConfig` defaults otherwise.
    """
    config = config or ServeConfig()
    server = Server(store, config)
    from ipgraph import serve_pages

    routes = [
        Route("/sparql", partial(sparql_endpoint, server), methods=_ALL_METHODS),
        Route("/sparql/", partial(sparql_endpoint, server), methods=_ALL_METHODS),
        Route("/health", partial(health, server)),
        *serve_pages.routes(server),
        Mount("/static", StaticFiles(directory=_STATIC), name="static"),
    ]
    if config.views is not None and Path(config.views).is_dir():
        routes.append(Mount("/views", StaticFiles(directory=config.views, html=True), name="views"))
    middleware = [
        Middleware(_ClientMiddleware),
        Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET"], allow_headers=["Accept"], max_age=600)
    ]

    async def problem(request: Request, error: HTTPProblem) -> Response:
        return error_response(request, error.status, error.message, error.headers)

    async def not_found(request: Request, error: Exception) -> Response:
        return error_response(request, 404, f"nothing at {request.url.path}")

    async def internal_error(request: Request, error: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return error_response(request, 500, "the server failed on this request; its log says why")

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPProblem: problem, 404: not_found, Exception: internal_error},
    )
    app.state.server = server
    return app


async def health(server: Server, request: Request) -> Response:
    """Liveness and what is served: store kind, quads, limits, uptime."""
    return JSONResponse(
        {
            "status": "ok",
            "store": server.store.kind,
            "quads": len(server.store),
            "timeout": server.config.timeout,
            "max_rows": server.config.max_rows,
            "max_bytes": server.config.max_bytes,
            "queries": server.admission.stats(),
            "uptime_seconds": round(time.time() - server.started, 1),
        },
        headers=_SECURITY_HEADERS,
    )


async def sparql_endpoint(server: Server, request: Request) -> Response:
    """The SPARQL 1.1 Protocol query operation, or the service description."""
    operation = await read_operation(request, server.config)
    if operation.query is None:
        return await service_description(server, request)
    started = time.perf_counter()
    status, kind, rows = 200, "-", 0
    try:
        result = await server.execute(
            operation.query,
            default_graphs=operation.default_graphs,
            named_graphs=operation.named_graphs,
            base=str(request.url.replace(query="", fragment="")),
        )
        kind, rows = result.kind, len(result)
        accept = request.headers.get("accept")
        if result.kind == "graph":
            media = negotiate(accept, list(GRAPH_TYPES))
            if media is None:
                raise HTTPProblem(406, f"cannot answer a graph in {accept}; offered: {', '.join(GRAPH_TYPES)}")
            rdf_format = GRAPH_TYPES[media]
            body, media_type = write_graph(result.triples, rdf_format), _RDF_FORMATS[rdf_format][1]
        else:
            offers = SELECT_TYPES if result.kind == "select" else ASK_TYPES
            media = negotiate(accept, list(offers))
            if media is None:
                raise HTTPProblem(
                    406, f"cannot answer a {result.kind.upper()} in {accept}; offered: {', '.join(offers)}"
                )
            body = write_results(result, offers[media])
            media_type = media
            if media_type.startswith("text/"):
                media_type += "; charset=utf-8"
        if len(body) > server.config.max_bytes:
            raise HTTPProblem(503, store_module.workers.too_large(server.config.max_bytes).message)
        headers = {"Vary": "Accept"}
        if result.truncated:
            headers["X-Ipgraph-Truncated"] = f"true; the result was cut at {server.config.max_rows} rows"
        return Response(body, 200, headers=headers, media_type=media_type)
    except HTTPProblem as problem:
        status = problem.status
        raise
    finally:
        first_line = " ".join(operation.query.split())[:100]
        log.info(
            "%s /sparql %s %d rows %.1f ms -> %d: %s",
            request.method,
            kind,
            rows,
            (time.perf_counter() - started) * 1000,
            status,
            first_line,
        )


async def service_description(server: Server, request: Request) -> Response:
    """The SPARQL 1.1 Service Description of this endpoint (Turtle, or another RDF format by Accept)."""
    offers = ["text/turtle", "application/ld+json", "application/rdf+xml", "application/n-triples", "text/html"]
    media = negotiate(request.headers.get("accept"), offers)
    if media == "text/html":
        return RedirectResponse("/query", status_code=303, headers={"Vary": "Accept"})
    if media is None:
        raise HTTPProblem(406, f"the service description is available as {', '.join(offers[:4])}")
    endpoint = str(request.url.replace(query="", fragment=""))
    sd = "http://www.w3.org/ns/sparql-service-description#"
    formats = "http://www.w3.org/ns/formats/"
    void = "http://rdfs.org/ns/void#"
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    service = ox.NamedNode(endpoint + "#service")
    dataset = ox.NamedNode(endpoint + "#dataset")
    default_graph = ox.NamedNode(endpoint + "#default-graph")

    def t(s, p, o):
        return ox.Triple(s, ox.NamedNode(p) if isinstance(p, str) else p, o)

    triples = [
        t(service, rdf_type, ox.NamedNode(sd + "Service")),
        t(service, sd + "endpoint", ox.NamedNode(endpoint)),
        t(service, sd + "supportedLanguage", ox.NamedNode(sd + "SPARQL11Query")),
        t(service, sd + "feature", ox.NamedNode(sd + "UnionDefaultGraph")),
        t(service, sd + "defaultDataset", dataset),
        t(
            service,
            "http://www.w3.org/2000/01/rdf-schema#comment",
            ox.Literal(
                f"Read-only SPARQL 1.1 Query endpoint of ipgraph. Queries stop after {server.config.timeout:g} s and "
                f"return at most {server.config.max_rows} rows and {server.config.max_bytes} bytes (503 past "
                "those); SPARQL Update, LOAD and SERVICE are refused; FROM, "
                "FROM NAMED and the protocol dataset pick graphs of this store, nothing is fetched.",
                language="en",
            ),
        ),
        t(dataset, rdf_type, ox.NamedNode(sd + "Dataset")),
        t(dataset, sd + "defaultGraph", default_graph),
        t(default_graph, rdf_type, ox.NamedNode(sd + "Graph")),
        t(
            default_graph,
            void + "triples",
            ox.Literal(str(len(server.store)), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
        ),
    ]
    for name in (
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
        "Turtle",
        "N-Triples",
        "JSON-LD",
        "RDF_XML",
    ):
        triples.append(t(service, sd + "resultFormat", ox.NamedNode(formats + name)))
    for index, row in enumerate(await server.cached_rows("graphs")):
        node = ox.NamedNode(f"{endpoint}#named-graph-{index}")
        triples += [
            t(dataset, sd + "namedGraph", node),
            t(node, rdf_type, ox.NamedNode(sd + "NamedGraph")),
            t(node, sd + "name", row["graph"]),
        ]
    rdf_format = {
        "text/turtle": "turtle",
        "application/ld+json": "jsonld",
        "application/rdf+xml": "rdfxml",
        "application/n-triples": "nt",
    }[media]
    prefixes = {"sd": sd, "formats": formats, "void": void, "rdfs": "http://www.w3.org/2000/01/rdf-schema#"}
    ox_format, media_type = _RDF_FORMATS[rdf_format]
    body = ox.serialize(triples, format=ox_format, prefixes=prefixes if rdf_format == "turtle" else None)
    return Response(body, 200, headers={"Vary": "Accept", **_SECURITY_HEADERS}, media_type=media_type)


# ---------------------------------------------------------------------------
# Running it
# ---------------------------------------------------------------------------


def serve(app: Starlette, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info") -> None:
    """Run ``app`` with uvicorn until interrupted (Ctrl-C or SIGTERM stop it
    gracefully: requests in flight get 5 s to finish)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5, server_header=False)


def open_app(
    dataset: str | Path,
    store: str = "oxigraph",
    store_path: str | Path | None = None,
    config: ServeConfig | None = None,
) -> Starlette:
    """Load ``dataset`` into a store (:func:`ipgraph.store.open_store`) and build the app on it.

    Raises:
        StoreError: unknown store kind, missing or broken dataset.
    """
    return create_app(store_module.open_store(dataset, store, store_path), config)


def get(app: Starlette, path: str, accept: str | None = None) -> tuple[int, str, bytes]:
    """Make one in-process GET request to ``app`` (no socket): status, media type, body.

    Example:
        >>> status, media, body = get(open_app("build/ipgraph.trig"), "/health")  # doctest: +SKIP
    """
    import httpx

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.get(path, headers={"Accept": accept} if accept else {})

    response = anyio.run(fetch)
    return response.status_code, response.headers.get("content-type", ""), response.content
