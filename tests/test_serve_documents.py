"""Linked-data documents of ``ipgraph serve`` (``/id/...``) on a real uvicorn
on 127.0.0.1, on both stores: what a document holds (the entity's own
description, never the dataset), its Link, ETag, Last-Modified and
Cache-Control headers and 304s, 400/404 for malformed and unknown IRIs, the
configured base IRI (never the Host header), and evidence per source on
entity pages, with a dataset of three sources that share entities.
"""

from __future__ import annotations

import email.utils
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDFS

from ipgraph.build import build
from ipgraph.store import open_store
from ipgraph.validate import load_dataset

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parent.parent
ID = "https://w3id.org/ipgraph/id/"
JILIN = ID + "region/jilin"
NEW_MATERIALS = ID + "industry/new-materials"
IPG = Namespace("https://w3id.org/ipgraph/ontology#")
OA = Namespace("http://www.w3.org/ns/oa#")
SCHEMA = Namespace("https://schema.org/")
STORES = ["oxigraph", "memory"]

#: The expected document of an entity, written apart from the server's own
#: query (queries/serve/entity-description.rq), with the IRI in the text.
EXPECTED_DOCUMENT = """
PREFIX ipg: <https://w3id.org/ipgraph/ontology#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX schema: <https://schema.org/>
CONSTRUCT {{ <{iri}> ?p ?o . ?in ?q <{iri}> . ?n ?np ?no }} WHERE {{
  {{ <{iri}> ?p ?o }}
  UNION {{ ?in ?q <{iri}> }}
  UNION {{
    {{ <{iri}> ipg:evidence ?n }}
    UNION {{ <{iri}> ipg:evidence ?a . ?a oa:hasTarget ?n }}
    UNION {{ <{iri}> ipg:evidence ?a . ?a oa:hasTarget ?t . ?t oa:hasSelector ?n }}
    UNION {{ <{iri}> ipg:evidence ?a . ?a oa:hasTarget ?t . ?t oa:hasSource ?n }}
    ?n ?np ?no
    FILTER(?np != schema:text)
  }}
}}
"""


@pytest.fixture(scope="module", params=STORES)
def site(request, live_server, built) -> str:
    return live_server(open_store(built, request.param), dataset=built)


def _graph(response: httpx.Response, rdf_format: str = "nt") -> Graph:
    assert response.status_code == 200, response.text
    return Graph().parse(data=response.content, format=rdf_format)


# -- what a document holds -----------------------------------------------------


def test_the_jilin_document_holds_jilins_description_only(site, union):
    document = _graph(httpx.get(f"{site}/id/region/jilin.nt"))
    expected_query = EXPECTED_DOCUMENT.format(iri=JILIN)
    answer = httpx.post(f"{site}/sparql", data={"query": expected_query}, headers={"Accept": "application/n-triples"})
    expected = _graph(answer)
    assert set(document) == set(expected)
    assert 20 < len(document) < len(union) / 5  # not the dataset (1,287 triples before)
    jilin = URIRef(JILIN)
    assert (jilin, RDFS.label, Literal("Jilin", lang="en")) in document
    assert (None, RDFS.label, Literal("Liaoning", lang="en")) not in document  # another entity's statements
    assert not list(document.triples((None, SCHEMA.text, None)))  # the source's full text is in its own document
    annotations = set(document.objects(jilin, IPG.evidence))
    assert annotations
    for annotation in annotations:
        for target in document.objects(annotation, OA.hasTarget):
            source = document.value(target, OA.hasSource)
            assert document.value(source, SCHEMA.headline) is not None
            exact = {document.value(selector, OA.exact) for selector in document.objects(target, OA.hasSelector)}
            assert any(quote is not None and "Jilin" in quote for quote in exact)
    # incoming links: one triple each, not the description of what links here
    agency = URIRef(ID + "agency/jilin-ip-agency")
    assert (agency, IPG.jurisdiction, jilin) in document
    assert (agency, RDFS.label, None) not in document


def test_the_memory_document_matches_the_graph_api(live_server, built, union):
    """Independently of SPARQL: what rdflib's triple API finds about Jilin."""
    site = live_server(open_store(built, "memory"))
    document = _graph(httpx.get(f"{site}/id/region/jilin.nt"))
    jilin = URIRef(JILIN)
    expected = set(union.triples((jilin, None, None))) | set(union.triples((None, None, jilin)))
    for annotation in union.objects(jilin, IPG.evidence):
        nodes = {annotation}
        for target in union.objects(annotation, OA.hasTarget):
            nodes |= {target, *union.objects(target, OA.hasSelector), *union.objects(target, OA.hasSource)}
        for node in nodes:
            expected |= {t for t in union.triples((node, None, None)) if t[1] != SCHEMA.text}
    assert set(document) == {(s, p, o) for s, p, o in expected}


@pytest.mark.parametrize(("extension", "rdf_format"), [("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml")])
def test_every_format_holds_the_same_document(site, extension, rdf_format):
    reference = _graph(httpx.get(f"{site}/id/region/jilin.nt"))
    other = _graph(httpx.get(f"{site}/id/region/jilin.{extension}"), rdf_format)
    assert set(other) == set(reference)


def test_a_named_graph_dereferences_to_its_content(site, dataset):
    graph = ID + "graph/ontology"
    document = _graph(httpx.get(f"{site}/id/graph/ontology.nt"))
    assert len(document) == len(dataset.graph(URIRef(graph)))


# -- headers: links, validators, caching ------------------------------------------


def test_link_headers_point_from_resource_to_document_and_back(site):
    redirect = httpx.get(f"{site}/id/region/jilin", headers={"Accept": "text/turtle"})
    assert redirect.status_code == 303
    # On the 303 the link's context is the resource: it is described by the document.
    assert redirect.headers["link"] == '</id/region/jilin.ttl>; rel="describedby"; type="text/turtle"'
    document = httpx.get(f"{site}/id/region/jilin.ttl")
    links = [link.strip() for link in document.headers["link"].split(",")]
    # On the document the context is the document: it describes the resource (RFC 6892).
    assert f'<{JILIN}>; rel="describes"' in links
    assert '</id/region/jilin.html>; rel="alternate"; type="text/html"' in links
    assert not any("describedby" in link for link in links)
    page = httpx.get(f"{site}/id/region/jilin.html")
    assert f'<{JILIN}>; rel="describes"' in page.headers["link"]


@pytest.mark.parametrize("extension", ["nt", "ttl", "html"])
def test_etag_last_modified_cache_control_and_304(site, built, extension):
    url = f"{site}/id/region/jilin.{extension}"
    first = httpx.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong: from the content's hash
    assert email.utils.parsedate_to_datetime(modified).timestamp() == int(built.stat().st_mtime)
    assert "max-age=" in first.headers["cache-control"]
    assert httpx.get(url).headers["etag"] == etag  # the same content, the same tag

    by_etag = httpx.get(url, headers={"If-None-Match": etag})
    assert by_etag.status_code == 304
    assert by_etag.content == b""
    assert by_etag.headers["etag"] == etag
    assert httpx.get(url, headers={"If-None-Match": '"other", ' + etag}).status_code == 304
    assert httpx.get(url, headers={"If-None-Match": '"other"'}).status_code == 200

    assert httpx.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert httpx.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status_code == 200
    assert httpx.get(url, headers={"If-Modified-Since": "not a date"}).status_code == 200
    # If-None-Match decides when both are sent
    both = httpx.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": modified})
    assert both.status_code == 200


def test_formats_have_different_etags(site):
    tags = {httpx.get(f"{site}/id/region/jilin.{ext}").headers["etag"] for ext in ("nt", "ttl", "jsonld", "html")}
    assert len(tags) == 4


# -- unknown and malformed requests ----------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/id/region/atlantis.html", 404),
        ("/id/region/atlantis.ttl", 404),
        ("/id/", 404),
        ("/id/%25zz.html", 400),
        ("/id/%25zz.ttl", 400),
        ("/id/%25zz", 400),
        ("/id/region/a%00b.html", 400),
        ("/id/region/a%0Ab.html", 400),
        ("/id/region/a%7Fb", 400),
        ("/id/region/a%22b.ttl", 400),
        ("/id/region/" + "x" * 5000 + ".html", 414),
        ("/list?class=%25zz", 400),
        ("/list?class=http://example.org/%25zz", 400),
        ("/list?class=javascript:alert(1)", 400),
        ("/list?class=", 400),
        ("/list", 400),
        ("/list?class=urn:a&class=urn:b", 400),
        ("/list?class=urn:x&extra=1", 400),
        ("/list?class=%FF", 400),
        ("/list?class=urn:nothing", 404),
        ("/sparql?graph=%25zz", 400),
        ("/graph-store?graph=http://example.org/%25zz", 400),
    ],
)
def test_unknown_and_malformed_iris_get_4xx_never_500(site, path, status):
    for accept in ("text/html", "text/plain"):
        response = httpx.get(site + path, headers={"Accept": accept})
        assert response.status_code == status, (path, response.text[:300])
        if status >= 400:
            assert response.text.strip()
            assert "Traceback" not in response.text


def test_a_spoofed_host_header_changes_nothing(site):
    spoofed = {"Host": "evil.example:6666", "X-Forwarded-Host": "evil.example"}
    port = site.rsplit(":", 1)[1]
    for path, accept in [
        ("/sparql", "text/turtle"),
        ("/id/region/jilin", "text/turtle"),
        ("/id/region/jilin.ttl", None),
        ("/id/region/jilin.html", None),
        ("/", None),
        ("/nowhere", "text/html"),
        ("/graph-store?graph=https://w3id.org/ipgraph/id/graph/ontology", None),
    ]:
        headers = {**spoofed, **({"Accept": accept} if accept else {})}
        response = httpx.get(site + path, headers=headers)
        assert response.status_code < 500
        assert "evil.example" not in response.text, path
        assert not any("evil.example" in value for value in response.headers.values()), path
    description = httpx.get(f"{site}/sparql", headers={**spoofed, "Accept": "text/turtle"}).text
    assert f"<http://127.0.0.1:{port}/sparql>" in description


def test_the_base_iri_is_configured(live_server, tmp_path):
    data = tmp_path / "other.trig"
    data.write_text(
        "<https://example.org/kg/graph/g> {\n"
        '  <https://example.org/kg/thing/a> <http://www.w3.org/2000/01/rdf-schema#label> "A"@en ;\n'
        "    <http://www.w3.org/2000/01/rdf-schema#seeAlso> <https://example.org/kg/thing/b> .\n"
        '  <https://example.org/kg/thing/b> <http://www.w3.org/2000/01/rdf-schema#label> "B"@en .\n'
        "}\n",
        encoding="utf-8",
    )
    site = live_server(open_store(data, "oxigraph"), base="https://example.org/kg/")
    page = httpx.get(f"{site}/id/thing/a.html")
    assert page.status_code == 200
    assert 'href="/id/thing/b"' in page.text  # the server's own resources link here
    document = _graph(httpx.get(f"{site}/id/thing/a.nt"))
    assert (URIRef("https://example.org/kg/thing/a"), RDFS.label, Literal("A", lang="en")) in document
    assert httpx.get(f"{site}/id/region/jilin.html").status_code == 404


# -- evidence per source, with three sources that share entities --------------------

SOURCES = {
    "chinadaily-2025-06-10-jilin-new-materials": (
        {
            "headline": "Jilin builds up patents in new materials",
            "publisher": "China Daily",
            "date_published": "2025-06-10",
            "url": "https://www.chinadaily.com.cn/example/jilin-new-materials.html",
        },
        "Jilin Province reported 12,000 valid invention patents in new materials by the end of 2024, "
        "local officials said. They said new materials remain a priority for the province's industry.",
        """
observations:
  - id: jilin-new-materials-valid-invention-patents-2024
    area: jilin
    figure: stock
    period: "2024"
    indicator: valid-invention-patents
    industry_scope: [new-materials]
    value: 12000
    stated_value: 12,000
    unit: patents
    quote: reported 12,000 valid invention patents in new materials by the end of 2024
mentions:
  - id: chinadaily-new-materials
    of: industry/new-materials
    quote: new materials remain a priority
""",
    ),
    "xinhua-2025-07-01-jilin-trademarks": (
        {
            "headline": "Jilin trademarks rise as new materials firms seek protection",
            "publisher": "Xinhua",
            "date_published": "2025-07-01",
            "url": "https://english.news.cn/example/jilin-trademarks.html",
        },
        "By the end of April 2025, Jilin had 310,000 valid registered trademarks, as firms in "
        "new materials and other sectors sought IP protection for new materials enterprises.",
        """
observations:
  - id: jilin-valid-registered-trademarks-2025-04
    area: jilin
    figure: stock
    period: "2025-04"
    indicator: valid-registered-trademarks
    value: 310000
    stated_value: 310,000
    unit: trademarks
    quote: Jilin had 310,000 valid registered trademarks
mentions:
  - id: xinhua-jilin-new-materials
    of: industry/new-materials
    quote: IP protection for new materials enterprises
""",
    ),
}


@pytest.fixture(scope="module")
def three_sources(tmp_path_factory) -> Path:
    """The seed data plus two more sources (one by the same publisher) whose
    figures are about the seed's Jilin and which mention new materials, as
    the seed does: built into a TriG file."""
    from conftest import seed_data

    root = tmp_path_factory.mktemp("three-sources")
    seed_data(root / "data")
    for slug, (meta, text, facts) in SOURCES.items():
        (root / "data" / "sources" / f"{slug}.txt").write_text(text, encoding="utf-8")
        lines = [f"{key}: {value}" for key, value in meta.items()] + ["language: en"]
        (root / "data" / "sources" / f"{slug}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (root / "data" / "facts" / f"{slug}.yaml").write_text(f"source: {slug}\n{facts}", encoding="utf-8")
    out = root / "build" / "ipgraph.trig"
    build(root / "data", ROOT / "src" / "ipgraph" / "ontology", out)
    return out


@pytest.fixture(scope="module", params=STORES)
def three_site(request, live_server, three_sources) -> str:
    return live_server(open_store(three_sources, request.param))


class _Evidence(HTMLParser):
    """The evidence section of an entity page: for each quote, the source of
    the section it is in, its own data-source, and its marked words."""

    def __init__(self) -> None:
        super().__init__()
        self.section: str | None = None
        self.figure: dict | None = None
        self.in_mark = False
        self.quotes: list[dict] = []
        self.sections: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section" and "source" in (attributes.get("class") or "").split():
            self.section = attributes["data-source"]
            self.sections.append(self.section)
        elif tag == "figure" and "evidence" in (attributes.get("class") or "").split():
            self.figure = {"section": self.section, "source": attributes["data-source"], "exact": ""}
        elif tag == "mark" and self.figure is not None:
            self.in_mark = True

    def handle_endtag(self, tag):
        if tag == "mark":
            self.in_mark = False
        elif tag == "figure" and self.figure is not None:
            self.quotes.append(self.figure)
            self.figure = None

    def handle_data(self, data):
        if self.in_mark and self.figure is not None:
            self.figure["exact"] += data


def _quotes_of(site: str, path: str) -> _Evidence:
    response = httpx.get(site + path)
    assert response.status_code == 200, response.text
    parser = _Evidence()
    parser.feed(response.text)
    return parser


def test_an_entity_named_by_three_sources_shows_three_quotes_each_once_with_its_source(three_site, three_sources):
    dataset = load_dataset(three_sources)
    expected = sorted(
        (str(row.source), str(row.exact))
        for row in dataset.query(
            "SELECT ?source ?exact WHERE { GRAPH ?g { ?a oa:hasBody ?this ; oa:hasTarget ?t . "
            "?t oa:hasSource ?source ; oa:hasSelector ?s . ?s oa:exact ?exact } }",
            initNs={"oa": OA},
            initBindings={"this": URIRef(NEW_MATERIALS)},
        )
    )
    assert len(expected) == 3 and len({source for source, _ in expected}) == 3
    page = _quotes_of(three_site, "/id/industry/new-materials.html")
    shown = sorted((quote["source"], quote["exact"]) for quote in page.quotes)
    assert shown == expected  # three quotes, each once, each with its own source
    assert all(quote["section"] == quote["source"] for quote in page.quotes)  # under its source's heading
    assert len(page.sections) == len(set(page.sections)) == 3


def test_each_page_of_the_three_sources_shows_each_quote_once(three_site, three_sources):
    """Every entity with evidence: as many quotes on its page as annotations
    in the graph, none repeated, each under the source its target names."""
    dataset = Graph()
    for s, p, o, _ in load_dataset(three_sources).quads((None, None, None, None)):
        dataset.add((s, p, o))
    annotated = {str(s) for s in dataset.subjects(IPG.evidence, None) if str(s).startswith(ID)}
    assert len(annotated) > 30
    for iri in sorted(annotated)[::3]:
        expected = sorted(
            (str(source), str(exact))
            for annotation in set(dataset.objects(URIRef(iri), IPG.evidence))
            for target in dataset.objects(annotation, OA.hasTarget)
            for source in dataset.objects(target, OA.hasSource)
            for selector in dataset.objects(target, OA.hasSelector)
            for exact in dataset.objects(selector, OA.exact)
        )
        page = _quotes_of(three_site, "/id/" + iri[len(ID) :] + ".html")
        assert sorted((q["source"], q["exact"]) for q in page.quotes) == expected, iri


def test_statements_are_grouped_by_graph(three_site):
    page = httpx.get(f"{three_site}/id/region/jilin.html").text
    incoming = page.split('id="incoming"', 1)[1].split("</table>", 1)[0]
    for slug in SOURCES:
        graph = f'title="{ID}graph/{slug}"'
        assert incoming.count(graph) == 1, slug  # once, as its section's heading, not on every row
    # the three sources' graphs, the registry's (a capital, cities in Jilin) and the figures graph
    assert incoming.count('class="graph"') == 5


@pytest.mark.parametrize("kind", STORES)
def test_the_evidence_query_gives_one_row_per_annotation(three_sources, kind):
    """The page's own query, on each store: one row per quote (Oxigraph's
    union default graph gave a row per graph holding the publisher's label)."""
    import pyoxigraph as ox

    from ipgraph.query import load_named
    from ipgraph.store import execute

    store = open_store(three_sources, kind)
    text = load_named("entity-evidence", ROOT / "src" / "ipgraph" / "queries" / "serve").text
    result = execute(store, text, {"this": ox.NamedNode(NEW_MATERIALS)})
    rows = result.records()
    assert len(rows) == 3
    assert len({row["annotation"] for row in rows}) == 3
    assert {row["source"] for row in rows} == {ID + "source/" + slug for slug in SOURCES} | {
        ID + "source/xinhua-2025-05-31-northeast-ip-protection"
    }
    for row in rows:  # each quote under the source its annotation names
        assert row["annotation"].startswith(row["source"].replace("/source/", "/evidence/") + "/")
