"""Stores and safe execution: loading, persistence, timeouts that stop the
work, row limits, and refusal of Update, FROM and SERVICE (checked with a
real listener socket that must see no connection)."""

from __future__ import annotations

import os
import shutil
import socket

import psutil
import pyoxigraph as ox
import pytest

from ipgraph.errors import QueryError, QueryTimeout, StoreError
from ipgraph.store import MemoryStore, OxigraphStore, check_query, execute, open_store

HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"


@pytest.fixture(scope="module", params=["memory", "oxigraph"])
def store(request, built):
    return open_store(built, request.param)


def count(store) -> int:
    return int(execute(store, COUNT).rows[0][0].value)


def test_both_stores_hold_the_same_triples(built):
    memory, oxigraph = open_store(built, "memory"), open_store(built, "oxigraph")
    assert isinstance(memory, MemoryStore)
    assert isinstance(oxigraph, OxigraphStore)
    assert len(memory) == len(oxigraph) > 1000
    assert count(memory) == count(oxigraph)


def test_default_graph_is_the_union_of_named_graphs(store):
    result = execute(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g")
    per_graph = {row[0].value: int(row[1].value) for row in result.rows}
    assert "https://w3id.org/ipgraph/id/graph/ontology" in per_graph
    assert count(store) <= sum(per_graph.values())
    assert count(store) > max(per_graph.values())


def _children() -> set[int]:
    """Child processes of the test run (session servers of other tests among them)."""
    return {child.pid for child in psutil.Process().children()}


def test_timeout_stops_the_query_and_its_process(store):
    before = _children()
    with pytest.raises(QueryTimeout, match=r"ran longer than 0.5 s and was stopped"):
        execute(store, HEAVY, timeout=0.5)
    assert _children() <= before  # the worker was killed and reaped


def test_row_limit_cuts_and_says_so(store):
    before = _children()
    result = execute(store, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", limit=7)
    assert len(result.rows) == 7
    assert result.truncated
    full = execute(store, "SELECT ?r WHERE { ?r a ipg:Province }", limit=3)
    assert len(full.rows) == 3
    assert not full.truncated
    triples = execute(store, "CONSTRUCT WHERE { ?s ?p ?o }", limit=5)
    assert len(triples.triples) == 5
    assert triples.truncated
    assert _children() <= before


def test_in_process_execution_without_timeout(store):
    result = execute(store, "SELECT ?r WHERE { ?r a ipg:Province } ORDER BY ?r", timeout=None)
    assert [row[0].value.rsplit("/", 1)[1] for row in result.rows] == ["heilongjiang", "jilin", "liaoning"]


@pytest.mark.parametrize(
    "update",
    [
        "INSERT DATA { <urn:a> <urn:b> <urn:c> }",
        "PREFIX ex: <urn:x>\nDELETE WHERE { ?s ?p ?o }",
        "LOAD <file:///etc/passwd>",
        "DROP ALL",
        "WITH <urn:g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    ],
)
def test_update_is_refused(store, update):
    before = count(store)
    with pytest.raises(QueryError, match=r"SPARQL Update \(\w+\) is not allowed"):
        execute(store, update)
    assert count(store) == before


@pytest.mark.parametrize("clause", ["FROM <file:///etc/passwd>", "FROM NAMED <http://127.0.0.1:9/data.ttl>"])
def test_from_is_refused(store, clause):
    with pytest.raises(QueryError, match=r"line 1, column 10: FROM and FROM NAMED are not allowed"):
        execute(store, f"SELECT * {clause} WHERE {{ ?s ?p ?o }}")


@pytest.fixture
def listener():
    """A TCP socket on 127.0.0.1 that records whether anyone connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.3)
    yield server
    server.close()


def connected(server) -> bool:
    try:
        connection, _ = server.accept()
    except TimeoutError:
        return False
    connection.close()
    return True


def test_service_is_refused_before_any_connection(store, listener):
    endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    queries = [
        f"SELECT * WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }}",
        f"PREFIX local: <http://127.0.0.1:{listener.getsockname()[1]}/>\n"
        "SELECT * WHERE {\n  service silent local:sparql { ?s ?p ?o } }",
        "SELECT * WHERE { SERVICE ?endpoint { ?s ?p ?o } VALUES ?endpoint { <" + endpoint + "> } }",
    ]
    for query in queries:
        with pytest.raises(QueryError, match=r"SERVICE .* is not allowed"):
            execute(store, query, allow_services=["http://example.org/sparql"])
    assert not connected(listener)


def test_allowed_service_does_connect(built, listener):
    """The control for the test above: the listener does see an allowed call."""
    endpoint = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    store = open_store(built, "memory")
    with pytest.raises(QueryError):  # the listener never answers: timeout or error
        execute(
            store, f"SELECT * WHERE {{ SERVICE <{endpoint}> {{ ?s ?p ?o }} }}", timeout=1.5, allow_services=[endpoint]
        )
    assert connected(listener)


def test_service_words_in_strings_and_comments_are_not_services():
    check_query('SELECT ("SERVICE <http://x>" AS ?s) WHERE { ?s ?p ?o } # SERVICE <http://y>')
    check_query("SELECT ?service WHERE { ?service a schema:Service }")
    with pytest.raises(QueryError, match=r"line 2, column 17: SERVICE <http://y/> is not allowed"):
        check_query("SELECT * WHERE {\n  ?s ?p ?o . {} SERVICE <http://y/> { } }")


def test_oxigraph_store_on_disk_is_reused_until_the_dataset_changes(built, tmp_path):
    dataset = tmp_path / "ipgraph.trig"
    shutil.copy(built, dataset)
    first = OxigraphStore(tmp_path / "store").load(dataset)
    triples = len(first)
    assert (tmp_path / "store" / "ipgraph-source.json").is_file()
    with pytest.raises(RuntimeError, match="read-write"):  # loaded, then reopened read-only
        first.store.add(ox.Quad(ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:b"), ox.NamedNode("urn:x:c")))
    del first
    writable = ox.Store(str(tmp_path / "store"))
    writable.add(ox.Quad(ox.NamedNode("urn:x:a"), ox.NamedNode("urn:x:b"), ox.NamedNode("urn:x:c")))
    writable.flush()
    del writable
    again = OxigraphStore(tmp_path / "store").load(dataset)
    assert len(again) == triples + 1  # not reloaded: same file
    del again
    os.utime(dataset, ns=(0, 0))
    changed = OxigraphStore(tmp_path / "store").load(dataset)
    assert len(changed) == triples  # reloaded from scratch
    assert count(changed) > 1000


def test_store_errors(built, tmp_path):
    with pytest.raises(StoreError, match=r"file not found"):
        open_store(tmp_path / "nothing.trig")
    with pytest.raises(StoreError, match=r"unknown file type '.csv'"):
        open_store(tmp_path / "data.csv", "oxigraph")
    with pytest.raises(StoreError, match=r"unknown store 'neo4j'; expected one of memory, oxigraph"):
        open_store(built, "neo4j")
    with pytest.raises(StoreError, match=r"needs the oxigraph store"):
        open_store(built, "memory", tmp_path / "store")
    broken = tmp_path / "broken.trig"
    broken.write_text("<urn:a> <urn:b> .\n")
    for kind in ("memory", "oxigraph"):
        with pytest.raises(StoreError, match=r"not valid trig"):
            open_store(broken, kind)
