"""The W3C Data Cube integrity constraints IC-1 to IC-21, run as SPARQL ASK
queries after the normalisation step: the seed graph passes all of them, and
breaking the cube trips the right one."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, URIRef

from ipgraph.namespaces import IPG, IPGR, QB, SDMX_ATTRIBUTE, SDMX_DIMENSION, SDMX_MEASURE
from ipgraph.validate import check_datacube

QUERIES = Path(__file__).resolve().parent.parent / "src" / "ipgraph" / "queries" / "datacube"
OBS = IPGR["observation/northeast-valid-invention-patents-2025-04"]


def test_all_twenty_one_constraints_are_there():
    names = sorted(p.name[:5] for p in QUERIES.glob("ic-*.rq"))
    assert names == [f"ic-{n:02d}" for n in range(1, 22)]
    assert sorted(p.name for p in QUERIES.glob("normalize-*.ru")) == ["normalize-phase1.ru", "normalize-phase2.ru"]


def test_the_seed_graph_passes_every_constraint(union):
    assert check_datacube(union, QUERIES) == []


def _duplicate(graph: Graph) -> None:
    twin = URIRef(str(OBS) + "-twin")
    for p, o in graph.predicate_objects(OBS):
        graph.add((twin, p, o))


BREAKAGES = {
    "IC-1.": lambda g: g.add((OBS, QB.dataSet, IPGR["dataset/other"])),
    "IC-11.": lambda g: g.remove((OBS, SDMX_DIMENSION.refPeriod, None)),
    "IC-12.": _duplicate,
    "IC-13.": lambda g: g.remove((OBS, SDMX_ATTRIBUTE.unitMeasure, None)),
    "IC-14.": lambda g: g.remove((OBS, SDMX_MEASURE.obsValue, None)),
    "IC-19.": lambda g: g.set((OBS, IPG.indicator, IPGR["indicator/made-up"])),
    "IC-2.": lambda g: g.add(
        (IPGR["dataset/xinhua-2025-05-31-northeast-ip-protection"], QB.structure, IPGR["dsd/other"])
    ),
    "IC-4.": lambda g: g.add(
        (IPGR["dsd/ip-metrics/ref-area"], QB.dimension, URIRef("https://example.org/madeUpDimension"))
    ),
}


@pytest.mark.parametrize("constraint", list(BREAKAGES))
def test_breaking_the_cube_trips_the_constraint(union, constraint):
    graph = Graph()
    graph += union
    BREAKAGES[constraint](graph)
    broken = check_datacube(graph, QUERIES)
    assert any(title.startswith(constraint) for title in broken), broken


def test_a_hierarchical_code_list_runs_the_template_constraints(union):
    """IC-20 is a template: with a hierarchy whose root does not reach the
    trademarks indicator, the instantiated query must find the break."""
    graph = Graph()
    graph += union
    hierarchy = IPGR["scheme/indicator-hierarchy"]
    narrower = URIRef("http://www.w3.org/2004/02/skos/core#narrower")
    graph.add((hierarchy, URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), QB.HierarchicalCodeList))
    graph.add((hierarchy, QB.parentChildProperty, narrower))
    graph.add((hierarchy, QB.hierarchyRoot, IPGR["indicator/valid-invention-patents"]))
    graph.set((IPG.indicator, QB.codeList, hierarchy))
    broken = check_datacube(graph, QUERIES)
    assert any(title.startswith("IC-20.") for title in broken), broken
