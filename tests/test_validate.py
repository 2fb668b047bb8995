"""SHACL: the seed graph conforms; each kind of broken data is caught and
reported with its focus node, path and message."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph, Literal, URIRef

from ipgraph.cli import main
from ipgraph.namespaces import IPG, IPGR, OA, SDMX_DIMENSION, SDMX_MEASURE, bind_prefixes
from ipgraph.validate import check

ROOT = Path(__file__).resolve().parent.parent
SHAPES = ROOT / "src" / "ipgraph" / "ontology" / "shapes.ttl"
OBS = IPGR["observation/northeast-valid-invention-patents-2025-04"]
MEASURE = IPGR["measure/jilin-ip-favoured-industrial-zones"]


def test_the_seed_graph_conforms(dataset):
    report = check(dataset, SHAPES)
    assert report.conforms, str(report)
    assert report.violations == ()


def _quote_selector(graph: Graph, fact: URIRef) -> URIRef:
    annotation = graph.value(fact, IPG.evidence)
    target = graph.value(annotation, OA.hasTarget)
    return next(s for s in graph.objects(target, OA.hasSelector) if (s, OA.exact, None) in graph)


BREAKAGES = {
    "observation without value": (lambda g: g.remove((OBS, SDMX_MEASURE.obsValue, None)), OBS, "sdmx-measure:obsValue"),
    "observation without area": (lambda g: g.remove((OBS, SDMX_DIMENSION.refArea, None)), OBS, "refArea"),
    "observation without period": (lambda g: g.remove((OBS, SDMX_DIMENSION.refPeriod, None)), OBS, "refPeriod"),
    "observation without period end": (lambda g: g.remove((OBS, IPG.periodEnd, None)), OBS, "ipg:periodEnd"),
    "observation without indicator": (lambda g: g.remove((OBS, IPG.indicator, None)), OBS, "ipg:indicator"),
    "non-numeric value": (
        lambda g: g.set((OBS, SDMX_MEASURE.obsValue, Literal("195,000"))),
        OBS,
        "numeric sdmx-measure:obsValue",
    ),
    "negative value": (lambda g: g.set((OBS, SDMX_MEASURE.obsValue, Literal(-1))), OBS, "cannot be negative"),
    "fact without evidence": (lambda g: g.remove((MEASURE, IPG.evidence, None)), MEASURE, "needs ipg:evidence"),
    "evidence without quote": (
        lambda g: g.remove((_quote_selector(g, MEASURE), OA.exact, None)),
        None,
        "oa:TextQuoteSelector with the quote",
    ),
    "measure without region": (lambda g: g.remove((MEASURE, IPG.implementedIn, None)), MEASURE, "ipg:implementedIn"),
}


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_each_kind_of_broken_data_is_reported(union, case):
    graph = Graph()
    graph += union
    breakage, focus, message = BREAKAGES[case]
    breakage(graph)
    report = check(graph, SHAPES)
    assert not report.conforms
    hits = [v for v in report.violations if message in v.message]
    assert hits, str(report)
    if focus is not None:
        assert {v.focus for v in hits} == {focus.n3(bind_prefixes(Graph()).namespace_manager)}


def test_the_cli_prints_a_readable_report_and_exits_1(union, tmp_path):
    graph = Graph()
    graph += union
    graph.remove((MEASURE, IPG.implementedIn, None))
    broken = tmp_path / "broken.ttl"
    graph.serialize(broken, format="turtle")
    result = CliRunner().invoke(main, ["validate", str(broken), "--shapes", str(SHAPES)])
    assert result.exit_code == 1
    assert "Violation: measure:jilin-ip-favoured-industrial-zones" in result.output
    assert "(Jilin IP-favoured industrial zones)" in result.output
    assert "path:    ipg:implementedIn" in result.output
    assert "message: a measure needs ipg:implementedIn, a region, region group, city or country" in result.output


def test_the_cli_says_conforms_on_the_build(built):
    result = CliRunner().invoke(main, ["validate", str(built), "--shapes", str(SHAPES)])
    assert result.exit_code == 0
    assert result.output.strip() == "Conforms: the graph passes every shape and every Data Cube integrity constraint."


def test_validate_of_a_missing_or_broken_file_is_a_user_error(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "none.trig")])
    assert result.exit_code == 2
    assert "file not found" in result.output
    bad = tmp_path / "bad.ttl"
    bad.write_text("<a> <b> .\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 2
    assert "not valid turtle" in result.output
