"""Stores and safe execution: loading, persistence, timeouts that stop the
work (the worker process killed, none left over), reused workers, row
limits, refusal of Update and SERVICE (checked with a real listener socket
that must see no connection), and FROM / FROM NAMED run on the store's own
graphs only, with the same rows on both stores."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pyoxigraph as ox
import pytest

from ipgraph.errors import QueryError, QueryTimeout, StoreError
from ipgraph.store import MemoryStore, OxigraphStore, QueryDataset, check_query, execute, open_store, split_dataset

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
    # A triple that two graphs hold (a registry record derived from a source that
    # also mentions it) counts once in rdflib's union and once per graph in
    # Oxigraph's (PITFALLS.md); distinct triples are the same.
    distinct = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
    assert int(execute(memory, distinct).rows[0][0].value) == int(execute(oxigraph, distinct).rows[0][0].value)


def test_default_graph_is_the_union_of_named_graphs(store):
    result = execute(store, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g")
    per_graph = {row[0].value: int(row[1].value) for row in result.rows}
    assert "https://w3id.org/ipgraph/id/graph/ontology" in per_graph
    assert count(store) <= sum(per_graph.values())
    assert count(store) > max(per_graph.values())


def _processes() -> set[int]:
    """Live processes under the test run: every store's fork server and query
    workers (and session servers of other tests)."""
    alive = set()
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.add(child.pid)
    return alive


def _workers(store) -> list[int]:
    return [worker.pid for worker in store._pool.idle]


@pytest.mark.parametrize(
    "runaway",
    [
        HEAVY,
        "SELECT ?a ?f WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i",
        "SELECT ?c (SAMPLE(?f) AS ?x) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } GROUP BY ?c",
    ],
    ids=["count", "order-by", "group-by"],
)
def test_timeout_stops_the_query_and_its_process(store, runaway):
    execute(store, COUNT)  # a worker is idle now
    before = _processes()
    with pytest.raises(QueryTimeout, match=r"ran longer than 0.5 s and was stopped"):
        execute(store, runaway, timeout=0.5)
    after = _processes()
    assert after < before  # the worker was killed and is gone, nothing new is left
    assert count(store) > 1000  # the next query gets a new worker


def test_workers_are_reused_across_queries_errors_and_cut_results(store):
    execute(store, COUNT)
    (worker,) = _workers(store)[-1:]
    execute(store, COUNT)
    assert execute(store, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", limit=3).truncated  # stops itself at the limit
    with pytest.raises(QueryError, match=r"syntax error"):
        execute(store, "SELECT * WHERE { ?s ?p }")
    assert worker in _workers(store)
    assert worker in _processes()


def test_concurrent_queries_from_threads(store):
    """Like serve: queries from several threads at once, a slow one among
    them that does not hold up the others."""
    expected = count(store)
    with ThreadPoolExecutor(max_workers=5) as pool:
        slow = pool.submit(execute, store, HEAVY, timeout=2.0)
        quick = [pool.submit(count, store) for _ in range(20)]
        assert [future.result(timeout=10) for future in quick] == [expected] * 20
        assert not slow.done()
        with pytest.raises(QueryTimeout):
            slow.result(timeout=10)


def test_no_processes_are_left_when_the_store_goes(built):
    store = open_store(built, "oxigraph")
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(count, [store] * 6))
    mine = {store._pool.pid, *_workers(store)}
    assert mine <= _processes()
    del store
    gc.collect()
    assert not mine & _processes()


def test_no_processes_are_left_when_the_caller_is_killed(built):
    """A caller killed mid-query (SIGKILL: no cleanup runs) leaves nothing:
    the fork server sees its socket close, the busy worker stops itself a
    little after its timeout."""
    script = (
        "import sys\n"
        "from ipgraph.store import execute, open_store\n"
        f"store = open_store({str(built)!r}, 'oxigraph')\n"
        "print('ready', flush=True)\n"
        f"execute(store, {HEAVY!r}, timeout=1.0)\n"
    )
    caller = psutil.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert caller.stdout.readline().strip() == "ready"
    for _ in range(50):  # until the query is running: the fork server and the busy worker
        descendants = caller.children(recursive=True)
        if len(descendants) == 2:
            break
        time.sleep(0.1)
    assert len(descendants) == 2
    caller.kill()
    caller.wait(timeout=5)
    _, alive = psutil.wait_procs(descendants, timeout=10)
    assert not alive


def test_row_limit_cuts_and_says_so(store):
    before = _processes()
    result = execute(store, "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", limit=7)
    assert len(result.rows) == 7
    assert result.truncated
    full = execute(store, "SELECT ?r WHERE { ?r a ipg:Province ; ipg:evidence ?e }", limit=3)
    assert len(full.rows) == 3
    assert not full.truncated
    triples = execute(store, "CONSTRUCT WHERE { ?s ?p ?o }", limit=5)
    assert len(triples.triples) == 5
    assert triples.truncated
    assert _processes() <= before


def test_in_process_execution_without_timeout(store):
    result = execute(store, "SELECT ?r WHERE { ?r a ipg:Province ; ipg:evidence ?e } ORDER BY ?r", timeout=None)
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


# --- FROM / FROM NAMED: graphs of the store only, the same rows on both stores

GRAPH = "https://w3id.org/ipgraph/id/graph/"
PER_GRAPH = "SELECT ?g (COUNT(*) AS ?n) {} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g ORDER BY ?g"
IN_DEFAULT = "SELECT (COUNT(*) AS ?n) {} WHERE {{ ?s ?p ?o }}"
#: without an aggregate: on no solutions rdflib's GROUP BY gives one unbound row, Oxigraph none
GRAPHS = "SELECT DISTINCT ?g {} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} ORDER BY ?g"


@pytest.fixture(scope="module")
def both(built):
    return open_store(built, "memory"), open_store(built, "oxigraph")


def same_rows(both, query, **options) -> list[tuple]:
    """The rows of ``query`` on the memory store, checked to equal Oxigraph's."""
    memory, oxigraph = (execute(store, query, **options) for store in both)
    assert memory.variables == oxigraph.variables
    assert memory.rows == oxigraph.rows, query
    return memory.rows


def numbers(rows) -> list:
    """Rows as plain values: IRIs as strings, integers as ``int``."""
    return [tuple(int(term.value) if isinstance(term, ox.Literal) else term.value for term in row) for row in rows]


def test_from_one_named_graph(both):
    whole = numbers(same_rows(both, PER_GRAPH.format("")))
    ontology = dict(whole)[GRAPH + "ontology"]
    assert numbers(same_rows(both, IN_DEFAULT.format(f"FROM <{GRAPH}ontology>"))) == [(ontology,)]
    # a prefixed name, the project's prefix or the query's own; the in-process path too
    assert numbers(same_rows(both, IN_DEFAULT.format("FROM graph:ontology"), timeout=None)) == [(ontology,)]
    text = f"PREFIX g: <{GRAPH}>\n" + IN_DEFAULT.format("FROM g:ontology")
    assert numbers(same_rows(both, text)) == [(ontology,)]
    # FROM alone: no named graphs
    assert same_rows(both, GRAPHS.format(f"FROM <{GRAPH}ontology>")) == []


def test_from_two_graphs_merged(both):
    whole = dict(numbers(same_rows(both, PER_GRAPH.format(""))))
    merged = numbers(same_rows(both, IN_DEFAULT.format(f"FROM <{GRAPH}ontology> FROM graph:links")))
    assert merged == [(whole[GRAPH + "ontology"] + whole[GRAPH + "links"],)]
    construct = [execute(store, f"CONSTRUCT {{ ?s ?p ?o }} FROM <{GRAPH}links> FROM <{GRAPH}vocabulary> "
                                "WHERE { ?s ?p ?o }", limit=None) for store in both]  # fmt: skip
    assert set(construct[0].triples) == set(construct[1].triples)
    assert len(construct[0].triples) == whole[GRAPH + "links"] + whole[GRAPH + "vocabulary"]


def test_from_named_and_graph(both):
    whole = numbers(same_rows(both, PER_GRAPH.format("")))
    query = PER_GRAPH.format(f"FROM NAMED <{GRAPH}ontology>\nFROM NAMED graph:links")
    assert numbers(same_rows(both, query)) == [
        row for row in whole if row[0].rsplit("/", 1)[1] in ("links", "ontology")
    ]
    # FROM NAMED alone: the default graph is empty
    assert numbers(same_rows(both, IN_DEFAULT.format(f"FROM NAMED <{GRAPH}ontology>"))) == [(0,)]
    # both: the default graph from FROM, GRAPH sees FROM NAMED
    both_kinds = f"FROM <{GRAPH}links> FROM NAMED <{GRAPH}ontology>"
    assert numbers(same_rows(both, PER_GRAPH.format(both_kinds))) == [
        row for row in whole if row[0].endswith("/ontology")
    ]
    ask = f"ASK {both_kinds} {{ ?s owl:sameAs ?o GRAPH ?g {{ ?c a owl:Class }} }}"
    assert [execute(store, ask).boolean for store in both] == [True, True]


def test_from_an_iri_that_is_no_graph_is_empty_and_fetches_nothing(both, built, listener):
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/data.ttl"
    for clause in (f"FROM <{url}>", f"FROM <{built.resolve().as_uri()}>", "FROM <file:///etc/passwd>"):
        assert numbers(same_rows(both, IN_DEFAULT.format(clause))) == [(0,)]
        assert numbers(same_rows(both, IN_DEFAULT.format(clause), timeout=None)) == [(0,)]
    assert same_rows(both, GRAPHS.format(f"FROM NAMED <{url}>")) == []
    assert not connected(listener)
    memory = both[0]
    assert {str(c.identifier) for c in memory.dataset.graphs()} <= {  # no empty graph was added
        GRAPH + name
        for name in (
            "ontology",
            "vocabulary",
            "registry",
            "figures",
            "links",
            "xinhua-2025-05-31-northeast-ip-protection",
        )
    } | {"urn:x-rdflib:default"}


def test_a_protocol_dataset_overrides_from(both):
    query = IN_DEFAULT.format(f"FROM <{GRAPH}ontology>")
    links = numbers(same_rows(both, IN_DEFAULT.format(f"FROM <{GRAPH}links>")))
    assert numbers(same_rows(both, query, dataset=QueryDataset(default_graphs=(GRAPH + "links",)))) == links
    assert numbers(same_rows(both, query, dataset=QueryDataset(named_graphs=(GRAPH + "links",)))) == [(0,)]


def test_from_in_strings_comments_and_iris_is_left_alone(both):
    query = 'SELECT ?x WHERE { BIND("FROM <urn:x>" AS ?x) ?s ?p <urn:from> } # FROM <urn:y>\n'
    assert split_dataset(query) == (query, None)
    _, dataset = split_dataset('SELECT ?from\nFROM <urn:g> # FROM <urn:h>\nWHERE { ?from ?p "FROM <urn:i>" }')
    assert dataset.default_graphs == ("urn:g",)
    assert dataset.named_graphs == ()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT * WHERE { ?s ?p ?o }\nFROM <urn:g>", r"syntax error at line 2, column 1: Expected end of text"),
        ("SELECT * { { SELECT * FROM <urn:g> { } } }", r"syntax error at line 1, column 12"),
        ("SELECT * FROM ?g WHERE { }", r"syntax error at line 1, column 10"),
        ("SELECT * FROM <relative> WHERE { }", r"FROM <relative> must name an absolute IRI"),
        ("SELECT * FROM nope:g WHERE { }", r"unknown prefix nope: \(declare it with PREFIX\)"),
    ],
)
def test_misplaced_from_is_a_syntax_error(both, query, message):
    for store in both:
        with pytest.raises(QueryError, match=message):
            execute(store, query)


def test_service_words_in_strings_and_comments_are_not_services():
    check_query('SELECT ("SERVICE <http://x>" AS ?s) WHERE { ?s ?p ?o } # SERVICE <http://y>')
    check_query("SELECT ?service WHERE { ?service a schema:Service }")
    with pytest.raises(QueryError, match=r"SERVICE <http://y/> is not allowed"):
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
    assert len(changed) == triples  # synced: what no file holds is dropped, the rest was unchanged
    assert changed.last_sync.dropped == [""] and changed.last_sync.loaded == []
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
