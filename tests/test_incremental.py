"""The build source by source: the same bytes whatever the number of
worker processes, an incremental rebuild that gives the bytes of a full one
after edits, deletions and additions, a corrupt state, a change in a shared
file, a killed build, and two builds at once."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rdflib import URIRef

from conftest import ROOT
from ipgraph.build import build
from ipgraph.errors import ValidationError
from ipgraph.figures import compare
from ipgraph.mappings import known_subjects
from ipgraph.pipeline import _typed_subjects, parts_dir
from ipgraph.synth import synthesize
from ipgraph.validate import load_dataset


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A synthetic project of 12 generated sources beside the curated ones (which share entities)."""
    folder = tmp_path_factory.mktemp("incremental")
    synthesize(ROOT / "data", folder / "synth", sources=12, seed=3)
    synthesize(ROOT / "data", folder / "extra", sources=2, seed=4)
    return folder


@pytest.fixture
def data(corpus, tmp_path) -> Path:
    shutil.copytree(corpus / "synth" / "data", tmp_path / "data")
    return tmp_path / "data"


def _full(data: Path, folder: Path, jobs: int = 2) -> bytes:
    out = folder / "full" / "ipgraph.trig"
    build(data, None, out, jobs=jobs)
    return out.read_bytes()


def test_one_worker_and_two_give_the_same_bytes_and_the_quads_are_the_datasets(data, tmp_path):
    one = tmp_path / "one" / "ipgraph.trig"
    two = tmp_path / "two" / "ipgraph.trig"
    result = build(data, None, one, jobs=1)
    build(data, None, two, jobs=2)
    assert one.read_bytes() == two.read_bytes()
    assert result.rebuilt == len(result.sources) == result.totals["sources"]
    dataset = load_dataset(one)
    assert sum(len(g) for g in dataset.graphs()) == result.triples
    # Each named graph is also a standalone TriG file under ipgraph.parts/graphs/.
    state = json.loads((parts_dir(one) / "state.json").read_text(encoding="utf-8"))
    assert len(state["graphs"]) == len(result.graphs)
    for graph, entry in state["graphs"].items():
        part = load_dataset(parts_dir(one) / "graphs" / entry["file"])
        assert {str(g.identifier) for g in part.graphs() if len(g)} == {graph}
        assert sum(len(g) for g in part.graphs()) == entry["quads"]


def test_the_typed_subjects_from_the_facts_are_those_of_the_dataset(data, tmp_path):
    """What a mapping may name is found from the facts, without the graphs:
    it must be exactly what the built dataset types."""
    from ipgraph.facts import load_facts
    from ipgraph.vocab import load_vocabulary

    out = tmp_path / "ipgraph.trig"
    build(data, None, out, jobs=1)
    dataset = load_dataset(out)
    facts = load_facts(data, load_vocabulary(data / "vocab"))
    shared = [
        dataset.graph(URIRef(f"https://w3id.org/ipgraph/id/graph/{name}"))
        for name in ("ontology", "vocabulary", "registry")
    ]
    assert _typed_subjects(facts, shared, compare(facts)) == known_subjects(dataset)


def test_an_incremental_rebuild_gives_the_bytes_of_a_full_build(data, corpus, tmp_path):
    out = tmp_path / "build" / "ipgraph.trig"
    first = build(data, None, out, jobs=2)
    again = build(data, None, out, jobs=2)
    assert again.rebuilt == 0 and out.read_bytes() == _full(data, tmp_path / "a")
    # Edit one source (a headline), delete another, add two of another corpus.
    meta = data / "sources" / "synth-3-000004.yaml"
    meta.write_text(meta.read_text(encoding="utf-8").replace("headline: ", "headline: Revised, ", 1), "utf-8")
    for path in [data / "facts" / "synth-3-000007.yaml", *(data / "sources").glob("synth-3-000007.*")]:
        path.unlink()
    for path in (corpus / "extra" / "data" / "facts").glob("synth-4-*.yaml"):
        shutil.copy(path, data / "facts" / path.name)
    for path in (corpus / "extra" / "data" / "sources").glob("synth-4-*"):
        shutil.copy(path, data / "sources" / path.name)
    result = build(data, None, out, jobs=2)
    assert result.rebuilt == 3
    assert len(result.sources) == len(first.sources) + 1
    assert out.read_bytes() == _full(data, tmp_path / "b")
    assert b"Revised, " in out.read_bytes() and b"synth-3-000007" not in out.read_bytes()
    # The parts of the deleted source are gone.
    assert not list((parts_dir(out) / "graphs").glob("synth-3-000007.*"))
    assert len(list((parts_dir(out) / "read").glob("*.pickle"))) == len(result.sources)


def test_a_change_in_a_shared_file_rebuilds_every_source(data, tmp_path):
    out = tmp_path / "build" / "ipgraph.trig"
    build(data, None, out, jobs=2)
    units = data / "vocab" / "units.yaml"
    units.write_text(units.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    result = build(data, None, out, jobs=2)
    assert result.rebuilt == len(result.sources)
    assert out.read_bytes() == _full(data, tmp_path / "a")


@pytest.mark.parametrize("state", ["{not json", '{"version": 1, "files": [], "graphs": {}}', ""])
def test_a_corrupt_state_gives_a_full_build_with_a_note(data, tmp_path, state):
    out = tmp_path / "build" / "ipgraph.trig"
    build(data, None, out, jobs=2)
    (parts_dir(out) / "state.json").write_text(state, encoding="utf-8")
    result = build(data, None, out, jobs=2)
    assert result.rebuilt == len(result.sources)
    assert result.notes and "full build" in result.notes[0]
    assert out.read_bytes() == _full(data, tmp_path / "a")


def test_a_damaged_part_is_rebuilt_not_reused(data, tmp_path):
    out = tmp_path / "build" / "ipgraph.trig"
    build(data, None, out, jobs=2)
    part = sorted((parts_dir(out) / "graphs").glob("synth-3-000002.*"))[0]
    part.write_bytes(part.read_bytes().replace(b"synth", b"SYNTH"))
    result = build(data, None, out, jobs=2)
    assert result.rebuilt == 1
    assert out.read_bytes() == _full(data, tmp_path / "a")


def test_a_source_that_breaks_a_shape_writes_nothing(data, tmp_path):
    out = tmp_path / "build" / "ipgraph.trig"
    build(data, None, out, jobs=2)
    before = sorted(
        (p.relative_to(tmp_path), p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if "data" not in p.parts
    )
    ontology = tmp_path / "ontology"
    shutil.copytree(ROOT / "src" / "ipgraph" / "ontology", ontology)
    shapes = ontology / "shapes.ttl"
    # A stricter shape: a measure needs two descriptions (each has one).
    shapes.write_text(
        shapes.read_text(encoding="utf-8") + "\nipgs:TwoDescriptions a sh:NodeShape ; sh:targetClass ipg:Measure ;\n"
        "    sh:property [ sh:path dcterms:description ; sh:minCount 2 ] .\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as error:
        build(data, ontology, out, jobs=2)
    assert "dcterms:description" in error.value.report and "synth-3-" in error.value.report
    after = sorted(
        (p.relative_to(tmp_path), p.stat().st_mtime_ns)
        for p in tmp_path.rglob("*")
        if "data" not in p.parts and "ontology" not in p.parts
    )
    assert after == before


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "ipgraph", "build", *args]


def test_a_killed_build_leaves_the_previous_build_usable(corpus, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(corpus / "synth" / "data", data)
    out = tmp_path / "build" / "ipgraph.trig"
    build(data, None, out, jobs=2)
    before = out.read_bytes()
    state = (parts_dir(out) / "state.json").read_bytes()
    for path in (data / "sources").glob("synth-3-*.yaml"):  # every synthetic source changes
        path.write_text(path.read_text(encoding="utf-8").replace("headline: ", "headline: New, ", 1), "utf-8")
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {**os.environ, "TMPDIR": str(temporary)}
    command = _cli("--data", str(data), "--out", str(out), "--jobs", "1", "--quiet")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(temporary.glob("ipgraph-build-*/*.trig"))) < 3:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert list(temporary.glob("ipgraph-build-*/*.trig")), "the build was not caught mid-way"
    assert out.read_bytes() == before
    assert (parts_dir(out) / "state.json").read_bytes() == state
    load_dataset(out)
    subprocess.run(command, check=True, env=env, capture_output=True)
    assert out.read_bytes() == _full(data, tmp_path / "a")
    assert not list(temporary.iterdir()), "the killed build's staging folder was not removed"


def test_a_second_build_waits_for_the_first(data, tmp_path):
    out = tmp_path / "build" / "ipgraph.trig"
    out.parent.mkdir()
    handle = os.open(out.parent, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(handle, fcntl.LOCK_EX)  # as a running build holds it
    try:
        process = subprocess.Popen(
            _cli("--data", str(data), "--out", str(out), "--quiet"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(3)
        assert process.poll() is None and not out.exists()
    finally:
        os.close(handle)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "Another build is writing into" in stderr and "waiting" in stderr
    assert out.read_bytes() == _full(data, tmp_path / "a")
