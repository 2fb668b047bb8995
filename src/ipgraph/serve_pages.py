"""The HTML side of ``ipgraph serve``: home page, query UI, class lists and
the linked-data pages of ``/id/...`` (with their Turtle/JSON-LD documents).

Every value from the graph reaches the page through Jinja2 autoescaping, and
only ``http``/``https`` IRIs become links, so a label or an IRI can never
become markup or script; every page is also sent with a Content-Security-Policy
that forbids inline scripts.
"""

from __future__ import annotations

import json
import math
import re
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
from ipgraph.errors import QueryError
from ipgraph.facts import CONTEXT_CHARS
from ipgraph.namespaces import PREFIXES
from ipgraph.serve_core import (
    CSP,
    DEFAULT_BASE,
    DOCUMENT_TYPES,
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
from ipgraph.serve_search import SearchError, grouped

__all__ = ["curie", "local_href", "named_queries", "routes"]

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel"
_EXTERNAL = {
    "http://www.w3.org/2002/07/owl#sameAs",
    "http://www.w3.org/2004/02/skos/core#exactMatch",
    "http://www.w3.org/2004/02/skos/core#closeMatch",
    "https://schema.org/sameAs",
    "https://schema.org/url",
}
_EVIDENCE = "https://w3id.org/ipgraph/ontology#evidence"
_HIDDEN_IN_VIEW = {_RDF_TYPE, _EVIDENCE, "http://www.w3.org/ns/oa#hasBody"}
_IRI_SAFE = "/:@!$&'()*+,;=-._~"
_NAMESPACES = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))


def curie(iri: str) -> str:
    """A short name for ``iri`` with the project's prefixes (the longest that fits).

    Example:
        >>> curie("https://w3id.org/ipgraph/id/region/jilin")
        'region:jilin'
    """
    for prefix, namespace in _NAMESPACES:
        if iri.startswith(namespace) and iri != namespace:
            local = iri[len(namespace) :]
            if "/" not in local and "#" not in local:
                return f"{prefix}:{local}"
    return iri


def local_href(iri: str, base: str = DEFAULT_BASE) -> str | None:
    """Where ``iri`` is browsed: ``/id/...`` for the graph's own resources
    (those under ``base``), the IRI itself for other web IRIs, ``None`` for
    anything else (a ``javascript:`` or ``data:`` IRI never becomes a link).

    Example:
        >>> local_href("https://w3id.org/ipgraph/id/region/jilin")
        '/id/region/jilin'
        >>> local_href("javascript:alert(1)") is None
        True
    """
    if iri.startswith(base) and iri != base:
        return "/id/" + quote(iri[len(base) :], safe=_IRI_SAFE)
    if iri.lower().startswith(("http://", "https://")):
        return iri
    return None


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


def _value(term, label: Any = None, base: str = DEFAULT_BASE) -> dict[str, Any]:
    """A term as the templates show it: text, link, language or datatype."""
    if isinstance(term, ox.NamedNode):
        return {
            "kind": "iri",
            "iri": term.value,
            "text": label.value if isinstance(label, ox.Literal) else curie(term.value),
            "curie": curie(term.value),
            "href": local_href(term.value, base),
            "local": term.value.startswith(base),
        }
    if isinstance(term, ox.BlankNode):
        return {"kind": "bnode", "text": f"_:{term.value}", "href": None}
    return {
        "kind": "literal",
        "text": term.value,
        "lang": term.language,
        "datatype": curie(term.datatype.value)
        if not term.language and term.datatype.value != "http://www.w3.org/2001/XMLSchema#string"
        else None,
        "href": None,
    }


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
    return partial(_value, base=server.config.base)


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
            "period": _text(row, "periodLabel") or row["end"].value,
            "stated": row["stated"].value,
            "qualifier": _text(row, "qualifierLabel"),
            "unit": _text(row, "unitLabel"),
            "source": value(row["source"], row.get("headline")),
            "date": _text(row, "date"),
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
    target = "/id/" + quote(path, safe=_IRI_SAFE) + "." + _MEDIA_EXTENSION[media]
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
    stem_href = "/id/" + quote(path, safe=_IRI_SAFE)
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


def _text(row: dict, name: str) -> str | None:
    term = row.get(name)
    return term.value if term is not None else None


#: How the shared graphs are named on an entity page (by the end of their IRI).
_SHARED_GRAPHS = {
    "registry": "the registry of shared entities",
    "links": "links to Wikidata and GeoNames",
    "figures": "the figure keys (status across sources)",
    "vocabulary": "the vocabularies",
    "ontology": "the ontology",
}


def graph_sources(rows: list[dict]) -> dict[str, dict[str, Any]]:
    """Each source graph's source (the rows of ``graph-sources.rq``), by graph IRI."""
    return {
        row["graph"].value: {
            "source": row["source"],
            "headline": row.get("headline"),
            "date": _text(row, "date"),
            "publisher": _text(row, "publisher"),
        }
        for row in rows
    }


def _heading(graph, sources: dict[str, dict[str, Any]], base: str) -> dict[str, Any]:
    """How a group of statements names where they come from: its source's
    headline, publisher and date, or what a shared graph holds; once per group."""
    if graph is None:
        return {"kind": "default", "text": "the default graph"}
    known = sources.get(graph.value)
    if known is not None:
        return {
            "kind": "source",
            "source": _value(known["source"], known["headline"], base),
            "publisher": known["publisher"],
            "date": known["date"],
            "graph": _value(graph, None, base),
        }
    slug = graph.value.rstrip("/").rsplit("/", 1)[-1]
    if graph.value.startswith(base) and slug in _SHARED_GRAPHS:
        return {"kind": "shared", "text": _SHARED_GRAPHS[slug], "graph": _value(graph, None, base)}
    return {"kind": "graph", "graph": _value(graph, None, base)}


_WORD_CHAR = re.compile(r"[^\W_]")
_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def _inside_word(character: str) -> bool:
    """Whether a cut next to ``character`` may split a word (CJK characters are words of their own)."""
    return bool(_WORD_CHAR.match(character)) and not _CJK_CHAR.match(character)


def whole_words(prefix: str, suffix: str, start: int | None) -> tuple[str, str]:
    """A quote's context cut at word boundaries: the prefix and suffix are
    the 32 characters around the quote (``CONTEXT_CHARS``), so their outer
    ends may fall inside a word ("f the country's"); that partial word is
    dropped and "…" marks the cut. A prefix that reaches the start of the
    text (``start`` is its length) or a suffix shorter than 32 characters
    (it reaches the end) is kept whole.

    Example:
        >>> whole_words("f the country's heavy industry, ", ", along with the neighboring Inn", 900)
        ("… the country's heavy industry, ", ', along with the neighboring …')
    """
    if not (start is not None and start <= len(prefix)) and prefix:
        if _inside_word(prefix[0]):
            cut = re.search(r"\s", prefix)
            prefix = prefix[cut.start() :] if cut else ""
        prefix = "…" + (prefix if prefix[:1].isspace() else prefix.lstrip())
    if len(suffix) >= CONTEXT_CHARS:
        if _inside_word(suffix[-1]):
            cut = max((match.end() for match in re.finditer(r"\s", suffix)), default=0)
            suffix = suffix[:cut]
        suffix = suffix + "…"
    return prefix, suffix


def entity_context(
    iri: str,
    rows: list[dict],
    evidence: list[dict],
    base: str = DEFAULT_BASE,
    sources_of_graphs: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the entity page shows: title, types, its statements and the
    statements pointing to it grouped by named graph (headed once by the
    graph's source) and property, and its evidence grouped by source (each
    quote once, under the source its annotation's target names, its context
    cut at whole words)."""
    value = partial(_value, base=base)
    sources_of_graphs = sources_of_graphs or {}
    labels = [r["o"] for r in rows if r["direction"].value == "out" and r["p"].value == _RDFS_LABEL]
    english = [label for label in labels if label.language in ("en", None, "")]
    title = (english or labels)[0].value if labels else curie(iri)
    types = []
    for row in rows:
        if row["direction"].value == "out" and row["p"].value == _RDF_TYPE:
            kind = value(row["o"], row.get("oLabel"))
            if kind["kind"] == "iri" and all(kind["iri"] != seen["iri"] for seen in types):
                kind["list"] = "/list?class=" + quote(kind["iri"], safe="")
                types.append(kind)
    # direction -> graph -> predicate -> terms
    tables: dict[str, dict[str, dict[str, Any]]] = {"out": {}, "in": {}}
    external = []
    seen = set()
    for row in rows:
        direction, predicate = row["direction"].value, row["p"].value
        if direction == "out" and predicate == _RDF_TYPE:
            continue
        graph = row["g"].value if row.get("g") is not None else ""
        marker = (direction, predicate, str(row["o"]), graph)
        if marker in seen:
            continue
        seen.add(marker)
        by_graph = tables[direction].setdefault(
            graph, {"heading": _heading(row.get("g"), sources_of_graphs, base), "groups": {}}
        )
        group = by_graph["groups"].setdefault(
            predicate, {"predicate": value(row["p"], row.get("pLabel")), "terms": []}
        )
        term = value(row["o"], row.get("oLabel"))
        if predicate == _EVIDENCE and term["kind"] == "iri":
            span = re.search(r"/(\d+)-(\d+)$", term["iri"])
            term["text"] = f"quote, characters {span[1]}–{span[2]}" if span else "quote"
        group["terms"].append(term)
        if direction == "out" and predicate in _EXTERNAL and isinstance(row["o"], ox.NamedNode):
            external.append({"predicate": curie(predicate), "value": term})

    def ordered(direction: str) -> list[dict[str, Any]]:
        sections = []
        for graph in sorted(tables[direction]):
            section = tables[direction][graph]
            groups = [section["groups"][p] for p in sorted(section["groups"])]
            rows = sum(len(g["terms"]) for g in groups)
            sections.append({"heading": section["heading"], "groups": groups, "rows": rows})
        return sections

    sources: dict[str, dict[str, Any]] = {}
    quoted = set()
    for row in evidence:
        annotation = row["annotation"].value
        if annotation in quoted:
            continue
        quoted.add(annotation)
        source_iri = row["source"].value
        url = _text(row, "url")
        entry = sources.setdefault(
            source_iri,
            {
                "source": value(row["source"], row.get("headline")),
                "date": _text(row, "date"),
                "publisher": _text(row, "publisher"),
                "url": local_href(url, base) if url else None,
                "url_text": url,
                "quotes": [],
            },
        )
        start = _text(row, "start")
        prefix, suffix = whole_words(
            _text(row, "prefix") or "", _text(row, "suffix") or "", int(start) if start and start.isdigit() else None
        )
        entry["quotes"].append(
            {
                "annotation": value(row["annotation"]),
                "exact": row["exact"].value,
                "prefix": prefix,
                "suffix": suffix,
                "start": _text(row, "start"),
                "end": _text(row, "end"),
                "source_iri": source_iri,
            }
        )
    return {
        "iri": iri,
        "title": title,
        "curie": curie(iri),
        "types": types,
        "outgoing": ordered("out"),
        "incoming": ordered("in"),
        "sources": [sources[key] for key in sorted(sources, key=lambda k: (sources[k]["date"] or "", k))],
        "quotes": sum(len(entry["quotes"]) for entry in sources.values()),
        "external": external,
        "view": neighbourhood(iri, title, rows, base=base),
    }


#: Font size (px) of the neighbourhood picture's labels; the SVG is drawn at its own size, never scaled down.
LABEL_PX = 12
_LABEL_CHARS = 28


def _text_width(text: str) -> float:
    """About how wide ``text`` is at :data:`LABEL_PX` (a CJK character is a full em, others about 0.6)."""
    return sum(LABEL_PX if _CJK_CHAR.match(c) else LABEL_PX * 0.62 for c in text)


def neighbourhood(
    iri: str,
    title: str,
    rows: list[dict],
    limit: int = 24,
    radius: tuple[float, float] = (190.0, 165.0),
    base: str = DEFAULT_BASE,
) -> dict[str, Any]:
    """A radial layout of ``iri`` and the resources it is linked to (at most
    ``limit``), for the page's SVG: each neighbour a link to its own page.
    The picture is as wide as its labels need (labels stay inside it) and is
    shown at that size, so labels are :data:`LABEL_PX` pixels high."""
    neighbours: dict[str, dict[str, Any]] = {}
    for row in rows:
        other, predicate = row["o"], row["p"].value
        if not isinstance(other, ox.NamedNode) or predicate in _HIDDEN_IN_VIEW or other.value == iri:
            continue
        entry = neighbours.setdefault(
            other.value,
            {
                "text": row["oLabel"].value if row.get("oLabel") is not None else curie(other.value),
                "href": local_href(other.value, base),
                "relations": [],
            },
        )
        relation = ("→ " if row["direction"].value == "out" else "← ") + curie(predicate)
        if relation not in entry["relations"]:
            entry["relations"].append(relation)
    items = list(neighbours.values())[:limit]

    def cut(text: str, length: int) -> str:
        return text if len(text) <= length else text[: length - 1] + "…"

    labels = [cut(item["text"], _LABEL_CHARS) for item in items]
    centre_label = cut(title, 40)
    widest = max([_text_width(label) for label in labels] + [_text_width(centre_label) / 2, 40.0])
    rx, ry = radius
    margin = 8
    width = round(2 * (rx + 12 + widest + margin))
    height = round(2 * (ry + 2 * LABEL_PX + margin))
    cx, cy = width / 2, height / 2
    nodes = []
    for index, (item, label) in enumerate(zip(items, labels, strict=True)):
        angle = 2 * math.pi * index / max(len(items), 1) - math.pi / 2
        x, y = cx + rx * math.cos(angle), cy + ry * math.sin(angle)
        nodes.append(
            {
                **item,
                "x": round(x, 1),
                "y": round(y, 1),
                "label": label,
                "anchor": "start" if math.cos(angle) > 0.3 else "end" if math.cos(angle) < -0.3 else "middle",
                "dx": 12 if math.cos(angle) > 0.3 else -12 if math.cos(angle) < -0.3 else 0,
                "dy": LABEL_PX + 8 if math.sin(angle) > 0.3 else -12 if math.sin(angle) < -0.3 else 4,
                "title": item["text"] + "\n" + "\n".join(item["relations"]),
            }
        )
    return {
        "width": width,
        "height": height,
        "cx": cx,
        "cy": cy,
        "label": centre_label,
        "nodes": nodes,
        "hidden": max(0, len(neighbours) - limit),
    }


def routes(server: Server) -> list[Route]:
    """The HTML routes of the server, its analyst pages (``config.pages``) included."""
    pages = [
        Route(page.path, bind(server, analyst_page(page)), name=page.path)
        for page in server.config.pages
    ]
    return [
        Route("/", bind(server, home)),
        Route("/schema", bind(server, schema)),
        Route("/search", bind(server, search)),
        Route("/search.json", bind(server, search)),
        Route("/query", bind(server, query_ui)),
        Route("/query/{name}", bind(server, query_form)),
        Route("/list", bind(server, class_list)),
        *pages,
        Route("/id/{path:path}", bind(server, resource)),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
    ]
