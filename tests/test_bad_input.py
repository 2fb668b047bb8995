"""The bad-input corpus (issue 11): every command fed what a careless or
hostile user might give it. Each case must end in ONE message (no
traceback), exit code 2, and leave the files it was given, their folders and
the output path exactly as they were, with no temporary file left.

The cases are data: ``(id, argv, setup)``. ``argv`` is formatted with the
workspace's paths (``{ws}``, ``{ds}`` the built dataset, ``{file}`` a regular
file, ``{dir}`` a directory named like a file ...); ``setup`` may break a copy
of the data first. ``IPGRAPH_WRITE_DOCS=1 pytest tests/test_bad_input.py``
writes every case and its message to ``docs/bad-input.md``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT, seed_data
from ipgraph.cli import main
from ipgraph.terminal import printable

DOCS = ROOT / "docs" / "bad-input.md"
CLOSED = "http://127.0.0.1:9/sparql"  # the discard port: nothing listens
NOCACHE = ["--no-cache", "--endpoint", CLOSED]

#: The dataset stand-ins every command that reads a dataset is fed.
DATASETS = {
    "a directory": "{dir}.trig",
    "a symlink loop": "{ws}/loop.trig",
    "/dev/zero (a symlink to it)": "{ws}/zero.trig",
    "a FIFO": "{ws}/fifo.trig",
    "an empty file": "{ws}/empty.trig",
    "a sparse 65 MiB file": "{ws}/huge.trig",
    "a file that is not UTF-8": "{ws}/latin1.trig",
    "a truncated TriG file": "{ws}/truncated.trig",
    "a missing file": "{ws}/missing.trig",
    "a name with control characters": "{ws}/esc\x1b[31m\r\x07.trig",
    "an unknown suffix": "{file}",
}

#: Output paths that cannot be written.
OUTS = {
    "a path under a regular file": "{file}/out.{ext}",
    "the device /dev/full": "/dev/full",
    "a path under /proc": "/proc/version/out.{ext}",
    "an existing directory": "{dir}",
}

Case = tuple[str, list[str], Callable[[Path], None] | None]


def _dataset_cases() -> list[Case]:
    commands = {
        "validate": lambda d: ["validate", d],
        "export": lambda d: ["export", "--format", "nt", "--out", "{ws}/out/x.nt", "--dataset", d],
        "query": lambda d: ["query", "growth", "--dataset", d],
        "query --store oxigraph": lambda d: ["query", "growth", "--store", "oxigraph", "--dataset", d],
        "project": lambda d: ["project", "overview", "--out", "{ws}/out/x.graphml", "--dataset", d],
        "stats": lambda d: ["stats", "overview", "--dataset", d],
        "view": lambda d: ["view", "overview", "--out", "{ws}/out/x.html", "--dataset", d],
        "serve --get": lambda d: ["serve", "--store", "memory", "--get", "/", "--dataset", d],
        "link reconcile": lambda d: ["link", "reconcile", *NOCACHE, "--out", "{ws}/out/c.sssom.tsv", "--dataset", d],
        "link enrich": lambda d: ["link", "enrich", *NOCACHE, "--out-dir", "{ws}/out", "--dataset", d],
    }
    return [
        (f"{name}: dataset is {what}", make(path), None)
        for name, make in commands.items()
        for what, path in DATASETS.items()
    ]


def _out_cases() -> list[Case]:
    commands = {
        "build": (lambda o: ["build", "--data", "{data}", "--out", o], "trig"),
        "export nt": (lambda o: ["export", "--format", "nt", "--dataset", "{ds}", "--out", o], "nt"),
        "export trig": (lambda o: ["export", "--format", "trig", "--dataset", "{ds}", "--out", o], "trig"),
        "export jsonld": (lambda o: ["export", "--format", "jsonld", "--dataset", "{ds}", "--out", o], "jsonld"),
        "project": (lambda o: ["project", "overview", "--dataset", "{ds}", "--out", o], "graphml"),
        "view": (lambda o: ["view", "overview", "--dataset", "{ds}", "--out", o], "html"),
        "view --all": (lambda o: ["view", "--all", "--dataset", "{ds}", "--out", o], "d"),
    }
    cases = []
    for name, (make, ext) in commands.items():
        for what, out in OUTS.items():
            if name == "view --all" and what == "an existing directory":
                continue  # the folder --all writes into
            setup = _seed if name == "build" else None
            cases.append((f"{name}: --out is {what}", make(out.replace("{ext}", ext)), setup))
    return cases


def _seed(ws: Path) -> None:
    seed_data(ws / "data")


def _edit(relative: str, old: str, new: str) -> Callable[[Path], None]:
    """A setup: the seed data with ``old`` replaced by ``new`` in one file."""

    def setup(ws: Path) -> None:
        _seed(ws)
        path = ws / "data" / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return setup


def _replace_file(relative: str, how: str) -> Callable[[Path], None]:
    """A setup: the seed data with one file replaced by a bad stand-in."""

    def setup(ws: Path) -> None:
        _seed(ws)
        path = ws / "data" / relative
        assert path.is_file(), path
        path.unlink()
        if how == "dir":
            path.mkdir()
        elif how == "loop":
            path.symlink_to(path.name)
        elif how == "zero":
            path.symlink_to("/dev/zero")
        elif how == "fifo":
            os.mkfifo(path)
        elif how == "empty":
            path.touch()
        elif how == "huge":
            with path.open("wb") as stream:
                stream.truncate(65 << 20)
        elif how == "latin1":
            path.write_bytes("label: caf\u00e9\n".encode("latin-1"))
        elif how == "nul":
            path.write_bytes(b"regions:\n  - id: a\x00b\n")

    return setup


SEED_FACTS = "facts/xinhua-2025-05-31-northeast-ip-protection.yaml"
SEED_SOURCE = "sources/xinhua-2025-05-31-northeast-ip-protection.txt"
WIKIDATA_TSV = "mappings/wikidata.sssom.tsv"
JILIN = "region:jilin\tJilin\towl:sameAs\twd:Q45208\tJilin\tsemapv:ManualMappingCuration"


def _build_cases() -> list[Case]:
    build = ["build", "--data", "{data}", "--out", "{ws}/out/ipgraph.trig"]
    cases: list[Case] = [
        ("build: --data is a regular file", ["build", "--data", "{file}", "--out", "{ws}/out/x.trig"], None),
        ("build: --data is missing", ["build", "--data", "{ws}/nothing", "--out", "{ws}/out/x.trig"], None),
        ("build: --data is a symlink loop", ["build", "--data", "{ws}/loop", "--out", "{ws}/out/x.trig"], None),
        ("build: --ontology is a regular file", [*build, "--ontology", "{file}"], _seed),
        ("build: --ontology has no shapes", [*build, "--ontology", "{dir}"], _seed),
    ]
    for relative, kinds in (
        (SEED_FACTS, ("dir", "loop", "zero", "fifo", "empty", "huge", "latin1", "nul")),
        (SEED_SOURCE, ("dir", "loop", "zero", "fifo", "empty", "huge", "latin1", "nul")),
        ("registry/regions.yaml", ("dir", "loop", "zero", "empty", "latin1")),
        (WIKIDATA_TSV, ("dir", "loop", "zero", "fifo", "empty", "huge", "latin1", "nul")),
    ):
        for kind in kinds:
            cases.append((f"build: {relative.split('/')[0]} file is {kind}", build, _replace_file(relative, kind)))
    edits = {
        "a language tag 'en us'": ("", "", None),
        "a mapping object 'javascript:' IRI": (WIKIDATA_TSV, "wd:Q45208", "<javascript:alert(1)>"),
        "a mapping object CURIE of an unknown prefix 'javascript:'": (WIKIDATA_TSV, "wd:Q45208", "javascript:alert(1)"),
        "a curie_map IRI containing '\">'": (
            WIKIDATA_TSV,
            "#  wd: http://www.wikidata.org/entity/",
            '#  wd: http://x/">',
        ),
        "a curie_map 'javascript:' IRI": (
            WIKIDATA_TSV,
            "#  wd: http://www.wikidata.org/entity/",
            "#  wd: 'javascript:alert(1)/'",
        ),
        "a mapping subject with control characters": (WIKIDATA_TSV, "region:jilin\t", "region:ji\x1b[31mlin\t"),
        "a mapping predicate with a space": (WIKIDATA_TSV, "owl:sameAs\twd:Q45208", "owl:same As\twd:Q45208"),
        "a fact id with control characters": (SEED_FACTS, "  - id: ", "  - id: \x1b[2J"),
        "a registry id containing '\">'": ("registry/regions.yaml", "  - id: jilin", '  - id: jilin">'),
        "a registry id with a space": ("registry/regions.yaml", "  - id: jilin", "  - id: ji lin"),
    }
    for what, (relative, old, new) in edits.items():
        setup = _language("en us") if new is None else _edit(relative, old, new)
        cases.append((f"build: {what}", build, setup))
    cases.append(("build: an empty language tag", build, _language('""')))
    for what, value in (("NaN", "nan"), ("inf", "inf"), ("negative", "-0.5"), ("above 1", "1.5"), ("text", "high")):
        cases.append((f"build: mapping confidence {what}", build, _confidence(value)))
    return cases


def _language(tag: str) -> Callable[[Path], None]:
    def setup(ws: Path) -> None:
        _seed(ws)
        path = ws / "data" / "sources" / "xinhua-2025-05-31-northeast-ip-protection.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"(?m)^language: .*$", f"language: {tag}", text), encoding="utf-8")

    return setup


def _confidence(value: str) -> Callable[[Path], None]:
    """A setup: a confidence column in the curated Wikidata mappings, ``value`` on Jilin's row."""

    def setup(ws: Path) -> None:
        _seed(ws)
        path = ws / "data" / WIKIDATA_TSV
        lines = path.read_text(encoding="utf-8").split("\n")
        out = []
        for line in lines:
            if line.startswith("subject_id\t"):
                line += "\tconfidence"
            elif line and not line.startswith("#"):
                line += "\t" + (value if line.startswith("region:jilin\t") else "1.0")
            out.append(line)
        path.write_text("\n".join(out), encoding="utf-8")

    return setup


def _proposed(
    body: str,
    header: str = "#curie_map:\n#  region: https://w3id.org/ipgraph/id/region/\n"
    "#  wd: http://www.wikidata.org/entity/\n#  owl: http://www.w3.org/2002/07/owl#\n"
    "#  semapv: https://w3id.org/semapv/vocab/\n",
) -> Callable[[Path], None]:
    """A setup: a proposed SSSOM file in the workspace (``{ws}/proposed.sssom.tsv``)."""

    def setup(ws: Path) -> None:
        columns = (
            "subject_id\tsubject_label\tpredicate_id\tobject_id\tobject_label\tmapping_justification\tconfidence\n"
        )
        (ws / "proposed.sssom.tsv").write_text(header + columns + body, encoding="utf-8")

    return setup


def _option_cases() -> list[Case]:
    q = ["query", "growth", "--dataset", "{ds}"]
    cases: list[Case] = []
    for value in ("nan", "inf", "-1", "0", "ten"):
        cases.append((f"query: --timeout {value}", [*q, "--timeout", value], None))
        cases.append(
            (f"serve --get: --timeout {value}", ["serve", "--get", "/", "--dataset", "{ds}", "--timeout", value], None)
        )
        cases.append(
            (
                f"link enrich: --timeout {value}",
                ["link", "enrich", *NOCACHE, "--dataset", "{ds}", "--out-dir", "{ws}/out", "--timeout", value],
                None,
            )
        )
        cases.append(
            (
                f"link reconcile: --timeout {value}",
                ["link", "reconcile", *NOCACHE, "--dataset", "{ds}", "--out", "{ws}/out/c.tsv", "--timeout", value],
                None,
            )
        )
    for value in ("0", "-5", "nan", "1e3"):
        cases.append((f"query: --limit {value}", [*q, "--limit", value], None))
    for value in ("0", "-1"):
        cases.append((f"query: --max-bytes {value}", [*q, "--max-bytes", value], None))
        cases.append(
            (
                f"serve --get: --max-rows {value}",
                ["serve", "--get", "/", "--dataset", "{ds}", "--max-rows", value],
                None,
            )
        )
    for value in ("-1", "nan", "inf", "1.5"):
        cases.append(
            (
                f"project: --hops {value}",
                ["project", "entity", "region:jilin", "--hops", value, "--dataset", "{ds}", "--out", "{ws}/out/x.json"],
                None,
            )
        )
        cases.append(
            (f"stats: --hops {value}", ["stats", "entity", "region:jilin", "--hops", value, "--dataset", "{ds}"], None)
        )
    cases += [
        ("stats: --top 0", ["stats", "overview", "--top", "0", "--dataset", "{ds}"], None),
        (
            "view: --physics-limit -1",
            ["view", "overview", "--physics-limit", "-1", "--dataset", "{ds}", "--out", "{ws}/out/x.html"],
            None,
        ),
        (
            "link reconcile: --retries -1",
            ["link", "reconcile", *NOCACHE, "--retries", "-1", "--dataset", "{ds}", "--out", "{ws}/out/c.tsv"],
            None,
        ),
        (
            "link enrich: --endpoint javascript:",
            [
                "link",
                "enrich",
                "--no-cache",
                "--endpoint",
                "javascript:alert(1)",
                "--dataset",
                "{ds}",
                "--out-dir",
                "{ws}/out",
            ],
            None,
        ),
        (
            "link enrich: --endpoint containing '\">'",
            [
                "link",
                "enrich",
                "--no-cache",
                "--endpoint",
                'http://127.0.0.1:9/">',
                "--dataset",
                "{ds}",
                "--out-dir",
                "{ws}/out",
            ],
            None,
        ),
        (
            "link enrich: --out-dir is a regular file",
            ["link", "enrich", *NOCACHE, "--dataset", "{ds}", "--out-dir", "{file}"],
            None,
        ),
        ("serve --get: --watch nan", ["serve", "--get", "/", "--dataset", "{ds}", "--watch", "nan"], None),
        ("serve --get: --watch -1", ["serve", "--get", "/", "--dataset", "{ds}", "--watch", "-1"], None),
        (
            "serve --get: --base javascript:",
            ["serve", "--get", "/", "--dataset", "{ds}", "--base", "javascript:x/"],
            None,
        ),
        (
            "serve --get: --base containing '\">'",
            ["serve", "--get", "/", "--dataset", "{ds}", "--base", 'https://x/">/'],
            None,
        ),
        ("serve --get: --port 70000", ["serve", "--get", "/", "--dataset", "{ds}", "--port", "70000"], None),
        (
            "serve --get: --store-path is a regular file",
            ["serve", "--get", "/", "--dataset", "{ds}", "--store-path", "{file}"],
            None,
        ),
        (
            "serve --get: --store-path with a truncated marker",
            ["serve", "--get", "/", "--dataset", "{ds}", "--store-path", "{ws}/store"],
            _store("truncated"),
        ),
        (
            "query: --store-path with a truncated marker",
            [*q, "--store", "oxigraph", "--store-path", "{ws}/store"],
            _store("truncated"),
        ),
        (
            "query: --store-path with a marker that is a directory",
            [*q, "--store", "oxigraph", "--store-path", "{ws}/store"],
            _store("dir"),
        ),
        (
            "query: --store-path with a marker that is not UTF-8",
            [*q, "--store", "oxigraph", "--store-path", "{ws}/store"],
            _store("latin1"),
        ),
        ("query: --store-path is a regular file", [*q, "--store", "oxigraph", "--store-path", "{file}"], None),
        ("query: --param without '='", [*q, "--param", "indicator"], None),
        (
            "query: an IRI parameter containing '\">'",
            ["query", "entity", "--dataset", "{ds}", "-p", 'entity=<http://x/">'],
            None,
        ),
        (
            "query: an IRI parameter 'javascript:'",
            ["query", "entity", "--dataset", "{ds}", "-p", "entity=<javascript:alert(1)>"],
            None,
        ),
        ("query: a language tag 'en us'", ["query", "data-quality", "--dataset", "{ds}", "-p", "lang=en us"], None),
        ("query: an empty language tag", ["query", "data-quality", "--dataset", "{ds}", "-p", "lang="], None),
        (
            "query: a label parameter with control characters",
            ["query", "entity", "--dataset", "{ds}", "-p", "entity=\x1b[31mJilin\x07"],
            None,
        ),
        (
            "query: an unknown named query with control characters",
            ["query", "gro\x1b[2Jwth", "--dataset", "{ds}"],
            None,
        ),
        (
            "project: an entity with control characters",
            ["project", "entity", "\x1b]0;x\x07", "--dataset", "{ds}", "--out", "{ws}/out/x.json"],
            None,
        ),
        (
            "project: a projection name with '../'",
            ["project", "../../etc/passwd", "--dataset", "{ds}", "--out", "{ws}/out/x.json"],
            None,
        ),
        (
            "stats: an unknown projection with control characters",
            ["stats", "over\rview\x1b[K", "--dataset", "{ds}"],
            None,
        ),
        ("validate: --shapes is a directory", ["validate", "{ds}", "--shapes", "{dir}"], None),
        ("validate: --shapes is not UTF-8", ["validate", "{ds}", "--shapes", "{ws}/latin1.ttl"], None),
        ("validate: --shapes is /dev/zero", ["validate", "{ds}", "--shapes", "/dev/zero"], None),
        ("validate: --datacube is a regular file", ["validate", "{ds}", "--datacube", "{file}"], None),
        (
            "export: --context is a directory",
            ["export", "--format", "jsonld", "--dataset", "{ds}", "--out", "{ws}/out/x.jsonld", "--context", "{dir}"],
            None,
        ),
        (
            "export: --context is not UTF-8",
            [
                "export",
                "--format",
                "jsonld",
                "--dataset",
                "{ds}",
                "--out",
                "{ws}/out/x.jsonld",
                "--context",
                "{ws}/latin1.ttl",
            ],
            None,
        ),
        (
            "export: --context is /dev/zero",
            [
                "export",
                "--format",
                "jsonld",
                "--dataset",
                "{ds}",
                "--out",
                "{ws}/out/x.jsonld",
                "--context",
                "/dev/zero",
            ],
            None,
        ),
    ]
    for what, path in (
        ("a directory", "{dir}.rq"),
        ("a symlink loop", "{ws}/loop.rq"),
        ("/dev/zero (a symlink to it)", "{ws}/zero.rq"),
        ("a FIFO", "{ws}/fifo.rq"),
        ("an empty file", "{ws}/empty.rq"),
        ("a sparse 65 MiB file", "{ws}/huge.rq"),
        ("a file that is not UTF-8", "{ws}/latin1.rq"),
        ("a file with a NUL", "{ws}/nul.rq"),
        ("a missing file", "{ws}/missing.rq"),
    ):
        cases.append((f"query: the query file is {what}", ["query", path, "--dataset", "{ds}"], None))
    accept = ["link", "accept", "--all", "--into", "{ws}/out/into.sssom.tsv"]
    for what, path in (
        ("a directory", "{dir}"),
        ("a symlink loop", "{ws}/loop.trig"),
        ("/dev/zero", "/dev/zero"),
        ("a FIFO", "{ws}/fifo.trig"),
        ("an empty file", "{ws}/empty.trig"),
        ("a sparse 65 MiB file", "{ws}/huge.trig"),
        ("a file that is not UTF-8", "{ws}/latin1.trig"),
        ("a missing file", "{ws}/missing.tsv"),
    ):
        cases.append((f"link accept: --proposed is {what}", [*accept, "--proposed", path], None))
    good = f"{JILIN}\t0.9\n"
    proposed = [*accept, "--proposed", "{ws}/proposed.sssom.tsv"]
    cases += [
        (
            "link accept: a 'javascript:' object IRI",
            proposed,
            _proposed(good.replace("wd:Q45208", "<javascript:alert(1)>")),
        ),
        (
            "link accept: an object CURIE 'javascript:alert(1)'",
            proposed,
            _proposed(good.replace("wd:Q45208", "javascript:alert(1)")),
        ),
        ("link accept: confidence NaN", proposed, _proposed(good.replace("0.9", "nan"))),
        ("link accept: confidence inf", proposed, _proposed(good.replace("0.9", "inf"))),
        ("link accept: confidence -1", proposed, _proposed(good.replace("0.9", "-1"))),
        (
            "link accept: a curie_map IRI containing '\">'",
            proposed,
            _proposed(good, '#curie_map:\n#  region: https://x/">\n#  wd: http://www.wikidata.org/entity/\n'),
        ),
        (
            "link accept: a label with control characters",
            proposed,
            _proposed(good.replace("\tJilin\t", "\tJi\x1b[31m\t")),
        ),
        (
            "link accept: --into is under a regular file",
            ["link", "accept", "--all", "--proposed", "{ws}/proposed.sssom.tsv", "--into", "{file}/into.tsv"],
            _proposed(good),
        ),
        (
            "link accept: --into is /dev/full",
            ["link", "accept", "--all", "--proposed", "{ws}/proposed.sssom.tsv", "--into", "/dev/full"],
            _proposed(good),
        ),
        ("link accept: --min-confidence nan", [*proposed, "--min-confidence", "nan"], _proposed(good)),
        ("link accept: --min-confidence inf", [*proposed, "--min-confidence", "inf"], _proposed(good)),
        ("link accept: --min-confidence 2", [*proposed, "--min-confidence", "2"], _proposed(good)),
        (
            "link accept: a subject with control characters",
            [
                "link",
                "accept",
                "region:\x1b[31mjilin",
                "--proposed",
                "{ws}/proposed.sssom.tsv",
                "--into",
                "{ws}/out/into.tsv",
            ],
            _proposed(good),
        ),
        (
            "link reconcile: --mappings is a regular file",
            ["link", "reconcile", *NOCACHE, "--dataset", "{ds}", "--mappings", "{file}", "--out", "{ws}/out/c.tsv"],
            None,
        ),
        (
            "link reconcile: --out is under a regular file",
            ["link", "reconcile", *NOCACHE, "--dataset", "{ds}", "--out", "{file}/c.tsv"],
            None,
        ),
    ]
    return cases


def _store(how: str) -> Callable[[Path], None]:
    """A setup: an Oxigraph store folder whose marker file is broken."""

    def setup(ws: Path) -> None:
        import pyoxigraph

        folder = ws / "store"
        store = pyoxigraph.Store(str(folder))
        store.flush()
        del store
        mark = folder / "ipgraph-source.json"
        if how == "truncated":
            mark.write_text('[{"file": "', encoding="utf-8")
        elif how == "dir":
            mark.mkdir()
        else:
            mark.write_bytes(b'[{"file": "caf\xe9"}]')

    return setup


CASES: list[Case] = _dataset_cases() + _out_cases() + _build_cases() + _option_cases()
#: Cases whose expected exit code is not 2.
EXIT_CODES: dict[str, int] = {}
RESULTS: dict[str, tuple[int, str]] = {}


def test_corpus_is_large_and_ids_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) >= 120
    assert len(set(ids)) == len(ids)


@pytest.fixture(scope="module")
def base(built, tmp_path_factory) -> Path:
    """The read-only inputs every case may point at."""
    root = tmp_path_factory.mktemp("bad-input-base")
    shutil.copy(built, root / "ipgraph.trig")
    return root


def _workspace(ws: Path, base: Path) -> dict[str, str]:
    shutil.copy(base / "ipgraph.trig", ws / "ipgraph.trig")
    (ws / "adir").mkdir()
    (ws / "adir.trig").mkdir()
    (ws / "adir.rq").mkdir()
    (ws / "afile").write_text("a regular file\n", encoding="utf-8")
    (ws / "out").mkdir()
    for suffix in ("trig", "rq", "ttl"):
        (ws / f"loop.{suffix}").symlink_to(f"loop.{suffix}")
        (ws / f"zero.{suffix}").symlink_to("/dev/zero")
        os.mkfifo(ws / f"fifo.{suffix}")
        (ws / f"empty.{suffix}").touch()
        with (ws / f"huge.{suffix}").open("wb") as stream:
            stream.truncate(65 << 20)
        (ws / f"latin1.{suffix}").write_bytes(b'<http://a/s> <http://a/p> "caf\xe9" .\n')
        (ws / f"nul.{suffix}").write_bytes(b"SELECT * WHERE { ?s ?p ?o }\x00\n")
    (ws / "loop").symlink_to("loop")
    data = (ws / "ipgraph.trig").read_bytes()
    (ws / "truncated.trig").write_bytes(data[: len(data) // 2])
    return {
        "ws": str(ws),
        "ds": str(ws / "ipgraph.trig"),
        "file": str(ws / "afile"),
        "dir": str(ws / "adir"),
        "data": str(ws / "data"),
    }


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: its type, size, mode, modification time and
    (for small files) content."""
    seen = {}
    for folder, names, files in os.walk(root):
        for name in names + files:
            path = Path(folder, name)
            info = path.lstat()
            content = None
            if stat.S_ISREG(info.st_mode) and info.st_size < 1 << 20:
                content = path.read_bytes()
            seen[str(path.relative_to(root))] = (
                stat.S_IFMT(info.st_mode),
                info.st_size,
                info.st_mode,
                info.st_mtime_ns,
                content,
            )
    return seen


def _alarm(signum, frame):
    raise TimeoutError("the command hung (reading a FIFO or a device?)")


def _message(output: str, ws: str) -> str:
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    return errors[0].replace(ws, "WS").replace(str(ROOT), "REPO")


@pytest.mark.parametrize(("case_id", "argv", "setup"), CASES, ids=[case[0] for case in CASES])
def test_bad_input(case_id, argv, setup, base, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    paths = _workspace(ws, base)
    if setup is not None:
        setup(ws)
    args = [arg.format(**paths) for arg in argv]
    before = _snapshot(ws)
    devices = {p: os.stat(p).st_rdev for p in ("/dev/full", "/dev/zero")}
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(60)
    try:
        result = CliRunner().invoke(main, args, catch_exceptions=True)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{output}"
    )
    expected = EXIT_CODES.get(case_id, 2)
    assert result.exit_code == expected, output
    message = _message(result.stderr, str(ws))
    assert "Conforms" not in result.stdout
    for raw in ("\x1b", "\r", "\x07"):
        assert raw not in result.stderr, repr(result.stderr)
    assert _snapshot(ws) == before, "the command changed files on disk"
    assert {p: os.stat(p).st_rdev for p in devices} == devices
    assert all(Path(p).exists() and not Path(p).is_file() for p in devices)
    RESULTS[case_id] = (result.exit_code, message)


def _cell(text: str) -> str:
    """A Markdown table cell: control characters escaped, bars escaped."""
    return printable(text).replace("|", "\\|")


def test_write_docs():
    """``docs/bad-input.md`` lists every case; rewritten with IPGRAPH_WRITE_DOCS=1."""
    if os.environ.get("IPGRAPH_WRITE_DOCS") == "1":
        assert len(RESULTS) == len(CASES), "run the whole corpus to write the docs"
        lines = [
            "# Bad inputs and their messages",
            "",
            "Generated by `IPGRAPH_WRITE_DOCS=1 pytest tests/test_bad_input.py` (issue 11): every",
            "case of the corpus, its exit code and the one message it gives. `WS` is the",
            "test's workspace; each case leaves it exactly as it was.",
            "",
            f"{len(RESULTS)} cases.",
            "",
            "| case | exit | message |",
            "|---|---|---|",
        ]
        for case_id, (code, message) in RESULTS.items():
            lines.append(f"| {_cell(case_id)} | {code} | {_cell(message)} |")
        DOCS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = DOCS.read_text(encoding="utf-8")
    missing = [case[0] for case in CASES if _cell(case[0]) not in text]
    assert not missing


# --- nothing lost: a killed writer, a failed write, the mode of a new file ---


def test_a_killed_writer_leaves_a_temporary_that_the_next_build_removes(tmp_path):
    import subprocess
    import sys
    import time

    import pyoxigraph

    out = tmp_path / "build" / "ipgraph.trig"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from ipgraph.build import write_atomic; "
            "write_atomic(sys.argv[1], b'# a comment line\\n' * (24 << 20))",
            str(out),
        ]
    )
    temporaries: list[Path] = []
    deadline = time.monotonic() + 60
    while not temporaries and time.monotonic() < deadline and writer.poll() is None:
        temporaries = list(out.parent.glob(".ipgraph.trig.*.tmp")) if out.parent.exists() else []
        time.sleep(0.005)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert temporaries, "the writer never created its temporary file"
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir()] == [temporaries[0].name]
    assert f".{writer.pid}." in temporaries[0].name
    # The next build of the same output removes the dead writer's temporary.
    result = CliRunner().invoke(
        main, ["build", "--data", str(seed_data(tmp_path / "data")), "--out", str(out)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.parent.iterdir()) == ["ipgraph.parts", "ipgraph.trig"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    store = pyoxigraph.Store()
    store.load(out.read_bytes(), format=pyoxigraph.RdfFormat.TRIG)
    assert len(store) > 1000


def test_a_live_writers_temporary_is_kept(tmp_path):
    from ipgraph.build import remove_stale_temporaries, write_atomic

    out = tmp_path / "x.trig"
    mine = tmp_path / f".x.trig.{os.getpid()}.0123456789ab.tmp"
    mine.write_bytes(b"")
    write_atomic(out, b"<http://a/s> <http://a/p> <http://a/o> .\n", rdf_format="trig")
    assert mine.exists()
    assert remove_stale_temporaries(out) == []


def test_a_write_that_does_not_parse_back_changes_nothing(tmp_path):
    from ipgraph.build import write_atomic
    from ipgraph.errors import OutputError

    out = tmp_path / "x.nt"
    out.write_bytes(b"<http://a/s> <http://a/p> <http://a/o> .\n")
    before = _snapshot(tmp_path)
    with pytest.raises(OutputError, match="does not parse back"):
        write_atomic(out, '<http://a/s> <http://a/p> "a\u2028b\n" .\n'.encode(), rdf_format="nt")
    assert _snapshot(tmp_path) == before


def test_written_files_get_the_umask_mode(tmp_path, built):
    mask = os.umask(0o022)
    try:
        for fmt in ("nt", "ttl", "trig", "jsonld"):
            out = tmp_path / f"x.{fmt}"
            result = CliRunner().invoke(main, ["export", "--format", fmt, "--dataset", str(built), "--out", str(out)])
            assert result.exit_code == 0, result.output
            assert stat.S_IMODE(out.stat().st_mode) == 0o644
        result = CliRunner().invoke(
            main, ["project", "overview", "--dataset", str(built), "--out", str(tmp_path / "o.graphml")]
        )
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE((tmp_path / "o.graphml").stat().st_mode) == 0o644
    finally:
        os.umask(mask)
    assert not list(tmp_path.glob(".*"))


# --- terminal escaping: labels with escape sequences are shown, not obeyed ---

HOSTILE_LABEL = "Ji\x1b[31mlin\r\x07\u202e"


@pytest.fixture(scope="module")
def hostile_built(tmp_path_factory) -> Path:
    """The seed data with Jilin's label full of terminal controls, built."""
    root = tmp_path_factory.mktemp("hostile-label")
    data = seed_data(root / "data")
    regions = data / "registry" / "regions.yaml"
    text = regions.read_text(encoding="utf-8")
    assert 'label: "Jilin"' in text
    regions.write_text(text.replace('label: "Jilin"', f"label: {json.dumps(HOSTILE_LABEL)}", 1), encoding="utf-8")
    out = root / "build" / "ipgraph.trig"
    result = CliRunner().invoke(main, ["build", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize(
    "argv",
    [
        ["query", "entity", "-p", "entity=region:jilin", "--format", "table"],
        ["query", "{query}", "--format", "table"],
        ["stats", "overview", "--top", "100"],
        ["stats", "entity", "region:jilin", "--hops", "1"],
    ],
    ids=["query entity", "query labels", "stats overview", "stats entity"],
)
def test_labels_are_printed_escaped(hostile_built, tmp_path, argv):
    query = tmp_path / "labels.rq"
    query.write_text("SELECT ?label WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?label }\n")
    args = [arg.format(query=query) for arg in argv] + ["--dataset", str(hostile_built)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for raw in ("\x1b", "\r", "\x07", "\u202e"):
        assert raw not in result.output
    assert "Ji\\x1b[31mlin\\r\\x07\\u202e" in result.output


def test_an_endpoint_label_with_line_breaks_and_escapes_keeps_the_sssom_file_readable(tmp_path):
    from ipgraph.link import _CURIE_MAP, write_sssom
    from ipgraph.mappings import read_sssom

    path = tmp_path / "proposed.sssom.tsv"
    row = {
        "subject_id": "region:jilin",
        "subject_label": "Jilin",
        "predicate_id": "skos:closeMatch",
        "object_id": "wd:Q45208",
        "object_label": "Ji\nlin\t\x1b[31m\u2028x",
        "mapping_justification": "semapv:LexicalMatching",
        "confidence": "0.9",
    }
    write_sssom(path, {"curie_map": dict(_CURIE_MAP)}, [row])
    (mapping,) = read_sssom(path).mappings
    assert mapping.values["object_label"] == "Ji lin  [31m\u2028x"
