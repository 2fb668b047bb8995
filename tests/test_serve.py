"""``ipgraph serve`` over real HTTP: uvicorn on a free port of 127.0.0.1,
spoken to with httpx (protocol details), SPARQLWrapper and rdflib's
SPARQLStore (real SPARQL clients), and rdflib's own URL parser (linked data).

The W3C protocol test suite is in ``test_serve_w3c.py``; the pages in
Chromium in ``test_serve_browser.py``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDFS

from ipgraph.query import list_named
from ipgraph.store import open_store

pytestmark = pytest.mark.server

JILIN = "https://w3id.org/ipgraph/id/region/jilin"
SD = "http://www.w3.org/ns/sparql-service-description#"
# Distinct triples: a triple that two named graphs hold (the registry's and a
# source's "Harbin is the capital of Heilongjiang") is one triple of the union,
# though Oxigraph's union default graph yields it once per graph.
COUNT_TRIPLES = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
# The provinces the seed source mentions (the registry has all 23 and Taiwan).
PROVINCES = (
    "PREFIX ipg: <https://w3id.org/ipgraph/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?province ?label WHERE { ?province a ipg:Province ; rdfs:label ?label "
    'FILTER(LANG(?label) = "en") FILTER EXISTS { ?province ipg:evidence ?quote } } '
    "ORDER BY ?label"
)
CONSTRUCT_JILIN = f"CONSTRUCT {{ <{JILIN}> ?p ?o }} WHERE {{ <{JILIN}> ?p ?o }}"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"


@pytest.fixture(scope="module")
def oxigraph_store(built):
    return open_store(built, "oxigraph")


@pytest.fixture(scope="module")
def base(live_server, oxigraph_store, tmp_path_factory) -> str:
    """The seed graph served from an Oxigraph store, with a views folder holding one view."""
    views = tmp_path_factory.mktemp("views")
    (views / "overview.html").write_text("<!doctype html><title>overview</title>", encoding="utf-8")
    return live_server(oxigraph_store, views=views, timeout=5)


@pytest.fixture(scope="module")
def memory_base(live_server, built) -> str:
    return live_server(open_store(built, "memory"))


@pytest.fixture(scope="module")
def tight_base(live_server, oxigraph_store) -> str:
    """A server with small limits: 1 s timeout, 5 rows, 2 KiB bodies, 1 KiB query strings, 2 workers."""
    return live_server(oxigraph_store, timeout=1.0, max_rows=5, max_body=2048, max_url=1024, workers=2)


def sparql(base: str, query: str, accept: str | None = None, method: str = "GET") -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    if method == "GET":
        return httpx.get(f"{base}/sparql", params={"query": query}, headers=headers, timeout=30)
    if method == "form":
        return httpx.post(f"{base}/sparql", data={"query": query}, headers=headers, timeout=30)
    headers["Content-Type"] = "application/sparql-query"
    return httpx.post(f"{base}/sparql", content=query.encode(), headers=headers, timeout=30)


def media(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


# -- the endpoint ------------------------------------------------------------


def test_health(base, oxigraph_store):
    body = httpx.get(f"{base}/health").json()
    assert body["status"] == "ok"
    assert body["store"] == "oxigraph"
    assert body["quads"] == len(oxigraph_store) > 1000


@pytest.mark.parametrize("method", ["GET", "form", "direct"])
def test_query_by_get_post_form_and_post_direct(base, union, method):
    response = sparql(base, COUNT_TRIPLES, method=method)
    assert response.status_code == 200
    assert media(response) == "application/sparql-results+json"
    assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == len(union)


def test_the_default_graph_is_the_union_and_named_graphs_are_there(base):
    rows = sparql(base, "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }").json()["results"]["bindings"]
    graphs = {row["g"]["value"] for row in rows}
    assert "https://w3id.org/ipgraph/id/graph/ontology" in graphs
    assert any("/graph/xinhua-" in graph for graph in graphs)


def test_select_in_every_results_format(base):
    expected = [("https://w3id.org/ipgraph/id/region/heilongjiang", "Heilongjiang"), (JILIN, "Jilin")]
    as_json = sparql(base, PROVINCES, "application/sparql-results+json")
    assert media(as_json) == "application/sparql-results+json"
    rows = [(b["province"]["value"], b["label"]["value"]) for b in as_json.json()["results"]["bindings"]]
    assert rows[:2] == expected
    assert as_json.json()["results"]["bindings"][0]["label"]["xml:lang"] == "en"

    as_xml = sparql(base, PROVINCES, "application/sparql-results+xml")
    assert media(as_xml) == "application/sparql-results+xml"
    ns = "{http://www.w3.org/2005/sparql-results#}"
    tree = ET.fromstring(as_xml.content)  # noqa: S314 - our own server's answer
    first = tree.find(f"{ns}results/{ns}result")
    assert first.find(f"{ns}binding[@name='province']/{ns}uri").text == expected[0][0]

    as_csv = sparql(base, PROVINCES, "text/csv")
    assert media(as_csv) == "text/csv"
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == ["province", "label"]
    assert [tuple(row) for row in table[1:3]] == expected

    as_tsv = sparql(base, PROVINCES, "text/tab-separated-values")
    assert media(as_tsv) == "text/tab-separated-values"
    lines = as_tsv.text.splitlines()
    assert lines[0] == "?province\t?label"
    assert lines[1] == f'<{expected[0][0]}>\t"Heilongjiang"@en'


def test_ask_in_json_and_xml(base):
    query = f"ASK {{ <{JILIN}> ?p ?o }}"
    assert sparql(base, query, "application/sparql-results+json").json() == {"head": {}, "boolean": True}
    answer = sparql(base, query, "application/sparql-results+xml")
    assert media(answer) == "application/sparql-results+xml"
    assert "<boolean>true</boolean>" in answer.text


@pytest.mark.parametrize(
    ("accept", "rdf_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
    ],
)
@pytest.mark.parametrize("query", [CONSTRUCT_JILIN, f"DESCRIBE <{JILIN}>"])
def test_construct_and_describe_in_every_rdf_format(base, union, accept, rdf_format, query):
    response = sparql(base, query, accept)
    assert response.status_code == 200
    assert media(response) == accept
    graph = Graph().parse(data=response.content, format=rdf_format)
    expected = Graph()
    for triple in union.triples((URIRef(JILIN), None, None)):
        expected.add(triple)
    assert (URIRef(JILIN), RDFS.label, Literal("Jilin", lang="en")) in graph
    if query.startswith("CONSTRUCT"):
        assert isomorphic(graph, expected)


def test_q_values_choose_the_format(base):
    response = sparql(base, PROVINCES, "text/csv;q=0.4, application/sparql-results+xml;q=0.9, */*;q=0.1")
    assert media(response) == "application/sparql-results+xml"
    assert "Accept" in response.headers["vary"]


@pytest.mark.parametrize(
    ("query", "accept"),
    [
        (PROVINCES, "image/png"),
        ("ASK {}", "text/csv"),
        (CONSTRUCT_JILIN, "application/sparql-results+json;q=1, */*;q=0"),
    ],
)
def test_unknown_formats_get_406(base, query, accept):
    response = sparql(base, query, accept)
    assert response.status_code == 406
    assert "offered" in response.text


def test_a_syntax_error_gets_400_with_the_parser_message(base):
    response = sparql(base, "SELECT * WHERE { ?s ?p }")
    assert response.status_code == 400
    assert media(response) == "text/plain"
    assert "syntax error at line 1, column" in response.text


@pytest.mark.parametrize(
    "query",
    [
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "DELETE WHERE { ?s ?p ?o }",
        "LOAD <http://example.org/data.ttl>",
        "CLEAR ALL",
        "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
    ],
)
def test_updates_load_and_service_are_refused_with_403(base, union, query):
    for method in ("GET", "direct"):
        response = sparql(base, query, method=method)
        assert response.status_code == 403, response.text
        assert "not allowed" in response.text
    assert int(sparql(base, COUNT_TRIPLES).json()["results"]["bindings"][0]["n"]["value"]) == len(union)


def test_from_sees_only_graphs_of_the_store(base, union):
    """FROM picks graphs of the store; an IRI that names none (a file, a URL)
    is an empty graph, never read; a protocol dataset overrides FROM."""
    ontology = "https://w3id.org/ipgraph/id/graph/ontology"

    def count(query: str, **params) -> int:
        response = httpx.get(f"{base}/sparql", params={"query": query, **params})
        assert response.status_code == 200, response.text
        return int(response.json()["results"]["bindings"][0]["n"]["value"])

    in_ontology = count(f"SELECT (COUNT(*) AS ?n) FROM <{ontology}> WHERE {{ ?s ?p ?o }}")  # noqa: S608 - SPARQL
    assert 0 < in_ontology < len(union)
    assert count("SELECT (COUNT(*) AS ?n) FROM <file:///etc/passwd> WHERE { ?s ?p ?o }") == 0
    overridden = count("SELECT (COUNT(*) AS ?n) FROM <file:///etc/passwd> WHERE { ?s ?p ?o }", **{
        "default-graph-uri": ontology})  # fmt: skip
    assert overridden == in_ontology


def test_update_requests_are_refused_with_403(base):
    form = httpx.post(f"{base}/sparql", data={"update": "CLEAR ALL"})
    direct = httpx.post(f"{base}/sparql", content=b"CLEAR ALL", headers={"Content-Type": "application/sparql-update"})
    assert form.status_code == direct.status_code == 403
    assert "read-only" in form.text


def test_timeout_stops_a_slow_query_and_does_not_block_others(tight_base):
    slow: dict[str, httpx.Response] = {}
    thread = threading.Thread(target=lambda: slow.setdefault("r", sparql(tight_base, SLOW)))
    thread.start()
    time.sleep(0.2)
    quick = sparql(tight_base, "ASK {}")  # answered while the slow one runs
    assert quick.status_code == 200
    assert thread.is_alive(), "the slow query should still be running"
    thread.join(timeout=30)
    assert slow["r"].status_code == 503
    assert "longer than 1 s" in slow["r"].text


def test_results_are_cut_at_max_rows(tight_base):
    response = sparql(tight_base, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
    assert response.status_code == 200
    assert len(response.json()["results"]["bindings"]) == 5
    assert response.headers["x-ipgraph-truncated"].startswith("true")
    triples = sparql(tight_base, "CONSTRUCT WHERE { ?s ?p ?o }", "application/n-triples")
    assert len(triples.text.strip().splitlines()) == 5


def test_request_size_limits(tight_base):
    big = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 4000
    assert sparql(tight_base, big, method="direct").status_code == 413
    assert sparql(tight_base, big, method="form").status_code == 413
    assert sparql(tight_base, big, method="GET").status_code == 414


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cors_preflight_for_get_and_post(base, method):
    origin = {"Origin": "http://example.org"}
    response = httpx.get(f"{base}/sparql", params={"query": "ASK {}"}, headers=origin)
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
    assert "ETag" in response.headers["access-control-expose-headers"]
    preflight = httpx.options(
        f"{base}/sparql",
        headers={**origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status_code == 204
    assert preflight.content == b""
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert method in preflight.headers["access-control-allow-methods"]
    assert "Content-Type" in preflight.headers["access-control-allow-headers"]
    assert int(preflight.headers["access-control-max-age"]) > 0


def test_cors_preflight_for_a_write_or_a_public_page_is_not_granted(base):
    origin = {"Origin": "http://example.org"}
    put = httpx.options(f"{base}/sparql", headers={**origin, "Access-Control-Request-Method": "PUT"})
    assert put.status_code == 204
    assert "access-control-allow-methods" not in put.headers  # the browser refuses the PUT
    private = httpx.options(
        f"{base}/sparql",
        headers={**origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "true"},
    )
    assert "access-control-allow-private-network" not in private.headers


def test_service_description(base, oxigraph_store):
    response = httpx.get(f"{base}/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert media(response) == "text/turtle"
    graph = Graph().parse(data=response.text, format="turtle")
    service = next(graph.subjects(URIRef(SD + "endpoint"), URIRef(f"{base}/sparql")))
    assert (service, URIRef(SD + "supportedLanguage"), URIRef(SD + "SPARQL11Query")) in graph
    assert (service, URIRef(SD + "feature"), URIRef(SD + "UnionDefaultGraph")) in graph
    formats = {str(o) for o in graph.objects(service, URIRef(SD + "resultFormat"))}
    assert "http://www.w3.org/ns/formats/SPARQL_Results_JSON" in formats
    assert "http://www.w3.org/ns/formats/Turtle" in formats
    names = {str(o) for o in graph.objects(None, URIRef(SD + "name"))}
    assert "https://w3id.org/ipgraph/id/graph/ontology" in names
    browser = httpx.get(f"{base}/sparql", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.status_code == 303
    assert browser.headers["location"] == "/query"


def test_each_query_is_logged_with_its_duration(base, caplog):
    with caplog.at_level(logging.INFO, logger="ipgraph.serve"):
        sparql(base, "ASK { ?s ?p ?o }")
    lines = [r.getMessage() for r in caplog.records if r.name == "ipgraph.serve"]
    assert any("/sparql ask" in line and " ms -> 200: ASK { ?s ?p ?o }" in line for line in lines), lines


@pytest.mark.parametrize("query", [PROVINCES, "ASK {}", CONSTRUCT_JILIN])
def test_the_memory_store_answers_like_oxigraph(base, memory_base, query):
    accept = "text/turtle" if query.startswith("CONSTRUCT") else "application/sparql-results+json"
    from_oxigraph, from_memory = sparql(base, query, accept), sparql(memory_base, query, accept)
    assert from_memory.status_code == 200
    if query.startswith("CONSTRUCT"):
        assert isomorphic(Graph().parse(data=from_oxigraph.text), Graph().parse(data=from_memory.text))
    else:
        assert from_oxigraph.json() == from_memory.json()


# -- real SPARQL clients -------------------------------------------------------


def test_sparqlwrapper(base):
    from SPARQLWrapper import JSON, POST, TURTLE, XML, SPARQLWrapper
    from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

    client = SPARQLWrapper(f"{base}/sparql")
    client.setQuery(PROVINCES)
    client.setReturnFormat(JSON)
    rows = client.query().convert()["results"]["bindings"]
    assert [row["label"]["value"] for row in rows] == ["Heilongjiang", "Jilin", "Liaoning"]

    client.setMethod(POST)
    client.setReturnFormat(XML)
    document = client.query().convert()
    assert len(document.getElementsByTagName("result")) == 3

    client.setQuery(CONSTRUCT_JILIN)
    client.setReturnFormat(TURTLE)
    graph = Graph().parse(data=client.query().convert(), format="turtle")
    assert (URIRef(JILIN), RDFS.label, Literal("Jilin", lang="en")) in graph

    client.setQuery("ASK {")
    client.setReturnFormat(JSON)
    with pytest.raises(QueryBadFormed):
        client.query()


def test_sparqlwrapper_update_is_refused(base):
    from urllib.error import HTTPError

    from SPARQLWrapper import POST, SPARQLWrapper

    client = SPARQLWrapper(f"{base}/sparql")
    client.setMethod(POST)
    client.setQuery("INSERT DATA { <urn:a> <urn:b> <urn:c> }")
    with pytest.raises(HTTPError) as error:
        client.query()
    assert error.value.code == 403


def test_rdflib_sparqlstore(base, union):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    remote = Graph(store=SPARQLStore(f"{base}/sparql", returnFormat="json"))
    labels = sorted(str(row.label) for row in remote.query(PROVINCES))
    assert labels == ["Heilongjiang", "Jilin", "Liaoning"]
    assert set(remote.triples((URIRef(JILIN), RDFS.label, None))) == set(
        union.triples((URIRef(JILIN), RDFS.label, None))
    )
    assert remote.query(f"ASK {{ <{JILIN}> ?p ?o }}").askAnswer is True


# -- linked data -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "extension", "rdf_format"),
    [
        ("text/turtle", "ttl", "turtle"),
        ("application/ld+json", "jsonld", "json-ld"),
        ("application/n-triples", "nt", "nt"),
        ("application/rdf+xml", "rdf", "xml"),
    ],
)
def test_a_resource_dereferences_to_rdf_by_accept(base, accept, extension, rdf_format):
    response = httpx.get(f"{base}/id/region/jilin", headers={"Accept": accept})
    assert response.status_code == 303
    assert response.headers["location"] == f"/id/region/jilin.{extension}"
    assert "Accept" in response.headers["vary"]
    document = httpx.get(f"{base}/id/region/jilin", headers={"Accept": accept}, follow_redirects=True)
    assert document.status_code == 200
    assert media(document) == accept
    assert document.headers["content-location"] == f"/id/region/jilin.{extension}"
    graph = Graph().parse(data=document.content, format=rdf_format)
    assert (URIRef(JILIN), RDFS.label, Literal("Jilin", lang="en")) in graph
    # what points to it, and its evidence with the quote
    assert any(True for _ in graph.triples((None, None, URIRef(JILIN))))
    assert any("Jilin" in str(o) for o in graph.objects(None, URIRef("http://www.w3.org/ns/oa#exact")))


def test_rdflib_dereferences_a_resource(base):
    """A linked-data client follows the 303 with content negotiation."""
    graph = Graph().parse(f"{base}/id/agency/cnipa")
    label = graph.value(URIRef("https://w3id.org/ipgraph/id/agency/cnipa"), RDFS.label)
    assert str(label) == "China National Intellectual Property Administration"


def test_a_resource_page_in_html(base):
    response = httpx.get(f"{base}/id/region/jilin", headers={"Accept": "text/html"}, follow_redirects=True)
    assert response.status_code == 200
    assert media(response) == "text/html"
    page = response.text
    assert '<h1 id="title">Jilin</h1>' in page
    assert JILIN in page
    assert "吉林省" in page  # the Chinese name, an altLabel
    assert 'href="/id/country/china"' in page  # linked resources are browsable here
    assert 'href="http://www.wikidata.org/entity/Q45208"' in page  # external links stay external
    assert "<mark>" in page  # the quote behind the facts
    assert 'id="neighbourhood"' in page
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_a_page_shows_each_quote_once_with_its_own_source(live_server, three_built):
    """Three sources quote Jilin; two of them share a publisher, whose label
    is then in two named graphs (which Oxigraph's union yields twice)."""
    site = live_server(open_store(three_built, "oxigraph"))
    page = httpx.get(f"{site}/id/region/jilin.html").text
    evidence = page.split("<h2>Evidence</h2>", 1)[1]
    figures = evidence.split('<figure class="evidence"')[1:]
    sources = {
        "Jilin Province granted": "source/fixture-2025-06-01-b",
        "Jilin granted": "source/fixture-2025-06-02-c",
        "the northeastern provinces of Jilin, Liaoning and Heilongjiang": "source/xinhua-2025-05-31-northeast-ip",
    }
    quotes = [figure.split("<mark>", 1)[1].split("</mark>", 1)[0] for figure in figures]
    assert sorted(quotes) == sorted(sources)
    for words, figure in zip(quotes, figures, strict=True):
        assert sources[words] in figure.split('data-source="', 1)[1].split('"', 1)[0], (words, figure)
    assert "3 quotes from 3 sources" in evidence


def test_every_link_on_a_resource_page_works(base):
    page = httpx.get(f"{base}/id/region/jilin.html").text
    links = sorted({link for link in _hrefs(page) if link.startswith("/")})
    assert len(links) > 10
    for link in links:
        response = httpx.get(base + link, follow_redirects=True)
        assert response.status_code == 200, link


def _hrefs(page: str) -> list[str]:
    import re

    return [match.replace("&amp;", "&") for match in re.findall(r'href="([^"]+)"', page)]


def test_unknown_resources_and_formats(base):
    assert httpx.get(f"{base}/id/region/atlantis.ttl").status_code == 404
    missing = httpx.get(f"{base}/id/region/atlantis", headers={"Accept": "text/html"}, follow_redirects=True)
    assert missing.status_code == 404
    assert "atlantis" in missing.text
    assert httpx.get(f"{base}/id/region/jilin", headers={"Accept": "image/png"}).status_code == 406


def test_home_page_links_views_and_queries_and_the_schema_page_lists_classes(base):
    page = httpx.get(base + "/").text
    assert 'href="/views/overview.html"' in page
    assert httpx.get(f"{base}/views/overview.html").status_code == 200
    for named in list_named():
        assert f'href="/query/{named.name}"' in page
    schema = httpx.get(base + "/schema").text
    assert ">Province</a>" in schema or "ipg:Province" in schema
    assert "oa:TextQuoteSelector" in schema and "oa:TextQuoteSelector" not in page
    provinces = httpx.get(f"{base}/list", params={"class": "https://w3id.org/ipgraph/ontology#Province"}).text
    assert 'href="/id/region/jilin"' in provinces


def test_query_page_serves_yasgui_locally_with_the_named_queries(base):
    response = httpx.get(f"{base}/query")
    page = response.text
    assert response.status_code == 200
    assert '<script src="/static/yasgui/yasgui.min.js"' in page
    assert "://" not in "".join(line for line in page.splitlines() if "<script src" in line or "stylesheet" in line)
    config = json.loads(page.split('id="ipgraph-config">', 1)[1].split("</script>", 1)[0])
    names = [query["name"] for query in config["queries"]]
    assert names == [named.name for named in list_named()] and names
    for asset in ("/static/yasgui/yasgui.min.js", "/static/yasgui/yasgui.min.css", "/static/query.js"):
        assert httpx.get(base + asset).status_code == 200


def test_errors_are_html_for_browsers_and_text_for_clients(base):
    html = httpx.get(f"{base}/nowhere", headers={"Accept": "text/html"})
    text = httpx.get(f"{base}/nowhere")
    assert html.status_code == text.status_code == 404
    assert media(html) == "text/html" and "<h1>404 Not Found</h1>" in html.text
    assert media(text) == "text/plain"


# -- the command line -------------------------------------------------------------


def test_cli_get_makes_one_request(built):
    from click.testing import CliRunner

    from ipgraph.cli import main

    runner = CliRunner()
    query = quote("ASK { ?s ?p ?o }")
    result = runner.invoke(main, ["serve", "--dataset", str(built), "--get", f"/sparql?query={query}"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"head": {}, "boolean": True}
    turtle = runner.invoke(main, ["serve", "--dataset", str(built), "--get", "/id/region/jilin.ttl"])
    assert "Jilin" in turtle.output
    bad = runner.invoke(main, ["serve", "--dataset", str(built), "--get", "/sparql?query=ASK%20%7B"])
    assert bad.exit_code == 1
    assert "syntax error" in bad.output
    missing = runner.invoke(main, ["serve", "--dataset", "nowhere.trig", "--get", "/"])
    assert missing.exit_code == 2
    assert "nowhere.trig" in missing.output and "Traceback" not in missing.output


def test_cli_serves_a_persistent_oxigraph_store_and_stops_gracefully(built, tmp_path):
    """The real command: binds to 127.0.0.1, prints its URL, answers, logs
    each query, stops cleanly on SIGTERM; a second start reuses the store on disk."""
    import signal
    import socket
    import subprocess
    import sys

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    store_path = tmp_path / "oxigraph"
    for run in range(2):
        port = free_port()
        command = [sys.executable, "-m", "ipgraph", "serve", "--dataset", str(built), "--port", str(port),
                   "--store", "oxigraph", "--store-path", str(store_path)]  # fmt: skip
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(200):
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except httpx.HTTPError:
                    assert process.poll() is None, process.stderr.read()
                    time.sleep(0.1)
            else:
                pytest.fail("ipgraph serve did not start")
            assert health.json()["store"] == "oxigraph"
            answer = sparql(f"http://127.0.0.1:{port}", "ASK { ?s ?p ?o }")
            assert answer.json()["boolean"] is True
        finally:
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=20)
        # uvicorn finishes the requests in flight, then re-raises the signal
        assert process.returncode in (0, -signal.SIGTERM), (process.returncode, err)
        assert "Application shutdown complete" in err, err
        assert f"http://127.0.0.1:{port}/" in out, (out, err)
        assert "ipgraph.serve" in err and "/sparql ask" in err, err  # the query log
        assert (store_path / "ipgraph-source.json").is_file(), f"run {run}: the store is kept on disk"


def test_the_serve_modules_have_no_import_cycle():
    """serve_pages and serve_graphs build on serve_core and never import serve
    (which imports them); serve_core imports none of the three; the search
    index and the entity page's layout import no server module above them."""
    import subprocess
    import sys

    for module, forbidden in [
        ("ipgraph.serve_core", ["ipgraph.serve", "ipgraph.serve_pages", "ipgraph.serve_graphs"]),
        ("ipgraph.serve_pages", ["ipgraph.serve", "ipgraph.serve_graphs"]),
        ("ipgraph.serve_graphs", ["ipgraph.serve", "ipgraph.serve_pages"]),
        ("ipgraph.serve_search", ["ipgraph.serve", "ipgraph.serve_core", "ipgraph.serve_pages"]),
        ("ipgraph.serve_entity", ["ipgraph.serve", "ipgraph.serve_pages", "ipgraph.serve_graphs"]),
    ]:
        code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('ipgraph.serve')))"
        loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        assert module in loaded
        for name in forbidden:
            assert f"'{name}'" not in loaded, (module, loaded)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--watch", "nan", "expected a number of seconds"),
        ("--watch", "-1", "--watch"),
        ("--base", "not an iri", "ending in / or #"),
        ("--base", "https://example.org/kg", "ending in / or #"),
        ("--public-url", "javascript:alert(1)", "expected an http(s) URL"),
    ],
)
def test_cli_refuses_bad_serve_options(built, option, value, message):
    from click.testing import CliRunner

    from ipgraph.cli import main

    result = CliRunner().invoke(main, ["serve", "--dataset", str(built), option, value, "--get", "/health"])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
