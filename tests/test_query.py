"""Named queries on the seed graph: their actual rows, the same on rdflib and
Oxigraph; parameters, bad input, output formats and the ``query`` command."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from rdflib import RDF, URIRef

from ipgraph.cli import main
from ipgraph.errors import QueryError
from ipgraph.query import QUERIES_DIR, format_result, list_named, load_named, open_graph

IPGR = "https://w3id.org/ipgraph/id/"
GROUP = IPGR + "region-group/northeast-china-and-inner-mongolia"
IPG = "https://w3id.org/ipgraph/ontology#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
SOURCE = IPGR + "source/xinhua-2025-05-31-northeast-ip-protection"

#: Parameters for the named queries that need them (every query runs in the parity test).
PARAMS = {
    "regions-by-industry": {"industry": "industry:high-end-equipment-manufacturing"},
    "entity": {"entity": "region:jilin"},
    "source-facts": {"source": "source:xinhua-2025-05-31-northeast-ip-protection"},
    "fact-sources": {"fact": "measure:jilin-ip-favoured-industrial-zones"},
}


@pytest.fixture(scope="module", params=["memory", "oxigraph"])
def graph(request, built):
    return open_graph(built, request.param)


@pytest.fixture(scope="module")
def graphs(three_built):
    """Both stores on three sources that share entities (with corroborating and conflicting figures)."""
    return {kind: open_graph(three_built, kind) for kind in ("memory", "oxigraph")}


def rows(graph, name, **params):
    return graph.query_named(name, **params).records()


# --- the library of named queries ------------------------------------------


def test_named_queries_are_found_and_each_states_its_question():
    named = list_named()
    assert len(named) >= 11, f"too few named queries in {QUERIES_DIR}"
    for query in named:
        assert query.question.endswith("?"), query.name
        assert "# Example" in query.text, query.name
    required = {p.name for q in named for p in q.params if p.required}
    assert required == {"industry", "entity", "source", "fact"}


@pytest.mark.parametrize("name", [q.name for q in list_named()])
def test_every_named_query_gives_the_same_rows_on_both_stores(graphs, name):
    memory = rows(graphs["memory"], name, **PARAMS.get(name, {}))
    oxigraph = rows(graphs["oxigraph"], name, **PARAMS.get(name, {}))
    assert memory, f"{name} returns no rows on the three-source graph"
    assert memory == oxigraph


def test_regions(graph):
    found = {row["label"]: row for row in rows(graph, "regions")}
    regions = {label for label, row in found.items() if row["type"] != "City"}
    assert len(regions) == 34  # every provincial-level division, from the registry
    assert {"Heilongjiang", "Jilin", "Liaoning", "Inner Mongolia", "Harbin", "Shenyang"} <= set(found)
    assert found["Inner Mongolia"]["type"] == "AutonomousRegion"
    assert found["Heilongjiang"]["capital"] == "Harbin"
    assert found["Harbin"]["type"] == "City"
    assert found["Harbin"]["containedIn"] == "Heilongjiang"
    assert found["Jilin"]["containedIn"] == "China"


def test_metrics_with_value_unit_change_and_quote(graph):
    found = rows(graph, "metrics")
    assert [(r["indicatorLabel"], r["periodEnd"], r["value"], r.get("yoyChangePercent")) for r in found] == [
        ("valid invention patents", date(2024, 12, 31), 46000, None),
        ("valid invention patents", date(2025, 4, 30), 195000, Decimal("10.2")),
        ("valid registered trademarks", date(2025, 4, 30), 2160000, Decimal("7.7")),
    ]
    trademarks = found[2]
    assert trademarks["unitLabel"] == "trademarks"
    assert trademarks["stated"] == "2.16 million"
    assert trademarks["areaLabel"] == "Jilin, Liaoning, Heilongjiang and Inner Mongolia"
    assert "the number of valid registered trademarks has reached 2.16 million" in trademarks["quote"]


def test_metrics_filtered_by_indicator(graph):
    found = rows(graph, "metrics", indicator="indicator:valid-registered-trademarks")
    assert [r["value"] for r in found] == [2160000]


def test_measures_of_a_region_by_label(graph):
    found = rows(graph, "measures", region="Jilin")
    assert [(r["measureLabel"], r["agencyLabel"], r["typeLabel"], r["industryLabel"]) for r in found] == [
        ("Jilin IP-favoured industrial zones", "Jilin IP agency", "industrial zone", "modern agriculture"),
        ("Jilin IP-favoured industrial zones", "Jilin IP agency", "industrial zone", "photo-electronic information"),
    ]


def test_measures_without_target_industry_still_listed(graph):
    found = rows(graph, "measures", region="region:heilongjiang")
    assert len(found) == 1
    assert found[0]["typeLabel"] == "financing policy"
    assert "industryLabel" not in found[0]


def test_industry_focus_from_measures_and_statements(graph):
    found = {(r["regionLabel"], r["industryLabel"], r["via"]) for r in rows(graph, "industry-focus")}
    assert ("Inner Mongolia", "biology", "measure") in found
    assert ("Jilin", "photo-electronic information", "measure") in found
    group = "Jilin, Liaoning, Heilongjiang and Inner Mongolia"
    focus = {industry for region, industry, via in found if via == "focus" and region == group}
    assert focus == {
        "biomedicine",
        "high-end equipment manufacturing",
        "modern agriculture",
        "new-generation information technology",
        "new materials",
    }


def test_regions_by_industry_includes_narrower_industries(graph):
    found = rows(graph, "regions-by-industry", industry="industry:high-end-equipment-manufacturing")
    assert [(r["matchedLabel"], r["via"]) for r in found] == [
        ("aerospace equipment manufacturing", "measure"),
        ("high-end equipment manufacturing", "focus"),
        ("robotics", "measure"),
    ]
    assert {r["region"] for r in found} == {GROUP}


def test_regions_by_industry_at_the_top_of_the_hierarchy(graph):
    found = rows(graph, "regions-by-industry", industry="strategic emerging industries")
    regions = {r["regionLabel"] for r in found}
    assert {"Jilin", "Inner Mongolia", "Jilin, Liaoning, Heilongjiang and Inner Mongolia"} <= regions
    assert ("Inner Mongolia", "biology") in {(r["regionLabel"], r["matchedLabel"]) for r in found}


def test_entity_by_label_in_chinese(graph):
    found = rows(graph, "entity", entity="吉林省")
    assert {r["entity"] for r in found} == {IPGR + "region/jilin"}
    statements = {(r["direction"], r["property"], str(r["value"])) for r in found}
    assert ("out", "http://www.w3.org/2000/01/rdf-schema#label", "Jilin") in statements
    assert (
        "in",
        "https://w3id.org/ipgraph/ontology#implementedIn",
        IPGR + "measure/jilin-ip-favoured-industrial-zones",
    ) in statements
    assert {r["graph"] for r in found} >= {IPGR + "graph/xinhua-2025-05-31-northeast-ip-protection"}


def test_source_facts(graph):
    found = rows(graph, "source-facts", source="source:xinhua-2025-05-31-northeast-ip-protection")
    by_fact = {r["fact"]: r for r in found}
    assert by_fact[IPGR + "measure/jilin-ip-favoured-industrial-zones"]["class"].endswith("#Measure")
    assert by_fact[IPGR + "person/yang-zhihong"]["class"] == "https://schema.org/Person"
    assert len({r["fact"] for r in found}) >= 30


def test_fact_sources_with_quote_and_offsets(graph):
    (row,) = rows(graph, "fact-sources", fact="measure:jilin-ip-favoured-industrial-zones")
    assert row["source"] == SOURCE
    assert row["published"] == date(2025, 5, 31)
    assert row["publisher"] == "Xinhua"
    assert row["quote"].startswith("Jilin has built IP-favored industrial zones")
    assert row["end"] - row["start"] == len(row["quote"])


def test_growth_derives_the_previous_value_from_the_change(graph):
    found = rows(graph, "growth")
    assert [(r["periodEnd"], r["value"], r.get("previous"), r.get("derived"), r.get("change")) for r in found] == [
        # 195000 / 1.102 = 176,951, to the precision of "195,000" (the thousand)
        (date(2025, 4, 30), 195000, 177000, True, 18000),
        (date(2024, 12, 31), 46000, None, None, None),
        # 2160000 / 1.077 = 2,005,571, to the precision of "2.16 million" (ten thousand)
        (date(2025, 4, 30), 2160000, 2010000, True, 150000),
    ]
    assert found[0]["previousPeriodEnd"] == date(2024, 4, 30)


def test_statements(graph):
    (row,) = rows(graph, "statements")
    assert row["personLabel"] == "Yang Zhihong"
    assert row["jobTitle"] == "deputy head"
    assert row["agencyLabel"] == "Inner Mongolia IP agency"
    assert row["text"].startswith("We will continue efforts to turn IP")


def test_data_quality(graph, union):
    found = rows(graph, "data-quality")
    problems = {(r["problem"], r["entity"]) for r in found}
    assert ("no-label-in-language", IPGR + "person/yang-zhihong") in problems
    assert ("no-label-in-language", IPGR + "region/jilin") not in problems  # has 吉林省@zh
    # entities without links: exactly those the graph holds no owl:sameAs / skos:*Match for
    same_as, exact, close = (URIRef(OWL + "sameAs"), URIRef(SKOS + "exactMatch"), URIRef(SKOS + "closeMatch"))
    expected = set()
    for cls in ("ProvincialLevelRegion", "City", "Agency"):
        for entity in union.subjects(RDF.type, URIRef(IPG + cls)):
            if (entity, same_as, None) not in union:
                expected.add(str(entity))
    for entity in union.subjects(RDF.type, URIRef(IPG + "Industry")):
        if (entity, exact, None) not in union and (entity, close, None) not in union:
            expected.add(str(entity))
    assert expected, "the seed graph should have entities without links"
    assert {entity for problem, entity in problems if problem == "no-external-link"} == expected
    english = {r["problem"] for r in rows(graph, "data-quality", lang="en")}
    assert "no-label-in-language" not in english


# --- parameters and bad input ----------------------------------------------


def test_unknown_named_query_lists_the_names(graph):
    with pytest.raises(QueryError, match=r"unknown named query 'nope'.*growth.*regions-by-industry"):
        graph.query_named("nope")


def test_path_like_names_are_not_named_queries(graph):
    with pytest.raises(QueryError, match=r"unknown named query"):
        graph.query_named("../queries/growth")


def test_missing_parameter_is_named(graph):
    with pytest.raises(QueryError, match=r"needs the parameter 'industry'"):
        graph.query_named("regions-by-industry")


def test_unknown_parameter_is_refused(graph):
    with pytest.raises(QueryError, match=r"unknown parameter colour.*its parameters: region"):
        graph.query_named("measures", colour="red")


def test_label_that_names_nothing(graph):
    with pytest.raises(QueryError, match=r"no entity has the label 'Atlantis'"):
        graph.query_named("measures", region="Atlantis")


def test_parameter_values_are_bound_not_pasted(graph):
    hostile = '"} } DELETE WHERE { ?s ?p ?o } #'
    with pytest.raises(QueryError, match=r"no entity has the label"):
        graph.query_named("measures", region=hostile)
    with pytest.raises(QueryError, match=r"must be a language tag"):
        graph.query_named("data-quality", lang=hostile)
    found = rows(graph, "data-quality", lang="en-GB")
    assert {r["lang"] for r in found} == {"en-GB"}
    assert len(graph) > 1000  # nothing was deleted


def test_syntax_error_has_line_and_column(graph):
    with pytest.raises(QueryError, match=r"syntax error at line 3, column \d+"):
        graph.query("SELECT ?s\nWHERE {\n  ?s ?p }")


def test_typed_parameters_are_checked(built):
    graph = open_graph(built, "oxigraph")
    query = "SELECT ?n WHERE { BIND(?n + 1 AS ?m) }"
    named = load_named("growth")
    assert named.params[0].kind == "iri"
    with pytest.raises(QueryError, match=r"must be among the SELECT variables"):
        graph.query("SELECT ?m WHERE { BIND(?n + 1 AS ?m) }", n=ox.Literal("1"))
    assert graph.query(query, n=ox.Literal("41", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")))


# --- results and formats ----------------------------------------------------


def test_records_have_python_values_for_a_dataframe(graph):
    record = rows(graph, "metrics")[1]
    assert isinstance(record["value"], int)
    assert isinstance(record["yoyChangePercent"], Decimal)
    assert isinstance(record["periodEnd"], date)


def test_formats_are_w3c_results(built):
    result = open_graph(built, "oxigraph").query_named("growth")
    data = json.loads(format_result(result, "json"))
    assert data["head"]["vars"][:2] == ["indicator", "indicatorLabel"]
    assert data["results"]["bindings"][0]["previous"] == {
        "type": "literal",
        "value": "177000",
        "datatype": "http://www.w3.org/2001/XMLSchema#decimal",
    }
    root = ET.fromstring(format_result(result, "xml"))  # noqa: S314 - our own output
    assert root.tag == "{http://www.w3.org/2005/sparql-results#}sparql"
    assert len(root.findall(".//{http://www.w3.org/2005/sparql-results#}result")) == 3
    assert format_result(result, "tsv").splitlines()[0].startswith("?indicator\t?indicatorLabel")
    table = format_result(result, "table")
    assert "indicator:valid-registered-trademarks" in table
    assert table.endswith("(3 rows)\n")


def test_construct_gives_rdf_and_ask_a_boolean(graph):
    result = graph.query("CONSTRUCT { ?r a ipg:Province } WHERE { ?r a ipg:Province }")
    turtle = format_result(result, "ttl")
    assert "region:jilin a ipg:Province" in turtle
    with pytest.raises(QueryError, match=r"gives RDF"):
        format_result(result, "csv")
    assert graph.query("ASK { region:jilin a ipg:Province }").boolean is True
    assert json.loads(format_result(graph.query("ASK { region:jilin a ipg:City }"), "json"))["boolean"] is False


# --- the command line -------------------------------------------------------


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_lists_named_queries():
    result = invoke("query", "--list")
    assert result.exit_code == 0
    assert "regions-by-industry  industry=iri" in result.output
    assert "Which regions target a given industry" in result.output


@pytest.mark.parametrize("store", ["memory", "oxigraph"])
def test_cli_runs_a_named_query_as_csv(built, store):
    result = invoke("query", "growth", "--dataset", str(built), "--store", store, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("indicator,indicatorLabel,scope,area,areaLabel,kind,periodStart,periodEnd,value,source,")
    assert ",stock,,2025-04-30,195000," in lines[1]
    assert ",2024-04-30,177000" in lines[1] and ",true,,10.2,18000" in lines[1]


@pytest.mark.parametrize("store", ["memory", "oxigraph"])
def test_cli_runs_a_query_file_with_a_parameter(built, tmp_path, store):
    path = tmp_path / "agency.rq"
    path.write_text("SELECT ?region ?agency ?label WHERE { ?agency ipg:jurisdiction ?region ; rdfs:label ?label }")
    args = ["query", str(path), "--dataset", str(built), "-p", "region=region:liaoning", "--format", "tsv"]
    result = invoke(*args, "--store", store)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == [
        "<https://w3id.org/ipgraph/id/region/liaoning>\t<https://w3id.org/ipgraph/id/agency/liaoning-ip-agency>"
        '\t"Liaoning IP agency"@en'
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "nope"], "unknown named query 'nope'; the named queries are: data-quality"),
        (["query", "regions-by-industry"], "needs the parameter 'industry'"),
        (["query", "regions-by-industry", "-p", "industry="], "needs the parameter 'industry'"),
        (["query", "measures", "-p", "region"], "--param expects NAME=VALUE"),
        (["query", "missing.rq"], "missing.rq: file not found"),
        (["query", "growth", "--dataset", "nowhere.trig"], "file not found"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(built, args, message):
    if "--dataset" not in args:
        args = [*args, "--dataset", str(built)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_syntax_error(built):
    result = CliRunner().invoke(
        main, ["query", "-", "--dataset", str(built), "--store", "oxigraph"], input="SELECT * {\n ?s ?p }"
    )
    assert result.exit_code == 2
    assert "syntax error at line 2, column" in result.output


def test_cli_timeout_stops_with_exit_2(built):
    heavy = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    result = CliRunner().invoke(main, ["query", "-", "--dataset", str(built), "--timeout", "0.5"], input=heavy)
    assert result.exit_code == 2
    assert "ran longer than 0.5 s and was stopped" in result.output


def test_cli_limit_says_rows_were_cut(built):
    result = CliRunner().invoke(
        main, ["query", "source-facts", "--dataset", str(built), "-p", f"source={SOURCE}", "--limit", "2"]
    )
    assert result.exit_code == 0
    assert "(2 rows)" in result.output
    assert "only the first 2 rows are shown" in result.output


def test_growth_as_a_dataframe(graph):
    """The notebook path: rows become a pandas DataFrame with plain values."""
    frame = graph.query_named("growth").to_dataframe()
    assert list(frame.columns[:4]) == ["indicator", "indicatorLabel", "scope", "area"]
    derived = frame[frame["derived"] == True].set_index("value")  # noqa: E712 - a pandas mask
    assert derived.loc[195000, "previous"] == 177000
    assert derived.loc[2160000, "previous"] == 2010000
    assert frame["value"].tolist() == [195000, 46000, 2160000]


def test_values_declare_where_a_parameter_s_known_values_come_from(tmp_path):
    named = load_named("metrics")
    assert {param.name: param.values for param in named.params}["area"] == (
        "https://w3id.org/ipgraph/ontology#Region",
        "https://w3id.org/ipgraph/ontology#RegionGroup",
        "https://schema.org/Country",
    )
    bad = tmp_path / "bad.rq"
    bad.write_text("# Question: ?\n# @param region iri optional  A region\n# @values area ipg:Region\nSELECT * {}\n")
    with pytest.raises(QueryError, match="@values for 'area'"):
        load_named("bad", tmp_path)
    bad.write_text("# Question: ?\n# @param region iri optional  A region\n# @values region nope:Region\nSELECT * {}\n")
    with pytest.raises(QueryError, match="bad @values line"):
        load_named("bad", tmp_path)
