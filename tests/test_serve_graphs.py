"""The read side of the SPARQL 1.1 Graph Store Protocol and the dataset
downloads of ``ipgraph serve``, on a real uvicorn on 127.0.0.1, on both
stores, spoken to with httpx, Debian's ``curl``, SPARQLWrapper and rdflib's
SPARQLStore.
"""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import quote

import httpx
import pytest
from rdflib import Dataset, Graph, URIRef

from conftest import unavailable
from ipgraph.store import open_store
from ipgraph.validate import load_dataset

pytestmark = pytest.mark.server

ONTOLOGY = "https://w3id.org/ipgraph/id/graph/ontology"
SEED = "https://w3id.org/ipgraph/id/graph/xinhua-2025-05-31-northeast-ip-protection"
FORMATS = [
    ("text/turtle", "turtle"),
    ("application/n-triples", "nt"),
    ("application/trig", "trig"),
    ("application/n-quads", "nquads"),
    ("application/ld+json", "json-ld"),
    ("application/rdf+xml", "xml"),
]
STORES = ["oxigraph", "memory"]


@pytest.fixture(scope="module", params=STORES)
def site(request, live_server, built) -> str:
    return live_server(open_store(built, request.param))


def gsp(site: str, graph: str | None, accept: str | None = None, method: str = "GET", path: str = "/graph-store"):
    query = "default" if graph is None else "graph=" + quote(graph, safe="")
    return httpx.request(method, f"{site}{path}?{query}", headers={"Accept": accept} if accept else {}, timeout=30)


def triples_of(response: httpx.Response, rdf_format: str) -> set:
    assert response.status_code == 200, response.text
    if rdf_format in ("trig", "nquads", "json-ld"):
        dataset = Dataset()
        dataset.parse(data=response.content, format=rdf_format)
        return {(s, p, o) for s, p, o, _ in dataset.quads((None, None, None, None))}
    return set(Graph().parse(data=response.content, format=rdf_format))


def expected_graph(site: str, graph: str) -> set:
    """The graph's triples as the same server's SPARQL endpoint gives them."""
    construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    response = httpx.post(f"{site}/sparql", data={"query": construct}, headers={"Accept": "application/n-triples"})
    return set(Graph().parse(data=response.content, format="nt"))


@pytest.mark.parametrize(("accept", "rdf_format"), FORMATS)
@pytest.mark.parametrize("path", ["/graph-store", "/sparql"])
def test_get_a_named_graph_in_every_format(site, dataset, accept, rdf_format, path):
    response = gsp(site, SEED, accept, path=path)
    assert response.headers["content-type"].split(";")[0] == accept
    assert "Accept" in response.headers["vary"]
    got = triples_of(response, rdf_format)
    assert got == expected_graph(site, SEED)
    assert len(got) == len(dataset.graph(URIRef(SEED))) > 300


def test_a_graph_is_streamed(site):
    response = gsp(site, SEED, "application/n-triples")
    assert response.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.headers
    with httpx.stream("GET", f"{site}/data/ipgraph.nq") as streamed:
        chunks = [chunk for chunk in streamed.iter_raw() if chunk]
    assert len(b"".join(chunks)) > 64 << 10
    assert len(chunks) > 1


def test_quad_formats_keep_the_graph_name(site):
    dataset = Dataset()
    dataset.parse(data=gsp(site, ONTOLOGY, "application/n-quads").content, format="nquads")
    names = {str(context.identifier) for context in dataset.graphs() if len(context)}
    assert names == {ONTOLOGY}


def test_the_default_graph_is_the_union(site, union):
    got = triples_of(gsp(site, None, "application/n-triples"), "nt")
    assert len(got) == len(union)


def test_head_gives_the_headers_without_a_body(site):
    head = gsp(site, SEED, "text/turtle", method="HEAD")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"].startswith("text/turtle")
    assert head.headers["etag"] == gsp(site, SEED, "text/turtle").headers["etag"]
    assert gsp(site, "urn:nothing", method="HEAD").status_code == 404


def test_conditional_get_of_a_graph(site):
    first = gsp(site, ONTOLOGY, "text/turtle")
    etag = first.headers["etag"]
    assert etag.startswith("W/")  # weak: the same graph, byte order not promised
    again = httpx.get(f"{site}/graph-store?graph={quote(ONTOLOGY, safe='')}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    turtle = gsp(site, ONTOLOGY, "application/n-triples").headers["etag"]
    assert turtle != etag  # each representation its own tag
    assert "last-modified" in first.headers and "max-age=" in first.headers["cache-control"]


def test_unknown_graphs_bad_requests_and_formats(site):
    assert gsp(site, "https://w3id.org/ipgraph/id/graph/atlantis").status_code == 404
    assert gsp(site, "https://w3id.org/ipgraph/id/graph/atlantis", path="/sparql").status_code == 404
    assert gsp(site, ONTOLOGY, "image/png").status_code == 406
    assert httpx.get(f"{site}/graph-store").status_code == 400
    assert httpx.get(f"{site}/graph-store?default&graph=urn:x").status_code == 400
    assert httpx.get(f"{site}/graph-store?graph=").status_code == 400
    assert httpx.get(f"{site}/graph-store?graph=not%20an%20iri").status_code == 400
    both = httpx.get(f"{site}/sparql", params={"graph": ONTOLOGY, "query": "ASK {}"})
    assert both.status_code == 400


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH"])
def test_writes_are_refused(site, method):
    body = b"<urn:a> <urn:b> <urn:c> ."
    headers = {"Content-Type": "text/turtle"}
    store_write = httpx.request(method, f"{site}/graph-store?graph=urn:g", content=body, headers=headers)
    assert store_write.status_code == 405
    assert store_write.headers["allow"] == "GET, HEAD, OPTIONS"
    assert "read-only" in store_write.text
    sparql_write = httpx.request(method, f"{site}/sparql?graph=urn:g", content=body, headers=headers)
    if method == "POST":
        assert sparql_write.status_code == 403  # POST is a query method there; a graph POST is a write
    else:
        assert sparql_write.status_code == 405
        assert sparql_write.headers["allow"] == "GET, HEAD, POST, OPTIONS"
    assert gsp(site, "urn:g").status_code == 404  # nothing was written


@pytest.mark.parametrize(("extension", "rdf_format"), [("trig", "trig"), ("nq", "nquads"), ("jsonld", "json-ld")])
def test_download_the_whole_dataset(site, built, extension, rdf_format):
    response = httpx.get(f"{site}/data/ipgraph.{extension}", timeout=60)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="ipgraph.{extension}"'
    got = Dataset()
    got.parse(data=response.content, format=rdf_format)
    reference = load_dataset(built)
    graphs = {str(c.identifier) for c in reference.graphs() if len(c)}
    assert {str(c.identifier) for c in got.graphs() if len(c)} == graphs
    for name in graphs:
        assert len(got.graph(URIRef(name))) == len(reference.graph(URIRef(name))), name
    assert httpx.get(f"{site}/data/ipgraph.xls").status_code == 404


def test_the_memory_store_download_is_the_built_dataset(live_server, built):
    site = live_server(open_store(built, "memory"))
    got = Dataset()
    got.parse(data=httpx.get(f"{site}/data/ipgraph.nq").content, format="nquads")
    reference = load_dataset(built)
    assert set(got.quads((None, None, None, None))) == set(reference.quads((None, None, None, None)))


# -- real clients ------------------------------------------------------------------


def _curl() -> str:
    curl = shutil.which("curl")
    if curl is None:
        unavailable("these tests need curl: apt-get install curl")
    return curl


def test_curl_reads_graphs_and_is_refused_writes(site):
    curl = _curl()
    url = f"{site}/graph-store?graph={quote(SEED, safe='')}"
    got = subprocess.run([curl, "-sS", "--fail", "-H", "Accept: application/n-triples", url],
                         capture_output=True, check=True, timeout=60)  # fmt: skip
    assert set(Graph().parse(data=got.stdout, format="nt")) == expected_graph(site, SEED)
    head = subprocess.run([curl, "-sS", "-I", url], capture_output=True, text=True, check=True, timeout=60)
    assert head.stdout.startswith("HTTP/1.1 200")
    assert "content-type: text/turtle" in head.stdout.lower()
    put = subprocess.run(
        [curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "-H", "Content-Type: text/turtle",
         "--data-binary", "<urn:a> <urn:b> <urn:c> .", url],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert put.stdout == "405"
    preflight = subprocess.run(
        [curl, "-sS", "-i", "-X", "OPTIONS", "-H", "Origin: http://localhost:8888",
         "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: content-type",
         f"{site}/sparql"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert preflight.stdout.startswith("HTTP/1.1 204")
    assert "access-control-allow-methods: get, head, post" in preflight.stdout.lower()
    dump = subprocess.run([curl, "-sS", "--fail", f"{site}/data/ipgraph.trig"], capture_output=True, check=True,
                          timeout=60)  # fmt: skip
    dataset = Dataset()
    dataset.parse(data=dump.stdout, format="trig")
    assert len(dataset.graph(URIRef(SEED))) == len(expected_graph(site, SEED))


def test_sparqlwrapper_construct_matches_the_graph_store(site):
    from SPARQLWrapper import N3, POST, SPARQLWrapper

    client = SPARQLWrapper(f"{site}/sparql")
    client.setMethod(POST)
    client.setQuery(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{ONTOLOGY}> {{ ?s ?p ?o }} }}")
    client.setReturnFormat(N3)
    constructed = set(Graph().parse(data=client.query().convert(), format="turtle"))
    assert constructed == triples_of(gsp(site, ONTOLOGY, "text/turtle"), "turtle")


def test_rdflib_sparqlstore_sees_the_named_graphs(site):
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    store = SPARQLStore(f"{site}/sparql", returnFormat="json")
    names = {str(getattr(context, "identifier", context)) for context in store.contexts()}
    assert {ONTOLOGY, SEED} <= names
    over_sparql = set(Graph(store=store, identifier=URIRef(ONTOLOGY)).triples((None, None, None)))
    assert over_sparql == triples_of(gsp(site, ONTOLOGY, "application/n-triples"), "nt")
