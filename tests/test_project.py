"""Projections of the seed graph into networkx: content, export round trips, stats, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from rdflib import Graph, URIRef

from ipgraph import project as p
from ipgraph.cli import main
from ipgraph.errors import ProjectionError
from ipgraph.namespaces import SCHEMA
from ipgraph.validate import load_dataset

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "src" / "ipgraph" / "queries" / "projections"
ID = "https://w3id.org/ipgraph/id/"
REGION_CLASSES = {
    "Province",
    "AutonomousRegion",
    "Municipality",
    "SpecialAdministrativeRegion",
    "City",
    "RegionGroup",
    "Country",
    "Region",
}


@pytest.fixture(scope="module")
def overview(dataset) -> nx.MultiDiGraph:
    return p.project(dataset, "overview")


def _edges(graph: nx.MultiDiGraph) -> set[tuple[str, str, str]]:
    return {(u.removeprefix(ID), r, v.removeprefix(ID)) for u, v, r in graph.edges(data="relation")}


def test_every_query_file_states_its_question():
    files = sorted(QUERIES.glob("*.rq"))
    assert {f.stem for f in files} >= {"overview", "region-industry", "agency-measure", "provenance", "node-details"}
    for path in files:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# ") and len(first) > 20, path


def test_names_lists_the_projections():
    assert p.names(QUERIES) == ["agency-measure", "entity", "overview", "provenance", "region-industry"]


def test_overview_relates_the_typed_entities(overview):
    edges = _edges(overview)
    assert ("measure/jilin-ip-favoured-industrial-zones", "implemented in", "region/jilin") in edges
    assert ("measure/jilin-ip-favoured-industrial-zones", "implemented by", "agency/jilin-ip-agency") in edges
    assert ("measure/jilin-ip-favoured-industrial-zones", "targets", "industry/modern-agriculture") in edges
    assert ("agency/cnipa", "jurisdiction", "country/china") in edges
    assert ("observation/northeast-valid-invention-patents-2025-04", "reported by", "agency/cnipa") in edges
    assert ("region-group/northeast-china-and-inner-mongolia", "has member", "region/inner-mongolia") in edges
    # Two relations between the same pair both survive (a MultiDiGraph, not a DiGraph).
    assert ("city/harbin", "in", "region/heilongjiang") in edges
    assert ("city/harbin", "capital of", "region/heilongjiang") in edges
    classes = {data["class"] for _, data in overview.nodes(data=True)}
    assert {"Province", "AutonomousRegion", "Agency", "Measure", "Industry", "Metric"} <= classes
    # No literals, no provenance plumbing, no ontology terms.
    assert all(node.startswith(ID) for node in overview)
    assert not classes & {"Quote", "Source", "Thing"}
    # A relation of the registry between two entities the source mentions is in
    # (the registry says Shenyang is Liaoning's capital; the source does not) ...
    assert ("city/shenyang", "capital of", "region/liaoning") in edges
    # ... but registry entities no source mentions, and figure keys, are not.
    assert ID + "region/guangdong" not in overview and ID + "city/shenzhen" not in overview
    assert not any(node.startswith(ID + "figure") for node in overview)


def test_overview_shows_only_what_the_sources_state_or_mention(overview, union: Graph):
    named = {
        str(row.node)
        for row in union.query(
            """SELECT DISTINCT ?node WHERE {
                 { ?node <https://w3id.org/ipgraph/ontology#evidence> [] }
                 UNION { ?node <http://www.w3.org/ns/prov#wasDerivedFrom>/a <https://schema.org/NewsArticle> }
                 UNION { ?node a <http://www.w3.org/2004/02/skos/core#Concept> }
               }"""
        )
    }
    assert set(overview) <= named


def test_node_attributes_carry_tooltip_values(overview):
    jilin = overview.nodes[ID + "region/jilin"]
    assert jilin["label"] == "Jilin"
    assert jilin["label_zh"] == "吉林省"
    assert jilin["class"] == "Province"
    assert jilin["iri"] == ID + "region/jilin"
    assert jilin["curie"] == "region:jilin"
    metric = overview.nodes[ID + "observation/northeast-valid-invention-patents-2025-04"]
    assert metric["class"] == "Metric"
    assert metric["value"] == 195000
    assert metric["period"] == "April 2025"
    assert metric["unit"] == "patents"
    assert metric["yoy_change_percent"] == 10.2
    assert metric["quote"].startswith("by the end of April 2025, the four provincial-level regions")
    assert metric["source_url"].startswith("https://english.news.cn/")
    measure = overview.nodes[ID + "measure/heilongjiang-patent-commercialisation-finance"]
    assert measure["description"].startswith("Financial policies that encourage laboratory researchers")
    for _, data in overview.nodes(data=True):
        assert all(isinstance(value, str | int | float) for value in data.values()), data


def test_region_industry_is_bipartite_with_weights_and_measures(dataset):
    graph = p.project(dataset, "region-industry")
    assert nx.is_bipartite(graph.to_undirected())
    top = {n for n, d in graph.nodes(data=True) if d["bipartite"] == 0}
    assert {graph.nodes[n]["class"] for n in top} <= REGION_CLASSES
    assert {d["class"] for n, d in graph.nodes(data=True) if n not in top} == {"Industry"}
    group = ID + "region-group/northeast-china-and-inner-mongolia"
    edge = graph.edges[group, ID + "industry/biomedicine", "targets"]
    assert edge["weight"] == 2
    assert edge["via"] == (
        "industry focus of Jilin, Liaoning, Heilongjiang and Inner Mongolia | "
        "valid invention patents in high-end equipment manufacturing, new-generation information technology, "
        "biomedicine, new materials and modern agriculture, Jilin, Liaoning, Heilongjiang and Inner Mongolia, "
        "end of 2024: 46,000"
    )
    jilin = graph.edges[ID + "region/jilin", ID + "industry/photoelectronic-information", "targets"]
    assert jilin == {"relation": "targets", "weight": 1, "via": "Jilin IP-favoured industrial zones"}
    assert graph.number_of_edges() == 13


def test_agency_measure(dataset):
    graph = p.project(dataset, "agency-measure")
    edges = _edges(graph)
    assert ("agency/cnipa", "runs", "measure/cnipa-support-for-cutting-edge-research") in edges
    assert ("measure/liaoning-foreign-ip-dispute-training-centres", "implemented in", "region/liaoning") in edges
    assert ("agency/liaoning-ip-agency", "jurisdiction", "region/liaoning") in edges
    classes = {d["class"] for _, d in graph.nodes(data=True)}
    assert classes <= {"Agency", "Measure"} | REGION_CLASSES
    assert sum(1 for _, d in graph.nodes(data=True) if d["class"] == "Measure") == 5


def test_provenance_links_facts_to_quotes_and_sources(dataset, union: Graph):
    graph = p.project(dataset, "provenance")
    source = ID + "source/xinhua-2025-05-31-northeast-ip-protection"
    assert graph.nodes[source]["class"] == "Source"
    assert graph.nodes[source]["source_url"].startswith("https://english.news.cn/")
    measure = ID + "measure/inner-mongolia-expedited-patent-services"
    quotes = [v for _, v, r in graph.out_edges(measure, data="relation") if r == "evidence"]
    assert len(quotes) == 1
    quote = graph.nodes[quotes[0]]
    assert quote["class"] == "Quote"
    assert quote["quote"].startswith("Inner Mongolia offers local enterprises expedited IP services")
    assert graph.has_edge(quotes[0], source, "quoted from")
    assert graph.has_edge(measure, source, "derived from")
    # Every quote node holds a quote that stands in the source text.
    text = str(union.value(URIRef(source), SCHEMA.text))
    quote_nodes = [d for _, d in graph.nodes(data=True) if d["class"] == "Quote"]
    assert len(quote_nodes) > 20
    assert all(d["quote"] in text for d in quote_nodes)
    # Sources only: not the registry's provenance (data packages, documents).
    assert not any(node.startswith(ID + "provenance/") for node in graph)
    assert {d["class"] for _, d in graph.nodes(data=True)} >= {"Source", "Quote", "DataSet"}
    assert "Thing" not in {d["class"] for _, d in graph.nodes(data=True)}


def test_a_node_quoted_by_several_sources_shows_each_quote_with_its_own_source(three_built):
    graph = p.project(load_dataset(three_built), "overview")
    jilin = graph.nodes[ID + "region/jilin"]
    assert sorted(jilin["quote"].split("\n")) == [
        "Jilin Province granted — fixture-2025-06-01-b",
        "Jilin granted — fixture-2025-06-02-c",
        "the northeastern provinces of Jilin, Liaoning and Heilongjiang — "
        "China's old industry heartland enhances IP protection for emerging sectors",
    ]
    assert jilin["source_url"].split("\n") == [
        "https://english.news.cn/20250531/59275ac806cd475fb0eb1ad7eca042f3/c.html",
        "https://example.org/fixture-2025-06-01-b",
        "https://example.org/fixture-2025-06-02-c",
    ]
    # A fact rests on one source: its quote is shown as it stands.
    metric = graph.nodes[ID + "observation/fixture-b-jilin-patents-granted-2024"]
    assert metric["quote"] == "Jilin Province granted 12,345 patents in 2024"
    assert metric["source"] == "fixture-2025-06-01-b"


def test_entity_neighbourhood(dataset):
    one = p.project(dataset, "entity", entity_name="agency:cnipa", hops=1)
    assert {n.removeprefix(ID) for n in one} == {
        "agency/cnipa",
        "country/china",
        "measure/cnipa-support-for-cutting-edge-research",
        "observation/northeast-sei-valid-invention-patents-2024",
        "observation/northeast-valid-invention-patents-2025-04",
        "observation/northeast-valid-registered-trademarks-2025-04",
    }
    assert one.graph["centre"] == ID + "agency/cnipa"
    assert one.nodes[ID + "country/china"]["hops"] == 1
    two = p.project(dataset, "entity", entity_name="China National Intellectual Property Administration", hops=2)
    assert set(one) < set(two)
    assert ID + "industry/robotics" in two
    assert list(p.project(dataset, "entity", entity_name="jilin", hops=0)) == [ID + "region/jilin"]
    by_chinese = p.project(dataset, "entity", entity_name="吉林省", hops=0)
    assert list(by_chinese) == [ID + "region/jilin"]


def test_entity_errors(dataset):
    with pytest.raises(ProjectionError, match="no entity named 'atlantis'"):
        p.project(dataset, "entity", entity_name="atlantis")
    with pytest.raises(ProjectionError, match="needs an entity"):
        p.project(dataset, "entity")
    with pytest.raises(ProjectionError, match="hops must be 0 or more"):
        p.entity(dataset, "jilin", hops=-1)
    with pytest.raises(ProjectionError, match="unknown projection 'nope'; known: agency-measure"):
        p.project(dataset, "nope")


def test_users_add_their_own_projection_and_literals_never_become_nodes(dataset, union: Graph, tmp_path):
    shutil.copy(QUERIES / "node-details.rq", tmp_path)
    (tmp_path / "capitals.rq").write_text(
        "# Which city is the capital of which region (and, wrongly, its label)?\n"
        "PREFIX ipg: <https://w3id.org/ipgraph/ontology#>\n"
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "SELECT ?source ?relation ?target WHERE {\n"
        '  { ?source ipg:capitalOf ?target BIND("capital of" AS ?relation) }\n'
        '  UNION { ?source ipg:capitalOf ?r ; rdfs:label ?target BIND("label" AS ?relation) }\n'
        "}\n",
        encoding="utf-8",
    )
    assert "capitals" in p.names(tmp_path)
    graph = p.project(dataset, "capitals", queries=tmp_path)
    # Every capital the graph states (the source's Harbin and the registry's
    # provincial capitals), and no edge to a label.
    capitals = {
        (str(city).removeprefix(ID), "capital of", str(region).removeprefix(ID))
        for city, region in union.subject_objects(URIRef("https://w3id.org/ipgraph/ontology#capitalOf"))
    }
    assert ("city/harbin", "capital of", "region/heilongjiang") in capitals
    assert _edges(graph) == capitals
    assert graph.nodes[ID + "city/harbin"]["label"] == "Harbin"


@pytest.mark.parametrize("fmt", p.FORMATS)
def test_export_round_trips_and_is_deterministic(overview, tmp_path, fmt):
    first = p.write(overview, fmt, tmp_path / f"a.{fmt}")
    second = p.write(overview, fmt, tmp_path / f"b.{fmt}")
    assert first.read_bytes() == second.read_bytes()
    assert "吉林省".encode() in first.read_bytes()
    if fmt == "graphml":
        back = nx.read_graphml(first, force_multigraph=True)
    elif fmt == "gexf":
        back = nx.read_gexf(first)
    else:
        back = nx.node_link_graph(json.loads(first.read_text(encoding="utf-8")), edges="edges")
    assert nx.is_isomorphic(back, overview)
    node = ID + "region/jilin"
    assert back.nodes[node]["label_zh"] == "吉林省"
    assert back.nodes[node]["class"] == "Province"


def test_write_errors(overview, tmp_path):
    with pytest.raises(ProjectionError, match="unknown format 'dot'"):
        p.write(overview, "dot", tmp_path / "x.dot")
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    with pytest.raises(ProjectionError, match="cannot write"):
        p.write(overview, "json", blocker / "x.json")


def test_stats(overview):
    result = p.stats(overview, top=3)
    # 58 relations the source states, and the registry's "Shenyang capital of
    # Liaoning" between two entities it mentions.
    assert (result.nodes, result.edges) == (39, 59)
    assert result.components == [39]
    assert result.degree[0][0] == "Jilin, Liaoning, Heilongjiang and Inner Mongolia"
    assert result.betweenness[0] == ("Jilin, Liaoning, Heilongjiang and Inner Mongolia", 0.5601)
    assert result.regions[0] == ("Jilin, Liaoning, Heilongjiang and Inner Mongolia", 9)
    assert result.industries[:2] == [("modern agriculture", 3), ("new materials", 3)]
    assert len(result.degree) == 3


def test_stats_of_a_disconnected_graph():
    graph = nx.MultiDiGraph()
    for node, cls in (("a", "Province"), ("b", "Industry"), ("c", "Industry"), ("d", "Agency")):
        graph.add_node(node, label=node.upper(), **{"class": cls})
    graph.add_edge("a", "b", key="targets", relation="targets")
    graph.add_edge("a", "c", key="targets", relation="targets")
    result = p.stats(graph)
    assert result.components == [3, 1]
    assert result.regions == [("A", 2)]
    assert result.industries == [("B", 1), ("C", 1)]
    assert result.betweenness[0] == ("A", round(1 / 3, 4))


def test_cli_project_stats_and_errors(built, tmp_path):
    runner = CliRunner()
    out = tmp_path / "ri.json"
    result = runner.invoke(
        main, ["project", "region-industry", "--format", "json", "--out", str(out), "--dataset", str(built)]
    )
    assert result.exit_code == 0, result.output
    assert "14 nodes, 13 edges" in result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["nodes"]) == 14
    gexf = ["--format", "gexf", "--out", str(tmp_path / "j.gexf"), "--dataset", str(built)]
    result = runner.invoke(main, ["project", "entity", "region:jilin", "--hops", "1", *gexf])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "j.gexf").read_text(encoding="utf-8").count("<node ") == 5
    result = runner.invoke(main, ["stats", "overview", "--top", "2", "--dataset", str(built)])
    assert result.exit_code == 0, result.output
    assert "39 nodes, 59 edges, 1 connected component(s): 39" in result.output
    assert "Betweenness centrality" in result.output and "Most connected industries" in result.output
    assert "modern agriculture" in result.output
    result = runner.invoke(main, ["project", "nope", "--out", str(tmp_path / "x"), "--dataset", str(built)])
    assert result.exit_code == 2
    assert "unknown projection 'nope'" in result.output and "Traceback" not in result.output
    result = runner.invoke(main, ["stats", "overview", "--dataset", str(tmp_path / "missing.trig")])
    assert result.exit_code == 2
    assert "file not found" in result.output
