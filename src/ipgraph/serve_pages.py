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
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ipgraph import query as query_module
from ipgraph.namespaces import PREFIXES
from ipgraph.serve_core import (
    CSP,
    DEFAULT_BASE,
    DOCUMENT_TYPES,
    EXTENSION_FORMAT,
    RDF_FORMATS,
    SECURITY_HEADERS,
    HTTPProblem,
    Server,
    bind,
    check_iri,
    conditional,
    negotiate,
    templates,
    write_graph,
)

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
_HIDDEN_IN_VIEW = {_RDF_TYPE, "https://w3id.org/ipgraph/ontology#evidence", "http://www.w3.org/ns/oa#hasBody"}
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


async def home(server: Server, request: Request) -> Response:
    """Classes and counts, named graphs, views, downloads, and where to query."""
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
    views = []
    if server.config.views is not None and Path(server.config.views).is_dir():
        views = [
            {"name": path.stem, "href": "/views/" + quote(path.name)}
            for path in sorted(Path(server.config.views).glob("*.html"))
        ]
    page = (
        templates()
        .get_template("home.html")
        .render(
            classes=classes,
            graphs=graphs,
            views=views,
            quads=len(server.store),
            store=server.store.kind,
            queries=named_queries(server.config.queries),
        )
    )
    return _html(page)


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
    page = templates().get_template("list.html").render(cls=value(ox.NamedNode(iri)), entities=entities)
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
    page = templates().get_template("query.html").render(queries=queries, config=_script_json(config))
    # YASGUI builds its editor with inline styles and evaluates no code.
    return _html(page)


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
        page = (
            templates()
            .get_template("list.html")
            .render(
                cls=value(ox.NamedNode(iri)),
                entities=[value(row["entity"], row.get("entityLabel")) for row in members],
                heading="Named graph",
                triples=sum(int(row["triples"].value) for row in members),
                download="/graph-store?graph=" + quote(iri, safe=""),
            )
        )
    else:
        evidence = await server.page_rows("entity-evidence", this=iri)
        context = entity_context(iri, statements, evidence, server.config.base)
        page = templates().get_template("entity.html").render(**context, base=stem_href)
    html_headers = {**headers, "Content-Security-Policy": CSP}
    return conditional(request, page.encode("utf-8"), "text/html; charset=utf-8", modified, cache, html_headers)


def _text(row: dict, name: str) -> str | None:
    term = row.get(name)
    return term.value if term is not None else None


def entity_context(iri: str, rows: list[dict], evidence: list[dict], base: str = DEFAULT_BASE) -> dict[str, Any]:
    """What the entity page shows: title, types, its statements and the
    statements pointing to it grouped by named graph and property, and its
    evidence grouped by source (each quote once, under the source its
    annotation's target names)."""
    value = partial(_value, base=base)
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
            graph, {"graph": value(row["g"]) if row.get("g") is not None else None, "groups": {}}
        )
        group = by_graph["groups"].setdefault(predicate, {"predicate": value(row["p"], row.get("pLabel")), "terms": []})
        term = value(row["o"], row.get("oLabel"))
        group["terms"].append(term)
        if direction == "out" and predicate in _EXTERNAL and isinstance(row["o"], ox.NamedNode):
            external.append({"predicate": curie(predicate), "value": term})

    def ordered(direction: str) -> list[dict[str, Any]]:
        sections = []
        for graph in sorted(tables[direction]):
            section = tables[direction][graph]
            groups = [section["groups"][p] for p in sorted(section["groups"])]
            sections.append({"graph": section["graph"], "groups": groups, "rows": sum(len(g["terms"]) for g in groups)})
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
        entry["quotes"].append(
            {
                "annotation": value(row["annotation"]),
                "exact": row["exact"].value,
                "prefix": _text(row, "prefix") or "",
                "suffix": _text(row, "suffix") or "",
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


def neighbourhood(
    iri: str,
    title: str,
    rows: list[dict],
    limit: int = 24,
    width: int = 640,
    height: int = 480,
    base: str = DEFAULT_BASE,
) -> dict[str, Any]:
    """A radial layout of ``iri`` and the resources it is linked to (at most
    ``limit``), for the page's SVG: each neighbour a link to its own page."""
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
    cx, cy = width / 2, height / 2
    radius = height / 2 - 50
    nodes = []
    for index, item in enumerate(items):
        angle = 2 * math.pi * index / max(len(items), 1) - math.pi / 2
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        nodes.append(
            {
                **item,
                "x": round(x, 1),
                "y": round(y, 1),
                "label": item["text"] if len(item["text"]) <= 28 else item["text"][:27] + "…",
                "anchor": "start" if math.cos(angle) > 0.3 else "end" if math.cos(angle) < -0.3 else "middle",
                "dx": 10 if math.cos(angle) > 0.3 else -10 if math.cos(angle) < -0.3 else 0,
                "dy": 18 if math.sin(angle) > 0.3 else -12 if math.sin(angle) < -0.3 else 4,
                "title": item["text"] + "\n" + "\n".join(item["relations"]),
            }
        )
    return {
        "width": width,
        "height": height,
        "cx": cx,
        "cy": cy,
        "label": title if len(title) <= 32 else title[:31] + "…",
        "nodes": nodes,
        "hidden": max(0, len(neighbours) - limit),
    }


def routes(server: Server) -> list[Route]:
    """The HTML routes of the server."""
    return [
        Route("/", bind(server, home)),
        Route("/query", bind(server, query_ui)),
        Route("/list", bind(server, class_list)),
        Route("/id/{path:path}", bind(server, resource)),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
    ]
