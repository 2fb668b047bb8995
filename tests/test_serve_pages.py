"""The analyst's side of ``ipgraph serve`` over real HTTP (uvicorn on
127.0.0.1, httpx), on three sources that share entities: search across every
name and language, the home page in the domain's terms (its counts checked
against SPARQL), named-query forms and their errors, readable entity pages,
the figures, map and timeline pages and the tables' downloads. The same pages in Chromium:
``test_serve_browser.py``."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import time
from decimal import Decimal
from urllib.parse import quote

import httpx
import openpyxl
import pytest

from ipgraph import charts, serve_search
from ipgraph.query import load_named, open_graph
from ipgraph.serve import AnalystPage, ServeConfig, create_app, open_app
from ipgraph.serve_search import MAX_QUERY, Name, SearchIndex
from ipgraph.store import open_store

pytestmark = pytest.mark.server

ID = "https://w3id.org/ipgraph/id/"
FIGURE_VALUES = """PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#>
SELECT ?value WHERE { ?observation a qb:Observation ; sdmx-measure:obsValue ?value }"""
JILIN = ID + "region/jilin"
CNIPA = ID + "agency/cnipa"


@pytest.fixture(scope="module")
def site(live_server, three_built) -> str:
    return live_server(open_store(three_built, "oxigraph"))


def found(site: str, text: str) -> dict[str, list[str]]:
    """Group -> IRIs that /search.json finds for ``text``."""
    response = httpx.get(f"{site}/search.json", params={"q": text}, timeout=30)
    assert response.status_code == 200, response.text
    return {group["group"]: [hit["iri"] for hit in group["results"]] for group in response.json()["groups"]}


# -- search ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["吉林", "吉林省", "林省", "Jilin Province", "jilin", "JILIN", "Jil", "Jilin Sheng", "CN-JL", "cn jl"]
)
def test_search_finds_jilin_in_english_and_chinese(site, text):
    groups = found(site, text)
    assert JILIN in groups["Regions"], groups
    assert next(iter(groups)) == "Regions"  # groups in the order of GROUPS: regions first


@pytest.mark.parametrize("text", ["SIPO", "State Intellectual Property Office", "国家知识产权局", "CNIPA", "cnipa"])
def test_search_finds_agencies_by_alias_former_name_and_chinese_name(site, text):
    assert CNIPA in found(site, text)["Agencies"]


def test_search_finds_a_name_a_source_adds(site):
    # "Jilin Sheng Province" is an alias only fixture source C gives (in its own graph)
    assert found(site, "Sheng Province") == {"Regions": [JILIN]}


def test_search_page_groups_results_by_class_and_links_entity_pages(site):
    page = httpx.get(f"{site}/search", params={"q": "吉林"}).text
    sections = re.findall(r'<section class="search-group" data-group="([^"]+)">', page)
    assert sections[0] == "Regions" and "Cities and places" in sections
    regions = page.split('data-group="Regions">', 1)[1].split("</section>", 1)[0]
    assert '<a href="/id/region/jilin">Jilin</a>' in regions and "吉林省" in regions
    assert 'value="吉林"' in page  # the box keeps the query


def test_every_page_has_the_search_box(site):
    for path in ("/", "/schema", "/query", "/query/measures", "/id/region/jilin.html", "/search"):
        page = httpx.get(site + path).text
        assert '<form class="search" action="/search"' in page, path


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "give something to search for"),
        ({"q": "   "}, "give something to search for"),
        ({"q": "x" * (MAX_QUERY + 1)}, f"at most {MAX_QUERY}"),
        ({"q": "jilin\x00"}, "control characters"),
        ({"q": "jilin\x1b[31m"}, "control characters"),
        ({"q": "jilin", "limit": "0"}, "limit must be"),
        ({"q": "jilin", "limit": "many"}, "limit must be"),
        ({"q": "jilin", "sort": "x"}, "unknown parameter 'sort'"),
    ],
)
def test_bad_search_input_is_a_400_with_one_message(site, params, message):
    as_json = httpx.get(f"{site}/search.json", params=params)
    assert as_json.status_code == 400
    assert message in as_json.json()["error"]["message"]
    as_html = httpx.get(f"{site}/search", params=params, headers={"Accept": "text/html"})
    assert as_html.status_code == 400 and message in html.unescape(as_html.text)
    repeated = httpx.get(f"{site}/search.json?q=a&q=b")
    assert repeated.status_code == 400 and "once" in repeated.json()["error"]["message"]


def test_fts_syntax_in_a_query_is_searched_as_words(site):
    for text in ('jilin OR "', "NEAR(jilin)", "name:jilin", "*", "jilin AND NOT x", '"'):
        assert httpx.get(f"{site}/search.json", params={"q": text}).status_code == 200, text


def test_the_index_is_rebuilt_when_a_new_build_is_served(built, three_built, tmp_path):
    dataset = tmp_path / "ipgraph.trig"
    shutil.copy(built, dataset)
    app = open_app(dataset, "memory", config=ServeConfig(watch=0))
    server = app.state.server
    assert all(hit.matched != "Jilin Sheng Province" for hit in server.search.search("Jilin Sheng Province"))
    time.sleep(0.01)
    shutil.copy(three_built, dataset)
    assert server.reload(force=True)
    hit = server.search.search("Jilin Sheng Province")[0]
    assert (hit.iri, hit.matched) == (JILIN, "Jilin Sheng Province")


def test_a_query_costs_a_lookup_in_the_index_not_a_scan():
    index = SearchIndex([Name(f"{ID}x/{n}", f"name {n} 名称{n}") for n in range(2000)])
    for statement, value in ((serve_search._MATCHING, '"名 称"'), (serve_search._EQUAL, "name 7")):
        plan = index._db.execute("EXPLAIN QUERY PLAN " + statement, (value, 10)).fetchall()
        details = " ".join(row[-1] for row in plan)  # the plan SQLite makes for the search's own statements
        assert "SCAN name " not in details + " " and "SCAN entity" not in details, details
        assert "VIRTUAL TABLE INDEX" in details or "USING INDEX name_key" in details, details
    assert [hit.iri for hit in index.search("name 1999")][:1] == [f"{ID}x/1999"]


# -- home and schema ---------------------------------------------------------------

COUNTS = """
PREFIX ipg: <https://w3id.org/ipgraph/ontology#>
PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX schema: <https://schema.org/>
SELECT
  (COUNT(DISTINCT ?region) AS ?regions) (COUNT(DISTINCT ?agency) AS ?agencies)
  (COUNT(DISTINCT ?measure) AS ?measures) (COUNT(DISTINCT ?figure) AS ?figures)
  (COUNT(DISTINCT ?source) AS ?sources)
WHERE {
  { ?region a ipg:ProvincialLevelRegion } UNION { ?agency a ipg:Agency } UNION { ?measure a ipg:Measure }
  UNION { ?figure a ipg:Figure } UNION { ?source a schema:NewsArticle }
}"""


def test_home_page_counts_match_sparql(site):
    answer = httpx.get(f"{site}/sparql", params={"query": COUNTS}, timeout=30).json()["results"]["bindings"][0]
    page = httpx.get(site + "/").text
    shown = dict(re.findall(r'data-category="(\w+)">.*?<span class="count">(\d+)</span>', page, re.DOTALL))
    for category in ("regions", "agencies", "measures", "figures", "sources"):
        assert shown[category] == answer[category]["value"], category
    assert shown["sources"] == "3" and shown["regions"] == "34"
    assert "oa:TextQuoteSelector" not in page and "owl:Class" not in page  # the schema page has them
    assert page.index("Regions") < page.index("Latest figures")
    # two figures have sources that disagree: Jilin's patents granted in 2024 and the trademarks of April 2025
    assert re.search(r'id="conflicting">2 figures where sources disagree', page)


def test_home_page_shows_the_latest_figures_with_their_sources(site, three_built):
    page = httpx.get(site + "/").text
    table = page.split('id="latest-figures"', 1)[1].split("</table>", 1)[0]
    rows = table.split("<tr>")[2:]
    graph = open_graph(three_built)
    observations = graph.query(
        "SELECT (COUNT(DISTINCT ?o) AS ?n) WHERE { ?o a <http://purl.org/linked-data/cube#Observation> }"
    )
    assert len(rows) == min(10, int(observations.rows[0][0].value)) > 5  # the latest first
    latest = graph.query(
        "PREFIX ipg: <https://w3id.org/ipgraph/ontology#> SELECT ?stated ?end WHERE { "
        "?o a <http://purl.org/linked-data/cube#Observation> ; ipg:periodEnd ?end ; ipg:statedValue ?stated } "
        "ORDER BY DESC(?end) LIMIT 1"
    ).records()[0]
    assert str(latest["end"]) == "2025-05-31" and latest["stated"] == "320"  # fixture B's flow to May 2025
    assert ">more than 320</a>" in rows[0] and "fixture-2025-06-01-b" in rows[0]
    assert any("sources conflict" in row and "12,000" in row for row in rows)


def test_schema_page_lists_classes_and_graphs(site):
    page = httpx.get(site + "/schema").text
    assert "oa:TextQuoteSelector" in page and 'id="graphs"' in page
    assert "/graph-store?graph=" + quote(ID + "graph/registry", safe="") in page


# -- named-query forms ---------------------------------------------------------------


def test_a_form_offers_the_known_values_and_runs_the_query(site, three_built):
    form = httpx.get(f"{site}/query/measures").text
    options = dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', form))
    assert options[JILIN] == "Jilin" and options[ID + "region-group/northeast-china-and-inner-mongolia"]
    assert len(options) > 34
    response = httpx.get(f"{site}/query/measures", params={"region": JILIN, "run": "1"})
    assert response.status_code == 200
    expected = open_graph(three_built).query_named("measures", region="region:jilin")
    assert len(expected) > 0
    assert response.text.count("<tr><td>") == len(expected)
    assert f'<option value="{JILIN}" selected>' in response.text
    # the same by label, and as CSV and JSON
    by_label = httpx.get(f"{site}/query/measures.json", params={"region": "吉林省"}).json()
    assert len(by_label["results"]["bindings"]) == len(expected)
    csv = httpx.get(f"{site}/query/measures.csv", params={"region": JILIN})
    assert csv.headers["content-disposition"] == 'attachment; filename="measures.csv"'
    assert len(csv.text.strip().splitlines()) == len(expected) + 1


def test_a_missing_required_parameter_is_a_400_not_everything(site):
    page = httpx.get(f"{site}/query/regions-by-industry", params={"run": "1"})
    assert page.status_code == 400
    assert "needs the parameter &#39;industry&#39;" in page.text
    assert 'id="result-table"' not in page.text
    empty = httpx.get(f"{site}/query/regions-by-industry", params={"industry": "", "run": "1"})
    assert empty.status_code == 400
    as_json = httpx.get(f"{site}/query/regions-by-industry.json")
    assert as_json.status_code == 400
    assert "needs the parameter 'industry'" in as_json.json()["error"]["message"]
    assert httpx.get(f"{site}/query/regions-by-industry.csv").status_code == 400
    # before running, the form only
    assert httpx.get(f"{site}/query/regions-by-industry").status_code == 200


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/query/nope", 404, "unknown named query 'nope'"),
        ("/query/measures.json?colour=red", 400, "unknown parameter colour"),
        ("/query/measures.json?region=Atlantis", 400, "no entity has the label 'Atlantis'"),
        ("/query/measures.json?region=a&region=b", 400, "once"),
        ("/query/measures.json?region=javascript:alert(1)", 400, "no entity has the label 'javascript:alert(1)'"),
        ("/query/measures.json?region=%3Cftp://example.org/x%3E", 400, "not an http(s), urn, mailto or file IRI"),
    ],
)
def test_bad_form_input_is_one_message(site, path, status, message):
    response = httpx.get(site + path)
    assert response.status_code == status
    assert message in html.unescape(response.text)


def test_a_query_without_parameters_runs_from_its_form(site):
    response = httpx.get(f"{site}/query/regions", params={"run": "1"})
    assert response.status_code == 200 and "Jilin" in response.text
    assert 'href="/query/regions.csv"' in response.text


# -- entity pages ----------------------------------------------------------------------


def test_quotes_are_cut_at_whole_words(site):
    page = httpx.get(f"{site}/id/region/jilin.html").text
    contexts = re.findall(r'<span class="context">([^<]*)</span><mark>', page)
    assert "… the country&#39;s heavy industry, " in contexts
    assert not any(text.startswith("f the") for text in contexts)
    for prefix in contexts:
        assert prefix == "" or prefix.startswith("…") or not prefix[:1].isalpha(), prefix
    suffixes = re.findall(r"</mark><span class=\"context\">([^<]*)</span>", page)
    assert ", along with the neighboring …" in suffixes


def test_statements_are_headed_once_by_their_source(site):
    page = httpx.get(f"{site}/id/region/jilin.html").text
    incoming = page.split('id="statements"', 1)[1].split("</table>", 1)[0]
    headings = re.findall(r'<tr class="graph"><th colspan="2">(.*?)</th></tr>', incoming)
    assert any("China&#39;s old industry heartland" in heading and "Xinhua" in heading for heading in headings)
    assert any("the registry of shared entities" in heading for heading in headings)
    headline = "China&#39;s old industry heartland enhances IP protection for emerging sectors</a> <span"
    assert incoming.count(headline) == 1  # once, as its heading, not on every row
    assert "quote, characters" in incoming  # evidence by position, not by its long IRI


# -- analyst pages ---------------------------------------------------------------------


def test_analyst_pages_are_mounted_and_linked_from_every_page(live_server, three_built):
    calls = []

    def figures(store) -> str:
        calls.append(store)
        return f"<!doctype html><title>Figures</title><p id='n'>{len(store)} quads</p>"

    pages = (AnalystPage("/figures", "Figures", figures), AnalystPage("/map", "Map", lambda store: "<p>map</p>"))
    store = open_store(three_built, "oxigraph")
    site = live_server(store, pages=pages)
    response = httpx.get(site + "/figures")
    assert response.status_code == 200 and f"{len(store)} quads" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    httpx.get(site + "/figures")
    assert len(calls) == 1  # drawn once per build
    for path in ("/", "/schema", "/search?q=jilin"):
        page = httpx.get(site + path).text
        assert '<a href="/figures" class="analyst">Figures</a>' in page and '<a href="/map"' in page
    assert 'id="analyst-pages"' in httpx.get(site + "/").text


def test_without_analyst_pages_there_is_no_link_and_no_route(live_server, three_built):
    site = live_server(open_store(three_built, "oxigraph"), pages=())
    assert 'class="analyst"' not in httpx.get(site + "/").text
    assert httpx.get(site + "/figures").status_code == 404


def test_the_figures_map_and_timeline_are_served_with_their_own_policy_and_server_links(site):
    for path in ("/figures", "/map", "/timeline"):
        response = httpx.get(site + path, timeout=60)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert policy == charts.POLICY and "unsafe" not in policy
        links = re.findall(r'<a href="([^"]+)"', response.text)
        nav = re.search(r"<nav>(.*?)</nav>", response.text).group(1)
        assert re.findall(r'href="([^"]+)"', nav) == [
            "/figures", "/map", "/timeline", "/tables/figures.xlsx", "/tables/figures.csv", "/"
        ]  # fmt: skip
        # entities link to their pages here, and those pages exist
        local = sorted({link for link in links if link.startswith("/id/")})
        assert local, path
        for link in local[:5]:
            assert httpx.get(site + link, headers={"Accept": "text/html"}, follow_redirects=True).status_code == 200
        assert not any(link.startswith("https://w3id.org/") for link in links)


def test_the_tables_download_as_csv_and_xlsx_with_the_graphs_values(site):
    answer = httpx.get(site + "/sparql", params={"query": FIGURE_VALUES}, timeout=30).json()
    expected = sorted(Decimal(b["value"]["value"]) for b in answer["results"]["bindings"])
    response = httpx.get(site + "/tables/figures.csv", timeout=60)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="figures.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(Decimal(row["value"]) for row in rows) == expected and len(expected) > 5
    response = httpx.get(site + "/tables/quotes.xlsx", timeout=60)
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)["quotes"]
    header, *records = [list(row) for row in sheet.iter_rows(values_only=True)]
    quotes = [dict(zip(header, record, strict=True))["quote"] for record in records]
    assert all(quote for quote in quotes) and max(map(len, quotes)) > 200  # whole quotes, never cut
    for wrong in ("/tables/figures.pdf", "/tables/nothing.csv", "/tables/figures", "/tables/..%2Fetc.csv"):
        assert httpx.get(site + wrong).status_code == 404, wrong


def test_an_analyst_page_may_bring_its_own_csp(three_built):
    from ipgraph.serve import get

    own = "default-src 'none'; script-src 'sha256-abc'"
    app = create_app(
        open_store(three_built, "memory"), ServeConfig(pages=(AnalystPage("/timeline", "Timeline", str, own),))
    )
    status, media, body = get(app, "/timeline")
    assert status == 200 and media.startswith("text/html") and body.startswith(b"<ipgraph.store")
    assert load_named("measures").params[0].values  # the forms' choices come from @values


ZH_PREFIX = "东北老工业基地吉林省、辽宁省和黑龙江省以及内蒙古自治区的知识产权"
ZH_SUFFIX = "保护工作取得新进展，专利和商标的有效量持续增长，知识产权保护中心"


@pytest.mark.parametrize(
    ("prefix", "suffix", "start", "expected"),
    [
        # cut inside a word at both ends: the partial words go, "…" marks the cuts
        ("f the country's heavy industry, ", ", along with the neighboring Inn", 900,
         ("… the country's heavy industry, ", ", along with the neighboring …")),
        # the prefix reaches the start of the text, the suffix its end: kept whole
        ("Fixture B. ", " said.", 11, ("Fixture B. ", " said.")),
        # cut at a space already: nothing dropped
        (" the country's heavy industry, ", "and the neighboring Inner Mongol", 900,
         ("… the country's heavy industry, ", "and the neighboring Inner …")),
        # a table's line breaks show as spaces
        ("x\n\n68.1%\n\nTaiwan\n\n94.5%\n\n", "\n\nHong Kong\n\n92.8%\n\nMacao\n\n85.2%", 900,
         ("… 68.1% Taiwan 94.5% ", " Hong Kong 92.8% Macao 85.2%…")),
        # Chinese: every character is a word, nothing is dropped
        (ZH_PREFIX, ZH_SUFFIX, 900, ("…" + ZH_PREFIX, ZH_SUFFIX + "…")),
    ],
)  # fmt: skip
def test_quote_context_is_cut_at_whole_words(prefix, suffix, start, expected):
    from ipgraph.serve_entity import whole_words

    assert whole_words(prefix, suffix, start) == expected
