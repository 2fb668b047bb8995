"""Every generated view in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

The network is blocked except for the page's own file; the tests check that
the page asks for nothing else, logs no error, draws every node of its data
on a canvas that is not blank, finds a node by label, shows details on click,
and shows hostile labels as text without running them.

Outside CI a missing Chromium or Playwright skips these tests; in CI (CI=true)
it fails them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ROOT, SEED, XSS_IMG, XSS_SCRIPT, Visit, seed_data
from ipgraph import project as p
from ipgraph import view as v
from ipgraph.build import build

pytestmark = pytest.mark.browser


class Opened(Visit):
    """A view open in a fresh browser context: only the file itself may load."""

    def __init__(self, browser, path: Path) -> None:
        url = path.resolve().as_uri()
        super().__init__(browser, url, allowed=lambda requested: requested == url, viewport=(1400, 900))
        self.page.locator("body[data-ready='true']").wait_for(state="attached", timeout=30_000)

    def data(self) -> dict:
        return self.page.evaluate("window.ipgraph.data")

    def search(self, text: str) -> None:
        box = self.page.locator("#search")
        box.fill(text)
        box.press("Enter")


@pytest.fixture(scope="module")
def views(dataset, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("views")
    paths = v.write_views(dataset, out)
    found = {path.stem: path for path in paths if path.stem != "index"}
    assert set(found) == set(v.DEMO_VIEWS)
    return found


@pytest.fixture
def opened(browser):
    pages: list[Opened] = []

    def open_(path: Path) -> Opened:
        pages.append(Opened(browser, path))
        return pages[-1]

    yield open_
    for page in pages:
        page.close()


def _file_data(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="ipgraph-data">(.*?)</script>', text, re.S)
    return json.loads(found.group(1))


@pytest.mark.parametrize("stem", list(v.DEMO_VIEWS))
def test_every_view_loads_offline_draws_its_nodes_and_finds_by_label(views, opened, stem):
    path = views[stem]
    page = opened(path)
    assert page.requests == [page.url] and page.blocked == []
    assert page.errors == []
    expected = _file_data(path)
    counts = page.page.evaluate(
        "[window.ipgraph.nodes.length, Object.keys(window.ipgraph.network.body.nodes).length,"
        " window.ipgraph.network.body.nodeIndices.length, window.ipgraph.edges.length,"
        " document.querySelectorAll('#network canvas').length]"
    )
    assert counts == [len(expected["nodes"])] * 3 + [len(expected["edges"]), 1]
    assert len(expected["nodes"]) > 4
    # The canvas is not blank: many painted pixels, in several colours.
    painted, colours = page.page.evaluate(
        """() => { const c = document.querySelector('#network canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let painted = 0; const colours = new Set();
        for (let i = 0; i < d.length; i += 4) {
          if (d[i + 3] > 0) { painted++; colours.add((d[i] >> 4) << 8 | (d[i + 1] >> 4) << 4 | d[i + 2] >> 4); }
        }
        return [painted, colours.size]; }"""
    )
    assert painted > 2000 and colours > 8
    shot = page.page.locator("#network").screenshot()
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 15_000
    # The legend lists every class with its count.
    legend = page.page.locator("#legend label").all_inner_texts()
    assert len(legend) == len(expected["classes"])
    # Search by label selects the node and shows its details.
    labels = [n["label"] for n in expected["nodes"]]
    unique = sorted((n for n in expected["nodes"] if labels.count(n["label"]) == 1), key=lambda n: n["label"])
    target = unique[len(unique) // 2]
    page.search(target["label"])
    assert target["label"] in page.page.locator("#matches li").all_inner_texts()
    assert page.page.evaluate("window.ipgraph.network.getSelectedNodes()") == [target["id"]]
    assert page.page.locator("#details h2").inner_text() == target["label"]
    assert page.errors == [] and page.blocked == []


def test_overview_click_hover_and_class_filter(views, opened):
    page = opened(views["overview"])
    jilin = "https://w3id.org/ipgraph/id/region/jilin"
    point = page.page.evaluate(
        f"""() => {{ const n = window.ipgraph.network; const pos = n.getPositions(['{jilin}'])['{jilin}'];
        const dom = n.canvasToDOM(pos); const r = document.getElementById('network').getBoundingClientRect();
        return [r.left + dom.x, r.top + dom.y]; }}"""
    )
    page.page.mouse.move(*point)
    tooltip = page.page.locator("#tooltip")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert "Jilin" in tooltip.inner_text() and "吉林省" in tooltip.inner_text()
    assert "the northeastern provinces of Jilin, Liaoning and Heilongjiang" in tooltip.inner_text()
    page.page.mouse.click(*point)
    details = page.page.locator("#details")
    assert details.locator("h2").inner_text() == "Jilin"
    text = details.inner_text()
    assert "吉林省" in text and "Province" in text
    assert "← implemented in Jilin IP-favoured industrial zones" in text
    link = details.locator("a[href^='https://english.news.cn/']")
    assert link.count() == 1 and link.get_attribute("rel") == "noopener noreferrer"
    # Unticking a class hides its nodes; ticking it shows them again.
    box = page.page.locator("#legend input[value='Industry']")
    box.uncheck()
    hidden = "window.ipgraph.nodes.get({filter: n => n.hidden}).length"
    assert page.page.evaluate(hidden) == 11
    box.check()
    assert page.page.evaluate(hidden) == 0
    assert page.errors == [] and page.requests == [page.url]


def test_hostile_labels_show_as_text_and_run_nothing(browser, opened, tmp_path):
    data = seed_data(tmp_path / "data")
    # Jilin's label is the registry's; the measure and the job title are the seed source's.
    regions = data / "registry" / "regions.yaml"
    text = regions.read_text(encoding="utf-8")
    assert text.count('    label: "Jilin"\n') == 1
    regions.write_text(text.replace('    label: "Jilin"\n', f"    label: '{XSS_IMG}'\n"), encoding="utf-8")
    facts = data / "facts" / f"{SEED}.yaml"
    text = facts.read_text(encoding="utf-8")
    text = text.replace("label: Jilin IP-favoured industrial zones", f"label: '{XSS_SCRIPT}'", 1)
    text = text.replace("job_title: deputy head", f"job_title: '{XSS_IMG} & {XSS_SCRIPT}'", 1)
    assert text.count("alert(1)") == 3
    facts.write_text(text, encoding="utf-8")
    out = tmp_path / "build" / "ipgraph.trig"
    build(data, ROOT / "src" / "ipgraph" / "ontology", out)
    from ipgraph.validate import load_dataset

    graph = p.project(load_dataset(out), "overview")
    labels = {node["label"] for _, node in graph.nodes(data=True)}
    assert {XSS_IMG, XSS_SCRIPT} <= labels
    path = v.write_view(graph, tmp_path / "hostile.html", title=XSS_SCRIPT)
    page = opened(path)
    assert page.dialogs == []
    assert page.page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.page.evaluate("document.scripts.length") == 3
    assert page.page.title() == XSS_SCRIPT
    assert page.page.locator("header h1").inner_text() == XSS_SCRIPT
    for payload in (XSS_IMG, XSS_SCRIPT):
        page.search(payload)
        assert page.page.locator("#matches li").first.inner_text() == payload
        assert page.page.locator("#details h2").inner_text() == payload
    page.search("Yang Zhihong")
    assert f"{XSS_IMG} & {XSS_SCRIPT}" in page.page.locator("#details").inner_text()
    # Hover over the hostile nodes too: the tooltip shows them as text.
    for node in sorted(n for n, d in graph.nodes(data=True) if "alert(1)" in d["label"]):
        point = page.page.evaluate(
            f"""() => {{ const n = window.ipgraph.network; const pos = n.getPositions(['{node}'])['{node}'];
            const dom = n.canvasToDOM(pos); const r = document.getElementById('network').getBoundingClientRect();
            return [r.left + dom.x, r.top + dom.y]; }}"""
        )
        page.page.mouse.move(0, 0)
        page.page.mouse.move(*point)
        page.page.locator("#tooltip").wait_for(state="visible", timeout=5_000)
        assert "alert(1)" in page.page.locator("#tooltip strong").inner_text()
    assert page.page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert page.dialogs == [] and page.errors == [] and page.requests == [page.url]


def test_a_large_view_is_laid_out_in_python_and_interactive(browser, opened, tmp_path):
    import networkx as nx

    graph = nx.MultiDiGraph(name="large")
    for i in range(1500):
        graph.add_node(f"n{i}", label=f"node {i}", **{"class": ("Province", "Measure", "Industry")[i % 3]})
        if i:
            graph.add_edge(f"n{(i - 1) // 4}", f"n{i}", key="r", relation="r")
    path = v.write_view(graph, tmp_path / "large.html", physics_limit=500)
    page = opened(path)
    assert page.page.evaluate("window.ipgraph.data.physics") is False
    assert page.page.evaluate("window.ipgraph.network.physics.options.enabled") is False
    assert "layout computed in Python" in page.page.locator("#notes").inner_text()
    assert page.page.evaluate("Object.keys(window.ipgraph.network.body.nodes).length") == 1500
    page.search("node 1499")
    assert page.page.evaluate("window.ipgraph.network.getSelectedNodes()") == ["n1499"]
    assert page.errors == [] and page.requests == [page.url]


def test_notebook_display_runs_in_its_sandboxed_iframe(browser, opened, dataset, tmp_path):
    shown = v.display(p.project(dataset, "region-industry"), title="Regions and industries", height=500)
    host = tmp_path / "notebook.html"
    host.write_text(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>{shown.data}'
        "<script>document.body.dataset.ready = 'true';</script></body></html>",
        encoding="utf-8",
    )
    page = opened(host)
    frame = page.page.frame_locator("iframe")
    frame.locator("body[data-ready='true']").wait_for(timeout=30_000)
    assert frame.locator("#counts").inner_text() == "14 nodes, 13 edges"
    assert frame.locator("header h1").inner_text() == "Regions and industries"
    biomedicine = frame.locator("body").evaluate(
        "() => window.ipgraph.data.edges.findIndex(e => e.to.endsWith('/industry/biomedicine'))"
    )
    assert frame.locator("body").evaluate(f"() => window.ipgraph.showEdge({biomedicine})") is True
    edge = frame.locator("#details").inner_text()
    assert "Jilin, Liaoning, Heilongjiang and Inner Mongolia → biomedicine" in edge
    assert "weight\n2" in edge and "industry focus of Jilin, Liaoning, Heilongjiang and Inner Mongolia\n" in edge
    frame.locator("#search").fill("Jilin")
    frame.locator("#search").press("Enter")
    assert frame.locator("#details h2").inner_text() == "Jilin"
    assert page.errors == [] and page.requests == [page.url]


@pytest.mark.parametrize("query", ["吉林", "吉林省", "Jilin Province", "jilin sheng"])
def test_search_finds_labels_in_every_language_and_aliases(views, opened, query):
    page = opened(views["overview"])
    jilin = "https://w3id.org/ipgraph/id/region/jilin"
    page.search(query)
    assert "Jilin" in page.page.locator("#matches li").all_inner_texts()
    if query != "吉林":  # a whole name: Jilin comes first and is selected
        assert page.page.evaluate("window.ipgraph.network.getSelectedNodes()") == [jilin]
        assert "Jilin Province" in page.page.locator("#details").inner_text()
    assert page.errors == [] and page.requests == [page.url]


def test_provenance_view_is_gathered_by_source(views, opened):
    page = opened(views["provenance"])
    classes = page.page.evaluate("window.ipgraph.data.classes.map(c => c.name)")
    assert "Quote" not in classes and "Source" in classes
    relations = set(page.page.evaluate("window.ipgraph.data.edges.map(e => e.relation)"))
    assert relations <= {"derived from", "quoted in"}
    assert page.errors == [] and page.requests == [page.url]
