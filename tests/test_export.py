"""Export: every format parses back to the same graph, deterministically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from ipgraph.cli import main
from ipgraph.export import export
from ipgraph.namespaces import PREFIXES

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = ROOT / "src" / "ipgraph" / "ontology" / "context.jsonld"


@pytest.mark.parametrize(("rdf_format", "parse_as"), [("ttl", "turtle"), ("nt", "nt")])
def test_union_formats_round_trip(built, union, tmp_path, rdf_format, parse_as):
    out = export(built, rdf_format, tmp_path / f"g.{rdf_format}", CONTEXT)
    assert isomorphic(Graph().parse(out, format=parse_as), union)


def test_jsonld_keeps_the_named_graphs_and_uses_the_published_context(built, dataset, tmp_path):
    out = export(built, "jsonld", tmp_path / "g.jsonld", CONTEXT)
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["@context"] == json.loads(CONTEXT.read_text(encoding="utf-8"))["@context"]
    back = Dataset()
    back.parse(out, format="json-ld")
    for graph in dataset.graphs():
        if len(graph):
            assert isomorphic(back.graph(graph.identifier), graph), graph.identifier
    assert "辽宁省" in out.read_text(encoding="utf-8")


def test_trig_export_is_the_build(built, tmp_path):
    out = export(built, "trig", tmp_path / "g.trig")
    assert out.read_bytes() == built.read_bytes()


@pytest.mark.parametrize("rdf_format", ["ttl", "nt", "jsonld"])
def test_exports_are_deterministic(built, tmp_path, rdf_format):
    first = export(built, rdf_format, tmp_path / f"1.{rdf_format}", CONTEXT).read_bytes()
    second = export(built, rdf_format, tmp_path / f"2.{rdf_format}", CONTEXT).read_bytes()
    assert first == second


def test_the_context_declares_every_prefix():
    assert json.loads(CONTEXT.read_text(encoding="utf-8"))["@context"] == PREFIXES


def test_cli_export_and_its_errors(built, tmp_path):
    out = tmp_path / "g.nt"
    result = CliRunner().invoke(main, ["export", "--format", "nt", "--out", str(out), "--dataset", str(built)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("\n") == len(Graph().parse(out, format="nt"))
    result = CliRunner().invoke(main, ["export", "--format", "rdfxml", "--out", str(out)])
    assert result.exit_code == 2
    assert "'rdfxml' is not one of" in result.output
    missing = tmp_path / "none.trig"
    result = CliRunner().invoke(main, ["export", "--format", "ttl", "--out", str(out), "--dataset", str(missing)])
    assert result.exit_code == 2
    assert "file not found" in result.output
