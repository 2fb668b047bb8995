"""Persistent and remote stores: the on-disk Oxigraph store synced graph by
graph, and real SPARQL 1.1 servers started here on 127.0.0.1 — Oxigraph
server (``oxigraph serve``, PyPI) and OpenLink Virtuoso (Debian's
``virtuoso-opensource``; ``.ci/run`` installs it). Under CI=true a missing
server fails the test (conftest ``unavailable``)."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from conftest import _free_port, unavailable
from ipgraph import project as project_module
from ipgraph.cli import main
from ipgraph.errors import QueryRefused, StoreError
from ipgraph.query import Graph
from ipgraph.store import OxigraphStore, RemoteConfig, execute, open_store
from test_guard import listener, marker  # noqa: F401 - fixtures of the guard corpus tests

#: Named queries whose answers Virtuoso gives differently, and why (docs/stores.md).
VIRTUOSO_DEVIATIONS = {
    "growth": "YEAR() of an unbound value is an error in Virtuoso, not an unbound result",
    "fact-sources": "Virtuoso keeps the xsd:nonNegativeInteger offsets as loaded; Oxigraph stores them as xsd:integer",
}
PARAMS = {
    "source-facts": {"source": "source:xinhua-2025-05-31-northeast-ip-protection"},
    "entity": {"entity": "region:jilin"},
    "regions-by-industry": {"industry": "industry:robotics"},
    "fact-sources": {"fact": "region:jilin"},
}


def _wait(url: str, process: subprocess.Popen, name: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if process.poll() is not None:
                unavailable(f"{name} exited: {(process.stderr.read() or b'').decode()[:300]}")
            time.sleep(0.2)
    unavailable(f"{name} did not answer on {url}")


class OxigraphServer:
    """``oxigraph serve --union-default-graph`` on a folder, restartable on the same port."""

    def __init__(self, folder: Path) -> None:
        self.binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
        if not Path(self.binary).is_file():
            unavailable("the oxigraph server is not installed (pip install oxigraph)")
        self.folder, self.port = folder, _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> OxigraphServer:
        self.process = subprocess.Popen(
            [
                self.binary,
                "serve",
                "--location",
                str(self.folder),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--union-default-graph",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _wait(f"{self.base}/query?query=ASK%7B%7D", self.process, "oxigraph serve")
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def config(self, endpoint: str | None = None) -> RemoteConfig:
        return RemoteConfig(endpoint or f"{self.base}/query", f"{self.base}/update", f"{self.base}/store", timeout=30)


@pytest.fixture
def oxigraph_server(tmp_path):
    server = OxigraphServer(tmp_path / "oxigraph-server").start()
    yield server
    server.kill()


VIRTUOSO_INI = """[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase
[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0
[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = {d}
NumberOfBuffers = 10000
MaxDirtyBuffers = 6000
MaxQueryMem = 500M
MaxSortedTopRows = 10000000
[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections = 8
ServerThreads = 8
Charset = UTF-8
[SPARQL]
ResultSetMaxRows = 100000
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 400
"""


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory):
    """Virtuoso 7 on free loopback ports, with a fresh database in a temporary
    folder; yields its base URL. The user ``dba`` (password ``dba`` in a new
    database) loads through the authenticated endpoints (Digest); queries go to
    the anonymous ``/sparql``."""
    binary = shutil.which("virtuoso-t")
    if binary is None:
        unavailable("Virtuoso is not installed (apt-get install virtuoso-opensource)")
    folder = tmp_path_factory.mktemp("virtuoso")
    http = _free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(d=folder, sql=_free_port(), http=http), encoding="utf-8")
    process = subprocess.Popen(
        [binary, "-f", "-c", str(ini)], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{http}"
    try:
        _wait(f"{base}/sparql?query=ASK%7B%7D", process, "virtuoso-t", seconds=120)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _virtuoso_config(base: str, tmp_path: Path, gsp: bool = True) -> RemoteConfig:
    return RemoteConfig(
        f"{base}/sparql",
        f"{base}/sparql-auth",
        f"{base}/sparql-graph-crud-auth" if gsp else None,
        user="dba",
        password="dba",  # noqa: S106 - a new Virtuoso database's own, on 127.0.0.1
        timeout=60,
    )


def _same_answers(remote, local, skip=()) -> list[str]:
    """The named queries whose answers differ between two stores."""
    differ = []
    for named in local.named_queries():
        if named.name in skip:
            continue
        params = PARAMS.get(named.name, {})
        a, b = local.query(named, **params), remote.query(named, **params)
        if sorted(map(str, a.rows)) != sorted(map(str, b.rows)):
            differ.append(named.name)
    return differ


def _value(quad: ox.Quad) -> tuple:
    """A quad with a numeric literal as its number (Oxigraph canonicalises their lexical forms)."""
    term = quad.object
    if isinstance(term, ox.Literal) and term.datatype.value.rsplit("#", 1)[-1] in (
        "decimal",
        "integer",
        "nonNegativeInteger",
        "double",
    ):
        term = Decimal(term.value).normalize()
    return quad.subject, quad.predicate, str(term), quad.graph_name


def _edited(three_built: Path, folder: Path, old: str, new: str) -> Path:
    """A copy of the built dataset with one label changed (one source's graph)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = three_built.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    target = folder / "ipgraph.trig"
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


# --- the on-disk Oxigraph store, synced graph by graph ---------------------------------


def test_oxigraph_disk_store_replaces_only_the_changed_graph_and_drops_gone_ones(three_built, tmp_path):
    dataset = tmp_path / "a" / "ipgraph.trig"
    dataset.parent.mkdir()
    shutil.copy(three_built, dataset)
    first = OxigraphStore(tmp_path / "store").load(dataset)
    graphs = first.last_sync.loaded
    assert len(graphs) >= 6 and first.last_sync.dropped == []
    triples = len(first)
    del first
    # one source's graph gains a triple and the links graph is gone: that graph
    # alone is replaced, the links graph dropped, the others left alone
    graph_iri = "https://w3id.org/ipgraph/id/graph/xinhua-2025-05-31-northeast-ip-protection"
    quads = list(ox.parse(path=str(dataset), format=ox.RdfFormat.TRIG))
    seed_quads = [q for q in quads if q.graph_name == ox.NamedNode(graph_iri)]
    assert seed_quads
    extra = ox.Quad(
        seed_quads[0].subject,
        ox.NamedNode("https://w3id.org/ipgraph/ontology#note"),
        ox.Literal("changed"),
        ox.NamedNode(graph_iri),
    )
    gone = "https://w3id.org/ipgraph/id/graph/links"
    kept = [q for q in quads if q.graph_name != ox.NamedNode(gone)] + [extra]
    changed = tmp_path / "b" / "ipgraph.nq"
    changed.parent.mkdir()
    changed.write_bytes(ox.serialize(kept, format=ox.RdfFormat.N_QUADS))
    again = OxigraphStore(tmp_path / "store").load(changed)
    assert again.last_sync.loaded == [graph_iri]
    assert again.last_sync.dropped == [gone]
    assert again.last_sync.unchanged == len(graphs) - 2
    links = sum(1 for q in quads if q.graph_name == ox.NamedNode(gone))
    assert len(again) == triples + 1 - links
    rows = execute(again, f"SELECT ?o WHERE {{ GRAPH <{graph_iri}> {{ ?s ipg:note ?o }} }}").rows
    assert [row[0].value for row in rows] == ["changed"]
    # an unchanged file is not read at all
    del again
    third = OxigraphStore(tmp_path / "store").load(changed)
    assert third.last_sync.loaded == [] and third.last_sync.unchanged == len(graphs) - 1


@pytest.mark.parametrize("name", ["overview", "region-industry", "agency-measure", "provenance"])
def test_projections_run_on_the_store_and_match_rdflib(corpus_built, tmp_path, name):
    """The same graph, weights included, on the store as on rdflib: Oxigraph's union
    default graph yields a triple once per graph that holds it (the registry and a
    source both say Changsha is Hunan's capital), so edge queries are DISTINCT."""
    from ipgraph.validate import load_dataset

    def content(graph):
        edges = sorted((u, v, k, sorted(d.items())) for u, v, k, d in graph.edges(keys=True, data=True))
        return edges, sorted((node, sorted(data.items())) for node, data in graph.nodes(data=True))

    on_rdflib = project_module.project(load_dataset(corpus_built), name)
    on_store = project_module.project(open_store(corpus_built, "oxigraph", tmp_path / "store"), name)
    assert on_rdflib.number_of_edges() > 10
    assert content(on_store) == content(on_rdflib)


def test_export_streams_nquads_from_the_store_and_from_the_files(three_built, tmp_path):
    store_dir = tmp_path / "store"
    runner = CliRunner()
    outputs = {}
    for name, extra in (("files", []), ("store", ["--store", "oxigraph", "--store-path", str(store_dir)])):
        out = tmp_path / f"{name}.nq"
        result = runner.invoke(
            main, ["export", "--format", "nquads", "--out", str(out), "--dataset", str(three_built), *extra]
        )
        assert result.exit_code == 0, result.output
        outputs[name] = {str(q) for q in ox.parse(path=str(out), format=ox.RdfFormat.N_QUADS)}
    expected = {str(q) for q in ox.parse(path=str(three_built), format=ox.RdfFormat.TRIG)}
    assert outputs["files"] == expected
    # Oxigraph's store on disk keeps numbers in canonical form ("10.0"^^xsd:decimal
    # as "10", an xsd:nonNegativeInteger as xsd:integer): the same values
    stored = tmp_path / "store.nq"
    assert {_value(q) for q in ox.parse(path=str(stored), format=ox.RdfFormat.N_QUADS)} == {
        _value(q) for q in ox.parse(path=str(three_built), format=ox.RdfFormat.TRIG)
    }
    out = tmp_path / "union.nt"
    result = runner.invoke(main, ["export", "--format", "ntriples", "--out", str(out), "--dataset", str(three_built)])
    assert result.exit_code == 0, result.output
    triples = {str(t) for t in ox.parse(path=str(out), format=ox.RdfFormat.N_TRIPLES)}
    assert triples == {str(q.triple) for q in ox.parse(path=str(three_built), format=ox.RdfFormat.TRIG)}


# --- Oxigraph server -------------------------------------------------------------------------


def test_oxigraph_server_answers_every_named_query_as_the_local_store(oxigraph_server, three_built, tmp_path):
    remote = open_store(three_built, "sparql", remote=oxigraph_server.config())
    assert remote.last_sync.dropped == [] and len(remote.last_sync.loaded) >= 6
    local = open_store(three_built, "oxigraph")
    assert len(remote) == len(local)
    assert _same_answers(Graph(remote, timeout=30), Graph(local)) == []
    # projections page through the remote store: the same graph with pages of 7 rows
    from ipgraph.store import sparql

    page, sparql.PAGE = sparql.PAGE, 7
    try:
        assert sorted(project_module.project(remote, "overview").edges(keys=True)) == sorted(
            project_module.project(local, "overview").edges(keys=True)
        )
    finally:
        sparql.PAGE = page
    # a second sync changes nothing
    assert open_store(three_built, "sparql", remote=oxigraph_server.config()).last_sync.loaded == []


def test_the_guard_applies_to_the_remote_store(oxigraph_server, three_built):
    remote = open_store(three_built, "sparql", remote=oxigraph_server.config())
    with pytest.raises(QueryRefused, match="SPARQL Update"):
        execute(remote, "DROP ALL")
    with pytest.raises(QueryRefused, match="SERVICE"):
        execute(remote, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    with pytest.raises(QueryRefused, match="bif:"):
        execute(remote, "PREFIX bif: <bif:> SELECT (bif:file_to_string('/etc/passwd') AS ?x) WHERE {}")
    rows = execute(remote, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }").rows
    assert int(rows[0][0].value) > 1000  # still there


def test_cli_commands_run_on_the_oxigraph_server(oxigraph_server, three_built, tmp_path):
    base = oxigraph_server.base
    options = [
        "--dataset",
        str(three_built),
        "--store",
        "sparql",
        "--endpoint",
        f"{base}/query",
        "--update-endpoint",
        f"{base}/update",
        "--gsp-endpoint",
        f"{base}/store",
    ]
    runner = CliRunner()
    loaded = runner.invoke(main, ["load", *options])
    assert loaded.exit_code == 0, loaded.output
    assert "graphs loaded" in loaded.output and "0 dropped" in loaded.output
    result = runner.invoke(main, ["query", "measures", "--param", "region=Jilin", "--wide", *options])
    assert result.exit_code == 0, result.output
    assert "Jilin IP-favoured industrial zones" in result.output
    result = runner.invoke(main, ["stats", "overview", "--top", "3", *options])
    assert result.exit_code == 0, result.output
    assert "nodes" in result.output and "Degree centrality" in result.output
    out = tmp_path / "overview.html"
    result = runner.invoke(main, ["view", "overview", "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    assert "Jilin" in out.read_text(encoding="utf-8")
    page = runner.invoke(main, ["serve", "--get", "/id/region/jilin.ttl", "--watch", "0", *options])
    assert page.exit_code == 0, page.output
    assert "region:jilin" in page.output or "region/jilin" in page.output
    nq = tmp_path / "remote.nq"
    result = runner.invoke(main, ["export", "--format", "nquads", "--out", str(nq), *options])
    assert result.exit_code == 0, result.output
    exported = {_value(q) for q in ox.parse(path=str(nq), format=ox.RdfFormat.N_QUADS)}
    assert exported == {_value(q) for q in ox.parse(path=str(three_built), format=ox.RdfFormat.TRIG)}


def test_unreachable_endpoint_is_one_message_naming_it(three_built):
    port = _free_port()  # nothing listens there
    result = CliRunner().invoke(
        main,
        [
            "query",
            "growth",
            "--dataset",
            str(three_built),
            "--store",
            "sparql",
            "--endpoint",
            f"http://127.0.0.1:{port}/sparql",
        ],
    )
    assert result.exit_code == 2
    assert f"http://127.0.0.1:{port}/sparql" in result.output
    assert "Traceback" not in result.output


class _KillingProxy:
    """A TCP proxy to a server that kills the server (SIGKILL) once the
    client has sent ``after`` bytes of PUT requests: the server is stopped in
    the middle of a load."""

    def __init__(self, target_port: int, kill, after: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target_port, self.kill, self.after = target_port, kill, after
        self.seen = 0
        self.killed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, counting: bool) -> None:
        putting = False
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if counting:
                    putting = putting or b"PUT " in data
                    if putting:
                        self.seen += len(data)
                    if putting and self.seen > self.after and not self.killed.is_set():
                        self.kill()
                        self.killed.set()
                        break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.close()


def test_server_stopped_mid_load_keeps_the_old_graph_and_names_endpoint_and_graph(
    oxigraph_server, three_built, tmp_path
):
    config = oxigraph_server.config()
    open_store(three_built, "sparql", remote=config)
    before = {_value(q) for q in ox.parse(path=str(three_built), format=ox.RdfFormat.TRIG)}
    # every graph changes: a new triple in each
    quads = list(ox.parse(path=str(three_built), format=ox.RdfFormat.TRIG))
    graphs = sorted({q.graph_name.value for q in quads})
    extra = [ox.Quad(ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:p"), ox.Literal(g), ox.NamedNode(g)) for g in graphs]
    changed = tmp_path / "changed.nq"
    changed.write_bytes(ox.serialize(quads + extra, format=ox.RdfFormat.N_QUADS))
    proxy = _KillingProxy(oxigraph_server.port, oxigraph_server.kill, after=5000)
    through = f"http://127.0.0.1:{proxy.port}"
    result = CliRunner().invoke(
        main,
        [
            "load",
            "--dataset",
            str(changed),
            "--store",
            "sparql",
            "--endpoint",
            f"{through}/query",
            "--update-endpoint",
            f"{through}/update",
            "--gsp-endpoint",
            f"{through}/store",
        ],
    )
    assert proxy.killed.wait(10), result.output
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert f"{through}/store" in message and "graph <https://w3id.org/ipgraph/id/graph/" in message
    assert message.count("Error:") == 1 and "Traceback" not in message
    failed = message.split("graph <", 1)[1].split(">", 1)[0]
    # the server back on the same folder: the graph it was loading is as it was
    oxigraph_server.start()
    response = httpx.post(
        f"{oxigraph_server.base}/query",
        data={"query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{failed}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "application/n-triples"},
    )
    name = ox.NamedNode(failed)
    triples = ox.parse(response.content, ox.RdfFormat.N_TRIPLES)
    held = {_value(ox.Quad(t.subject, t.predicate, t.object, name)) for t in triples}
    assert held and held == {q for q in before if q[3] == name}
    # the next sync finishes the job
    again = open_store(changed, "sparql", remote=oxigraph_server.config())
    assert failed in again.last_sync.loaded
    assert execute(again, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { <urn:x:s> <urn:x:p> ?o } }").rows[0][
        0
    ].value == str(len(graphs))


# --- Virtuoso --------------------------------------------------------------------------------


def test_virtuoso_loads_by_graph_store_protocol_and_answers_the_named_queries(virtuoso, three_built, tmp_path):
    config = _virtuoso_config(virtuoso, tmp_path)
    remote = open_store(three_built, "sparql", remote=config)
    assert len(remote.last_sync.loaded) >= 6
    local = open_store(three_built, "oxigraph")
    assert len(remote) == len(local)  # Virtuoso's own system graphs are not counted
    assert _same_answers(Graph(remote, timeout=60), Graph(local), skip=VIRTUOSO_DEVIATIONS) == []
    assert sorted(project_module.project(remote, "overview").edges(keys=True)) == sorted(
        project_module.project(local, "overview").edges(keys=True)
    )


def test_virtuoso_replaces_one_graph_by_update_alone(virtuoso, three_built, tmp_path):
    config = _virtuoso_config(virtuoso, tmp_path, gsp=False)
    open_store(three_built, "sparql", remote=config)
    quads = list(ox.parse(path=str(three_built), format=ox.RdfFormat.TRIG))
    graph = "https://w3id.org/ipgraph/id/graph/registry"
    extra = ox.Quad(ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:p"), ox.Literal("新"), ox.NamedNode(graph))
    changed = tmp_path / "changed.nq"
    changed.write_bytes(ox.serialize([*quads, extra], format=ox.RdfFormat.N_QUADS))
    remote = open_store(changed, "sparql", remote=config)
    assert remote.last_sync.loaded == [graph]
    rows = execute(remote, "SELECT ?o WHERE { <urn:x:s> <urn:x:p> ?o }").rows
    assert [row[0].value for row in rows] == ["新"]
    back = open_store(three_built, "sparql", remote=config)
    assert back.last_sync.loaded == [graph]
    assert execute(back, "ASK { <urn:x:s> <urn:x:p> ?o }").boolean is False


def test_virtuoso_wrong_password_is_one_message(virtuoso, three_built, tmp_path):
    config = RemoteConfig(
        f"{virtuoso}/sparql",
        f"{virtuoso}/sparql-auth",
        f"{virtuoso}/sparql-graph-crud-auth",
        user="dba",
        password="wrong",  # noqa: S106
        timeout=30,
    )
    quads = list(ox.parse(path=str(three_built), format=ox.RdfFormat.TRIG))
    extra = ox.Quad(
        ox.NamedNode("urn:x:t"),
        ox.NamedNode("urn:x:p"),
        ox.Literal("x"),
        ox.NamedNode("https://w3id.org/ipgraph/id/graph/test-password"),
    )
    changed = tmp_path / "changed.nq"
    changed.write_bytes(ox.serialize([*quads, extra], format=ox.RdfFormat.N_QUADS))
    with pytest.raises(StoreError, match=r"sparql-graph-crud-auth refused loading graph <.*>: HTTP 401"):
        open_store(changed, "sparql", remote=config)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "growth", "--store", "sparql"], "--store sparql needs --endpoint URL"),
        (["query", "growth", "--endpoint", "http://127.0.0.1:9/sparql"], "--endpoint needs --store sparql"),
        (["query", "growth", "--gsp-endpoint", "http://127.0.0.1:9/store"], "--gsp-endpoint needs --store sparql"),
        (
            ["query", "growth", "--store", "sparql", "--endpoint", "ftp://127.0.0.1/sparql"],
            "the endpoint must be an http(s) URL",
        ),
        (
            ["query", "growth", "--store", "sparql", "--endpoint", "http://127.0.0.1:9/q", "--user", "u"],
            "a user needs a password",
        ),
        (
            [
                "load",
                "--store",
                "sparql",
                "--endpoint",
                "http://127.0.0.1:9/q",
                "--user",
                "u",
                "--password-file",
                "{missing}",
            ],
            "no-such-password",
        ),
        (["load", "--store", "memory"], "ipgraph load fills a persistent store"),
        (["load"], "--store oxigraph needs --store-path DIR"),
        (["export", "--format", "jsonld", "--out", "{out}", "--store", "oxigraph"], "exports nquads or ntriples"),
    ],
)
def test_store_options_misused_are_one_message(three_built, tmp_path, args, message):
    args = [
        a.replace("{missing}", str(tmp_path / "no-such-password")).replace("{out}", str(tmp_path / "x")) for a in args
    ]
    result = CliRunner().invoke(main, [*args, "--dataset", str(three_built)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert result.output.count("Error:") == 1 and "Traceback" not in result.output


def test_serve_on_a_remote_store_syncs_a_new_build_into_it(oxigraph_server, live_server, built, tmp_path):
    from test_serve_reload import build_number, write_build

    dataset = tmp_path / "ipgraph.trig"
    write_build(built, dataset, 0)
    config = oxigraph_server.config()
    store = open_store(dataset, "sparql", remote=config)
    base = live_server(store, dataset=dataset, watch=0.1, store_kind="sparql", store_remote=config)
    assert build_number(base) == 0
    write_build(built, dataset, 1)
    deadline = time.monotonic() + 30
    while build_number(base) != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert build_number(base) == 1
    # the remote store holds the new build, one graph replaced
    held = httpx.post(
        config.endpoint,
        data={"query": "SELECT ?n WHERE { GRAPH <urn:ipgraph:test:graph> { ?s ?p ?n } }"},
        headers={"Accept": "application/sparql-results+json"},
    ).json()["results"]["bindings"]
    assert [row["n"]["value"] for row in held] == ["1"]
    page = httpx.get(f"{base}/id/region/jilin.html")
    assert page.status_code == 200 and "Jilin" in page.text
    health = httpx.get(f"{base}/health").json()
    assert health["store"] == "sparql" and health["quads"] == len(open_store(dataset, "oxigraph"))


def test_a_persistent_store_is_used_as_it_is_without_the_dataset(oxigraph_server, three_built, tmp_path):
    base = oxigraph_server.base
    remote = [
        "--store",
        "sparql",
        "--endpoint",
        f"{base}/query",
        "--update-endpoint",
        f"{base}/update",
        "--gsp-endpoint",
        f"{base}/store",
    ]
    disk = ["--store", "oxigraph", "--store-path", str(tmp_path / "store")]
    runner = CliRunner()
    missing = str(tmp_path / "elsewhere" / "ipgraph.trig")
    for options in (remote, disk):
        assert runner.invoke(main, ["load", "--dataset", str(three_built), *options]).exit_code == 0
        arguments = ["query", "measures", "--param", "region=Jilin", "--dataset", missing, "--wide", *options]
        result = runner.invoke(main, arguments)
        assert result.exit_code == 0, result.output
        assert "Jilin IP-favoured industrial zones" in result.output
        assert "not found; using the store as it is" in result.output
        page = runner.invoke(main, ["serve", "--get", "/id/region/jilin.ttl", "--dataset", missing, *options])
        assert page.exit_code == 0 and "jilin" in page.output
    result = runner.invoke(main, ["load", "--dataset", missing, *disk])
    assert result.exit_code == 2 and "file not found" in result.output
    empty = ["--store", "oxigraph", "--store-path", str(tmp_path / "empty")]
    result = runner.invoke(main, ["query", "growth", "--dataset", missing, *empty])
    assert result.exit_code == 2 and "no loaded store here" in result.output
    assert not (tmp_path / "empty").exists()


def test_the_guard_corpus_against_a_remote_store(oxigraph_server, three_built, listener, marker):  # noqa: F811
    """Every attack of tests/guard_corpus sent to an Oxigraph server (which
    would call SERVICE endpoints itself): refused or empty, and the loopback
    listener never contacted, the local marker file never read."""
    from ipgraph.store import QueryDataset
    from test_guard import run_corpus

    remote = open_store(three_built, "sparql", remote=oxigraph_server.config())

    def run(query, default, named):
        return execute(remote, query, dataset=QueryDataset(None, tuple(default), tuple(named)), timeout=10)

    run_corpus(run, listener, marker)


def test_a_second_writer_of_a_disk_store_is_refused_clearly(three_built, tmp_path):
    folder = tmp_path / "store"
    open_store(three_built, "oxigraph", folder).stop_workers()
    holder = ox.Store(str(folder))  # another process syncing it, as far as the store can tell
    try:
        result = CliRunner().invoke(main, ["load", "--dataset", str(three_built), "--store-path", str(folder)])
        assert result.exit_code == 2
        assert "another process is writing to this Oxigraph store" in " ".join(result.output.split())
    finally:
        del holder


@pytest.mark.parametrize(
    "query",
    [
        "PREFIX bif: <bif:> SELECT (bif:file_to_string('/etc/passwd') AS ?x) WHERE {}",
        "PREFIX B: <BIF:> SELECT (B:file_to_string('/etc/passwd') AS ?x) WHERE {}",  # case
        "SELECT (<bif:file\\u005Fto_string>('/etc/passwd') AS ?x) WHERE {}",  # an escape in the IRI
        "SELECT ?x WHERE { BIND(<sql:run>('x') AS ?x) }",
        "SELECT ?x WHERE { # a comment\n FILTER(<bif:sprintf>('%s', 1)) }",
        "PREFIX fn: <http://www.w3.org/2005/xpath-functions#> "
        "SELECT ?x WHERE { ?s ?p ?x FILTER(fn:contains(?x, 'a') && <bif:x>()) }",  # beside an allowed one
        "SELECT ?x WHERE { ?s ?p ?x } ORDER BY <bif:rand>()",
        "SELECT (COUNT(<bif:x>(?s)) AS ?n) WHERE { ?s ?p ?o }",  # inside an aggregate
    ],
)
def test_a_remote_store_is_never_sent_a_call_to_its_own_functions(query):
    from ipgraph.store import check_query
    from ipgraph.store.sparql import _check_functions

    with pytest.raises(QueryRefused, match="is not allowed on a remote store"):
        _check_functions(check_query(query))
