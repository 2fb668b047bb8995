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
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ipgraph.namespaces import IPGR, PREFIXES
from ipgraph.serve import (
    _CSP,
    _EXTENSION_FORMAT,
    _RDF_FORMATS,
    _SECURITY_HEADERS,
    DOCUMENT_TYPES,
    HTTPProblem,
    Server,
    _templates,
    named_queries,
    negotiate,
    write_graph,
)

__all__ = ["curie", "local_href", "routes"]

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


def local_href(iri: str) -> str | None:
    """Where ``iri`` is browsed: ``/id/...`` for the graph's own resources, the
    IRI itself for other web IRIs, ``None`` for anything else (a ``javascript:``
    or ``data:`` IRI never becomes a link).

    Example:
        >>> local_href("https://w3id.org/ipgraph/id/region/jilin")
        '/id/region/jilin'
        >>> local_href("javascript:alert(1)") is None
        True
    """
    if iri.startswith(str(IPGR)):
        return "/id/" + quote(iri[len(str(IPGR)) :], safe=_IRI_SAFE)
    if iri.lower().startswith(("http://", "https://")):
        return iri
    return None


def _value(term, label: Any = None) -> dict[str, Any]:
    """A term as the templates show it: text, link, language or datatype."""
    if isinstance(term, ox.NamedNode):
        return {
            "kind": "iri",
            "iri": term.value,
            "text": label.value if isinstance(label, ox.Literal) else curie(term.value),
            "curie": curie(term.value),
            "href": local_href(term.value),
            "local": term.value.startswith(str(IPGR)),
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
        headers={**_SECURITY_HEADERS, "Content-Security-Policy": _CSP, **(headers or {})},
        media_type="text/html",
    )


# ---------------------------------------------------------------------------
# Home, lists, query UI
# ---------------------------------------------------------------------------


async def home(server: Server, request: Request) -> Response:
    """Classes and counts, named graphs, views, and where to query."""
    classes = [
        {
            "class": _value(row["class"], row.get("classLabel")),
            "entities": int(row["entities"].value),
            "list": "/list?class=" + quote(row["class"].value, safe=""),
        }
        for row in await server.cached_rows("classes")
        if isinstance(row["class"], ox.NamedNode)
    ]
    graphs = [
        {"graph": _value(row["graph"]), "triples": int(row["triples"].value)}
        for row in await server.cached_rows("graphs")
    ]
    views = []
    if server.config.views is not None and Path(server.config.views).is_dir():
        views = [
            {"name": path.stem, "href": "/views/" + quote(path.name)}
            for path in sorted(Path(server.config.views).glob("*.html"))
        ]
    page = (
        _templates()
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
    iri = request.query_params.get("class", "")
    if not iri or (not local_href(iri) and not iri.startswith("urn:")):
        raise HTTPProblem(400, "give a class IRI: /list?class=https://w3id.org/ipgraph/ontology#Province")
    rows = await server.page_rows("class-members", **{"class": iri})
    entities = [_value(row["entity"], row.get("entityLabel")) for row in rows]
    page = _templates().get_template("list.html").render(cls=_value(ox.NamedNode(iri)), entities=entities)
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
    config = {"endpoint": "/sparql", "resources": str(IPGR), "queries": queries}
    page = _templates().get_template("query.html").render(queries=queries, config=_script_json(config))
    # YASGUI builds its editor with inline styles and evaluates no code.
    return _html(page)


# ---------------------------------------------------------------------------
# Linked-data pages
# ---------------------------------------------------------------------------

_NEGOTIATED = ["text/html", "text/turtle", "application/ld+json", "application/n-triples", "application/rdf+xml"]
_MEDIA_EXTENSION = {media: ext for ext, media in DOCUMENT_TYPES.items()}


async def resource(server: Server, request: Request) -> Response:
    """``/id/<path>``: a 303 to the document for ``Accept``; ``/id/<path>.<ext>``: the document."""
    path = request.path_params["path"]
    stem, dot, extension = path.rpartition(".")
    if dot and extension in DOCUMENT_TYPES and "/" not in extension:
        return await _document(server, request, stem, extension)
    media = negotiate(request.headers.get("accept"), _NEGOTIATED)
    if media is None:
        raise HTTPProblem(406, f"a resource is available as {', '.join(_NEGOTIATED)}")
    target = "/id/" + quote(path, safe=_IRI_SAFE) + "." + _MEDIA_EXTENSION[media]
    return RedirectResponse(target, status_code=303, headers={"Vary": "Accept", **_SECURITY_HEADERS})


def _iri_of(path: str) -> str:
    iri = str(IPGR) + path
    if any(character in iri for character in ' <>"{}|\\^`') or not path:
        raise HTTPProblem(404, f"not a resource IRI: {iri}")
    return iri


async def _document(server: Server, request: Request, path: str, extension: str) -> Response:
    iri = _iri_of(path)
    headers = {"Content-Location": request.url.path, "Link": f'<{iri}>; rel="describedby"'}
    if extension != "html":
        result = await server.execute(server.page_query("entity-description"), {"this": ox.NamedNode(iri)})
        if not result.triples:  # a named graph's IRI gives the graph's content
            result = await server.execute(server.page_query("graph-content"), {"this": ox.NamedNode(iri)})
        if not result.triples:
            raise HTTPProblem(404, f"the graph says nothing about {iri}")
        rdf_format = _EXTENSION_FORMAT[extension]
        return Response(
            write_graph(result.triples, rdf_format),
            200,
            headers={**_SECURITY_HEADERS, **headers},
            media_type=_RDF_FORMATS[rdf_format][1],
        )
    statements = await server.page_rows("entity-statements", this=iri)
    if not statements:
        members = await server.page_rows("graph-members", this=iri)
        if not members:
            raise HTTPProblem(404, f"the graph says nothing about {iri}")
        page = (
            _templates()
            .get_template("list.html")
            .render(
                cls=_value(ox.NamedNode(iri)),
                entities=[_value(row["entity"], row.get("entityLabel")) for row in members],
                heading="Named graph",
                triples=sum(int(row["triples"].value) for row in members),
            )
        )
        return _html(page, headers=headers)
    evidence = await server.page_rows("entity-evidence", this=iri)
    page = (
        _templates()
        .get_template("entity.html")
        .render(**_entity_context(iri, statements, evidence), base=request.url.path.rsplit(".", 1)[0])
    )
    return _html(page, headers=headers)


def _entity_context(iri: str, rows: list[dict], evidence: list[dict]) -> dict[str, Any]:
    labels = [r["o"] for r in rows if r["direction"].value == "out" and r["p"].value == _RDFS_LABEL]
    english = [label for label in labels if label.language in ("en", None, "")]
    title = (english or labels)[0].value if labels else curie(iri)
    types = [
        _value(r["o"], r.get("oLabel")) for r in rows if r["direction"].value == "out" and r["p"].value == _RDF_TYPE
    ]
    for kind in types:
        kind["list"] = "/list?class=" + quote(kind["iri"], safe="") if kind["kind"] == "iri" else None
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    external = []
    seen = set()
    for row in rows:
        direction, predicate = row["direction"].value, row["p"].value
        if direction == "out" and predicate == _RDF_TYPE:
            continue
        key = (direction, predicate)
        if key not in groups:
            groups[key] = {"direction": direction, "predicate": _value(row["p"], row.get("pLabel")), "terms": []}
        marker = (direction, predicate, str(row["o"]), str(row["g"]))
        if marker in seen:
            continue
        seen.add(marker)
        value = _value(row["o"], row.get("oLabel"))
        value["graph"] = _value(row["g"]) if row.get("g") is not None else None
        groups[key]["terms"].append(value)
        if direction == "out" and predicate in _EXTERNAL and isinstance(row["o"], ox.NamedNode):
            external.append({"predicate": curie(predicate), "value": value})
    outgoing = [g for (d, _), g in sorted(groups.items()) if d == "out"]
    incoming = [g for (d, _), g in sorted(groups.items()) if d == "in"]
    quotes = []
    for row in evidence:
        quotes.append(
            {
                "annotation": _value(row["annotation"]),
                "exact": row["exact"].value,
                "prefix": row["prefix"].value if row.get("prefix") is not None else "",
                "suffix": row["suffix"].value if row.get("suffix") is not None else "",
                "start": row["start"].value if row.get("start") is not None else None,
                "end": row["end"].value if row.get("end") is not None else None,
                "source": _value(row["source"], row.get("headline")),
                "date": row["date"].value if row.get("date") is not None else None,
                "url": local_href(row["url"].value) if row.get("url") is not None else None,
                "url_text": row["url"].value if row.get("url") is not None else None,
                "publisher": row["publisher"].value if row.get("publisher") is not None else None,
            }
        )
    return {
        "iri": iri,
        "title": title,
        "curie": curie(iri),
        "types": types,
        "outgoing": outgoing,
        "incoming": incoming,
        "quotes": quotes,
        "external": external,
        "view": neighbourhood(iri, title, rows),
    }


def neighbourhood(
    iri: str, title: str, rows: list[dict], limit: int = 24, width: int = 640, height: int = 480
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
                "href": local_href(other.value),
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

    def bind(handler):
        async def endpoint(request: Request) -> Response:
            return await handler(server, request)

        endpoint.__name__ = handler.__name__
        return endpoint

    return [
        Route("/", bind(home)),
        Route("/query", bind(query_ui)),
        Route("/list", bind(class_list)),
        Route("/id/{path:path}", bind(resource)),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
    ]
