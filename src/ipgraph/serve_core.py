"""What every part of ``ipgraph serve`` shares: its settings, content
negotiation, the one function that shapes every error, templates, RDF
writers, conditional requests, IRIs of the served resources, and the
:class:`Server` that holds the store being served (and swaps it for a new
build).

:mod:`ipgraph.serve` (the SPARQL and Graph Store protocols) and
:mod:`ipgraph.serve_pages` (HTML pages and linked-data documents) both import
this module; it imports neither.
"""

from __future__ import annotations

import contextvars
import email.utils
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pyoxigraph as ox
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response

from ipgraph import query as query_module
from ipgraph import store as store_module
from ipgraph.errors import IpgraphError, QueryError, QueryRefused, QueryTimeout, QueryTooLarge
from ipgraph.mappings import dataset_files
from ipgraph.namespaces import IPGR, PREFIXES
from ipgraph.serve_admission import Admission, Busy
from ipgraph.serve_search import SearchIndex, index_store

__all__ = [
    "ANALYST_PATHS",
    "DEFAULT_BASE",
    "DOWNLOADS",
    "AnalystPage",
    "HTTPProblem",
    "ServeConfig",
    "Server",
    "analyst_pages",
    "bind",
    "check_iri",
    "conditional",
    "error_response",
    "negotiate",
    "templates",
    "write_graph",
]

log = logging.getLogger("ipgraph.serve")

#: Where the graph's resources live: ``/id/<path>`` is ``DEFAULT_BASE + path``.
DEFAULT_BASE = str(IPGR)
VIEWS = Path("build/views")


@dataclass(frozen=True)
class AnalystPage:
    """A page for analysts that another module draws from the graph (figures,
    a map, a timeline), served at ``path`` and linked from every page's menu.

    ``render(store)`` returns the page's HTML; the server calls it in a
    thread, once per loaded build, and caches the page. It is sent with the
    server's Content-Security-Policy (no inline script) unless ``csp`` gives
    the page's own.

    Example:
        >>> page = AnalystPage("/figures", "Figures", lambda store: "<!doctype html><title>Figures</title>")
    """

    path: str
    title: str
    render: Callable[[store_module.Store], str]
    csp: str | None = None


#: The analyst pages of :mod:`ipgraph.charts` and the paths they are served at.
ANALYST_PATHS = {"figures": "/figures", "map": "/map", "timeline": "/timeline"}
#: The tables the server offers as downloads, at ``/tables/NAME.csv`` and ``/tables/NAME.xlsx``.
DOWNLOADS = ("figures", "measures", "entities", "quotes", "events")


def analyst_pages(base: str = DEFAULT_BASE) -> tuple[AnalystPage, ...]:
    """The figures, map and timeline pages of :mod:`ipgraph.charts`, as the server draws them:
    each entity linked to its page here (``/id/...`` for IRIs under ``base``), the navigation
    through the server's paths and the figures' downloads, and the pages' own CSP (their one
    script and one style sheet, by hash)."""
    from ipgraph import charts
    from ipgraph.serve_entity import local_href

    nav = {
        **ANALYST_PATHS,
        "figures.xlsx": "/tables/figures.xlsx",
        "figures.csv": "/tables/figures.csv",
        "home": "/",
    }

    def href(iri: str) -> str:
        return local_href(iri, base) or ""

    def drawer(name: str) -> Callable[[store_module.Store], str]:
        return lambda store: charts.pages(store, (name,), href=href, nav=nav)[name]

    return tuple(
        AnalystPage(path, name.capitalize(), drawer(name), charts.POLICY) for name, path in ANALYST_PATHS.items()
    )


@dataclass
class ServeConfig:
    """What the server allows and where things are.

    ``workers`` is the number of queries that start at once (each in its own
    process, see :func:`ipgraph.store.execute`); a query running longer than
    ``slow_after`` seconds no longer holds a slot, up to ``4 * workers``
    running in all; ``per_client`` (default ``workers``) bounds one client's
    running queries; at most ``queue`` wait, then 503
    (:mod:`ipgraph.serve_admission`). ``max_bytes`` bounds a result as the
    engine writes it and the response body: past it, 503. ``base`` is the
    IRI that ``/id/`` stands for (never taken from a
    request's Host header); ``public_url`` the server's own URL as clients
    reach it (the service description's endpoint and the base IRI of
    queries), by default the address the server listens on. ``dataset`` and
    ``store_kind`` say what to load again when a new build appears; the
    file is checked every ``watch`` seconds (0: only on SIGHUP).
    """

    timeout: float = 10.0
    max_rows: int = 10_000
    max_bytes: int = 16 << 20
    queue: int = 32
    per_client: int | None = None
    slow_after: float = 0.5
    max_body: int = 1 << 20
    max_url: int = 16 << 10
    max_path: int = 2048
    workers: int = 4
    allow_services: tuple[str, ...] = ()
    #: The named queries the query page offers: a folder, or folders searched
    #: in order (a project's own first); pages read each one's ``serve/``.
    queries: Path | Sequence[Path] = query_module.QUERIES_DIR
    page_queries: Path | None = None
    views: Path | None = VIEWS
    base: str = DEFAULT_BASE
    public_url: str | None = None
    cache_seconds: int = 60
    dataset: Path | None = None
    store_kind: str | None = None
    #: For a remote store (``store_kind="sparql"``): where it answers; a new build is synced into it.
    store_remote: store_module.RemoteConfig | None = None
    watch: float = 1.0
    #: Analyst pages to mount and link from the menu (:class:`AnalystPage`); by default
    #: :func:`analyst_pages` (figures, map, timeline); ``()`` for none.
    pages: tuple[AnalystPage, ...] | None = None

    def __post_init__(self) -> None:
        if self.pages is None:
            self.pages = analyst_pages(self.base)


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
#: format -> (Oxigraph format, media type sent).
RDF_FORMATS = {
    "turtle": (ox.RdfFormat.TURTLE, "text/turtle; charset=utf-8"),
    "nt": (ox.RdfFormat.N_TRIPLES, "application/n-triples; charset=utf-8"),
    "jsonld": (ox.RdfFormat.JSON_LD, "application/ld+json"),
    "rdfxml": (ox.RdfFormat.RDF_XML, "application/rdf+xml"),
    "trig": (ox.RdfFormat.TRIG, "application/trig; charset=utf-8"),
    "nquads": (ox.RdfFormat.N_QUADS, "application/n-quads; charset=utf-8"),
}
#: Linked-data documents: file extension -> media type.
DOCUMENT_TYPES = {
    "html": "text/html",
    "ttl": "text/turtle",
    "jsonld": "application/ld+json",
    "nt": "application/n-triples",
    "rdf": "application/rdf+xml",
}
EXTENSION_FORMAT = {"ttl": "turtle", "jsonld": "jsonld", "nt": "nt", "rdf": "rdfxml"}


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
                if q != q:  # NaN
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
# RDF writers
# ---------------------------------------------------------------------------


def prefixes_for(iris: set[str]) -> dict[str, str]:
    """The project's prefixes that some of ``iris`` start with."""
    return {p: ns for p, ns in PREFIXES.items() if any(iri.startswith(ns) for iri in iris)}


def write_graph(triples: list, rdf_format: str) -> bytes:
    """Serialise triples as ``turtle``, ``nt``, ``jsonld`` or ``rdfxml`` (with the project's prefixes)."""
    ox_format, _ = RDF_FORMATS[rdf_format]
    prefixes = None
    if rdf_format in ("turtle", "rdfxml"):
        prefixes = prefixes_for({term.value for triple in triples for term in triple if isinstance(term, ox.NamedNode)})
    return ox.serialize(triples, format=ox_format, prefixes=prefixes) or b""


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

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def error_response(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The response for any error: JSON for a ``.json`` resource (the
    search's and the query forms'), an HTML page for browsers, plain text (the
    message, e.g. the SPARQL parser's) for everyone else. Control characters
    of the message (which may quote the request) are escaped."""
    title = _TITLES.get(status, "Error")
    message = _CONTROL.sub(lambda match: f"\\x{ord(match[0]):02x}", message)
    headers = {**SECURITY_HEADERS, **(headers or {})}
    if request.url.path.endswith(".json"):
        body = json.dumps({"error": {"status": status, "title": title, "message": message}}, ensure_ascii=False)
        return Response(body, status, headers=headers, media_type="application/json")
    if negotiate(request.headers.get("accept"), ["text/plain", "text/html"]) == "text/html":
        page = templates().get_template("error.html").render(status=status, title=title, message=message)
        return Response(page, status, headers={**headers, "Content-Security-Policy": CSP}, media_type="text/html")
    return Response(f"{status} {title}: {message}\n", status, headers=headers, media_type="text/plain")


def problem_for(error: IpgraphError) -> HTTPProblem:
    """The HTTP status of a library error."""
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
# Templates
# ---------------------------------------------------------------------------

_ENV: Environment | None = None


def templates() -> Environment:
    """The Jinja2 environment of ``templates/`` (package data), autoescaping everything."""
    global _ENV
    if _ENV is None:
        _ENV = Environment(
            loader=PackageLoader("ipgraph", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return _ENV


# ---------------------------------------------------------------------------
# IRIs of requests
# ---------------------------------------------------------------------------

_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f-\x9f]*$")


def check_iri(iri: str, what: str = "IRI") -> ox.NamedNode:
    """``iri`` as a term, if it is an absolute IRI; otherwise a 400.

    Example:
        >>> check_iri("https://w3id.org/ipgraph/id/region/jilin").value
        'https://w3id.org/ipgraph/id/region/jilin'
        >>> check_iri("urn:x:%zz")
        Traceback (most recent call last):
        ...
        ipgraph.serve_core.HTTPProblem: not a valid IRI: 'urn:x:%zz' (Invalid IRI percent encoding '%zz')
    """
    if not _IRI.match(iri):
        raise HTTPProblem(400, f"not an absolute {what}: {iri!r}")
    try:
        return ox.NamedNode(iri)
    except ValueError as error:
        raise HTTPProblem(400, f"not a valid {what}: {iri!r} ({error})") from None


# ---------------------------------------------------------------------------
# Conditional requests (RFC 9110 section 13)
# ---------------------------------------------------------------------------


def strong_etag(body: bytes) -> str:
    """A strong entity tag from the content's hash."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def http_date(timestamp: float) -> str:
    return email.utils.formatdate(timestamp, usegmt=True)


def not_modified(request: Request, etag: str | None, modified: float) -> bool:
    """Whether a GET or HEAD may be answered 304: ``If-None-Match`` decides
    when present (weak comparison), else ``If-Modified-Since``."""
    if request.method not in ("GET", "HEAD"):
        return False
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        if etag is None:
            return False
        wanted = etag.removeprefix("W/")
        return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))
    since = request.headers.get("if-modified-since")
    if since:
        try:
            parsed = email.utils.parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if parsed is None or parsed.tzinfo is None:
            return False
        return int(modified) <= parsed.timestamp()
    return False


def conditional(
    request: Request,
    body: bytes,
    media_type: str,
    modified: float,
    cache_seconds: int,
    headers: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """A response with ETag (strong, from ``body``), Last-Modified and
    Cache-Control, or a 304 without body when the request's validators match."""
    etag = strong_etag(body)
    headers = {
        **SECURITY_HEADERS,
        **(headers or {}),
        "ETag": etag,
        "Last-Modified": http_date(modified),
        "Cache-Control": f"public, max-age={cache_seconds}",
    }
    if status == 200 and not_modified(request, etag, modified):
        kept = {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified", "Cache-Control", "Vary")}
        return Response(status_code=304, headers=kept)
    return Response(body, status, headers=headers, media_type=media_type)


# ---------------------------------------------------------------------------
# The server's state: the store being served, swapped whole for a new build
# ---------------------------------------------------------------------------


@dataclass
class Generation:
    """One loaded build: its store, when it was built, its search index and
    the caches that belong to it. Requests hold the generation they started
    on until they end."""

    store: store_module.Store
    modified: float
    stamp: tuple = ()
    search: SearchIndex | None = None
    number: int = 0
    cache: dict[str, Any] = field(default_factory=dict)
    inflight: int = 0
    retired: bool = False


#: The generation the current request runs on (set by the server's middleware).
#: The client of the request being answered (its peer address), for the admission queue.
CLIENT: contextvars.ContextVar[str] = contextvars.ContextVar("ipgraph_client", default="-")


class ClientMiddleware:
    """Records each request's client in :data:`CLIENT` (pages' queries run with it too)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            CLIENT.set(client[0] if client else "-")
        await self.app(scope, receive, send)


CURRENT: contextvars.ContextVar[Generation | None] = contextvars.ContextVar("ipgraph_generation", default=None)


class Server:
    """The state behind the routes: the store being served (one
    :class:`Generation` at a time), its limits, and the pages' queries.

    Requests take the current generation when they start (:meth:`acquire`)
    and give it back when their response is sent (:meth:`release`); a new
    build replaces it in one assignment (:meth:`swap`), so a request runs
    wholly on one graph, and the old store's workers are stopped only when
    its last request has finished.
    """

    def __init__(self, store: store_module.Store, config: ServeConfig, *, modified: float | None = None) -> None:
        self.config = config
        self.admission = Admission(
            config.workers, per_client=config.per_client, queue=config.queue, slow_after=config.slow_after
        )
        self.limiter = anyio.CapacityLimiter(self.admission.max_running)
        self.lock = threading.Lock()
        self._page_queries: dict[str, str] = {}
        self.current = Generation(store, modified if modified is not None else time.time(), search=self.index(store))
        self.started = time.time()
        self._reloading = threading.Lock()
        self._failed: tuple | None = None
        if config.dataset is not None:
            stamp = self.stamp()
            self.current.stamp = stamp
            if modified is None and stamp:
                self.current.modified = max(entry[3] for entry in stamp) / 1e9

    @property
    def store(self) -> store_module.Store:
        """The store of this request's generation (the current one outside a request)."""
        return self.generation.store

    @property
    def generation(self) -> Generation:
        return CURRENT.get() or self.current

    def acquire(self) -> Generation:
        with self.lock:
            generation = self.current
            generation.inflight += 1
        return generation

    def release(self, generation: Generation) -> None:
        with self.lock:
            generation.inflight -= 1
            done = generation.retired and generation.inflight == 0
        if done:
            _retire(generation)

    def swap(self, generation: Generation) -> Generation:
        """Serve ``generation`` from now on; the old one is retired once idle."""
        with self.lock:
            old, self.current = self.current, generation
            generation.number = old.number + 1
            old.retired = True
            idle = old.inflight == 0
        if idle:
            _retire(old)
        return old

    # -- a new build ----------------------------------------------------------

    def stamp(self) -> tuple:
        """What identifies the build on disk: each file's device, inode,
        modification time and size (a rename of a new file changes them)."""
        entries = []
        for path in dataset_files(self.config.dataset):
            try:
                info = os.stat(path)
            except OSError:
                continue
            entries.append((str(path), info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size))
        return tuple(entries)

    def changed(self) -> bool:
        """Whether the files on disk differ from the build being served (cheap: a few ``stat`` calls)."""
        if self.config.dataset is None:
            return False
        stamp = self.stamp()
        return bool(stamp) and stamp != self.current.stamp and stamp != self._failed

    def reload(self, force: bool = False) -> bool:
        """Load the build again into a new store and swap to it, if its files
        changed (or ``force``). Blocking: run it in a thread. A build that
        cannot be loaded is logged and the old one kept. Returns whether it swapped."""
        if self.config.dataset is None or not self._reloading.acquire(blocking=False):
            return False
        try:
            stamp = self.stamp()
            if not stamp or (not force and (stamp == self.current.stamp or stamp == self._failed)):
                return False
            kind = self.config.store_kind or self.current.store.kind
            try:
                # A persistent store stays as it is on disk (other generations may
                # be reading it); a reloaded build lives in memory until a restart.
                # A remote store is synced graph by graph (each graph swapped in one update).
                store = store_module.open_store(self.config.dataset, kind, remote=self.config.store_remote)
                search = self.index(store)
            except IpgraphError as error:
                self._failed = stamp
                log.error("reload of %s failed, still serving the previous build: %s", self.config.dataset, error)
                return False
            self._failed = None
            modified = max(entry[3] for entry in stamp) / 1e9
            old = self.swap(Generation(store, modified, stamp, search=search))
            log.info(
                "reloaded %s: %d quads (build %d replaces build %d)",
                self.config.dataset,
                len(store),
                self.current.number,
                old.number,
            )
            return True
        finally:
            self._reloading.release()

    # -- search ------------------------------------------------------------------

    def index(self, store: store_module.Store) -> SearchIndex:
        """The search index of ``store``'s names (built when a build is loaded, before it is served)."""
        started = time.perf_counter()
        index = index_store(store, self.page_query("search-names"), self.page_query("search-classes"))
        log.info(
            "search index: %d names of %d resources in %.0f ms",
            index.names,
            index.entities,
            (time.perf_counter() - started) * 1000,
        )
        return index

    @property
    def search(self) -> SearchIndex:
        """The search index of this request's generation."""
        return self.generation.search

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
            raise problem_for(error) from None

    def page_query(self, name: str) -> str:
        if name not in self._page_queries:
            queries = self.config.queries
            folders = [queries] if isinstance(queries, str | Path) else list(queries)
            found = self.config.page_queries or [Path(folder) / "serve" for folder in folders]
            self._page_queries[name] = query_module.load_named(name, found).text
        return self._page_queries[name]

    async def page_rows(self, name: str, **bindings) -> list[dict[str, Any]]:
        """Rows of the page query ``queries/serve/<name>.rq`` with IRIs bound
        as terms. A row whose variables are all unbound (rdflib's answer to a
        GROUP BY over nothing) is dropped."""
        result = await self.execute(self.page_query(name), {k: ox.NamedNode(v) for k, v in bindings.items()})
        rows = [dict(zip(result.variables, row, strict=False)) for row in result.rows]
        return [row for row in rows if any(row.get(v) is not None for v in result.variables if v not in bindings)]

    async def cached_rows(self, name: str, **bindings) -> list[dict[str, Any]]:
        """Like :meth:`page_rows`, computed once per generation."""
        cache = self.generation.cache
        key = (name, *sorted(bindings.items()))
        if key not in cache:
            cache[key] = await self.page_rows(name, **bindings)
        return cache[key]


def bind(server: Server, handler):
    """A Starlette endpoint that calls ``handler(server, request)``."""

    async def endpoint(request: Request) -> Response:
        return await handler(server, request)

    endpoint.__name__ = handler.__name__
    return endpoint


def _retire(generation: Generation) -> None:
    """Stop an old generation's query workers (in a thread: it waits for them)."""
    threading.Thread(target=generation.store.stop_workers, name="ipgraph-retire", daemon=True).start()
