"""The query guard against the fuzz corpus (tests/guard_corpus/): every
obfuscated attack, on both stores, through the CLI, the Python API and the
server, with a loopback listener that counts connections and a local marker
file holding one unique triple: no connection, the marker in no output. The
legitimate look-alikes give the same rows on both stores and entry points.
Controls show that the listener and the marker would catch a leak, and that
the workers' confinement holds when the guard is bypassed."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import uuid
from pathlib import Path
from urllib.parse import urlencode

import anyio
import httpx
import pytest
import rdflib
import yaml
from click.testing import CliRunner

import ipgraph
from ipgraph.cli import main
from ipgraph.errors import QueryError, QueryRefused
from ipgraph.layout import QUERIES
from ipgraph.serve import ServeConfig, create_app
from ipgraph.store import QueryDataset, check_query, execute, open_store
from ipgraph.store.guard import canonical_text

CORPUS = Path(__file__).parent / "guard_corpus"
DATASET = CORPUS / "dataset.trig"
STORES = ("memory", "oxigraph")


class Listener:
    """A TCP listener on 127.0.0.1 that accepts and counts every connection."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def listener():
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def marker(tmp_path_factory):
    """A local N-Triples file with one unique triple; returns (path, the text that must never appear)."""
    secret = f"MARKER-{uuid.uuid4().hex}"
    path = tmp_path_factory.mktemp("secret") / "marker.nt"
    path.write_text(f'<urn:ipgraph-marker:{secret}> <urn:ipgraph-marker:p> "{secret}" .\n', encoding="utf-8")
    return path, secret


def _fill(text: str, listener: Listener, marker) -> str:
    path, secret = marker
    values = {
        "{endpoint}": f"http://127.0.0.1:{listener.port}/sparql",
        "{origin}": f"http://127.0.0.1:{listener.port}",
        "{port}": str(listener.port),
        "{marker_dir}": path.parent.as_uri() + "/",
        "{marker_path}": str(path),
        "{marker_s}": f"urn:ipgraph-marker:{secret}",
        "{marker}": path.as_uri(),
        "{CRLF}": "\r\n",
        "{CR}": "\r",
        "{LF}": "\n",
        "{TAB}": "\t",
        "{FF}": "\f",
        "{NUL}": "\0",
    }
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def _load(name: str) -> list[dict]:
    entries = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    assert entries, f"no entries in {name}"
    return entries


ATTACKS = _load("attacks.yaml")
LEGIT = _load("legit.yaml")


def test_the_corpus_is_large_and_varied():
    assert len(ATTACKS) >= 60
    assert len({entry["id"] for entry in ATTACKS}) == len(ATTACKS)
    texts = "\n".join(entry["query"] for entry in ATTACKS)
    needles = ["\\u", "\\U", "{CR}", "{CRLF}", "{LF}", "BASE", "PREFIX", "SERVICE ?", "SILENT", "EXISTS"]
    needles += ["NOT EXISTS", "FROM NAMED", "LOAD", "INSERT", "DELETE", "CLEAR", "DROP", "SELECT ?s WHERE"]
    for needle in needles:
        assert needle.lower() in texts.lower(), needle
    assert sum(1 for entry in ATTACKS if "protocol" in entry) >= 5
    assert len(LEGIT) >= 20


@pytest.fixture(scope="module")
def stores():
    return {kind: open_store(DATASET, kind) for kind in STORES}


def _forms(entries, listener, marker):
    for entry in entries:
        protocol = entry.get("protocol") or {}
        yield (
            entry,
            _fill(entry["query"], listener, marker),
            [_fill(iri, listener, marker) for iri in protocol.get("default", [])],
            [_fill(iri, listener, marker) for iri in protocol.get("named", [])],
        )


def _assert_clean(listener: Listener, marker, outputs: list[str], before: int) -> None:
    assert listener.connections == before, "the listener was contacted"
    _, secret = marker
    leaked = [output[:200] for output in outputs if secret in output]
    assert not leaked, leaked


# --- the Python API -----------------------------------------------------------


def run_corpus(run, listener: Listener, marker) -> None:
    """Every attack of the corpus, in every form, through ``run(query, default, named)`` (which
    returns a :class:`~ipgraph.store.Result`): refused, blocked or empty as the corpus expects,
    the listener never contacted, the marker's secret never in an answer or a message."""
    before = listener.connections
    outputs, outcomes = [], {}
    for entry, query, default, named in _forms(ATTACKS, listener, marker):
        try:
            result = run(query, default, named)
        except QueryRefused as error:
            outcomes[entry["id"]] = "refused"
            outputs.append(str(error))
            continue
        except QueryError as error:
            outcomes[entry["id"]] = "error"
            outputs.append(str(error))
            continue
        outcomes[entry["id"]] = "ran"
        outputs.append(repr(result.rows) + repr(result.triples) + repr(result.boolean))
        assert not result.rows and not result.triples and not result.boolean, entry["id"]
    for entry in ATTACKS:
        allowed = {"refused": {"refused"}, "blocked": {"refused", "error"}, "empty": {"ran"}}[entry["expect"]]
        assert outcomes[entry["id"]] in allowed, (entry["id"], outcomes[entry["id"]])
    _assert_clean(listener, marker, outputs, before)


@pytest.mark.parametrize("kind", STORES)
def test_attacks_through_the_python_api(kind, listener, marker):
    graph = ipgraph.open_graph(DATASET, kind, timeout=5)

    def run(query, default, named):
        if default or named:
            return execute(graph.store, query, dataset=QueryDataset(None, tuple(default), tuple(named)))
        return graph.query(query)

    run_corpus(run, listener, marker)


# --- the CLI ------------------------------------------------------------------


@pytest.mark.parametrize("kind", STORES)
def test_attacks_through_the_cli(kind, listener, marker, tmp_path):
    before = listener.connections
    runner = CliRunner()
    outputs = []
    for number, (entry, query, default, named) in enumerate(_forms(ATTACKS, listener, marker)):
        if default or named:
            continue  # the protocol dataset is the server's (and the API's)
        options = ["--dataset", str(DATASET), "--store", kind, "--format", "table", "--timeout", "5"]
        if number % 2:
            file = tmp_path / f"{entry['id']}.rq"
            file.write_bytes(query.encode("utf-8"))
            run = runner.invoke(main, ["query", str(file), *options])
        else:
            run = runner.invoke(main, ["query", "-", *options], input=query)
        output = run.stdout + run.stderr
        outputs.append(output)
        if entry["expect"] == "empty":
            assert run.exit_code == 0, (entry["id"], output)
            assert run.stdout.endswith("(0 rows)\n") or run.stdout == "false\n", (entry["id"], run.stdout)
        else:
            assert run.exit_code == 2, (entry["id"], output)
            assert "Traceback" not in output
            if entry["expect"] == "refused":
                assert "not allowed" in run.stderr, (entry["id"], run.stderr)
    assert len(outputs) >= 60
    _assert_clean(listener, marker, outputs, before)


# --- the server ---------------------------------------------------------------


async def _ask_server(app, forms, *, post: bool) -> list[tuple[dict, httpx.Response]]:
    transport = httpx.ASGITransport(app=app)
    answers = []
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        for entry, query, default, named in forms:
            params = [("default-graph-uri", iri) for iri in default] + [("named-graph-uri", iri) for iri in named]
            headers = {"Accept": "application/sparql-results+json, application/n-triples;q=0.9"}
            if post:
                response = await client.post(
                    "/sparql?" + urlencode(params),
                    content=query.encode("utf-8"),
                    headers={**headers, "Content-Type": "application/sparql-query"},
                )
            else:
                response = await client.get("/sparql?" + urlencode([("query", query), *params]), headers=headers)
            answers.append((entry, response))
    return answers


@pytest.mark.parametrize("kind", STORES)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_attacks_through_the_server(kind, method, stores, listener, marker):
    before = listener.connections
    app = create_app(stores[kind], ServeConfig(timeout=5, views=None))
    forms = list(_forms(ATTACKS, listener, marker))
    answers = anyio.run(lambda: _ask_server(app, forms, post=method == "POST"))
    outputs = []
    for entry, response in answers:
        outputs.append(response.text)
        expected = {"refused": {403}, "blocked": {400, 403}, "empty": {200}}[entry["expect"]]
        assert response.status_code in expected, (entry["id"], response.status_code, response.text[:300])
        if response.status_code == 200 and "json" in response.headers["content-type"]:
            answer = response.json()
            assert not answer.get("boolean") and not answer.get("results", {}).get("bindings"), entry["id"]
        elif response.status_code == 200:
            assert response.text.strip() == "", entry["id"]
    _assert_clean(listener, marker, outputs, before)


# --- the legitimate look-alikes: the same answers everywhere -------------------


def _rows(answer: dict) -> list:
    if "boolean" in answer:
        return [answer["boolean"]] if answer["boolean"] else []
    return sorted(json.dumps(row, sort_keys=True) for row in answer["results"]["bindings"])


def test_legitimate_queries_give_the_same_answers_everywhere(stores, listener, marker, tmp_path):
    runner = CliRunner()
    for entry, query, _, _ in _forms(LEGIT, listener, marker):
        answers = {}
        for kind, store in stores.items():
            result = execute(store, query)
            size = len(result) if result.kind != "ask" else int(bool(result.boolean))
            assert size == entry["rows"], (entry["id"], kind, result)
            answers[("api", kind)] = sorted(map(repr, result.triples)) if result.kind == "graph" else None
            if result.kind != "graph":
                file = tmp_path / "query.rq"
                file.write_bytes(query.encode("utf-8"))
                run = runner.invoke(main, ["query", str(file), "--dataset", str(DATASET), "--store", kind,
                                           "--format", "json"])  # fmt: skip
                assert run.exit_code == 0, (entry["id"], kind, run.stderr)
                answers[("cli", kind)] = _rows(json.loads(run.stdout))
                app = create_app(store, ServeConfig(views=None))
                forms = [(entry, query, [], [])]
                ((_, response),) = anyio.run(lambda app=app, forms=forms: _ask_server(app, forms, post=True))
                assert response.status_code == 200, (entry["id"], kind, response.text)
                answers[("server", kind)] = _rows(response.json())
        if result.kind == "graph":
            assert answers[("api", "memory")] == answers[("api", "oxigraph")], entry["id"]
        else:
            distinct = {json.dumps(value) for key, value in answers.items() if key[0] != "api"}
            assert len(distinct) == 1, (entry["id"], answers)


# --- controls: the detectors work, and the confinement holds on its own --------


def test_controls_the_listener_and_the_marker_would_see_a_leak(listener, marker):
    path, secret = marker
    before = listener.connections
    with socket.create_connection(("127.0.0.1", listener.port), timeout=2):
        pass
    for _ in range(50):
        if listener.connections > before:
            break
        threading.Event().wait(0.05)
    assert listener.connections == before + 1
    # plain rdflib, as it is without ipgraph's hooks, reads the marker file named in FROM
    import rdflib.plugins.sparql as rdflib_sparql

    loading, rdflib_sparql.SPARQL_LOAD_GRAPHS = rdflib_sparql.SPARQL_LOAD_GRAPHS, True
    try:
        query = "SELECT ?o FROM <" + path.as_uri() + "> WHERE { ?s ?p ?o }"  # noqa: S608 - SPARQL, a test
        rows = rdflib.Dataset(default_union=True).query(query)
        assert [str(row[0]) for row in rows] == [secret]
    finally:
        rdflib_sparql.SPARQL_LOAD_GRAPHS = loading


def test_the_canonical_text_is_what_both_engines_read():
    assert canonical_text("SELECT * { # c\rSERVICE <urn:x> { } }") == "SELECT * { # c\nSERVICE <urn:x> { } }"
    assert canonical_text(r"\u0053ELECT") == "SELECT"
    with pytest.raises(QueryRefused, match=r"an escape that spells another escape"):
        canonical_text(r"SELECT * { \u005Cu0053ERVICE <urn:x> { } }")
    with pytest.raises(QueryError, match=r"control character U\+0000"):
        canonical_text("SELECT * {\0}")
    with pytest.raises(QueryError, match=r"put SERVICE at the start of a line"):
        check_query("SELECT * { ?a <urn:p#q> ?b . SERVICE <urn:s> { } }", ["urn:s"])
    assert check_query("SELECT * { ?a <urn:p#q> ?b .\n SERVICE <urn:s> { } }", ["urn:s"]).services == ("urn:s",)
    checked = check_query("SELECT ?service WHERE { ?service a schema:Service }")
    assert checked.mentions_service and not checked.services
    assert not check_query("SELECT * WHERE { ?s ?p ?o }").mentions_service


_UNCHECKED = """
import os, socket, sys
from ipgraph.store import sandbox
layers = sandbox.confine(())
results = {"layers": layers}
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
    results["python"] = "connected"
except OSError as error:
    results["python"] = type(error).__name__
try:
    open(sys.argv[2]).read()
    results["file"] = "read"
except OSError as error:
    results["file"] = type(error).__name__
import pyoxigraph
try:
    list(pyoxigraph.Store().query("SELECT * WHERE { SERVICE <http://127.0.0.1:%s/sparql> { ?s ?p ?o } }" % sys.argv[1]))
    results["oxigraph"] = "answered"
except Exception as error:
    results["oxigraph"] = str(error)[:200]
import rdflib
try:
    rows = list(rdflib.Dataset(default_union=True).query("SELECT * FROM <%s> WHERE { ?s ?p ?o }" % sys.argv[3]))
    assert not rows, rows
    results["rdflib_from"] = "ran"
except Exception as error:
    results["rdflib_from"] = type(error).__name__
print(repr(results))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are confined where processes fork")
def test_a_confined_worker_cannot_connect_or_read_even_without_the_guard(listener, marker):
    """The confinement alone (sandbox.confine, as every worker has it): Python
    and Oxigraph's own HTTP client cannot connect, files cannot be read, and
    rdflib does not load FROM — with no guard in front."""
    import ast
    import subprocess
    import sys

    path, secret = marker
    before = listener.connections
    run = subprocess.run(
        [sys.executable, "-c", _UNCHECKED, str(listener.port), str(path), path.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    results = ast.literal_eval(run.stdout.strip())
    assert results["python"] == "PermissionError"
    assert results["file"] == "PermissionError"
    assert results["oxigraph"] != "answered"
    assert results["rdflib_from"] == "ran"  # ran, but on an empty graph: the file was not loaded
    if sys.platform.startswith("linux") and results["layers"]["seccomp"] is False:
        pytest.fail("the seccomp filter could not be installed on Linux")
    assert secret not in run.stdout + run.stderr
    assert listener.connections == before


# --- allow-listed SERVICE keeps working, through the guard and the confined workers


@pytest.mark.parametrize("kind", STORES)
def test_an_allowed_service_runs_through_the_guard_on_both_stores(kind, built, wikidata_endpoint):
    text = (QUERIES / "federated" / "wikidata-population-service.rq").read_text(encoding="utf-8")
    local = text.replace("https://query.wikidata.org/sparql", wikidata_endpoint)
    graph = ipgraph.open_graph(built, kind, timeout=30, allow_services=[wikidata_endpoint])
    result = graph.query(local)
    populations = {row["item"].rsplit("/", 1)[1]: int(row["population"]) for row in result.records()}
    assert populations["Q45208"] > 0  # Jilin, from the local endpoint's fixture
    with pytest.raises(QueryRefused, match=r"SERVICE <https://query.wikidata.org/sparql> is not allowed"):
        graph.query(text)  # the real Wikidata endpoint is not on the list


@pytest.mark.server
@pytest.mark.parametrize("kind", STORES)
def test_attacks_through_a_real_server_on_loopback(kind, stores, live_server, listener, marker):
    """The same corpus over real HTTP: uvicorn on 127.0.0.1, POSTed as forms."""
    before = listener.connections
    base = live_server(stores[kind], timeout=5, views=None)
    outputs = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for entry, query, default, named in _forms(ATTACKS, listener, marker):
            form = [("query", query)] + [("default-graph-uri", iri) for iri in default]
            form += [("named-graph-uri", iri) for iri in named]
            headers = {
                "Accept": "application/sparql-results+json, text/turtle;q=0.9",
                "Content-Type": "application/x-www-form-urlencoded",
            }
            response = http.post("/sparql", content=urlencode(form), headers=headers)
            outputs.append(response.text)
            expected = {"refused": {403}, "blocked": {400, 403}, "empty": {200}}[entry["expect"]]
            assert response.status_code in expected, (entry["id"], response.status_code, response.text[:300])
    assert len(outputs) == len(ATTACKS)
    _assert_clean(listener, marker, outputs, before)


# --- differential fuzzing: Oxigraph never reads a SERVICE the guard let through


_JUNK = ['"', "'", "\\", '\\"', "\\'", "#", "\n", "\r", "\r\n", "\\u0022", "\\u0027", "\\u000A", "\\u000D", "\\u005C",
         "\u2028", "\u0085", "\\\\", "\\n", "\\r", "x", " ", "''", '""', ">", "<", "\\u003E", "%3E"]  # fmt: skip
_QUOTES = [('"', '"'), ("'", "'"), ('"""', '"""'), ("'''", "'''")]


def _hidden_services(seed: int, count: int, port: int):
    """Queries that put a SERVICE to ``port`` inside a string, a comment or an
    IRI, with random quotes, escapes and line ends around it."""
    import random

    generator = random.Random(seed)  # noqa: S311 - a reproducible fuzz, not a secret
    service = f"}} SERVICE <http://127.0.0.1:{port}/s> {{ }} {{"

    def junk(most: int) -> str:
        return "".join(generator.choice(_JUNK) for _ in range(generator.randint(0, most)))

    for _ in range(count):
        kind = generator.choice(["string", "comment", "iri"])
        if kind == "string":
            opening, closing = generator.choice(_QUOTES)
            yield f"SELECT * WHERE {{ BIND({opening}{junk(3)}{service}{junk(3)}{closing} AS ?v) }}"
        elif kind == "comment":
            yield f"SELECT * WHERE {{ # {junk(4)}{service}{junk(2)}\n }}"
        else:
            yield f"SELECT * WHERE {{ ?s <urn:x{junk(2)}{service}{junk(2)}> ?o }}"


def test_oxigraph_never_reads_a_service_the_guard_let_through(listener):
    """Random hidden SERVICE clauses: whatever the guard accepts (it saw no
    SERVICE), Oxigraph itself, unconfined, in this process, does not call
    the listener either when it runs the guard's text."""
    import pyoxigraph as ox

    before = listener.connections
    store = ox.Store()
    accepted = 0
    for query in _hidden_services(seed=11, count=250, port=listener.port):
        try:
            checked = check_query(query)
        except QueryError:
            continue
        accepted += 1
        with contextlib.suppress(SyntaxError, OSError):
            list(store.query(checked.text))
    assert accepted > 30  # the generator does hide SERVICE where the guard reads none
    threading.Event().wait(0.2)
    assert listener.connections == before
