"""Project the RDF dataset into networkx graphs that carry meaning.

Each projection is a SPARQL SELECT in ``queries/projections/NAME.rq`` (package
data, or a project's own ``queries/projections/``) whose
rows are edges: ``?source ?target`` (IRIs; rows with a literal end are
dropped, so literals never become nodes), ``?relation`` (the edge label) and
optionally ``?via`` (a fact the edge rests on) and ``?weight``. Rows with the
same source, relation and target merge into one edge: its ``via`` lists the
facts and its ``weight`` counts them (or sums ``?weight``). Node attributes
come from ``node-details.rq``: IRI, label, class and the values a tooltip
needs (metric value and period, description, quote, source); a node that
several sources quote gets each quote once, followed by its own source. A
user adds a projection by adding a ``.rq`` file.

Every graph is a :class:`networkx.MultiDiGraph` (two relations between the
same pair must not collapse), with plain string/number attributes so that
GraphML and GEXF export work, built in sorted order so that the same dataset
gives byte-identical files.

Example:
    >>> from ipgraph.project import names
    >>> "overview" in names()
    True
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import networkx as nx
import pyoxigraph as ox
from rdflib import Dataset, Graph, Literal, URIRef

from ipgraph.build import write_atomic
from ipgraph.errors import OutputError, ProjectionError
from ipgraph.layout import QUERIES as _PACKAGE_QUERIES
from ipgraph.namespaces import IPG, OA, PREFIXES, QB, SCHEMA
from ipgraph.store import Store, select_rows
from ipgraph.store.memory import to_rdflib

__all__ = [
    "CLASSES",
    "FORMATS",
    "QUERIES",
    "Stats",
    "entity",
    "names",
    "project",
    "resolve",
    "run_select",
    "stats",
    "write",
]

#: Where the projection queries live: the package's ``queries/projections``.
#: A project's own (``Project.query_folders("projections")``) come first.
QUERIES = _PACKAGE_QUERIES / "projections"

#: One folder of projection queries, or several searched in order.
Folders = str | Path | Sequence[str | Path]

#: Query files that define node attributes, not a projection.
_NOT_PROJECTIONS = {"node-details"}

#: The class shown for a node: the first of its types in this order.
CLASSES: dict[URIRef, str] = {
    IPG.Municipality: "Municipality",
    IPG.AutonomousRegion: "AutonomousRegion",
    IPG.SpecialAdministrativeRegion: "SpecialAdministrativeRegion",
    IPG.Province: "Province",
    IPG.City: "City",
    IPG.RegionGroup: "RegionGroup",
    SCHEMA.Country: "Country",
    IPG.Region: "Region",
    IPG.Agency: "Agency",
    IPG.Measure: "Measure",
    QB.Observation: "Metric",
    IPG.Industry: "Industry",
    IPG.Indicator: "Indicator",
    IPG.MeasureType: "MeasureType",
    IPG.IndustryFocus: "IndustryFocus",
    SCHEMA.Person: "Person",
    SCHEMA.Event: "Event",
    SCHEMA.Quotation: "Statement",
    SCHEMA.NewsArticle: "Source",
    QB.DataSet: "DataSet",
    OA.Annotation: "Quote",
    SCHEMA.Organization: "Organization",
}

#: Classes that count as regions / industries in :func:`stats`.
REGION_CLASSES = {
    "Municipality",
    "AutonomousRegion",
    "SpecialAdministrativeRegion",
    "Province",
    "City",
    "RegionGroup",
    "Country",
    "Region",
}
INDUSTRY_CLASSES = {"Industry"}

#: Output formats of :func:`write`.
FORMATS = ("graphml", "gexf", "json")


#: What a projection reads: a store (:mod:`ipgraph.store`: Oxigraph, a remote
#: SPARQL store, rdflib) or an rdflib dataset.
Source = Graph | Store


def run_select(dataset: Source, query: str) -> list[dict[str, object]]:
    """Run a SPARQL SELECT on the union of the dataset's graphs; rows as dicts
    of rdflib terms.

    The one place that talks to the store: on a :class:`~ipgraph.store.Store`
    the query runs there (on a remote store a page at a time,
    :func:`ipgraph.store.select_rows`); an rdflib dataset is queried by rdflib.
    """
    if isinstance(dataset, Store):
        variables, rows = select_rows(dataset, query)
        return [
            {name: _rdflib_term(term) for name, term in zip(variables, row, strict=True) if term is not None}
            for row in rows
        ]
    restore = None
    if isinstance(dataset, Dataset):
        restore, dataset.default_union = dataset.default_union, True
    try:
        result = dataset.query(query)
        variables = [str(v) for v in result.vars or []]
        return [{v: row[v] for v in variables if row[v] is not None} for row in result]
    finally:
        if restore is not None:
            dataset.default_union = restore


def _rdflib_term(term: ox.NamedNode | ox.BlankNode | ox.Literal):
    if isinstance(term, ox.Literal) and not term.language and term.datatype.value == _XSD_STRING:
        return Literal(term.value)  # most values; a plain literal reads the same here and is made 3x faster
    return to_rdflib(term)


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _folders(queries: Folders) -> list[Path]:
    if isinstance(queries, str | Path):
        return [Path(queries)]
    return [Path(folder) for folder in queries]


def names(queries: Folders = QUERIES) -> list[str]:
    """The projections defined in ``queries`` (file names without ``.rq``), plus ``entity``."""
    found = {path.stem for folder in _folders(queries) for path in folder.glob("*.rq")} - _NOT_PROJECTIONS
    return sorted(found | {"entity"})


def _load_query(name: str, queries: Folders) -> str:
    folders = _folders(queries)
    for folder in folders:
        path = folder / f"{name}.rq"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    known = ", ".join(names(queries))
    raise ProjectionError(f"unknown projection {name!r}; known: {known}", path=folders[0] / f"{name}.rq")


def _curie(iri: str) -> str:
    best = ""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            best = prefix
    return f"{best}:{iri[len(PREFIXES[best]) :]}" if best else iri


def _plain(value: object) -> str | int | float:
    """A literal as a plain Python string or number (GraphML/GEXF-safe)."""
    if isinstance(value, Literal):
        python = value.toPython()
        if isinstance(python, bool):
            return str(python).lower()
        if isinstance(python, int | float):
            return python
        if isinstance(python, Decimal):
            return float(python)
        return str(value)
    return str(value)


def _node_details(dataset: Source, queries: Folders) -> dict[str, dict[str, object]]:
    """Node attributes from ``node-details.rq``: one dict per node IRI."""
    rows = run_select(dataset, _load_query("node-details", queries))
    collected: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    # Each quote with the source it was quoted from (a row's ?article), and each source's headline.
    quoted: dict[str, set[tuple[str, str]]] = defaultdict(set)
    headlines: dict[str, str] = {}
    for row in rows:
        node, key, value = row.get("node"), row.get("key"), row.get("value")
        if not isinstance(node, URIRef) or key is None or value is None:
            continue
        if key == "label" and isinstance(value, Literal) and value.language not in (None, "en"):
            key = "aliases"  # a label in another language is another name to search by
        collected[str(node)][str(key)].append(value)
        if "article" in row:
            if str(key) == "quote":
                quoted[str(node)].add((str(row["article"]), str(value)))
            elif str(key) == "source":
                headlines[str(row["article"])] = str(value)
    details: dict[str, dict[str, object]] = {}
    for iri, values in collected.items():
        attributes: dict[str, object] = {}
        types = set(values.pop("type", []))
        attributes["class"] = next((name for cls, name in CLASSES.items() if cls in types), "Thing")
        if len({article for article, _ in quoted.get(iri, ())}) > 1:
            # Quoted by several sources: each quote once, with its own source.
            pairs = sorted((headlines.get(article, article), quote) for article, quote in quoted[iri])
            values.pop("quote")
            attributes["quote"] = "\n".join(f"{quote} — {headline}" for headline, quote in pairs)
        for key, found in values.items():
            plain = sorted({_plain(v) for v in found}, key=str)
            if key in ("quote", "source", "source_url", "aliases") and len(plain) > 1:
                attributes[key] = "\n".join(str(p) for p in plain)
            else:
                attributes[key] = plain[0]
        details[iri] = attributes
    return details


def _node(graph: nx.MultiDiGraph, iri: str, details: dict[str, dict[str, object]]) -> None:
    if iri in graph:
        return
    attributes = {"iri": iri, "curie": _curie(iri), "class": "Thing"}
    attributes.update(details.get(iri, {}))
    if "label" not in attributes and "quote" in attributes:
        quote = str(attributes["quote"]).split("\n")[0]
        attributes["label"] = f"“{quote[:60]}…”" if len(quote) > 60 else f"“{quote}”"
    attributes.setdefault("label", attributes["curie"])
    graph.add_node(iri, **attributes)


def graph_from_rows(
    rows: Iterable[dict[str, object]], details: dict[str, dict[str, object]], name: str = ""
) -> nx.MultiDiGraph:
    """Build the projection graph from edge rows (see the module docstring) and node details."""
    edges: dict[tuple[str, str, str], dict] = {}
    for row in rows:
        source, target = row.get("source"), row.get("target")
        if not isinstance(source, URIRef) or not isinstance(target, URIRef):
            continue
        relation = str(row.get("relation", "related"))
        edge = edges.setdefault((str(source), relation, str(target)), {"via": set(), "weight": 0.0, "rows": 0})
        edge["rows"] += 1
        if "via" in row:
            edge["via"].add(str(row["via"]))
        if "weight" in row:
            edge["weight"] += float(_plain(row["weight"]))
    graph = nx.MultiDiGraph(name=name)
    for source, relation, target in sorted(edges):
        edge = edges[(source, relation, target)]
        _node(graph, source, details)
        _node(graph, target, details)
        weight = edge["weight"] or len(edge["via"]) or edge["rows"]
        attributes: dict[str, object] = {
            "relation": relation,
            "weight": int(weight) if weight == int(weight) else weight,
        }
        if edge["via"]:
            attributes["via"] = " | ".join(sorted(edge["via"]))
        graph.add_edge(source, target, key=relation, **attributes)
    return graph


def project(
    dataset: Source,
    name: str,
    *,
    entity_name: str | None = None,
    hops: int = 1,
    queries: Folders = QUERIES,
) -> nx.MultiDiGraph:
    """The projection ``name`` of ``dataset`` as a MultiDiGraph.

    ``name`` is a query of ``queries`` (``overview``, ``region-industry``,
    ``agency-measure``, ``provenance``, or a user's own) or ``entity``, which
    needs ``entity_name`` and gives its neighbourhood of ``hops`` in the
    overview.

    Raises:
        ProjectionError: unknown projection or entity.
    """
    if name == "entity":
        if not entity_name:
            raise ProjectionError("the entity projection needs an entity (an IRI, prefixed name or label)")
        return entity(dataset, entity_name, hops=hops, queries=queries)
    query = _load_query(name, queries)
    details = _node_details(dataset, queries)
    graph = graph_from_rows(run_select(dataset, query), details, name)
    if name == "region-industry":
        for _, data in graph.nodes(data=True):
            data["bipartite"] = 1 if data["class"] in INDUSTRY_CLASSES else 0
    return graph


def resolve(graph: nx.Graph, name: str) -> str:
    """The node of ``graph`` that ``name`` means: its IRI, prefixed name, local name or label.

    Raises:
        ProjectionError: no node, or more than one, has that name.
    """
    if name in graph:
        return name
    wanted = name.casefold()
    for keys in (("curie",), ("label", "label_zh")):
        found = sorted(
            node
            for node, data in graph.nodes(data=True)
            if any(str(data.get(k, "")).casefold() == wanted for k in keys)
        )
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ProjectionError(f"{name!r} names {len(found)} entities: {', '.join(found)}; give the IRI")
    found = sorted(node for node in graph if node.rsplit("/", 1)[-1].casefold() == wanted)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise ProjectionError(f"{name!r} names {len(found)} entities: {', '.join(found)}; give the IRI")
    raise ProjectionError(f"no entity named {name!r} in the overview (try an IRI, a prefixed name or a label)")


def entity(dataset: Source, name: str, *, hops: int = 1, queries: Folders = QUERIES) -> nx.MultiDiGraph:
    """The neighbourhood of ``hops`` around one entity in the overview, either edge direction.

    Raises:
        ProjectionError: unknown entity, or ``hops`` below 0.
    """
    if hops < 0:
        raise ProjectionError(f"hops must be 0 or more, not {hops}")
    overview = project(dataset, "overview", queries=queries)
    centre = resolve(overview, name)
    reach = nx.single_source_shortest_path_length(overview.to_undirected(as_view=True), centre, cutoff=hops)
    graph = nx.MultiDiGraph(overview.subgraph(sorted(reach)))
    graph.graph["name"] = f"entity {overview.nodes[centre]['label']}"
    graph.graph["centre"] = centre
    for node, distance in reach.items():
        graph.nodes[node]["hops"] = distance
    return graph


def write(graph: nx.MultiDiGraph, rdf_format: str, out: str | Path) -> Path:
    """Write ``graph`` as GraphML, GEXF or node-link JSON to ``out`` (UTF-8) and return the path.

    Raises:
        ProjectionError: unknown format or unwritable path.
    """
    out = Path(out)
    if rdf_format not in FORMATS:
        raise ProjectionError(f"unknown format {rdf_format!r}; expected one of {', '.join(FORMATS)}")
    buffer = io.BytesIO()
    if rdf_format == "graphml":
        nx.write_graphml(graph, buffer, encoding="utf-8")
    elif rdf_format == "gexf":
        nx.write_gexf(graph, buffer, encoding="utf-8")
    else:
        data = nx.node_link_data(graph, edges="edges")
        buffer.write((json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    try:
        write_atomic(out, buffer.getvalue())
    except OutputError as error:
        raise ProjectionError(error.message, path=out) from None
    return out


#: Above this many nodes betweenness is estimated from a sample of pivots.
BETWEENNESS_EXACT_LIMIT = 2000


def _betweenness(graph: nx.Graph) -> dict[str, float]:
    if len(graph) <= BETWEENNESS_EXACT_LIMIT:
        return nx.betweenness_centrality(graph)
    return nx.betweenness_centrality(graph, k=500, seed=1)


@dataclass
class Stats:
    """What analysts ask of a network: size, components, central nodes."""

    nodes: int
    edges: int
    components: list[int]
    degree: list[tuple[str, float]] = field(default_factory=list)
    betweenness: list[tuple[str, float]] = field(default_factory=list)
    regions: list[tuple[str, int]] = field(default_factory=list)
    industries: list[tuple[str, int]] = field(default_factory=list)


def stats(graph: nx.MultiDiGraph, top: int = 10) -> Stats:
    """Degree and betweenness centrality, connected components and the most
    connected regions and industries of ``graph`` (labels, not IRIs).

    Centralities are computed on the simple undirected graph: a relation
    counts once per pair of nodes, whatever its direction.
    """
    simple = nx.Graph(graph.to_undirected(as_view=True))
    label = {node: str(data.get("label", node)) for node, data in graph.nodes(data=True)}

    def ranked(scores: dict[str, float]) -> list[tuple[str, float]]:
        best = sorted(scores.items(), key=lambda item: (-item[1], label[item[0]], item[0]))[:top]
        return [(label[node], round(score, 4)) for node, score in best]

    def connected(classes: set[str]) -> list[tuple[str, int]]:
        chosen = [node for node, data in graph.nodes(data=True) if data.get("class") in classes]
        best = sorted(chosen, key=lambda node: (-simple.degree(node), label[node], node))[:top]
        return [(label[node], simple.degree(node)) for node in best]

    components = sorted((len(c) for c in nx.connected_components(simple)), reverse=True)
    return Stats(
        nodes=graph.number_of_nodes(),
        edges=graph.number_of_edges(),
        components=components,
        degree=ranked(nx.degree_centrality(simple)) if len(simple) > 1 else [],
        betweenness=ranked(_betweenness(simple)) if len(simple) > 1 else [],
        regions=connected(REGION_CLASSES),
        industries=connected(INDUSTRY_CLASSES),
    )
