"""Draw a projection as one interactive, self-contained, safe HTML page.

The page inlines vis-network (the copy that the installed pyvis package
ships), so it opens offline and asks no other host for anything; a
Content-Security-Policy allows only its own two scripts (by hash), so even a
label that slipped through escaping could not run. The graph travels as JSON
in ``<script type="application/json">`` with ``<``, ``>`` and ``&`` written as
``\\u003c``-style escapes, and the page writes every label, tooltip and quote
with ``textContent``, never as HTML.

Why not pyvis's own ``Network``: its ``in_line``/``local`` modes still link a
CDN, ``heading`` is written unescaped, a title containing "href" switches all
tooltips to raw HTML, and ``from_nx`` is roughly quadratic (about 7 s for 10k
nodes). Building the vis-network data here is linear.

Large graphs stay usable: up to ``physics_limit`` nodes vis-network lays the
graph out and its physics stops once stable; above it the layout is computed
here with networkx (a radial layout per connected component, linear in the
graph's size) and physics stays off; above ``edge_label_limit`` edges the edge
labels are left out. The page says which of these happened.

Example:
    >>> import networkx as nx
    >>> graph = nx.MultiDiGraph()
    >>> graph.add_node("a", label="<b>Jilin</b>", **{"class": "Province"})
    >>> page = render(graph, title="demo")
    >>> "<b>Jilin</b>" in page, "\\\\u003cb\\\\u003eJilin" in page
    (False, True)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import math
from collections import defaultdict
from importlib import resources
from pathlib import Path

import networkx as nx
from rdflib import Graph

from ipgraph import project as project_module
from ipgraph.build import write_atomic
from ipgraph.errors import OutputError, ViewError
from ipgraph.layout import PACKAGE

__all__ = [
    "DEMO_VIEWS",
    "DETAILS",
    "STYLES",
    "by_source",
    "display",
    "render",
    "to_pyvis",
    "view_data",
    "write_index",
    "write_view",
    "write_views",
]

#: Colour and vis-network shape of each class; other classes get grey dots.
STYLES: dict[str, tuple[str, str]] = {
    "Country": ("#084081", "hexagon"),
    "RegionGroup": ("#08519c", "hexagon"),
    "Province": ("#2b7bba", "dot"),
    "AutonomousRegion": ("#2b7bba", "dot"),
    "Municipality": ("#2b7bba", "dot"),
    "SpecialAdministrativeRegion": ("#2b7bba", "dot"),
    "Region": ("#2b7bba", "dot"),
    "City": ("#6baed6", "dot"),
    "Agency": ("#d95f02", "square"),
    "Organization": ("#fdae6b", "square"),
    "Measure": ("#1b9e77", "diamond"),
    "MeasureType": ("#a6d854", "triangleDown"),
    "Industry": ("#7570b3", "triangle"),
    "IndustryFocus": ("#66a61e", "diamond"),
    "Metric": ("#e7298a", "star"),
    "Indicator": ("#c994c7", "triangleDown"),
    "Person": ("#e6ab02", "dot"),
    "Event": ("#a6761d", "star"),
    "Statement": ("#737373", "square"),
    "Source": ("#404040", "hexagon"),
    "Quote": ("#969696", "dot"),
}
_DEFAULT_STYLE = ("#bdbdbd", "dot")

#: The node attributes shown in the details panel, in this order, with their names.
DETAILS: dict[str, str] = {
    "class": "class",
    "label_zh": "Chinese name",
    "aliases": "also called",
    "description": "description",
    "stated_value": "value",
    "value": "value",
    "unit": "unit",
    "period": "period",
    "yoy_change_percent": "year on year (%)",
    "job_title": "job title",
    "text": "said",
    "hops": "hops from centre",
    "quote": "quote",
    "source": "source",
    "source_url": "source link",
    "iri": "IRI",
}

_VIS = "templates/lib/vis-9.1.2"


def _asset(name: str) -> str:
    """A file of the vis-network copy bundled with pyvis, as text."""
    try:
        return resources.files("pyvis").joinpath(f"{_VIS}/{name}").read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as error:
        raise ViewError(f"vis-network not found in the installed pyvis ({_VIS}/{name}): {error}") from None


def _json_for_html(data: object) -> str:
    """JSON that cannot close its ``<script>`` element or open another."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _radial_layout(graph: nx.Graph, spacing: float = 60.0) -> dict[str, tuple[float, float]]:
    """Positions in linear time: each connected component on rings around its
    best-connected node (breadth-first, so children sit near their parents),
    components packed in rows, largest first."""
    simple = nx.Graph()  # a plain copy iterates far faster than an undirected view of a multigraph
    simple.add_nodes_from(graph)
    simple.add_edges_from(graph.edges())
    components = sorted(nx.connected_components(simple), key=lambda c: (-len(c), min(c)))
    placed: list[tuple[dict[str, tuple[float, float]], float]] = []
    degree = dict(simple.degree())
    for component in components:
        centre = min(component, key=lambda n: (-degree[n], n))
        order, depth = [centre], {centre: 0}
        for u, v in nx.bfs_edges(simple, centre, sort_neighbors=sorted):
            order.append(v)
            depth[v] = depth[u] + 1
        rings: dict[int, list[str]] = defaultdict(list)
        for node in order:
            rings[depth[node]].append(node)
        local: dict[str, tuple[float, float]] = {centre: (0.0, 0.0)}
        radius = 0.0
        for level in sorted(rings)[1:]:
            members = rings[level]
            radius = max(radius + spacing * 1.5, len(members) * spacing / (2 * math.pi))
            for index, node in enumerate(members):
                angle = 2 * math.pi * index / len(members) + level * 0.5
                local[node] = (radius * math.cos(angle), radius * math.sin(angle))
        placed.append((local, radius + spacing))
    total = sum((2 * r) ** 2 for _, r in placed)
    row_width = max(math.sqrt(total) * 1.2, 1.0)
    positions: dict[str, tuple[float, float]] = {}
    x = y = row_height = 0.0
    for local, r in placed:
        if x > 0 and x + 2 * r > row_width:
            x, y, row_height = 0.0, y + row_height, 0.0
        for node, (nx_, ny_) in local.items():
            positions[node] = (round(x + r + nx_, 1), round(y + r + ny_, 1))
        x += 2 * r
        row_height = max(row_height, 2 * r)
    return positions


def _size(data: dict, degree: int) -> float:
    value = data.get("value")
    if data.get("class") == "Metric" and isinstance(value, int | float) and value > 0:
        return round(min(10 + 4 * math.log10(value + 1), 45), 1)
    return round(min(8 + 3 * math.sqrt(degree), 40), 1)


def view_data(
    graph: nx.MultiDiGraph,
    *,
    title: str = "",
    physics_limit: int = 500,
    edge_label_limit: int = 2000,
) -> dict:
    """The page's data: nodes, edges, classes (for the legend) and notes.

    Node ``d`` holds ``[name, value]`` pairs for the details panel; ``x``/``y``
    are set when the layout is computed here (more than ``physics_limit`` nodes).
    """
    notes: list[str] = []
    physics = graph.number_of_nodes() <= physics_limit
    positions: dict[str, tuple[float, float]] = {}
    if not physics:
        positions = _radial_layout(graph)
        notes.append(
            f"{graph.number_of_nodes()} nodes (more than {physics_limit}): layout computed in Python, physics off."
        )
    edge_labels = graph.number_of_edges() <= edge_label_limit
    if not edge_labels:
        notes.append(f"{graph.number_of_edges()} edges (more than {edge_label_limit}): edge labels hidden.")
    degree: dict[str, int] = defaultdict(int)
    for source, target in graph.edges():
        degree[source] += 1
        degree[target] += 1
    nodes, classes = [], defaultdict(int)
    for node, data in graph.nodes(data=True):
        cls = str(data.get("class", "Thing"))
        classes[cls] += 1
        details = [[DETAILS[k], str(data[k])] for k in DETAILS if k in data and data[k] != ""]
        item = {"id": str(node), "label": str(data.get("label", node)), "c": cls, "size": _size(data, degree[node])}
        item["d"] = details
        names = [str(data[k]) for k in ("label_zh", "aliases") if data.get(k, "") != ""]
        if names:  # the other names search matches, one a line
            item["n"] = "\n".join(dict.fromkeys("\n".join(names).split("\n")))
        if node in positions:
            item["x"], item["y"] = positions[node]
        nodes.append(item)
    edges, seen = [], defaultdict(int)
    for source, target, data in graph.edges(data=True):
        pair = (str(source), str(target))
        item = {"from": pair[0], "to": pair[1], "relation": str(data.get("relation", ""))}
        if data.get("weight", 1) != 1:
            item["weight"] = data["weight"]
        if "via" in data:
            item["via"] = str(data["via"])
        item["parallel"] = seen[pair]
        seen[pair] += 1
        edges.append(item)
    legend = [
        {
            "name": name,
            "count": count,
            "color": STYLES.get(name, _DEFAULT_STYLE)[0],
            "shape": STYLES.get(name, _DEFAULT_STYLE)[1],
        }
        for name, count in sorted(classes.items())
    ]
    return {
        "title": title or str(graph.graph.get("name", "")) or "ipgraph view",
        "nodes": nodes,
        "edges": edges,
        "classes": legend,
        "physics": physics,
        "edgeLabels": edge_labels,
        "notes": notes,
    }


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


#: The page's style and its app (vanilla JavaScript over vis-network): files
#: of the package's ``static/``, inlined into every view so that it works offline.
_CSS = (PACKAGE / "static" / "view.css").read_text(encoding="utf-8")
_APP = (PACKAGE / "static" / "view.js").read_text(encoding="utf-8")


def render(graph: nx.MultiDiGraph, *, title: str = "", physics_limit: int = 500, edge_label_limit: int = 2000) -> str:
    """The view of ``graph`` as one HTML page (a string), same graph same text."""
    data = view_data(graph, title=title, physics_limit=physics_limit, edge_label_limit=edge_label_limit)
    vis_js = _asset("vis-network.min.js").replace("</script", "<\\/script")
    vis_css = _asset("vis-network.css")
    policy = (
        "default-src 'none'; "
        f"script-src '{_sha256(vis_js)}' '{_sha256(_APP)}'; "
        "style-src 'unsafe-inline'; img-src data:; font-src data:; "
        "connect-src 'none'; base-uri 'none'; form-action 'none'"
    )
    heading = html.escape(data["title"])
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(policy)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="ipgraph">\n'
        f"<title>{heading}</title>\n"
        f"<style>{vis_css}</style>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{heading}</h1><span class="counts" id="counts"></span>'
        '<span class="note" id="notes"></span></header>\n'
        '<aside id="side"><input id="search" type="search" placeholder="Search by name, in any language…" '
        'aria-label="Search nodes by label or alias" autocomplete="off">'
        '<ul id="matches"></ul><div id="legend" aria-label="Classes (untick to hide)"></div></aside>\n'
        '<main id="network"></main>\n<aside id="details" aria-live="polite"></aside>\n'
        '<div id="tooltip" role="tooltip"></div>\n'
        f'<script type="application/json" id="ipgraph-data">{_json_for_html(data)}</script>\n'
        f"<script>{vis_js}</script>\n<script>{_APP}</script>\n</body>\n</html>\n"
    )


def write_view(
    graph: nx.MultiDiGraph, out: str | Path, *, title: str = "", physics_limit: int = 500, edge_label_limit: int = 2000
) -> Path:
    """Write the view of ``graph`` to ``out`` as UTF-8 and return the path.

    Raises:
        ViewError: the file cannot be written.
    """
    out = Path(out)
    page = render(graph, title=title, physics_limit=physics_limit, edge_label_limit=edge_label_limit)
    try:
        write_atomic(out, page.encode("utf-8"))
    except OutputError as error:
        raise ViewError(f"cannot write the view: {error.message}", path=out) from None
    return out


def write_index(
    views: dict[str, tuple[Path, nx.MultiDiGraph]], out_dir: str | Path, pages: dict[str, str] | None = None
) -> Path:
    """Write ``index.html`` in ``out_dir`` linking each view, with its size, and the analyst
    ``pages`` (name to file name, see :mod:`ipgraph.charts`)."""
    out_dir = Path(out_dir)
    analyst = "\n".join(
        f'<li><a href="{html.escape(file)}">{html.escape(name)}</a></li>' for name, file in (pages or {}).items()
    )
    items = "\n".join(
        f'<li><a href="{html.escape(path.name)}">{html.escape(name)}</a> '
        f"<span>{graph.number_of_nodes()} nodes, {graph.number_of_edges()} edges</span></li>"
        for name, (path, graph) in views.items()
    )
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        "<title>ipgraph views</title>\n"
        "<style>body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:46em;padding:0 1em}"
        "span{color:#666;font-size:13px}</style>\n</head>\n<body>\n"
        "<h1>ipgraph views</h1>\n"
        + (
            "<h2>For analysts</h2>\n<p>Figures as tables and charts, a map of the provincial-level divisions "
            f"and a timeline of measures, events and figures.</p>\n<ul>\n{analyst}\n</ul>\n<h2>The graph</h2>\n"
            if analyst
            else ""
        )
        + "<p>Interactive views of the graph, one per projection. Each works offline: search by name in any "
        "language, untick a class to hide it, click a node for its details, its quote and its source.</p>\n"
        f"<ul>\n{items}\n</ul>\n" + "</body>\n</html>\n"
    )
    path = out_dir / "index.html"
    try:
        write_atomic(path, page.encode("utf-8"))
    except OutputError as error:
        raise ViewError(f"cannot write the index: {error.message}", path=path) from None
    return path


def by_source(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The provenance projection gathered by source: each quote node folds into the edge from
    its fact to its source (``quoted in``, weighted by the number of quotes), so that the view
    shows one star of facts around each source, and the facts several sources state between
    them. The quotes stay in the facts' details."""
    quotes = {node for node, data in graph.nodes(data=True) if data.get("class") == "Quote"}
    gathered = nx.MultiDiGraph(graph.subgraph(node for node in graph if node not in quotes))
    gathered.graph["name"] = f"{graph.graph.get('name') or 'provenance'} by source"
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for quote in sorted(quotes):
        facts = [u for u, _, r in graph.in_edges(quote, data="relation") if r == "evidence"]
        sources = [v for _, v, r in graph.out_edges(quote, data="relation") if r == "quoted from"]
        for fact in facts:
            for source in sources:
                counts[(fact, source)] += 1
    for (fact, source), count in sorted(counts.items()):
        if gathered.has_edge(fact, source, "derived from"):
            gathered.edges[fact, source, "derived from"]["weight"] = count
        else:
            gathered.add_edge(fact, source, key="quoted in", relation="quoted in", weight=count)
    return gathered


#: The views ``write_views`` draws: file stem to (projection, entity, hops).
DEMO_VIEWS: dict[str, tuple[str, str | None, int]] = {
    "overview": ("overview", None, 1),
    "region-industry": ("region-industry", None, 1),
    "agency-measure": ("agency-measure", None, 1),
    "provenance": ("provenance", None, 1),
    "entity-cnipa": ("entity", "agency:cnipa", 2),
}


def write_views(
    dataset: Graph,
    out_dir: str | Path,
    *,
    queries: project_module.Folders = project_module.QUERIES,
    pages: dict[str, str] | None = None,
) -> list[Path]:
    """Write one view per projection of :data:`DEMO_VIEWS` and ``index.html`` into ``out_dir``
    (projection queries from ``queries``, a folder or folders searched in order); the index
    also links the analyst ``pages`` (name to file name) written beside them."""
    out_dir = Path(out_dir)
    written: dict[str, tuple[Path, nx.MultiDiGraph]] = {}
    for stem, (name, entity, hops) in DEMO_VIEWS.items():
        graph = project_module.project(dataset, name, entity_name=entity, hops=hops, queries=queries)
        if name == "provenance":
            graph = by_source(graph)
        title = f"ipgraph: {graph.graph.get('name') or name}"
        written[stem] = (write_view(graph, out_dir / f"{stem}.html", title=title), graph)
    index = write_index(written, out_dir, pages)
    return [path for path, _ in written.values()] + [index]


def to_pyvis(graph: nx.MultiDiGraph, *, title: str = "", height: str = "750px"):
    """The graph as a :class:`pyvis.network.Network` for those who customise views with pyvis:
    the colours, shapes, sizes and labels of :func:`render`, each node's details as its tooltip
    (plain text), each edge's relation as its label. Linear in the graph's size (pyvis's own
    ``from_nx`` is about quadratic).

    The network (a ``Network`` subclass) escapes the heading, and escapes every tooltip
    whenever pyvis would show tooltips as HTML (it does once any title holds "href"), so that a
    label stays text in either mode. pyvis's pages still link a CDN: for offline pages use
    :func:`write_view`.

    Example:
        >>> graph = nx.MultiDiGraph()
        >>> graph.add_node("a", label="<b>Jilin</b>", **{"class": "Province"})
        >>> net = to_pyvis(graph)
        >>> net.nodes[0]["label"], net.nodes[0]["color"]
        ('<b>Jilin</b>', '#2b7bba')
    """
    data = view_data(graph, title=title)
    network = _safe_network_class()(
        height=height, width="100%", directed=True, heading=data["title"], cdn_resources="in_line"
    )
    styles = {c["name"]: c for c in data["classes"]}
    for node in data["nodes"]:
        style = styles[node["c"]]
        tip = "\n".join(
            [node["label"], node["c"]] + [f"{name}: {value}" for name, value in node["d"] if name != "class"]
        )
        extra = {"x": node["x"], "y": node["y"], "physics": False} if "x" in node else {}
        network.add_node(
            node["id"], label=node["label"], title=tip, color=style["color"], shape=style["shape"], size=node["size"],
            **extra,
        )  # fmt: skip
    for edge in data["edges"]:
        network.add_edge(edge["from"], edge["to"], label=edge["relation"], title=edge["relation"], width=1)
    if not data["physics"]:
        network.toggle_physics(False)
    return network


@functools.cache
def _safe_network_class():
    """pyvis's ``Network`` with safe pages (made on first use: importing ipgraph.view does not import pyvis)."""
    from pyvis.network import Network

    class SafeNetwork(Network):
        """A pyvis ``Network`` whose page shows every label, heading and tooltip as text."""

        def generate_html(self, name="index.html", local=True, notebook=False):
            titles = [node.get("title") for node in self.nodes]
            as_html = any("href" in str(t) for t in titles if t)  # pyvis then writes tooltips with innerHTML
            heading = self.heading
            try:
                self.heading = html.escape(str(heading))
                if as_html:
                    for node, text in zip(self.nodes, titles, strict=True):
                        if text:
                            node["title"] = html.escape(str(text)).replace("\n", "<br>")
                return super().generate_html(name, local, notebook)
            finally:
                self.heading = heading
                for node, text in zip(self.nodes, titles, strict=True):
                    if text is not None:
                        node["title"] = text

    return SafeNetwork


def display(graph: nx.MultiDiGraph, *, title: str = "", height: int = 600):
    """The view of ``graph`` for a Jupyter notebook: an ``IPython.display.HTML``
    holding a sandboxed iframe, so the page's scripts and styles stay apart
    from the notebook's.

    Example (in a notebook):
        ``display(project(load_dataset("build/ipgraph.trig"), "overview"))``
    """
    try:
        from IPython.display import HTML
    except ImportError:
        raise ViewError("notebook display needs IPython: pip install 'ipgraph[notebook]'") from None
    page = render(graph, title=title)
    frame = (
        '<div class="ipgraph-view">'
        f'<iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts allow-popups" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #ddd" '
        f'title="{html.escape(title or "ipgraph view")}">'
        "</iframe></div>"
    )
    return HTML(frame)
