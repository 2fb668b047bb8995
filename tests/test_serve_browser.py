"""``ipgraph serve``'s pages in headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright): an entity page renders and its links work, the query
page runs a named query with the vendored YASGUI, and hostile labels, quotes,
IRIs and query descriptions show as text without running.

Every request of the browser that is not for the server on 127.0.0.1 is
blocked and recorded; the tests check there is none. Outside CI a missing
Chromium or Playwright skips these tests; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

from conftest import XSS_IMG, XSS_SCRIPT, Visit
from ipgraph.query import load_named
from ipgraph.store import open_store

pytestmark = [pytest.mark.browser, pytest.mark.server]

HOSTILE = f"""
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix ipg: <https://w3id.org/ipgraph/ontology#> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix schema: <https://schema.org/> .
@prefix region: <https://w3id.org/ipgraph/id/region/> .
@prefix ev: <https://w3id.org/ipgraph/id/evidence/evil/> .

<https://w3id.org/ipgraph/id/graph/evil> {{
  region:evil a ipg:Province, <https://w3id.org/ontology#Evil> ;
    rdfs:label "{XSS_IMG}"@en ;
    skos:altLabel "{XSS_SCRIPT}" ;
    rdfs:seeAlso <javascript:alert(1)> ;
    schema:containedInPlace region:neighbour ;
    ipg:evidence ev:quote .
  region:neighbour a ipg:Province ; rdfs:label "{XSS_SCRIPT}"@en .
  ev:quote a oa:Annotation ; oa:hasTarget ev:target .
  ev:target oa:hasSource <https://w3id.org/ipgraph/id/source/evil> ; oa:hasSelector ev:selector .
  ev:selector a oa:TextQuoteSelector ; oa:exact "{XSS_IMG}" ; oa:prefix "{XSS_SCRIPT}" ; oa:suffix "ok" .
  <https://w3id.org/ipgraph/id/source/evil> schema:headline "{XSS_IMG}" ; schema:url <javascript:alert(2)> .
  <https://w3id.org/ontology#Evil> rdfs:label "{XSS_IMG}"@en .
}}
"""


@pytest.fixture(scope="module")
def seed_site(live_server, built) -> str:
    return live_server(open_store(built, "oxigraph"))


@pytest.fixture(scope="module")
def hostile_site(live_server, tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("hostile")
    (folder / "data.trig").write_text(HOSTILE, encoding="utf-8")
    queries = folder / "queries"
    shutil.copytree(Path(__file__).resolve().parent.parent / "src" / "ipgraph" / "queries" / "serve", queries / "serve")
    (queries / "evil.rq").write_text(
        f"# Question: {XSS_SCRIPT} {XSS_IMG}?\n# Parameters: none.\nSELECT ?s WHERE {{ ?s ?p ?o }} LIMIT 3\n",
        encoding="utf-8",
    )
    return live_server(open_store(folder / "data.trig", "oxigraph"), queries=queries)


def _server_page(browser, url: str) -> Visit:
    """A server page; any request off 127.0.0.1 is blocked and recorded."""
    return Visit(browser, url, allowed=lambda requested: requested.startswith("http://127.0.0.1:"))


@pytest.fixture
def visit(browser):
    opened = []

    def open_page(url: str) -> Visit:
        opened.append(_server_page(browser, url))
        return opened[-1]

    yield open_page
    for page in opened:
        page.close()


def test_entity_page_renders_and_its_links_work(seed_site, visit):
    opened = visit(f"{seed_site}/id/region/jilin")
    page = opened.page
    assert opened.response.status == 200
    assert page.url.endswith("/id/region/jilin.html")
    assert page.text_content("h1") == "Jilin"
    assert page.locator("#statements tbody tr").count() >= 5
    assert "the northeastern provinces of Jilin" in page.text_content("mark")
    nodes = page.locator("#neighbourhood a.node")
    assert nodes.count() >= 4
    assert page.locator("#neighbourhood a.node circle").first.bounding_box()["width"] > 0
    # a node of the neighbourhood view opens that resource's page
    page.locator("#neighbourhood a.node[href='/id/country/china'] circle").click()
    page.wait_for_url("**/id/country/china.html")
    assert page.text_content("h1") == "China"
    # and a link of the statements table too
    page.locator("#incoming a", has_text="Jilin").first.click()
    page.wait_for_url("**/id/region/jilin.html")
    assert opened.errors == []
    assert opened.blocked == []
    assert opened.dialogs == []


def test_query_page_runs_a_named_query(seed_site, visit):
    opened = visit(f"{seed_site}/query")
    page = opened.page
    page.wait_for_selector(".yasqe .CodeMirror")
    page.select_option("#named-query", "regions")
    page.wait_for_function("window.ipgraphYasgui.getTab().getQuery().includes('Which regions')")
    page.click(".yasqe_queryButton")
    page.wait_for_selector(".yasr table.dataTable tbody tr td", timeout=15_000)
    # Every region and city of the graph (the registry's 34 regions and its
    # cities too), as the endpoint answers the same query; shown on one page.
    named = load_named("regions").text
    answer = httpx.get(f"{seed_site}/sparql", params={"query": named}, timeout=30).json()["results"]["bindings"]
    assert len(answer) > 34
    assert page.text_content(".yasr_response_chip").startswith(f"{len(answer)} results")
    page.select_option(".yasr select.tableSizer", "-1")
    assert page.locator(".yasr table.dataTable tbody tr").count() == len(answer)
    assert "Jilin" in page.text_content(".yasr table.dataTable")
    # the graph's own IRIs in the results open their pages here
    link = page.locator(".yasr a[href^='/id/region/jilin']").first
    link.click()
    page.wait_for_url("**/id/region/jilin.html")
    assert opened.blocked == [], "the query page must not reach any other host"
    assert opened.errors == []


def test_hostile_data_is_shown_as_text(hostile_site, visit):
    opened = visit(f"{hostile_site}/id/region/evil")
    page = opened.page
    assert opened.response.status == 200
    assert page.text_content("h1") == XSS_IMG
    assert page.locator("img").count() == 0
    assert page.locator("script").count() == 0  # the entity page has no script at all
    body = page.text_content("body")
    assert XSS_SCRIPT in body and XSS_IMG in body
    assert page.locator("a[href^='javascript']").count() == 0
    assert "javascript:alert(1)" in body  # shown, not linked
    assert XSS_IMG in page.text_content("mark")
    assert XSS_SCRIPT in page.text_content("#neighbourhood")
    page.wait_for_timeout(300)
    assert opened.dialogs == []
    assert opened.blocked == []


@pytest.mark.parametrize(
    "path",
    [
        "/schema",
        "/query",
        "/list?class=https%3A%2F%2Fw3id.org%2Fipgraph%2Fontology%23Province",
        "/search?q=onerror",
        "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/query/evil?run=1",
    ],
)
def test_hostile_labels_and_query_descriptions_are_inert_on_every_page(hostile_site, visit, path):
    opened = visit(hostile_site + path)
    page = opened.page
    assert opened.response.status == 200
    if path == "/query":
        page.wait_for_selector(".yasqe .CodeMirror")
        option = page.locator("#named-query option[value='evil']")
        assert XSS_SCRIPT in option.text_content()
        page.select_option("#named-query", "evil")
        page.click(".yasqe_queryButton")
        page.wait_for_selector(".yasr table.dataTable tbody tr td", timeout=15_000)
    else:
        assert XSS_IMG in page.text_content("body") or XSS_SCRIPT in page.text_content("body")
        assert page.locator("img").count() == 0
        assert page.locator("script").count() == 0
    page.wait_for_timeout(300)
    assert opened.dialogs == []
    assert opened.blocked == []


def test_typing_a_query_calls_no_outside_service(seed_site, visit):
    """YASGUI's autocompleters stay in the page: typing prefixed names,
    classes and properties (which Yasqe by default looks up at
    lov.linkeddata.es on every keystroke) makes no request off 127.0.0.1 and
    logs no console error."""
    opened = visit(f"{seed_site}/query")
    page = opened.page
    page.wait_for_selector(".yasqe .CodeMirror")
    enabled = page.evaluate("Object.keys(window.ipgraphYasgui.getTab().getYasqe().autocompleters).filter("
                            "(name) => window.ipgraphYasgui.getTab().getYasqe().autocompleters[name])")  # fmt: skip
    assert sorted(enabled) == ["prefixes", "variables"]
    page.evaluate("window.ipgraphYasgui.getTab().getYasqe().setValue('')")
    page.click(".yasqe .CodeMirror")
    page.keyboard.type("PREFIX schema: <https://schema.org/>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n",
                       delay=20)  # fmt: skip
    page.keyboard.type("SELECT ?place WHERE { ?place a schema:Admin", delay=40)
    page.wait_for_timeout(400)
    page.keyboard.type("istrativeArea ; rdfs:lab", delay=40)
    page.wait_for_timeout(400)
    page.keyboard.press("Control+Space")
    page.wait_for_timeout(600)
    page.keyboard.type("el ?label . ?pl", delay=40)
    page.keyboard.press("Control+Space")
    page.wait_for_timeout(600)
    assert "rdfs:lab" in page.evaluate("window.ipgraphYasgui.getTab().getYasqe().getValue()")
    assert opened.blocked == [], opened.blocked
    assert all(url.startswith(seed_site) for url in opened.requests), opened.requests
    assert opened.errors == []


# -- search, home page, query forms and the neighbourhood picture (three sources) --------

COUNT_CLASS = "SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ ?e a <{cls}> }}"
CLASSES = {
    "regions": "https://w3id.org/ipgraph/ontology#ProvincialLevelRegion",
    "agencies": "https://w3id.org/ipgraph/ontology#Agency",
    "measures": "https://w3id.org/ipgraph/ontology#Measure",
    "figures": "https://w3id.org/ipgraph/ontology#Figure",
    "sources": "https://schema.org/NewsArticle",
}


@pytest.fixture(scope="module")
def three_site(live_server, three_built) -> str:
    return live_server(open_store(three_built, "oxigraph"))


@pytest.mark.parametrize(
    ("typed", "group", "href"),
    [
        ("Jilin Province", "Regions", "/id/region/jilin"),
        ("吉林", "Regions", "/id/region/jilin"),
        ("吉林省", "Regions", "/id/region/jilin"),
        ("SIPO", "Agencies", "/id/agency/cnipa"),
    ],
)
def test_the_search_box_finds_english_chinese_and_aliases(three_site, visit, typed, group, href):
    opened = visit(f"{three_site}/id/region/liaoning")
    page = opened.page
    page.fill("form.search input[name=q]", typed)
    page.press("form.search input[name=q]", "Enter")
    page.wait_for_url("**/search?q=*")
    assert page.input_value("form.search input[name=q]") == typed
    section = page.locator(f"section.search-group[data-group='{group}']")
    assert section.count() == 1
    section.locator(f"a[href='{href}']").click()
    page.wait_for_url(f"**{href}.html")
    assert page.locator("h1").count() == 1
    assert opened.blocked == [] and opened.errors == []


def test_the_home_page_counts_match_sparql(three_site, visit):
    opened = visit(three_site + "/")
    page = opened.page
    for category, cls in CLASSES.items():
        answer = httpx.get(f"{three_site}/sparql", params={"query": COUNT_CLASS.format(cls=cls)}, timeout=30).json()
        expected = answer["results"]["bindings"][0]["n"]["value"]
        assert page.text_content(f"li.card[data-category='{category}'] .count") == expected, category
    assert page.locator("#latest-figures tbody tr").count() > 5
    assert "oa:TextQuoteSelector" not in page.text_content("body")
    page.click("li.card[data-category='regions'] a")
    page.wait_for_url("**/list?class=*")
    assert page.locator("#entities li").count() == 34
    assert opened.blocked == [] and opened.errors == []


def test_a_query_form_picks_a_known_value_and_a_missing_one_is_an_error(three_site, visit):
    opened = visit(f"{three_site}/query")
    page = opened.page
    page.wait_for_selector(".yasqe .CodeMirror")
    page.select_option("#named-query", "regions-by-industry")  # a query with a parameter opens its form
    page.wait_for_url("**/query/regions-by-industry")
    page.evaluate("document.querySelector('#param-industry').removeAttribute('required')")
    page.click("#run")  # nothing chosen: the server says what is missing
    page.wait_for_url("**/query/regions-by-industry?*")
    assert "needs the parameter 'industry'" in page.text_content("#query-error")
    assert page.locator("#result-table").count() == 0
    page.select_option("#param-industry", label="new materials")
    page.click("#run")
    page.wait_for_selector("#result-table tbody tr")
    assert "Jilin" in page.text_content("#result-table")
    assert page.locator("#download-csv").get_attribute("href").startswith("/query/regions-by-industry.csv?industry=")
    assert opened.blocked == []
    assert [error for error in opened.errors if "status of 400" not in error] == []  # only the 400 asked for


def test_the_neighbourhood_labels_are_legible_and_inside_the_picture(three_site, visit):
    opened = visit(f"{three_site}/id/region/jilin")
    page = opened.page
    svg = page.locator("#neighbourhood")
    box = svg.bounding_box()
    scale = box["width"] / float(svg.get_attribute("viewBox").split()[2])
    assert scale >= 0.999  # drawn at its own size, never shrunk
    texts = page.locator("#neighbourhood text")
    assert texts.count() >= 6
    for index in range(texts.count()):
        text = texts.nth(index)
        size = float(text.evaluate("node => getComputedStyle(node).fontSize").removesuffix("px")) * scale
        assert size >= 11
        label = text.bounding_box()
        assert label["x"] >= box["x"] and label["x"] + label["width"] <= box["x"] + box["width"] + 0.5
        assert label["y"] >= box["y"] and label["y"] + label["height"] <= box["y"] + box["height"] + 0.5
    assert opened.blocked == [] and opened.errors == []


def test_the_servers_map_runs_under_its_policy_and_leads_to_the_regions_page(three_site, visit):
    opened = visit(three_site + "/map")
    page = opened.page
    page.locator("body[data-ready='true']").wait_for(state="attached", timeout=30_000)
    jilin = page.locator("#map a.tile[data-iso='CN-JL']")
    assert jilin.get_attribute("href") == "/id/region/jilin"
    jilin.locator("rect").hover()
    tooltip = page.locator("#tooltip")
    tooltip.wait_for(state="visible", timeout=5_000)  # the page's own script ran under its CSP
    assert tooltip.inner_text().startswith("Jilin")
    jilin.click()
    page.wait_for_url("**/id/region/jilin.html")
    assert "Jilin" in page.text_content("h1")
    assert opened.blocked == [] and opened.errors == [] and opened.dialogs == []


def test_the_servers_figures_page_shows_the_graphs_values_and_offers_the_spreadsheet(three_site, visit):
    answer = httpx.get(
        f"{three_site}/sparql",
        params={
            "query": "PREFIX sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#> "
            "SELECT ?v WHERE { ?o sdmx-measure:obsValue ?v }"
        },
        timeout=30,
    ).json()
    expected = sorted(binding["v"]["value"] for binding in answer["results"]["bindings"])
    opened = visit(three_site + "/figures")
    page = opened.page
    page.locator("body[data-ready='true']").wait_for(state="attached", timeout=30_000)
    shown = page.evaluate(
        "Array.from(document.querySelectorAll('table td.num[data-value]')).map(td => td.dataset.value)"
    )
    assert sorted(shown) == expected
    page.select_option("#indicator", "1")  # the page's script runs: another indicator shows alone
    assert (
        page.evaluate("Array.from(document.querySelectorAll('section.indicator')).filter(s => !s.hidden).length") == 1
    )
    with page.expect_download() as download:
        page.click("nav a[href='/tables/figures.xlsx']")
    assert download.value.suggested_filename == "figures.xlsx"
    assert opened.blocked == [] and opened.errors == []
