"""The HTML side of ``ipgraph serve``: the home and schema pages, search,
the query UI and named-query forms, class lists, analyst pages and the
linked-data pages of ``/id/...`` (with their Turtle/JSON-LD documents; what
an entity page shows is worked out in :mod:`ipgraph.serve_entity`).

Every value from the graph reaches the page through Jinja2 autoescaping, and
only ``http``/``https`` IRIs become links, so a label or an IRI can never
become markup or script; every page is also sent with a Content-Security-Policy
that forbids inline scripts.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ipgraph import query as query_module
from ipgraph import tables
from ipgraph.errors import QueryError
from ipgraph.serve_core import (
    CSP,
    DOCUMENT_TYPES,
    DOWNLOADS,
    EXTENSION_FORMAT,
    RDF_FORMATS,
    SECURITY_HEADERS,
    AnalystPage,
    HTTPProblem,
    Server,
    bind,
    check_iri,
    conditional,
    negotiate,
    templates,
    write_graph,
)
from ipgraph.serve_entity import (
    IRI_SAFE,
    curie,
    entity_context,
    graph_sources,
    local_href,
    show,
    text_of,
)
from ipgraph.serve_search import SearchError, grouped

__all__ = ["curie", "local_href", "named_queries", "routes"]


def named_queries(folder: query_module.Folders) -> list[dict[str, Any]]:
    """The named queries of ``folder`` (or folders, :func:`ipgraph.query.list_named`) as
    the UI shows them: name, question, parameters (those required), form and text."""
    return [
        {
            "name": named.name,
            "question": named.question,
            "params": [param.name for param in named.params],
            "required": [param.name for param in named.params if param.required],
            "form": "/query/" + quote(named.name),
            "text": named.text,
        }
        for named in query_module.list_named(folder)
    ]


def _html(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body,
        status,
        headers={**SECURITY_HEADERS, "Content-Security-Policy": CSP, **(headers or {})},
        media_type="text/html",
    )


# ---------------------------------------------------------------------------
# Home, lists, query UI
# ---------------------------------------------------------------------------


def _shown(server: Server):
    """:func:`_value` with this server's base IRI."""
    return partial(show, base=server.config.base)


def render(server: Server, name: str, **context: Any) -> str:
    """A page of ``templates/``, with what every page's menu needs."""
    return templates().get_template(name).render(pages=server.config.pages, **context)


#: The home page's categories: what each counts, in the domain's words, in this order.
_CATEGORIES = (
    ("regions", "Regions", "provincial-level divisions"),
    ("cities", "Cities and areas", "cities, districts and new areas"),
    ("agencies", "Agencies", "the agencies that act in them"),
    ("industries", "Industries", "the industries they target"),
    ("measures", "Measures", "policy measures taken"),
    ("figures", "Figures", "figures (indicator, area, period and scope)"),
    ("observations", "Readings", "figures as each source states them"),
    ("sources", "Sources", "news reports and official statements"),
    ("people", "People", "people quoted"),
    ("events", "Events", "events reported"),
)


_STATUS = {
    "https://w3id.org/ipgraph/ontology#SingleSource": "one source",
    "https://w3id.org/ipgraph/ontology#Corroborated": "corroborated",
    "https://w3id.org/ipgraph/ontology#Conflicting": "sources conflict",
}


async def home(server: Server, request: Request) -> Response:
    """The graph in the domain's terms: regions, agencies, measures, figures
    and sources with their counts, the latest figures, then views, queries and downloads."""
    value = _shown(server)
    counted = {row["category"].value: row for row in await server.cached_rows("home-counts")}
    categories = []
    for key, title, note in _CATEGORIES:
        row = counted.get(key)
        categories.append(
            {
                "key": key,
                "title": title,
                "note": note,
                "count": int(row["entities"].value) if row else 0,
                "list": "/list?class=" + quote(row["class"].value, safe="") if row else None,
            }
        )
    conflicting = int(counted["conflicting"]["entities"].value) if "conflicting" in counted else 0
    latest = [
        {
            "observation": value(row["observation"]),
            "indicator": value(row["indicator"], row.get("indicatorLabel")),
            "area": value(row["area"], row.get("areaLabel")),
            "period": text_of(row, "periodLabel") or row["end"].value,
            "stated": row["stated"].value,
            "qualifier": text_of(row, "qualifierLabel"),
            "unit": text_of(row, "unitLabel"),
            "source": value(row["source"], row.get("headline")),
            "date": text_of(row, "date"),
            "status": _STATUS.get(row["status"].value) if row.get("status") is not None else None,
        }
        for row in await server.cached_rows("latest-figures")
    ]
    views = []
    if server.config.views is not None and Path(server.config.views).is_dir():
        views = [
            {"name": path.stem, "href": "/views/" + quote(path.name)}
            for path in sorted(Path(server.config.views).glob("*.html"))
        ]
    page = render(
        server,
        "home.html",
        categories=categories,
        conflicting=conflicting,
        latest=latest,
        views=views,
        quads=len(server.store),
        store=server.store.kind,
        queries=named_queries(server.config.queries),
    )
    return _html(page)


async def schema(server: Server, request: Request) -> Response:
    """The RDF side: every class with its count, and the named graphs with their triples."""
    value = _shown(server)
    classes = [
        {
            "class": value(row["class"], row.get("classLabel")),
            "entities": int(row["entities"].value),
            "list": "/list?class=" + quote(row["class"].value, safe=""),
        }
        for row in await server.cached_rows("classes")
        if isinstance(row["class"], ox.NamedNode)
    ]
    graphs = [
        {
            "graph": value(row["graph"]),
            "triples": int(row["triples"].value),
            "download": "/graph-store?graph=" + quote(row["graph"].value, safe=""),
        }
        for row in await server.cached_rows("graphs")
    ]
    page = render(server, "schema.html", classes=classes, graphs=graphs, quads=len(server.store))
    return _html(page)


# ---------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------


def _one(request: Request, name: str, allowed: set[str], where: str) -> str | None:
    """The one value of query parameter ``name`` (``None`` if absent); 400 for
    a repeated or unknown parameter."""
    params = request.query_params
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise HTTPProblem(400, f"unknown parameter {unknown[0]!r}; {where} takes {', '.join(sorted(allowed))}")
    given = params.getlist(name)
    if len(given) > 1:
        raise HTTPProblem(400, f"give {name!r} once, not {len(given)} times")
    return given[0] if given else None


async def search(server: Server, request: Request) -> Response:
    """``/search?q=TEXT`` (an HTML page) and ``/search.json?q=TEXT``: the
    entities with a name that matches, in every language and alias, grouped by class."""
    as_json = request.url.path.endswith(".json")
    text = _one(request, "q", {"q", "limit"}, "/search")
    limit_text = _one(request, "limit", {"q", "limit"}, "/search")
    limit = 50
    if limit_text is not None:
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 500:
            raise HTTPProblem(400, f"limit must be a whole number from 1 to 500, not {limit_text!r}")
        limit = int(limit_text)
    if text is None and not as_json:
        return _html(render(server, "search.html", q="", groups=[], hits=0))
    try:
        hits = server.search.search(text or "", limit=limit)
    except SearchError as error:
        raise HTTPProblem(400, str(error)) from None
    groups = [
        {
            "group": group,
            "results": [
                {
                    "iri": hit.iri,
                    "label": hit.label,
                    "matched": hit.matched,
                    "lang": hit.lang,
                    "href": local_href(hit.iri, server.config.base),
                }
                for hit in members
            ],
        }
        for group, members in grouped(hits)
    ]
    if as_json:
        return JSONResponse({"query": text, "count": len(hits), "groups": groups}, headers=SECURITY_HEADERS)
    return _html(render(server, "search.html", q=text, groups=groups, hits=len(hits)))


async def class_list(server: Server, request: Request) -> Response:
    """The entities of one class (``/list?class=IRI``)."""
    params = request.query_params
    unknown = sorted(set(params) - {"class"})
    if unknown:
        raise HTTPProblem(400, f"unknown parameter {unknown[0]!r}; /list takes class=IRI only")
    given = params.getlist("class")
    if len(given) != 1 or not given[0]:
        raise HTTPProblem(400, "give one class IRI: /list?class=https://w3id.org/ipgraph/ontology#Province")
    iri = given[0]
    check_iri(iri, "class IRI")
    if not local_href(iri, server.config.base) and not iri.startswith("urn:"):
        raise HTTPProblem(400, f"not an http(s) or urn: class IRI: {iri!r}")
    rows = await server.page_rows("class-members", **{"class": iri})
    value = _shown(server)
    entities = [value(row["entity"], row.get("entityLabel")) for row in rows if row.get("entity") is not None]
    page = render(server, "list.html", cls=value(ox.NamedNode(iri)), entities=entities)
    return _html(page, 200 if entities else 404)


def _script_json(data: Any) -> str:
    """JSON safe to put inside a ``<script type="application/json">`` element."""
    return (
        json.dumps(data, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


async def query_ui(server: Server, request: Request) -> Response:
    """YASGUI (served from /static, no CDN) with the named queries to pick from."""
    queries = named_queries(server.config.queries)
    config = {"endpoint": "/sparql", "resources": server.config.base, "queries": queries}
    page = render(server, "query.html", queries=queries, config=_script_json(config))
    # YASGUI builds its editor with inline styles and evaluates no code.
    return _html(page)


# ---------------------------------------------------------------------------
# A named query's form: its parameters, the known values to pick from, its results
# ---------------------------------------------------------------------------

_RESULT_FORMATS = {"json": "application/sparql-results+json", "csv": "text/csv; charset=utf-8"}


async def _choices(server: Server, param: query_module.Param) -> list[dict[str, str]]:
    """The known values of ``param`` (the entities of its ``@values`` classes), by label."""
    found: dict[str, str] = {}
    for cls in param.values:
        for row in await server.cached_rows("class-members", **{"class": cls}):
            entity = row.get("entity")
            if isinstance(entity, ox.NamedNode) and entity.value not in found:
                label = row.get("entityLabel")
                found[entity.value] = label.value if label is not None else curie(entity.value)
    return [{"iri": iri, "label": label} for iri, label in sorted(found.items(), key=lambda item: (item[1], item[0]))]


async def query_form(server: Server, request: Request) -> Response:
    """``/query/NAME``: a form for the named query's parameters (with the
    known values to pick from) and, once run, its results; ``/query/NAME.json``
    and ``.csv``: the results in SPARQL JSON or CSV. A missing required
    parameter, an unknown one or a value that names nothing is a 400 with
    one message."""
    name, dot, extension = request.path_params["name"].rpartition(".")
    if not dot or extension not in _RESULT_FORMATS:
        name, extension = request.path_params["name"], "html"
    try:
        named = query_module.load_named(name, server.config.queries)
    except QueryError as error:
        raise HTTPProblem(404, str(error)) from None
    given: dict[str, str] = {}
    for key, text in request.query_params.multi_items():
        if key == "run":
            continue
        if key in given:
            raise HTTPProblem(400, f"give the parameter {key!r} once")
        given[key] = text
    run = extension != "html" or "run" in request.query_params
    error, result = None, None
    if run:
        try:
            bindings = query_module.bind(named, dict(given), server.search.exact, empty_is_missing=True)
        except QueryError as problem:
            if extension != "html":
                raise HTTPProblem(400, str(problem)) from None
            error = str(problem)
        else:
            result = await server.execute(named.text, bindings)
    if result is not None and extension != "html":
        body = query_module.format_result(result, extension)
        headers = {**SECURITY_HEADERS}
        if extension == "csv":
            headers["Content-Disposition"] = f'attachment; filename="{named.name}.csv"'
        return Response(body, 200, headers=headers, media_type=_RESULT_FORMATS[extension])
    params = [
        {
            "name": param.name,
            "kind": param.kind,
            "required": param.required,
            "default": param.default,
            "description": param.description,
            "value": given.get(param.name, ""),
            "choices": await _choices(server, param) if param.values else [],
        }
        for param in named.params
    ]
    table = None
    if result is not None:
        value = _shown(server)
        table = {
            "variables": result.variables,
            "rows": [[value(term) if term is not None else None for term in row] for row in result.rows],
            "truncated": result.truncated,
        }
    filled = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in given.items() if v)
    stem = "/query/" + quote(named.name)
    page = render(
        server,
        "query_form.html",
        query=named,
        params=params,
        error=error,
        table=table,
        downloads={ext: f"{stem}.{ext}" + ("?" + filled if filled else "") for ext in _RESULT_FORMATS},
    )
    return _html(page, 400 if error else 200)


def analyst_page(page: AnalystPage):
    """The handler of an :class:`~ipgraph.serve_core.AnalystPage`: drawn once per loaded build (in a thread)."""

    async def handler(server: Server, request: Request) -> Response:
        cache = server.generation.cache
        key = ("analyst-page", page.path)
        if key not in cache:
            cache[key] = await anyio.to_thread.run_sync(page.render, server.store)
        return _html(cache[key], headers={"Content-Security-Policy": page.csp} if page.csp else None)

    handler.__name__ = "analyst_page"
    return handler


_TABLE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def table_download(server: Server, request: Request) -> Response:
    """``/tables/NAME.csv``, ``/tables/NAME.xlsx``: an analyst table of :mod:`ipgraph.tables` as a
    download, written once per loaded build (in a thread)."""
    name, dot, extension = request.path_params["file"].rpartition(".")
    if not dot or name not in DOWNLOADS or extension not in _TABLE_TYPES:
        tables_list = ", ".join(f"{table}.csv, {table}.xlsx" for table in DOWNLOADS)
        raise HTTPProblem(404, f"no such table; the tables are {tables_list}")
    cache = server.generation.cache
    key = ("table", name, extension)
    if key not in cache:
        cache[key] = await anyio.to_thread.run_sync(tables.encode, server.store, extension, name)
    disposition = {"Content-Disposition": f'attachment; filename="{name}.{extension}"'}
    return Response(cache[key], headers={**SECURITY_HEADERS, **disposition}, media_type=_TABLE_TYPES[extension])


# ---------------------------------------------------------------------------
# Linked-data pages and documents
# ---------------------------------------------------------------------------

_NEGOTIATED = ["text/html", "text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml"]
_MEDIA_EXTENSION = {media: ext for ext, media in DOCUMENT_TYPES.items()}


async def resource(server: Server, request: Request) -> Response:
    """``/id/<path>``: a 303 to the document for ``Accept``; ``/id/<path>.<ext>``: the document."""
    path = request.path_params["path"]
    stem, dot, extension = path.rpartition(".")
    if dot and extension in DOCUMENT_TYPES and "/" not in extension:
        return await _document(server, request, stem, extension)
    _iri_of(server, path)
    media = negotiate(request.headers.get("accept"), _NEGOTIATED)
    if media is None:
        raise HTTPProblem(406, f"a resource is available as {', '.join(_NEGOTIATED)}")
    target = "/id/" + quote(path, safe=IRI_SAFE) + "." + _MEDIA_EXTENSION[media]
    # The resource (this request's target) is described by the document.
    links = f'<{target}>; rel="describedby"; type="{media}"'
    return RedirectResponse(target, status_code=303, headers={"Vary": "Accept", "Link": links, **SECURITY_HEADERS})


def _iri_of(server: Server, path: str) -> str:
    """The resource IRI that ``/id/<path>`` stands for: 404 for none, 400 for a malformed one."""
    if not path:
        raise HTTPProblem(404, "no resource named: /id/ needs a path, as in /id/region/jilin")
    iri = server.config.base + path
    check_iri(iri, "resource IRI")
    return iri


def _document_links(iri: str, stem_href: str, extension: str) -> str:
    """The Link header of a document: it ``describes`` the resource
    (RFC 6892, the inverse of ``describedby``), and its other formats are
    ``alternate``."""
    links = [f'<{iri}>; rel="describes"']
    for other, media in DOCUMENT_TYPES.items():
        if other != extension:
            links.append(f'<{stem_href}.{other}>; rel="alternate"; type="{media}"')
    return ", ".join(links)


async def _document(server: Server, request: Request, path: str, extension: str) -> Response:
    iri = _iri_of(server, path)
    stem_href = "/id/" + quote(path, safe=IRI_SAFE)
    headers = {
        "Content-Location": f"{stem_href}.{extension}",
        "Link": _document_links(iri, stem_href, extension),
    }
    modified, cache = server.generation.modified, server.config.cache_seconds
    if extension != "html":
        result = await server.execute(server.page_query("entity-description"), {"this": ox.NamedNode(iri)})
        if not result.triples:  # a named graph's IRI gives the graph's content
            result = await server.execute(server.page_query("graph-content"), {"this": ox.NamedNode(iri)})
        if not result.triples:
            raise HTTPProblem(404, f"the graph says nothing about {iri}")
        if result.truncated:
            headers["X-Ipgraph-Truncated"] = f"true; the description was cut at {server.config.max_rows} triples"
        # One triple once (Oxigraph's union yields one per graph holding it), in a stable order.
        triples = sorted(set(result.triples), key=str)
        rdf_format = EXTENSION_FORMAT[extension]
        body = write_graph(triples, rdf_format)
        return conditional(request, body, RDF_FORMATS[rdf_format][1], modified, cache, headers)
    value = _shown(server)
    statements = await server.page_rows("entity-statements", this=iri)
    if not statements:
        members = await server.page_rows("graph-members", this=iri)
        if not members:
            raise HTTPProblem(404, f"the graph says nothing about {iri}")
        page = render(
            server,
            "list.html",
            cls=value(ox.NamedNode(iri)),
            entities=[value(row["entity"], row.get("entityLabel")) for row in members],
            heading="Named graph",
            triples=sum(int(row["triples"].value) for row in members),
            download="/graph-store?graph=" + quote(iri, safe=""),
        )
    else:
        evidence = await server.page_rows("entity-evidence", this=iri)
        sources = await server.cached_rows("graph-sources")
        context = entity_context(iri, statements, evidence, server.config.base, graph_sources(sources))
        page = render(server, "entity.html", **context, base=stem_href)
    html_headers = {**headers, "Content-Security-Policy": CSP}
    return conditional(request, page.encode("utf-8"), "text/html; charset=utf-8", modified, cache, html_headers)


def routes(server: Server) -> list[Route]:
    """The HTML routes of the server, its analyst pages (``config.pages``) included."""
    pages = [Route(page.path, bind(server, analyst_page(page)), name=page.path) for page in server.config.pages]
    return [
        Route("/", bind(server, home)),
        Route("/schema", bind(server, schema)),
        Route("/search", bind(server, search)),
        Route("/search.json", bind(server, search)),
        Route("/query", bind(server, query_ui)),
        Route("/query/{name}", bind(server, query_form)),
        Route("/list", bind(server, class_list)),
        *pages,
        Route("/tables/{file}", bind(server, table_download)),
        Route("/id/{path:path}", bind(server, resource)),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
    ]
