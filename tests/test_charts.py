"""The analyst pages (ipgraph.charts: figures, map, timeline) in headless Chromium, offline.

Every request but the page's own file is blocked and recorded; the tests check
that none was attempted, that the numbers on the page are the graph's (asked
with SPARQL here), that charts and map are painted, that tooltips show the
quote and source and links lead to them, and that hostile labels, headlines
and quotes stay text.
"""

from __future__ import annotations

import base64
import html
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from conftest import ROOT, XSS_IMG, XSS_SCRIPT, Visit, three_sources_data
from ipgraph import charts, tables
from ipgraph.build import build
from ipgraph.store import execute, open_store

pytestmark = pytest.mark.browser

VALUES = """
PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#>
PREFIX ipg: <https://w3id.org/ipgraph/ontology#>
SELECT ?observation ?indicator ?value WHERE { ?observation a qb:Observation ; ipg:indicator ?indicator ;
  sdmx-measure:obsValue ?value }"""
JILIN = "https://w3id.org/ipgraph/id/region/jilin"


class Opened(Visit):
    def __init__(self, browser, path: Path) -> None:
        url = path.resolve().as_uri()
        super().__init__(browser, url, allowed=lambda requested: requested == url)
        self.page.locator("body[data-ready='true']").wait_for(state="attached", timeout=30_000)

    def offline(self) -> bool:
        return self.requests == [self.url] and self.blocked == [] and self.errors == [] and self.dialogs == []


def painted(browser, png: bytes) -> tuple[int, int]:
    """Pixels that are not white, and distinct colours (4 bits a channel), of a PNG, decoded by Chromium."""
    context = browser.new_context()
    page = context.new_page()
    try:
        return tuple(
            page.evaluate(
                """async (src) => { const img = new Image(); img.src = src; await img.decode();
                const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
                const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                const d = g.getImageData(0, 0, c.width, c.height).data; let n = 0; const colours = new Set();
                for (let i = 0; i < d.length; i += 4) {
                  if (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240) { n++; }
                  colours.add((d[i] >> 4) << 8 | (d[i + 1] >> 4) << 4 | d[i + 2] >> 4); }
                return [n, colours.size]; }""",
                "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
            )
        )
    finally:
        context.close()


@pytest.fixture(scope="module")
def three_pages(three_built, tmp_path_factory):
    store = open_store(three_built, "oxigraph")
    out = tmp_path_factory.mktemp("pages")
    return store, {path.stem: path for path in charts.write_pages(store, out)}


@pytest.fixture(scope="module")
def corpus_pages(corpus_built, tmp_path_factory):
    store = open_store(corpus_built, "oxigraph")
    out = tmp_path_factory.mktemp("corpus-pages")
    return store, {path.stem: path for path in charts.write_pages(store, out)}


@pytest.fixture
def opened(browser):
    pages: list[Opened] = []

    def open_(path: Path) -> Opened:
        pages.append(Opened(browser, path))
        return pages[-1]

    yield open_
    for page in pages:
        page.close()


def test_pages_are_deterministic_and_have_a_strict_policy(three_pages):
    store, paths = three_pages
    again = charts.pages(store)
    for name, path in paths.items():
        text = path.read_text(encoding="utf-8")
        assert again[name] == text
        policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', text).group(1)
        assert policy.startswith("default-src &#x27;none&#x27;; script-src &#x27;sha256-")
        assert "unsafe" not in policy and "http" not in policy
        assert text.count("<script>") == 1 and ' style="' not in text


@pytest.mark.parametrize("store_pages", ["three_pages", "corpus_pages"])
def test_figures_page_numbers_are_the_graphs_and_its_charts_are_painted(request, browser, opened, store_pages):
    store, paths = request.getfixturevalue(store_pages)
    expected: dict[str, Counter] = defaultdict(Counter)
    for row in execute(store, VALUES, limit=None).records():
        expected[row["indicator"]][str(row["value"])] += 1
    page = opened(paths["figures"])
    shown = page.page.evaluate(
        """() => Array.from(document.querySelectorAll('section.indicator')).map(s => [s.dataset.iri,
        Array.from(s.querySelectorAll('table td.num[data-value]')).map(td => td.dataset.value)])"""
    )
    assert {iri: Counter(values) for iri, values in shown} == expected
    assert len(shown) == len(expected) > 1
    # The first indicator shows; picking another shows it alone.
    visible = "Array.from(document.querySelectorAll('section.indicator')).filter(s => !s.hidden).map(s => s.id)"
    assert page.page.evaluate(visible) == ["indicator-0"]
    page.page.select_option("#indicator", "1")
    assert page.page.evaluate(visible) == ["indicator-1"]
    for chart in page.page.locator("#indicator-1 figure.chart").all():
        pixels, colours = painted(browser, chart.screenshot())
        assert pixels > 1500 and colours > 4
    assert page.offline()


def test_figures_page_flags_conflicts_and_links_each_value_to_its_quote_and_source(three_pages, opened):
    _, paths = three_pages
    page = opened(paths["figures"])
    granted = "https://w3id.org/ipgraph/id/indicator/patents-granted"
    index = page.page.evaluate(
        f"Array.from(document.querySelectorAll('section.indicator')).findIndex(s => s.dataset.iri === '{granted}')"
    )
    page.page.select_option("#indicator", str(index))
    section = page.page.locator(f"#indicator-{index}")
    rows = section.locator("table.figures tbody tr.conflicting")
    assert rows.count() == 2
    # The area × period table: Jilin's 2024 cell holds both values, flagged.
    cell = section.locator("table.pivot tbody tr", has_text="Jilin").locator("td.conflicting")
    assert cell.inner_text() == "12,000 / 12,345"
    assert "conflicting" in section.locator(".summary").first.inner_text()
    value = section.locator("td.num a.v", has_text="12,000")
    assert value.get_attribute("href") == "https://example.org/fixture-2025-06-02-c"
    value.hover()
    tooltip = page.page.locator("#tooltip")
    tooltip.wait_for(state="visible", timeout=5_000)
    text = tooltip.inner_text()
    assert "“Jilin granted 12,000 patents in 2024, up 5 percent year on year”" in text
    assert "— fixture-2025-06-02-c, 2025-06-02" in text and "conflicting (2 sources)" in text and "+5%" in text
    # The chart's bars: one per distinct value, side by side, each linked to its source.
    bars = section.locator("svg rect.bar.conflict")
    assert sorted(bars.evaluate_all("bs => bs.map(b => b.dataset.value)")) == ["12000", "12345"]
    links = bars.evaluate_all("bs => bs.map(b => b.parentElement.getAttribute('href'))")
    assert sorted(links) == ["https://example.org/fixture-2025-06-01-b", "https://example.org/fixture-2025-06-02-c"]
    bars.first.hover()
    assert "12,000" in tooltip.inner_text() or "12,345" in tooltip.inner_text()
    assert page.offline()


def test_map_colours_the_divisions_with_legend_tooltips_and_links(corpus_pages, browser, opened):
    store, paths = corpus_pages
    page = opened(paths["map"])
    tiles = page.page.locator("#map a.tile")
    assert tiles.count() == 34
    counted = execute(
        store,
        "PREFIX ipg: <https://w3id.org/ipgraph/ontology#> SELECT DISTINCT ?m WHERE "
        f"{{ ?m a ipg:Measure ; ipg:implementedIn <{JILIN}> }}",
    )
    jilin_measures = {row["m"] for row in counted.records()}
    assert len(jilin_measures) >= 2
    jilin = page.page.locator("#map a.tile[data-iso='CN-JL']")
    assert jilin.get_attribute("href") == JILIN
    assert jilin.locator("text.value").text_content() == str(len(jilin_measures))
    jilin.locator("rect").hover()
    tooltip = page.page.locator("#tooltip")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert tooltip.inner_text().startswith(f"Jilin: {len(jilin_measures)} measure")
    fills = set(tiles.evaluate_all("ts => ts.map(t => t.querySelector('rect').getAttribute('fill'))"))
    assert len(fills) >= 3
    assert "no measure" in page.page.locator("#map-legend").inner_text()
    pixels, colours = painted(browser, page.page.locator("#map").screenshot())
    assert pixels > 20_000 and colours > 5
    # Colour by an indicator: each division's latest figure, from the graph (Heilongjiang's most stated one).
    heilongjiang = "https://w3id.org/ipgraph/id/region/heilongjiang"
    mine = [f for f in tables.rows(store, "figures") if f["area"] == heilongjiang and f["scope_label"] == "all"]
    indicator = Counter(f["indicator_label"] for f in mine).most_common(1)[0][0]
    labels = page.page.evaluate("window.ipgraph.data.choices.map(c => c.label)")
    page.page.select_option("#choice", str(labels.index(indicator)))
    assert page.page.locator("#legend-title").inner_text() == indicator
    figures = [f for f in mine if f["indicator_label"] == indicator]
    latest = max(f["period_end"] for f in figures)
    tile = page.page.locator("#map a.tile[data-iso='CN-HL'] rect")
    page.page.mouse.move(5, 5)
    tile.hover()
    text = tooltip.inner_text()
    for figure in figures:
        if figure["period_end"] == latest:
            assert f"{indicator}: {figure['stated_value']}" in text and figure["quote"] in text
    assert tile.get_attribute("fill") != "#f2f2f2"
    assert page.offline()


def test_timeline_filters_by_region_agency_and_industry(corpus_pages, opened):
    store, paths = corpus_pages
    page = opened(paths["timeline"])
    found = {name: tables.rows(store, name) for name in ("figures", "measures", "events")}
    dated_measures = [m for m in found["measures"] if m["date_published"]]
    dated_events = [e for e in found["events"] if e["start_date"] or e["occurring_on"] or e["date_published"]]
    total = len(found["figures"]) + len(dated_measures) + len(dated_events)
    assert page.page.locator("#timeline > li").count() == total
    assert page.page.locator("#shown").inner_text() == f"{total} of {total} shown"

    def count(rows, column, iri):
        return sum(1 for r in rows if iri in str(r.get(column) or "").split("; "))

    jilin = page.page.locator("#filter-r option", has_text=re.compile("^Jilin$")).get_attribute("value")
    page.page.select_option("#filter-r", jilin)
    expected = count(found["figures"], "area", JILIN) + count(dated_measures, "region", JILIN)
    expected += count(dated_events, "location", JILIN)
    assert expected >= 3
    assert page.page.locator("#shown").inner_text() == f"{expected} of {total} shown"
    page.page.select_option("#filter-r", "")
    cnipa = "https://w3id.org/ipgraph/id/agency/cnipa"
    option = page.page.locator("#filter-a option", has_text=re.compile("^China National Intellectual Property"))
    page.page.select_option("#filter-a", option.first.get_attribute("value"))
    expected = count(found["figures"], "reported_by", cnipa) + count(dated_measures, "agency", cnipa)
    assert page.page.locator("#shown").inner_text() == f"{expected} of {total} shown"
    page.page.select_option("#filter-a", "")
    industry = page.page.locator("#filter-i option", has_text="biomedicine").first.get_attribute("value")
    page.page.select_option("#filter-i", industry)
    iri = "https://w3id.org/ipgraph/id/industry/biomedicine"
    expected = count(found["figures"], "industry", iri) + count(dated_measures, "industry", iri)
    assert expected > 0 and page.page.locator("#shown").inner_text() == f"{expected} of {total} shown"
    page.page.locator(".kind-box[value='figure']").uncheck()
    expected -= count(found["figures"], "industry", iri)
    assert page.page.locator("#shown").inner_text() == f"{expected} of {total} shown"
    visible = page.page.locator("#timeline > li:not([hidden])")
    assert visible.count() == expected
    # The histogram counts what is shown.
    heights = page.page.evaluate(
        "Array.from(document.querySelectorAll('#histogram rect[data-year]')).map(r => Number(r.getAttribute('height')))"
    )
    scale = float(page.page.locator("#histogram").get_attribute("data-scale"))
    assert round(sum(heights) / scale) == expected
    item = visible.first
    item.locator(".what").hover()
    assert "“" in page.page.locator("#tooltip").inner_text()
    assert item.locator("a.src").get_attribute("href").startswith("http")
    assert page.offline()


def test_hostile_labels_headlines_and_quotes_stay_text(browser, opened, tmp_path):
    data = three_sources_data(tmp_path / "data")
    regions = data / "registry" / "regions.yaml"
    text = regions.read_text(encoding="utf-8")
    regions.write_text(text.replace('    label: "Jilin"\n', f"    label: '{XSS_IMG}'\n"), encoding="utf-8")
    slug = "fixture-2025-06-02-c"
    meta = data / "sources" / f"{slug}.yaml"
    meta.write_text(
        meta.read_text(encoding="utf-8").replace(f"headline: {slug}", f"headline: '{XSS_SCRIPT}'"), encoding="utf-8"
    )
    source = data / "sources" / f"{slug}.txt"
    hostile = f"up 5 percent year on year {XSS_IMG}"
    source.write_text(
        source.read_text(encoding="utf-8").replace("up 5 percent year on year", hostile), encoding="utf-8"
    )
    facts = data / "facts" / f"{slug}.yaml"
    facts.write_text(facts.read_text(encoding="utf-8").replace("up 5 percent year on year", hostile), encoding="utf-8")
    out = tmp_path / "build" / "ipgraph.trig"
    build(data, ROOT / "src" / "ipgraph" / "ontology", out)
    store = open_store(out, "oxigraph")
    figures = tables.rows(store, "figures")
    assert any(XSS_IMG in f["quote"] for f in figures) and any(f["area_label"] == XSS_IMG for f in figures)
    paths = {p.stem: p for p in charts.write_pages(store, tmp_path / "pages")}
    for name, path in paths.items():
        assert "<img src=x" not in path.read_text(encoding="utf-8"), name
        page = opened(path)
        assert page.page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
        assert page.page.evaluate("document.scripts.length") == 2
        for mark in page.page.locator("[data-f], [data-t]").all()[:200]:
            if mark.is_visible():
                mark.hover()
        assert page.page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
        assert page.offline(), name
    page = opened(paths["figures"])
    granted = "https://w3id.org/ipgraph/id/indicator/patents-granted"
    index = page.page.evaluate(
        f"Array.from(document.querySelectorAll('section.indicator')).findIndex(s => s.dataset.iri === '{granted}')"
    )
    page.page.select_option("#indicator", str(index))
    section = page.page.locator(f"#indicator-{index}")
    listed = section.locator("table.figures tbody").inner_text()
    assert XSS_IMG in listed and XSS_SCRIPT in listed
    section.locator("td.num a.v", has_text="12,000").hover()
    assert f"{hostile}”" in page.page.locator("#tooltip").inner_text()
    assert XSS_SCRIPT in page.page.locator("#tooltip").inner_text()
    page = opened(paths["map"])
    assert page.page.locator("#map a.tile[data-iso='CN-JL'] text.name").text_content() == XSS_IMG
    assert page.dialogs == [] and page.offline()


def test_href_makes_the_links_a_server_gives_and_never_another_scheme(three_pages):
    store, _ = three_pages
    found = {name: tables.rows(store, name) for name in ("figures", "measures", "entities")}

    def server(iri: str) -> str:
        return "/id/" + iri.rsplit("/id/", 1)[1] + ".html"

    page = charts.map_page(found["figures"], found["measures"], found["entities"], href=server)
    assert '<a href="/id/region/jilin.html" class="tile" data-iso="CN-JL">' in page
    page = charts.figures_page(found["figures"], href=server)
    assert '<a href="/id/region/jilin.html" rel="noopener noreferrer">Jilin</a>' in page
    for hostile in ("javascript:alert(1)", "data:text/html,x", " javascript:x"):
        pages = (
            charts.map_page(found["figures"], found["measures"], found["entities"], href=lambda iri, h=hostile: h),
            charts.figures_page(found["figures"], href=lambda iri, h=hostile: h),
        )
        assert all(f'href="{hostile.strip()}' not in page and 'href="javascript' not in page for page in pages)


def test_the_time_axis_is_labelled_under_the_figures_of_that_period(corpus_pages):
    store, paths = corpus_pages
    text = paths["figures"].read_text(encoding="utf-8")
    readings = {(row["indicator"], charts._period(row), str(row["value"])) for row in tables.rows(store, "figures")}
    sections = re.findall(r'<section class="indicator"[^>]*data-iri="([^"]+)"(.*?)</section>', text, re.S)
    labelled = 0
    for iri, section in sections:
        series = re.search(r'aria-label="time series">(.*?)</svg>', section, re.S)
        if series is None:
            continue
        dots = re.findall(r'<circle cx="([^"]+)"[^>]*data-value="([^"]+)"', series.group(1))
        labels = re.findall(r'<text x="([^"]+)"[^>]*class="axis" text-anchor="middle">([^<]+)</text>', series.group(1))
        assert labels, iri
        for x, label in labels:  # a label stands at a dot of a figure of that period
            period = html.unescape(label)
            assert any(cx == x and (iri, period, value) in readings for cx, value in dots), (iri, period)
        labelled += 1
    assert labelled > 10
