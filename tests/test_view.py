"""HTML views: escaping, self-containment, determinism, large graphs, index, notebook display.

What the page does in a browser is tested in tests/test_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbclient
import nbformat
import networkx as nx
import pytest
from click.testing import CliRunner

from ipgraph import project as p
from ipgraph import view as v
from ipgraph.cli import main
from ipgraph.errors import ViewError

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>", "a & b <!-- c", "\u2028line"]


class _Tags(HTMLParser):
    """Collects start tags with their attributes, and the text of each script."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_data(self, data):
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = None


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def _page_data(page: str) -> dict:
    parser = _parse(page)
    found = [text for attrs, text in parser.scripts if attrs.get("id") == "ipgraph-data"]
    assert len(found) == 1
    return json.loads(found[0])


def _hostile_graph() -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(name="hostile")
    for index, label in enumerate(HOSTILE):
        graph.add_node(f"n{index}", label=label, quote=label, description=label, **{"class": "Province"})
    graph.add_edge("n0", "n1", key=HOSTILE[1], relation=HOSTILE[1], via=HOSTILE[0])
    return graph


@pytest.fixture(scope="module")
def overview(dataset) -> nx.MultiDiGraph:
    return p.project(dataset, "overview")


def test_hostile_labels_stay_data(tmp_path):
    page = v.render(_hostile_graph(), title="<script>alert('title')</script>")
    parser = _parse(page)
    # Exactly three script elements: the data (not run), vis-network and the app.
    assert [attrs.get("type") for attrs, _ in parser.scripts] == ["application/json", None, None]
    assert not any(tag == "img" for tag, _ in parser.tags)
    for payload in HOSTILE[:2]:
        assert payload not in page
    assert "<script>alert('title')</script>" not in page
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in page
    data = _page_data(page)
    assert [n["label"] for n in data["nodes"]] == HOSTILE
    assert data["edges"][0]["relation"] == HOSTILE[1]
    assert data["edges"][0]["via"] == HOSTILE[0]
    assert ["quote", HOSTILE[1]] in data["nodes"][1]["d"]


def test_the_page_renders_labels_as_text_only():
    """The app never hands a string to the HTML parser."""
    assert "innerHTML" not in v._APP and "outerHTML" not in v._APP and "insertAdjacentHTML" not in v._APP
    assert "document.write" not in v._APP and "eval(" not in v._APP
    assert v._APP.count("textContent") >= 2


def test_self_contained_with_a_strict_policy(overview):
    page = v.render(overview)
    parser = _parse(page)
    for tag, attrs in parser.tags:
        assert "src" not in attrs and "href" not in attrs, (tag, attrs)
        assert tag not in ("link", "iframe", "img", "object", "embed"), tag
    assert not re.search(r"url\((?!['\"]?data:)", page), "a CSS url() that is not data:"
    policy = next(a["content"] for t, a in parser.tags if a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in policy and "connect-src 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    # The policy allows exactly the two scripts of the page, by hash.
    run = [text for attrs, text in parser.scripts if attrs.get("type") != "application/json"]
    digests = {"sha256-" + base64.b64encode(hashlib.sha256(t.encode()).digest()).decode() for t in run}
    assert set(re.findall(r"'(sha256-[^']+)'", policy)) == digests
    assert "vis-network" in run[0][:200] and "@version 9.1.2" in run[0][:400]


def test_view_data_of_the_overview(overview):
    data = v.view_data(overview, title="Overview")
    assert data["title"] == "Overview"
    assert len(data["nodes"]) == overview.number_of_nodes() == 39
    assert (
        len(data["edges"]) == overview.number_of_edges() == 59
    )  # 58 stated, and the registry's Shenyang capital of Liaoning
    assert data["physics"] is True and data["edgeLabels"] is True and data["notes"] == []
    legend = {c["name"]: c for c in data["classes"]}
    assert legend["Industry"]["count"] == 11
    assert legend["Province"]["color"] == v.STYLES["Province"][0]
    jilin = next(n for n in data["nodes"] if n["label"] == "Jilin")
    assert jilin["c"] == "Province"
    assert ["Chinese name", "吉林省"] in jilin["d"]
    metric = next(n for n in data["nodes"] if n["c"] == "Metric" and "195,000" in n["label"])
    details = dict(metric["d"])
    assert details["period"] == "April 2025" and details["source link"].startswith("https://english.news.cn/")
    assert details["quote"].startswith("by the end of April 2025")
    assert metric["size"] > jilin["size"] - 20  # sized by value, not degree
    relations = {e["relation"] for e in data["edges"]}
    assert {"implemented in", "targets", "capital of", "in"} <= relations
    # Harbin -> Heilongjiang has two relations: the second edge is curved apart.
    harbin = [e for e in data["edges"] if e["from"].endswith("city/harbin") and e["to"].endswith("region/heilongjiang")]
    assert sorted(e["parallel"] for e in harbin) == [0, 1]


def _big_graph(n: int) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph(name="big")
    classes = ["Province", "Agency", "Measure", "Industry"]
    for i in range(n):
        graph.add_node(f"n{i}", label=f"node {i}", **{"class": classes[i % 4]})
    for i in range(1, n):
        graph.add_edge(f"n{i // 3}", f"n{i}", key="r", relation="r")
    graph.add_node("lonely", label="lonely", **{"class": "Industry"})
    return graph


def test_large_graphs_get_a_python_layout_and_no_edge_labels():
    graph = _big_graph(700)
    data = v.view_data(graph, physics_limit=500, edge_label_limit=600)
    assert data["physics"] is False and data["edgeLabels"] is False
    assert len(data["notes"]) == 2 and "layout computed in Python" in data["notes"][0]
    positions = {(n["x"], n["y"]) for n in data["nodes"]}
    assert len(positions) == len(data["nodes"]) == 701  # every node placed, none on top of another
    small = v.view_data(graph, physics_limit=1000, edge_label_limit=1000)
    assert small["physics"] is True and "x" not in small["nodes"][0]


def test_output_is_deterministic_utf8(overview, tmp_path):
    first = v.write_view(overview, tmp_path / "a.html", title="Überblick 概览")
    second = v.write_view(overview, tmp_path / "b.html", title="Überblick 概览")
    assert first.read_bytes() == second.read_bytes()
    raw = first.read_bytes()
    assert raw.decode("utf-8")
    assert "吉林省".encode() in raw and "概览".encode() in raw
    assert b'<meta charset="utf-8">' in raw


def test_write_views_and_index(dataset, tmp_path):
    paths = v.write_views(dataset, tmp_path / "views")
    assert [path.name for path in paths] == [f"{stem}.html" for stem in v.DEMO_VIEWS] + ["index.html"]
    index = (tmp_path / "views" / "index.html").read_text(encoding="utf-8")
    links = [a["href"] for tag, a in _parse(index).tags if tag == "a"]
    assert links == [f"{stem}.html" for stem in v.DEMO_VIEWS]
    assert "39 nodes, 59 edges" in index
    cnipa = _page_data((tmp_path / "views" / "entity-cnipa.html").read_text(encoding="utf-8"))
    assert "China National Intellectual Property Administration" in {n["label"] for n in cnipa["nodes"]}


def test_write_view_errors(overview, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ViewError, match="cannot write the view"):
        v.write_view(overview, blocker / "x.html")


def test_cli_view(built, tmp_path):
    runner = CliRunner()
    out = tmp_path / "ri.html"
    result = runner.invoke(main, ["view", "region-industry", "--out", str(out), "--dataset", str(built)])
    assert result.exit_code == 0, result.output
    assert len(_page_data(out.read_text(encoding="utf-8"))["nodes"]) == 14
    result = runner.invoke(main, ["view", "--all", "--out", str(tmp_path / "all"), "--dataset", str(built)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "all" / "index.html").is_file() and (tmp_path / "all" / "provenance.html").is_file()
    result = runner.invoke(main, ["view", "--out", str(out), "--dataset", str(built)])
    assert result.exit_code == 2 and "give a PROJECTION" in result.output
    result = runner.invoke(main, ["view", "entity", "nowhere", "--out", str(out), "--dataset", str(built)])
    assert result.exit_code == 2 and "no entity named 'nowhere'" in result.output


def test_cli_view_analyst_pages(three_built, tmp_path):
    runner = CliRunner()
    for name in ("figures", "map", "timeline"):
        out = tmp_path / f"my-{name}.html"
        result = runner.invoke(main, ["view", name, "--out", str(out), "--dataset", str(three_built)])
        assert result.exit_code == 0, result.output
        assert f'<body data-page="{name}">' in out.read_text(encoding="utf-8")
    result = runner.invoke(main, ["view", "--all", "--out", str(tmp_path / "all"), "--dataset", str(three_built)])
    assert result.exit_code == 0, result.output
    index = (tmp_path / "all" / "index.html").read_text(encoding="utf-8")
    for file in ("figures.html", "map.html", "timeline.html"):
        assert f'href="{file}"' in index and (tmp_path / "all" / file).is_file()
    (tmp_path / "file").write_text("keep", encoding="utf-8")
    for argv in (
        ["view", "map", "--out", str(tmp_path / "file" / "map.html")],
        ["view", "timeline", "region:jilin", "--out", str(tmp_path / "t.html")],
    ):
        result = runner.invoke(main, [*argv, "--dataset", str(three_built)])
        assert result.exit_code == 2 and "Traceback" not in result.output and result.output.startswith("Error: ")
    assert (tmp_path / "file").read_text(encoding="utf-8") == "keep" and not (tmp_path / "t.html").exists()


def test_display_returns_an_isolated_iframe(overview):
    shown = v.display(overview, title="<b>t</b>", height=400)
    markup = shown.data
    assert markup.startswith('<div class="ipgraph-view"><iframe srcdoc="')
    assert 'sandbox="allow-scripts allow-popups"' in markup and "height:400px" in markup
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', markup).group(1))
    assert srcdoc == v.render(overview, title="<b>t</b>")
    assert "<b>t</b>" not in markup


def test_notebook_runs(built, tmp_path, monkeypatch):
    monkeypatch.setenv("IPGRAPH_DATASET", str(built))
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(
            notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        )
        client.execute()
        outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
        assert not [o for o in outputs if o.output_type == "error"]
        frames = [o for o in outputs if "text/html" in o.get("data", {})]
        assert len(frames) == 3
        assert all("<iframe srcdoc=" in o["data"]["text/html"] for o in frames)
        text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
        assert "39 nodes, 59 edges" in text and "Most connected regions" in text


def test_provenance_by_source_folds_quotes_into_fact_to_source_edges(dataset):
    graph = p.project(dataset, "provenance")
    gathered = v.by_source(graph)
    quotes = [n for n, d in graph.nodes(data=True) if d["class"] == "Quote"]
    assert quotes and not any(d["class"] == "Quote" for _, d in gathered.nodes(data=True))
    assert gathered.number_of_nodes() == graph.number_of_nodes() - len(quotes)
    source = "https://w3id.org/ipgraph/id/source/xinhua-2025-05-31-northeast-ip-protection"
    measure = "https://w3id.org/ipgraph/id/measure/inner-mongolia-expedited-patent-services"
    assert gathered.edges[measure, source, "derived from"]["weight"] == 1
    assert gathered.nodes[measure]["quote"].startswith("Inner Mongolia offers local enterprises expedited IP services")
    # Every quote's fact still reaches the quote's source.
    for quote in quotes:
        for fact, _, relation in graph.in_edges(quote, data="relation"):
            if relation == "evidence":
                assert gathered.has_edge(fact, source)


def test_to_pyvis_keeps_colours_labels_and_escapes_tooltips(dataset):
    from conftest import XSS_IMG, XSS_SCRIPT

    graph = p.project(dataset, "overview")
    graph.add_node("hostile", label=XSS_IMG, quote=XSS_SCRIPT, **{"class": "Province"})
    data = v.view_data(graph)
    network = v.to_pyvis(graph, title=XSS_SCRIPT)
    assert [n["id"] for n in network.nodes] == [n["id"] for n in data["nodes"]]
    colours = {c["name"]: c["color"] for c in data["classes"]}
    assert all(n["color"] == colours[m["c"]] for n, m in zip(network.nodes, data["nodes"], strict=True))
    assert len(network.edges) == len(data["edges"])
    jilin = next(n for n in network.nodes if n["id"].endswith("/region/jilin"))
    assert jilin["label"] == "Jilin" and "Chinese name: 吉林省" in jilin["title"]
    assert "also called: " in jilin["title"] and "Jilin Province" in jilin["title"]
    page = network.generate_html()
    assert "<img src=x" not in page and "<script>alert" not in page
    assert f"<h1>{html.escape(XSS_SCRIPT)}</h1>" in page
    # Once a title holds "href", pyvis writes tooltips as HTML: they are escaped then.
    network.nodes[0]["title"] = "see href"
    page = network.generate_html()
    assert "<img src=x" not in page and "\\u0026lt;img src=x" in page
    assert network.nodes[-1]["title"].startswith(XSS_IMG)  # the network itself is left as it was
