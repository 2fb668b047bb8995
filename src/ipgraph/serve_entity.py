"""What an entity page of ``ipgraph serve`` shows, as data for its template:
terms as the pages show them (text, link, language), statements grouped by
the source whose graph states them (named once per group), quotes with their
context cut at whole words, and the neighbourhood picture laid out at a size
where its labels are legible. Pure functions of query rows; the routes are in
:mod:`ipgraph.serve_pages`.

Only ``http``/``https`` IRIs become links, so a label or an IRI can never
become markup or script (the templates escape every value).
"""

from __future__ import annotations

import math
import re
from functools import partial
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox

from ipgraph.facts import CONTEXT_CHARS
from ipgraph.namespaces import PREFIXES
from ipgraph.serve_core import DEFAULT_BASE

__all__ = ["IRI_SAFE", "LABEL_PX", "curie", "entity_context", "graph_sources", "local_href", "neighbourhood",
           "show", "text_of", "whole_words"]  # fmt: skip

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_EXTERNAL = {
    "http://www.w3.org/2002/07/owl#sameAs",
    "http://www.w3.org/2004/02/skos/core#exactMatch",
    "http://www.w3.org/2004/02/skos/core#closeMatch",
    "https://schema.org/sameAs",
    "https://schema.org/url",
}
_EVIDENCE = "https://w3id.org/ipgraph/ontology#evidence"
_HIDDEN_IN_VIEW = {_RDF_TYPE, _EVIDENCE, "http://www.w3.org/ns/oa#hasBody"}
IRI_SAFE = "/:@!$&'()*+,;=-._~"
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
        return "/id/" + quote(iri[len(base) :], safe=IRI_SAFE)
    if iri.lower().startswith(("http://", "https://")):
        return iri
    return None


def show(term, label: Any = None, base: str = DEFAULT_BASE) -> dict[str, Any]:
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


def text_of(row: dict, name: str) -> str | None:
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
            "date": text_of(row, "date"),
            "publisher": text_of(row, "publisher"),
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
            "source": show(known["source"], known["headline"], base),
            "publisher": known["publisher"],
            "date": known["date"],
            "graph": show(graph, None, base),
        }
    slug = graph.value.rstrip("/").rsplit("/", 1)[-1]
    if graph.value.startswith(base) and slug in _SHARED_GRAPHS:
        return {"kind": "shared", "text": _SHARED_GRAPHS[slug], "graph": show(graph, None, base)}
    return {"kind": "graph", "graph": show(graph, None, base)}


_WORD_CHAR = re.compile(r"[^\W_]")
_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


_LINE_BREAKS = re.compile(r"[ \t]*[\n\r\u2028\u2029]\s*")


def _inside_word(character: str) -> bool:
    """Whether a cut next to ``character`` may split a word (CJK characters are words of their own)."""
    return bool(_WORD_CHAR.match(character)) and not _CJK_CHAR.match(character)


def whole_words(prefix: str, suffix: str, start: int | None) -> tuple[str, str]:
    """A quote's context cut at word boundaries: the prefix and suffix are
    the 32 characters around the quote (``CONTEXT_CHARS``), so their outer
    ends may fall inside a word ("f the country's"); that partial word is
    dropped and "…" marks the cut. A prefix that reaches the start of the
    text (``start`` is its length) or a suffix shorter than 32 characters
    (it reaches the end) is kept whole. Line breaks in the context (a table
    in the source) show as one space; the quote itself is shown as it is.

    Example:
        >>> whole_words("f the country's heavy industry, ", ", along with the neighboring Inn", 900)
        ("… the country's heavy industry, ", ', along with the neighboring …')
    """
    if not (start is not None and start <= len(prefix)) and prefix:
        if _inside_word(prefix[0]):
            cut = re.search(r"\s", prefix)
            prefix = prefix[cut.start() :] if cut else ""
        prefix = "…" + prefix
    if len(suffix) >= CONTEXT_CHARS:
        if _inside_word(suffix[-1]):
            cut = max((match.end() for match in re.finditer(r"\s", suffix)), default=0)
            suffix = suffix[:cut]
        suffix = suffix + "…"
    return _LINE_BREAKS.sub(" ", prefix), _LINE_BREAKS.sub(" ", suffix)


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
    value = partial(show, base=base)
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
        url = text_of(row, "url")
        entry = sources.setdefault(
            source_iri,
            {
                "source": value(row["source"], row.get("headline")),
                "date": text_of(row, "date"),
                "publisher": text_of(row, "publisher"),
                "url": local_href(url, base) if url else None,
                "url_text": url,
                "quotes": [],
            },
        )
        start = text_of(row, "start")
        offset = int(start) if start and start.isdigit() else None
        prefix, suffix = whole_words(text_of(row, "prefix") or "", text_of(row, "suffix") or "", offset)
        entry["quotes"].append(
            {
                "annotation": value(row["annotation"]),
                "exact": row["exact"].value,
                "prefix": prefix,
                "suffix": suffix,
                "start": text_of(row, "start"),
                "end": text_of(row, "end"),
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
