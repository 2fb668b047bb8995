"""Serve the graph over HTTP: a SPARQL 1.1 Protocol endpoint, the read side
of the Graph Store Protocol, a query UI and dereferenceable linked-data pages.

:func:`create_app` builds a Starlette application from a loaded store
(:mod:`ipgraph.store`); :func:`serve` hands it to uvicorn. Every query, the
user's and the pages' own, waits for a slot in a bounded, per-client fair
queue (:mod:`ipgraph.serve_admission`; 503 when full) and runs through
:func:`ipgraph.store.execute`, which refuses updates and ``SERVICE`` (unless
allow-listed) on the query's parse, runs ``FROM``/``FROM NAMED`` on the
store's own graphs (never fetching them), stops a query at its timeout or
byte limit (503) and cuts its rows at the limit. This module speaks the
SPARQL protocol and puts the application together:

- ``/sparql`` — the SPARQL 1.1 Protocol (GET, POST form, POST direct;
  ``default-graph-uri``/``named-graph-uri``); results in SPARQL JSON, XML,
  CSV, TSV, or Turtle, N-Triples, JSON-LD, RDF/XML, chosen by ``Accept``.
  Without a query it answers with its SPARQL Service Description, or, given
  ``?graph=IRI`` or ``?default``, with that graph (as ``/graph-store``).
- ``/graph-store`` and ``/data/ipgraph.<ext>`` — whole graphs, streamed
  (:mod:`ipgraph.serve_graphs`).
- ``/id/...``, ``/``, ``/schema``, ``/search``, ``/query``,
  ``/query/NAME``, ``/list`` — pages and linked-data documents
  (:mod:`ipgraph.serve_pages`), search through an FTS5 index of every
  name (:mod:`ipgraph.serve_search`); ``/health``.
- Analyst pages: ``/figures``, ``/map``, ``/timeline`` (drawn by
  :mod:`ipgraph.charts`), mounted from ``ServeConfig.pages``
  (:class:`~ipgraph.serve_core.AnalystPage`, by default
  :func:`~ipgraph.serve_core.analyst_pages`); ``/tables/NAME.csv`` and
  ``.xlsx``, the analyst tables as downloads (:mod:`ipgraph.tables`).

Both other modules build on :mod:`ipgraph.serve_core` (settings, errors,
negotiation, the :class:`~ipgraph.serve_core.Server` state), which imports
neither. A new build of the dataset is picked up while serving (a file
watch and SIGHUP, see :func:`create_app`).

Example:
    >>> app = open_app("build/ipgraph.trig", "oxigraph")          # doctest: +SKIP
    >>> get(app, "/sparql?query=ASK%20%7B%7D")                    # doctest: +SKIP
    (200, 'application/sparql-results+json', b'{"head":{},"boolean":true}')
    >>> serve(app, "127.0.0.1", 8000)                             # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from urllib.parse import parse_qsl

import anyio
import pyoxigraph as ox
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ipgraph import query as query_module
from ipgraph import serve_graphs, serve_pages
from ipgraph import store as store_module
from ipgraph.serve_core import (
    ASK_TYPES,
    CURRENT,
    GRAPH_TYPES,
    RDF_FORMATS,
    SECURITY_HEADERS,
    SELECT_TYPES,
    AnalystPage,
    ClientMiddleware,
    HTTPProblem,
    ServeConfig,
    Server,
    check_iri,
    error_response,
    negotiate,
    write_graph,
)
from ipgraph.serve_core import bind as bind_handler

__all__ = [
    "AnalystPage",
    "HTTPProblem",
    "ServeConfig",
    "create_app",
    "get",
    "negotiate",
    "open_app",
    "read_operation",
    "serve",
]

log = logging.getLogger("ipgraph.serve")
_STATIC = Path(__file__).resolve().parent / "static"


def write_results(result: store_module.Result, result_format: str) -> bytes:
    """Serialise a SELECT or ASK result as SPARQL results ``json``, ``xml``, ``csv`` or ``tsv``."""
    return query_module.format_result(result, result_format).encode("utf-8")


# The protocol dataset (default-graph-uri / named-graph-uri): read_operation
# collects the parameters; Server.execute hands them to ipgraph.store.execute
# as a QueryDataset, which overrides the query's own FROM / FROM NAMED when
# either is given (SPARQL 1.1 Protocol 2.1.4) and otherwise runs the query on
# the graphs its FROM clauses name. Either way only graphs in the store are
# seen: an IRI that names none is an empty graph.


# ---------------------------------------------------------------------------
# Reading a protocol request
# ---------------------------------------------------------------------------


@dataclass
class Operation:
    """A SPARQL query request: the query text and its protocol dataset."""

    query: str | None
    default_graphs: list[str]
    named_graphs: list[str]
    #: A Graph Store Protocol read (``?graph=IRI`` or ``?default``, no query): the graph, None for the default.
    graph_store: bool = False
    graph: str | None = None


#: Methods of the SPARQL endpoint (a read-only one: no PUT, DELETE, PATCH).
SPARQL_ALLOW = "GET, HEAD, POST, OPTIONS"


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
    if request.method == "POST" and serve_graphs.graph_of(params)[0]:
        raise HTTPProblem(403, "the Graph Store Protocol is read-only here: a graph can be read (GET), not changed")
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
            405,
            f"{request.method} is not a SPARQL query method (this endpoint is read-only); use GET or POST",
            {"Allow": SPARQL_ALLOW},
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
        check_iri(iri)
    addressed, graph = serve_graphs.graph_of(params)
    if addressed and queries:
        raise HTTPProblem(400, "a request is a query or a Graph Store Protocol read (?graph=, ?default), not both")
    if not queries and request.method == "POST":
        raise HTTPProblem(400, "no query given; send a 'query' parameter or an application/sparql-query body")
    return Operation(queries[0] if queries else None, default, named, addressed, graph)


# ---------------------------------------------------------------------------
# The application
# ---------------------------------------------------------------------------

#: The endpoint answers every method itself, so that a wrong one gets a SPARQL-shaped 405.
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]
#: What a cross-origin page may do: read (GET, HEAD) and query (POST).
CORS_METHODS = "GET, HEAD, POST"
CORS_HEADERS = "Accept, Content-Type, If-None-Match, If-Modified-Since"
CORS_EXPOSE = "Content-Location, ETag, Last-Modified, Link, X-Ipgraph-Truncated"


class _Cors:
    """CORS for a public, read-only endpoint (ASGI middleware).

    Any origin may read (``Access-Control-Allow-Origin: *``, never with
    credentials: the server has no cookies or logins to leak). A preflight
    (OPTIONS with ``Access-Control-Request-Method``) for GET, HEAD or POST
    gets 204 with the methods and headers allowed; for another method, 204
    without them, so the browser refuses it. A preflight from a public web
    page to this loopback or private address (Chrome's Private Network
    Access, ``Access-Control-Request-Private-Network``) is not granted.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] == "OPTIONS":
            allow = [(b"allow", b"GET, HEAD, POST, OPTIONS")]
            if "origin" in headers and "access-control-request-method" in headers:
                method = headers["access-control-request-method"].strip().upper()
                allow.append((b"access-control-allow-origin", b"*"))
                allow.append((b"vary", b"Access-Control-Request-Method, Access-Control-Request-Headers"))
                if method in CORS_METHODS.split(", "):
                    allow += [
                        (b"access-control-allow-methods", CORS_METHODS.encode()),
                        (b"access-control-allow-headers", CORS_HEADERS.encode()),
                        (b"access-control-max-age", b"600"),
                    ]
            await send({"type": "http.response.start", "status": 204, "headers": allow})
            await send({"type": "http.response.body", "body": b""})
            return
        if "origin" not in headers:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (b"access-control-allow-origin", b"*"),
                        (b"access-control-expose-headers", CORS_EXPOSE.encode()),
                    ],
                }
            await send(message)

        await self.app(scope, receive, send_with_cors)


class _Generations:
    """Runs each request on one generation of the store (ASGI middleware):
    taken when the request starts, given back when its response has been
    sent, streamed bodies included. Also refuses overlong paths and paths
    with control characters before any route sees them."""

    def __init__(self, app, server: Server) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if len(scope.get("raw_path") or path.encode()) > self.server.config.max_path:
            limit = self.server.config.max_path
            await _send_problem(scope, receive, send, 414, f"the path is longer than {limit} bytes")
            return
        if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in path):
            await _send_problem(scope, receive, send, 400, "the path holds control characters")
            return
        generation = self.server.acquire()
        token = CURRENT.set(generation)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT.reset(token)
            self.server.release(generation)


async def _send_problem(scope, receive, send, status: int, message: str) -> None:
    await error_response(Request(scope, receive), status, message)(scope, receive, send)


async def _watch(server: Server) -> None:
    """Reload the build when its file changes (checked every ``watch``
    seconds) or on SIGHUP; the load runs in a thread while requests go on."""
    wake = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(ValueError, RuntimeError, NotImplementedError, AttributeError):
        loop.add_signal_handler(signal.SIGHUP, wake.set)  # only in the main thread, on POSIX
    interval = server.config.watch if server.config.watch > 0 else None
    try:
        while True:
            with anyio.move_on_after(interval if interval is not None else float("inf")):
                await wake.wait()
            forced = wake.is_set()
            wake.clear()
            if forced or server.changed():
                if forced:
                    log.info("SIGHUP: loading %s again", server.config.dataset)
                await anyio.to_thread.run_sync(partial(server.reload, force=forced))
    finally:
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError, AttributeError):
            loop.remove_signal_handler(signal.SIGHUP)


def create_app(store: store_module.Store, config: ServeConfig | None = None) -> Starlette:
    """The web application serving ``store``: SPARQL endpoint, Graph Store
    Protocol, pages, UI.

    Parameters:
        store: a loaded :class:`ipgraph.store.Store` (memory or oxigraph).
        config: limits and folders; :class:`ServeConfig` defaults otherwise.
            With ``config.dataset`` set, the app reloads that file when it
            changes or on SIGHUP (while it runs under a server with lifespan).
    """
    config = config or ServeConfig()
    server = Server(store, config)
    bind = partial(bind_handler, server)
    routes = [
        Route("/sparql", bind(sparql_endpoint), methods=_ALL_METHODS),
        Route("/sparql/", bind(sparql_endpoint), methods=_ALL_METHODS),
        Route("/graph-store", bind(serve_graphs.graph_store_endpoint), methods=_ALL_METHODS),
        Route("/data/ipgraph.{extension}", bind(serve_graphs.dataset_download), methods=["GET", "HEAD"]),
        Route("/health", bind(health)),
        *serve_pages.routes(server),
        Mount("/static", StaticFiles(directory=_STATIC), name="static"),
    ]
    if config.views is not None and Path(config.views).is_dir():
        routes.append(Mount("/views", StaticFiles(directory=config.views, html=True), name="views"))

    async def problem(request: Request, error: HTTPProblem) -> Response:
        return error_response(request, error.status, error.message, error.headers)

    async def not_found(request: Request, error: Exception) -> Response:
        return error_response(request, 404, f"nothing at {request.url.path}")

    async def not_allowed(request: Request, error: Exception) -> Response:
        return error_response(request, 405, f"{request.method} is not allowed here", {"Allow": "GET, HEAD"})

    async def internal_error(request: Request, error: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return error_response(request, 500, "the server failed on this request; its log says why")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async with anyio.create_task_group() as tasks:
            if config.dataset is not None:
                tasks.start_soon(_watch, server)
            yield
            tasks.cancel_scope.cancel()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(ClientMiddleware), Middleware(_Cors), Middleware(_Generations, server=server)],
        exception_handlers={HTTPProblem: problem, 404: not_found, 405: not_allowed, Exception: internal_error},
        lifespan=lifespan,
    )
    app.state.server = server
    return app


def public_url(server: Server, request: Request) -> str:
    """The server's own URL, ending in ``/``: configured (``--public-url``),
    else the address of the socket the request came in on, never the Host
    header (which a client can set to anything)."""
    if server.config.public_url:
        return server.config.public_url.rstrip("/") + "/"
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    if ":" in host:
        host = f"[{host}]"
    return f"{request.url.scheme}://{host}:{port}/" if port else f"{request.url.scheme}://{host}/"


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
            "build": server.generation.number,
            "uptime_seconds": round(time.time() - server.started, 1),
        },
        headers=SECURITY_HEADERS,
    )


async def sparql_endpoint(server: Server, request: Request) -> Response:
    """The SPARQL 1.1 Protocol query operation, or the service description."""
    operation = await read_operation(request, server.config)
    if operation.graph_store:
        return serve_graphs.graph_store(server, request, operation.graph)
    if operation.query is None:
        return await service_description(server, request)
    started = time.perf_counter()
    status, kind, rows = 200, "-", 0
    try:
        result = await server.execute(
            operation.query,
            default_graphs=operation.default_graphs,
            named_graphs=operation.named_graphs,
            base=public_url(server, request) + request.url.path.lstrip("/"),
        )
        kind, rows = result.kind, len(result)
        accept = request.headers.get("accept")
        if result.kind == "graph":
            media = negotiate(accept, list(GRAPH_TYPES))
            if media is None:
                raise HTTPProblem(406, f"cannot answer a graph in {accept}; offered: {', '.join(GRAPH_TYPES)}")
            rdf_format = GRAPH_TYPES[media]
            body, media_type = write_graph(result.triples, rdf_format), RDF_FORMATS[rdf_format][1]
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
    endpoint = public_url(server, request) + request.url.path.lstrip("/")
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
        t(dataset, void + "dataDump", ox.NamedNode(public_url(server, request) + "data/ipgraph.trig")),
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
    ox_format, media_type = RDF_FORMATS[rdf_format]
    body = ox.serialize(triples, format=ox_format, prefixes=prefixes if rdf_format == "turtle" else None)
    return Response(body, 200, headers={"Vary": "Accept", **SECURITY_HEADERS}, media_type=media_type)


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
    remote: store_module.RemoteConfig | None = None,
) -> Starlette:
    """Load ``dataset`` into a store (:func:`ipgraph.store.open_store`; a
    remote one with ``remote``) and build the app on it; the app reloads
    ``dataset`` when a new build replaces it (every ``config.watch`` seconds,
    and on SIGHUP).

    Raises:
        StoreError: unknown store kind, missing or broken dataset, a remote
            store that cannot be reached.
    """
    config = replace(config or ServeConfig(), dataset=Path(dataset), store_kind=store, store_remote=remote)
    return create_app(store_module.open_store(dataset, store, store_path, remote), config)


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
