"""Shared fixtures: the seed data built once per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from rdflib import Dataset, Graph

from ipgraph.build import build
from ipgraph.validate import load_dataset

ROOT = Path(__file__).resolve().parent.parent
SEED = "xinhua-2025-05-31-northeast-ip-protection"


def seed_data(folder: Path) -> Path:
    """A data/ folder with the registry, vocabularies, mappings and the seed
    source only: the graph the seed's exact counts are stated for."""
    for part in ("registry", "vocab", "mappings"):
        shutil.copytree(ROOT / "data" / part, folder / part)
    for part in ("sources", "facts"):
        (folder / part).mkdir()
        for path in (ROOT / "data" / part).glob(f"{SEED}.*"):
            shutil.copy(path, folder / part / path.name)
    # Only the agencies the seed names (the counts of the seed graph are stated for them).
    agencies = folder / "registry" / "agencies.yaml"
    registry = yaml.safe_load(agencies.read_text(encoding="utf-8"))
    registry["agencies"] = [a for a in registry["agencies"] if SEED in a["provenance"]]
    agencies.write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """The seed dataset (registry + the first source), built into a temporary build/ipgraph.trig."""
    out = tmp_path_factory.mktemp("build") / "ipgraph.trig"
    build(seed_data(tmp_path_factory.mktemp("seed-data")), ROOT / "src" / "ipgraph" / "ontology", out)
    return out


@pytest.fixture(scope="session")
def corpus_built(tmp_path_factory) -> Path:
    """The whole corpus of data/: the registry and every source."""
    out = tmp_path_factory.mktemp("corpus") / "ipgraph.trig"
    build(ROOT / "data", ROOT / "src" / "ipgraph" / "ontology", out)
    return out


@pytest.fixture(scope="session")
def dataset(built) -> Dataset:
    """The built dataset, parsed back from its TriG file."""
    return load_dataset(built)


@pytest.fixture(scope="session")
def union(dataset) -> Graph:
    """All named graphs of the built dataset as one graph."""
    graph = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        graph.add((s, p, o))
    return graph


@pytest.fixture
def data_copy(tmp_path) -> Path:
    """A writable copy of data/, ontology/ and queries/ to break in a test: returns the copy's root."""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    for folder in ("ontology", "queries"):
        shutil.copytree(ROOT / "src" / "ipgraph" / folder, tmp_path / folder)
    return tmp_path


# --- a real local SPARQL server with the Wikidata fixture (tests of ipgraph.link) ---

WIKIDATA_FIXTURE = ROOT / "tests" / "fixtures" / "wikidata" / "wikidata-cut.ttl"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unavailable(message: str):
    """A component the test needs (a server, Chromium) is missing: in CI
    (CI=true) that fails the test, elsewhere it skips it."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


#: Debian's Chromium; IPGRAPH_CHROMIUM names another.
CHROMIUM = Path(os.environ.get("IPGRAPH_CHROMIUM", "/usr/bin/chromium"))
#: Flags for headless Chromium as root, offline: no sandbox, no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
]
#: Labels that would run script if a page put them into HTML unescaped.
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "</script><script>alert(1)</script>"


class Visit:
    """A page open in a fresh browser context. Requests for which ``allowed(url)``
    is false are blocked and recorded; console errors, page errors and dialogs
    are recorded (dialogs dismissed)."""

    def __init__(self, browser, url: str, allowed, viewport=(1300, 900)) -> None:
        self.url = url
        self.allowed = allowed
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)
        self.response = self.page.goto(url)

    def _route(self, route) -> None:
        if self.allowed(route.request.url):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright (each context a fresh profile).

    Module-scoped: Playwright's sync API keeps an asyncio loop running in the
    main thread while it is open, which other tests' own event loops must not meet.
    """
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if executable is None:
        unavailable(f"browser tests need Chromium ({CHROMIUM}): apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("browser tests need the playwright package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def wikidata_endpoint():
    """`oxigraph serve` (the PyPI oxigraph package) on a free port of 127.0.0.1,
    in memory, loaded with tests/fixtures/wikidata/; yields its query URL."""
    import subprocess
    import sys
    import time

    import httpx

    binary = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(binary).is_file():
        unavailable("the oxigraph server is not installed (pip install oxigraph)")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [binary, "serve", "--bind", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/query", params={"query": "ASK {}"}, timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    unavailable(f"oxigraph serve exited: {process.stderr.read().decode()[:300]}")
                time.sleep(0.1)
        else:
            unavailable(f"oxigraph serve did not answer on {base}")
        response = httpx.post(
            f"{base}/store?default",
            content=WIKIDATA_FIXTURE.read_bytes(),
            headers={"Content-Type": "text/turtle"},
            timeout=30,
        )
        assert response.status_code in (200, 201, 204), response.text
        yield f"{base}/query"
    finally:
        process.terminate()
        process.wait(timeout=10)


#: Values a hostile endpoint answers for Jilin's ISO code (P300), by path.
HOSTILE_VALUES = {
    "/bad-datatype": {"type": "literal", "value": "CN-JL", "datatype": "not an iri"},
    "/javascript-datatype": {"type": "literal", "value": "CN-JL", "datatype": "javascript:alert(1)"},
    "/bad-lang": {"type": "literal", "value": "CN-JL", "xml:lang": "en us"},
    "/empty-lang": {"type": "literal", "value": "CN-JL", "xml:lang": ""},
    "/javascript-iri": {"type": "uri", "value": "javascript:alert(1)"},
    "/quote-iri": {"type": "uri", "value": 'http://example.org/">'},
    "/bad-bnode": {"type": "bnode", "value": "a b> ."},
    "/number-value": {"type": "literal", "value": 42},
}


@pytest.fixture
def misbehaving_endpoint():
    """A small HTTP server on 127.0.0.1 that answers SPARQL queries badly, by
    path: /429 (with Retry-After: 0), /500, /slow (sleeps 2 s), /not-json,
    /no-bindings, /bad-term, a well-formed row with a hostile value at each
    path of :data:`HOSTILE_VALUES`, /huge (65 MiB); 403 to a client whose User-Agent does not name
    ipgraph. Yields (base URL, list of paths requested)."""
    import contextlib
    import http.server
    import json
    import threading
    import time

    requested: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            requested.append(self.path)
            body, status, headers = b"", 200, {"Content-Type": "application/sparql-results+json"}
            if not self.headers.get("User-Agent", "").startswith("ipgraph/"):
                status = 403  # polite clients name themselves
            elif self.path == "/429":
                status, headers = 429, {"Retry-After": "0"}
            elif self.path == "/500":
                status = 500
            elif self.path == "/slow":
                time.sleep(2)
                body = b'{"head": {"vars": []}, "results": {"bindings": []}}'
            elif self.path == "/not-json":
                body = b"<html>Service temporarily unavailable</html>"
            elif self.path == "/no-bindings":
                body = b'{"head": {"vars": ["item"]}}'
            elif self.path == "/bad-term":
                weird = {"type": "weird", "value": "x"}
                body = json.dumps({"head": {"vars": ["item"]}, "results": {"bindings": [{"item": weird}]}}).encode()
            elif self.path in HOSTILE_VALUES:
                item = {"type": "uri", "value": "http://www.wikidata.org/entity/Q45208"}
                row = {"item": item, "iso": HOSTILE_VALUES[self.path]}
                body = json.dumps({"head": {"vars": ["item", "iso"]}, "results": {"bindings": [row]}}).encode()
            elif self.path == "/huge":
                row = {"item": {"type": "uri", "value": "http://www.wikidata.org/entity/Q45208"}}
                padding = " " * (65 << 20)
                head = '{"head": {"vars": ["item"]}, "results": {"bindings": ['
                body = (head + json.dumps(row) + padding + "]}}").encode()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def live_server():
    """Start ``ipgraph serve``'s app with uvicorn on a free port of 127.0.0.1,
    in a thread: ``live_server(store, **ServeConfig fields)`` returns its base
    URL. Every server started is stopped at the end of the session."""
    import threading
    import time

    import uvicorn

    from ipgraph.serve import ServeConfig, create_app

    running = []

    def start(store, **config) -> str:
        port = _free_port()
        app = create_app(store, ServeConfig(**config))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(200):
            if server.started:
                break
            if not thread.is_alive():
                unavailable(f"ipgraph serve did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        else:
            unavailable(f"ipgraph serve did not start on 127.0.0.1:{port}")
        running.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, _ in running:
        server.should_exit = True
    for _, thread in running:
        thread.join(timeout=10)


# --- three sources that share entities: corroborating and conflicting figures ---

#: Two test sources beside the seed. Their texts are fixtures written for the
#: tests (not articles): B corroborates the seed's 195,000 and states flows;
#: C states 2.15 million trademarks where the seed says 2.16 million, and
#: 12,000 patents granted where B says 12,345. All three name Jilin.
FIXTURE_SOURCES = {
    "fixture-2025-06-01-b": (
        "Fixture B. By the end of April 2025, the four provincial-level regions had 195,000 valid invention "
        "patents, the China National Intellectual Property Administration said. Jilin Province granted 12,345 "
        "patents in 2024. In the first five months of 2025, Liaoning Province handled more than 320 patent "
        "infringement disputes.",
        """source: fixture-2025-06-01-b
mentions:
  - id: jilin
    of: region/jilin
    quote: Jilin Province granted
  - id: liaoning
    of: region/liaoning
    quote: Liaoning Province handled
  - id: cnipa
    of: agency/cnipa
    quote: the China National Intellectual Property Administration said
observations:
  - id: fixture-b-northeast-valid-invention-patents-2025-04
    indicator: valid-invention-patents
    area: northeast-china-and-inner-mongolia
    figure: stock
    period: "2025-04"
    value: 195000
    stated_value: 195,000
    unit: patents
    reported_by: cnipa
    quote: By the end of April 2025, the four provincial-level regions had 195,000 valid invention patents
  - id: fixture-b-jilin-patents-granted-2024
    indicator: patents-granted
    area: jilin
    figure: flow
    period: "2024"
    value: 12345
    stated_value: 12,345
    unit: patents
    quote: Jilin Province granted 12,345 patents in 2024
  - id: fixture-b-liaoning-disputes-2025-01-05
    indicator: patent-infringement-disputes-handled
    area: liaoning
    figure: flow
    period: {start: 2025-01, end: 2025-05}
    qualifier: more-than
    value: 320
    stated_value: "320"
    unit: cases
    quote: In the first five months of 2025, Liaoning Province handled more than 320 patent infringement disputes
""",
    ),
    "fixture-2025-06-02-c": (
        "Fixture C. Valid registered trademarks in the four provincial-level regions reached 2.15 million by the "
        "end of April 2025. Jilin granted 12,000 patents in 2024, up 5 percent year on year.",
        """source: fixture-2025-06-02-c
mentions:
  - id: jilin
    of: region/jilin
    alt_labels: [Jilin Sheng Province]
    quote: Jilin granted
observations:
  - id: fixture-c-northeast-valid-registered-trademarks-2025-04
    indicator: valid-registered-trademarks
    area: northeast-china-and-inner-mongolia
    figure: stock
    period: "2025-04"
    value: 2150000
    stated_value: 2.15 million
    unit: trademarks
    quote: >-
      Valid registered trademarks in the four provincial-level regions reached 2.15 million by the end of
      April 2025
  - id: fixture-c-jilin-patents-granted-2024
    indicator: patents-granted
    area: jilin
    figure: flow
    period: "2024"
    value: 12000
    stated_value: 12,000
    unit: patents
    yoy_change_percent: 5
    quote: Jilin granted 12,000 patents in 2024, up 5 percent year on year
""",
    ),
}


def three_sources_data(folder: Path) -> Path:
    """The seed data plus the two fixture sources."""
    seed_data(folder)
    for slug, (text, facts) in FIXTURE_SOURCES.items():
        (folder / "sources" / f"{slug}.txt").write_text(text, encoding="utf-8")
        (folder / "sources" / f"{slug}.yaml").write_text(
            f"headline: {slug}\npublisher: ipgraph tests\ndate_published: {slug[8:18]}\n"
            f"url: https://example.org/{slug}\nlanguage: en\n",
            encoding="utf-8",
        )
        (folder / "facts" / f"{slug}.yaml").write_text(facts, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def three_built(tmp_path_factory) -> Path:
    """The seed and two fixture sources that share its entities, built."""
    out = tmp_path_factory.mktemp("three") / "ipgraph.trig"
    build(three_sources_data(tmp_path_factory.mktemp("three-data")), ROOT / "src" / "ipgraph" / "ontology", out)
    return out
