"""``ipgraph serve`` picks up a new build without a restart: it notices that
the dataset file was replaced (or is told by SIGHUP), loads it into a new
store while it goes on answering from the old one, swaps in one step, and
lets requests in flight finish on the graph they started on. Tested under
load on a real uvicorn on 127.0.0.1, on both stores, and with the real
command and a real SIGHUP.
"""

from __future__ import annotations

import email.utils
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from ipgraph.store import open_store

pytestmark = pytest.mark.server

MARKER = "urn:ipgraph:test:build"
NUMBER = "urn:ipgraph:test:number"
CHEAP = f"SELECT ?n WHERE {{ <{MARKER}> <{NUMBER}> ?n }}"


def write_build(built: Path, target: Path, number: int) -> None:
    """The seed build plus a graph that says which build this is, written
    beside ``target`` and renamed over it (as ``ipgraph build`` does)."""
    extra = f'\n<urn:ipgraph:test:graph> {{ <{MARKER}> <{NUMBER}> "{number}" . }}\n'
    temporary = target.with_name(f".{target.name}.{number}.tmp")
    temporary.write_bytes(built.read_bytes() + extra.encode())
    os.replace(temporary, target)


def build_number(base: str) -> int | None:
    response = httpx.get(f"{base}/sparql", params={"query": CHEAP}, timeout=30)
    response.raise_for_status()
    rows = response.json()["results"]["bindings"]
    return int(rows[0]["n"]["value"]) if rows else None


class Hammer:
    """Threads that keep asking: a cheap query, an entity page, and a
    streamed download of the whole dataset (each checked to be one build's)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.stop = threading.Event()
        self.failures: list[str] = []
        #: builds seen, in order, by each asking thread (one list per thread: appends of two threads interleave)
        self.seen: dict[str, list[int]] = {"query": [], "query-2": [], "download": []}
        self.requests = 0
        self.threads = [
            threading.Thread(target=self._queries, args=("query",), daemon=True),
            threading.Thread(target=self._queries, args=("query-2",), daemon=True),
            threading.Thread(target=self._pages, daemon=True),
            threading.Thread(target=self._downloads, daemon=True),
        ]

    def __enter__(self) -> Hammer:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _run(self, ask) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.stop.is_set():
                try:
                    ask(client)
                    self.requests += 1
                except Exception as error:  # every failure is the test's business
                    self.failures.append(f"{type(error).__name__}: {error}")

    def _queries(self, name: str) -> None:
        def ask(client):
            response = client.get("/sparql", params={"query": CHEAP})
            if response.status_code != 200:
                raise AssertionError(f"/sparql {response.status_code}: {response.text[:200]}")
            self.seen[name].append(int(response.json()["results"]["bindings"][0]["n"]["value"]))

        self._run(ask)

    def _pages(self) -> None:
        def ask(client):
            response = client.get("/id/region/jilin.html")
            if response.status_code != 200 or '<h1 id="title">Jilin</h1>' not in response.text:
                raise AssertionError(f"/id/region/jilin.html {response.status_code}: {response.text[:200]}")

        self._run(ask)

    def _downloads(self) -> None:
        def ask(client):
            response = client.get("/data/ipgraph.nq")
            if response.status_code != 200:
                raise AssertionError(f"/data/ipgraph.nq {response.status_code}")
            numbers = [line for line in response.text.split("\n") if line.startswith(f"<{MARKER}>")]
            if len(numbers) != 1:  # a download started on one build ends on it
                raise AssertionError(f"a download holds {len(numbers)} build markers")
            self.seen["download"].append(int(numbers[0].split('"')[1]))

        self._run(ask)


@pytest.mark.parametrize("kind", ["oxigraph", "memory"])
def test_reload_under_load_fails_no_request(live_server, built, tmp_path, kind):
    dataset = tmp_path / "ipgraph.trig"
    write_build(built, dataset, 0)
    base = live_server(open_store(dataset, kind), dataset=dataset, store_kind=kind, watch=0.1)
    assert build_number(base) == 0
    builds = 4
    with Hammer(base) as hammer:
        time.sleep(0.3)
        for number in range(1, builds + 1):
            write_build(built, dataset, number)
            deadline = time.monotonic() + 30
            while (not hammer.seen["query"] or hammer.seen["query"][-1] != number) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert hammer.seen["query"][-1] == number, f"build {number} was not picked up"
            time.sleep(0.3)  # keep asking on the new build for a while
    assert hammer.failures == []
    assert hammer.requests > 50
    # each thread saw the builds in order (a build, once seen, is never replaced by an older one)
    for name, seen in hammer.seen.items():
        assert seen and seen == sorted(seen), name
    assert set(hammer.seen["query"]) == set(range(builds + 1))  # every one of them
    health = httpx.get(f"{base}/health").json()
    assert health["build"] == builds


def test_a_broken_build_is_not_served_and_the_next_good_one_is(live_server, built, tmp_path, caplog):
    dataset = tmp_path / "ipgraph.trig"
    write_build(built, dataset, 0)
    base = live_server(open_store(dataset, "oxigraph"), dataset=dataset, watch=0.1)
    broken = tmp_path / ".broken"
    broken.write_text("<urn:a> <urn:b> .\n", encoding="utf-8")
    os.replace(broken, dataset)
    deadline = time.monotonic() + 30
    while "reload of" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "reload of" in caplog.text and "failed" in caplog.text
    assert build_number(base) == 0  # still the last good build
    write_build(built, dataset, 7)
    deadline = time.monotonic() + 30
    while build_number(base) != 7 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert build_number(base) == 7


def test_cli_reloads_on_sighup(built, tmp_path):
    """The real command with --watch 0: a new build is served only once the
    server is told, by SIGHUP; documents then carry the new build's time."""
    dataset = tmp_path / "ipgraph.trig"
    write_build(built, dataset, 0)
    # Port 0: the system picks a free port (no race with other servers); uvicorn's log names it.
    command = [sys.executable, "-m", "ipgraph", "serve", "--dataset", str(dataset), "--port", "0",
               "--watch", "0", "--views", str(tmp_path / "no-views")]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        base = None
        deadline = time.monotonic() + 60
        while base is None and time.monotonic() < deadline:
            assert process.poll() is None, "".join(lines)
            for line in list(lines):
                match = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
                if match:
                    base = match[1]
            time.sleep(0.1)
        assert base is not None, "".join(lines)
        assert build_number(base) == 0
        before = httpx.get(f"{base}/id/region/jilin.nt").headers
        write_build(built, dataset, 1)
        time.sleep(1.5)
        assert build_number(base) == 0  # not watching: nothing changes by itself
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 30
        while build_number(base) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert build_number(base) == 1
        assert process.poll() is None  # SIGHUP reloads; it does not stop the server
        after = httpx.get(f"{base}/id/region/jilin.nt").headers
        assert after["etag"] == before["etag"]  # Jilin's document is the same content...
        modified = email.utils.parsedate_to_datetime(after["last-modified"]).timestamp()
        assert modified == int(dataset.stat().st_mtime)  # ...of the new build
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        reader.join(timeout=10)
    err = "".join(lines)
    assert "SIGHUP" in err and "reloaded" in err, err


def test_a_store_on_disk_is_left_alone_and_the_new_build_served_from_memory(live_server, built, tmp_path):
    dataset = tmp_path / "ipgraph.trig"
    write_build(built, dataset, 0)
    folder = tmp_path / "oxigraph"
    base = live_server(open_store(dataset, "oxigraph", folder), dataset=dataset, watch=0.1)
    mark = (folder / "ipgraph-source.json").read_text(encoding="utf-8")
    write_build(built, dataset, 1)
    deadline = time.monotonic() + 30
    while build_number(base) != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert build_number(base) == 1
    assert httpx.get(f"{base}/id/region/jilin.html").status_code == 200
    assert (folder / "ipgraph-source.json").read_text(encoding="utf-8") == mark  # untouched while served
