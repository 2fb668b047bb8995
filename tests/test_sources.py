"""Many sources, one graph: shared entities, evidence per source, figures
that corroborate or conflict, stock and flow periods, scope in sight, and
vocabularies extended from YAML. On the seed plus two fixture sources that
share its entities (conftest.FIXTURE_SOURCES), and on the whole corpus."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from ipgraph.build import build
from ipgraph.cli import main
from ipgraph.query import open_graph
from ipgraph.validate import load_dataset

IPGR = "https://w3id.org/ipgraph/id/"
SEED = IPGR + "source/xinhua-2025-05-31-northeast-ip-protection"
B = IPGR + "source/fixture-2025-06-01-b"
C = IPGR + "source/fixture-2025-06-02-c"


@pytest.fixture(scope="module", params=["memory", "oxigraph"])
def graph(request, three_built):
    return open_graph(three_built, request.param)


def rows(graph, name, **params):
    return graph.query_named(name, **params).records()


def test_an_entity_named_by_three_sources_shows_three_quotes_each_once_with_its_source(graph):
    found = rows(graph, "source-facts", source="source:fixture-2025-06-01-b")
    quotes = {(r["fact"], r["quote"]) for r in found}
    assert (IPGR + "region/jilin", "Jilin Province granted") in quotes
    # nothing of another source's text: every quote of B's rows stands in B's text
    from conftest import FIXTURE_SOURCES

    text = FIXTURE_SOURCES["fixture-2025-06-01-b"][0]
    assert found and all(r["quote"] in text for r in found)
    assert len(found) == len({(r["fact"], r["quote"]) for r in found})
    jilin = [
        (r["source"], r["quote"])
        for r in graph.query(
            """PREFIX ipg: <https://w3id.org/ipgraph/ontology#> PREFIX oa: <http://www.w3.org/ns/oa#>
               SELECT ?source ?quote WHERE {
                 <https://w3id.org/ipgraph/id/region/jilin> ipg:evidence ?a .
                 ?a oa:hasTarget ?t . ?t oa:hasSource ?source ; oa:hasSelector ?s . ?s oa:exact ?quote }
               ORDER BY ?source"""
        ).records()
    ]
    assert jilin == [
        (B, "Jilin Province granted"),
        (C, "Jilin granted"),
        (SEED, "the northeastern provinces of Jilin, Liaoning and Heilongjiang"),
    ]


def test_metrics_show_each_figure_once_per_source_with_its_own_quote_scope_and_status(graph):
    found = rows(graph, "metrics")
    assert len(found) == 8 == len({r["observation"] for r in found})
    by_id = {r["observation"].rsplit("/", 1)[1]: r for r in found}
    seed = by_id["northeast-valid-invention-patents-2025-04"]
    other = by_id["fixture-b-northeast-valid-invention-patents-2025-04"]
    assert (seed["source"], other["source"]) == (SEED, B)
    assert seed["sources"] == other["sources"] == 2
    assert seed["status"] == other["status"] == "corroborated"
    assert "195,000 valid invention patents, marking" in seed["quote"]
    assert other["quote"].endswith("had 195,000 valid invention patents")
    sei = by_id["northeast-sei-valid-invention-patents-2024"]
    assert sei["scope"].startswith("in high-end equipment manufacturing")
    assert seed["scope"] == "all"
    trademarks = {by_id[i]["stated"]: by_id[i]["status"] for i in by_id if "trademarks" in i}
    assert trademarks == {"2.16 million": "conflicting", "2.15 million": "conflicting"}


def test_stock_and_flow_figures_carry_their_periods(graph):
    by_id = {r["observation"].rsplit("/", 1)[1]: r for r in rows(graph, "metrics")}
    stock = by_id["northeast-valid-invention-patents-2025-04"]
    assert (stock["kind"], stock.get("periodStart"), stock["periodEnd"]) == ("stock", None, date(2025, 4, 30))
    year = by_id["fixture-b-jilin-patents-granted-2024"]
    assert (year["kind"], year["periodStart"], year["periodEnd"]) == ("flow", date(2024, 1, 1), date(2024, 12, 31))
    months = by_id["fixture-b-liaoning-disputes-2025-01-05"]
    assert (months["periodStart"], months["periodEnd"], months["qualifier"]) == (
        date(2025, 1, 1),
        date(2025, 5, 31),
        "more than",
    )
    assert months["periodLabel"] == "January–May 2025"
    period = graph.query(
        """PREFIX sdmx-dimension: <http://purl.org/linked-data/sdmx/2009/dimension#>
           SELECT ?p WHERE { <https://w3id.org/ipgraph/id/observation/fixture-b-liaoning-disputes-2025-01-05>
                             sdmx-dimension:refPeriod ?p }"""
    ).records()
    assert period == [{"p": "http://reference.data.gov.uk/id/gregorian-interval/2025-01-01T00:00:00/P5M"}]


def test_growth_compares_only_figures_of_the_same_key_and_keeps_the_precision(graph):
    found = rows(graph, "growth")
    seed = [r for r in found if r["observation"].endswith("/northeast-valid-invention-patents-2025-04")]
    assert [(r["previous"], r["derived"], r["change"]) for r in seed] == [(Decimal("177000"), True, Decimal("18000"))]
    sei = [r for r in found if r["observation"].endswith("/northeast-sei-valid-invention-patents-2024")]
    assert [r.get("previous") for r in sei] == [None]  # never compared with the 195,000 of all industries
    assert sei[0]["scope"] != "all"
    conflicting = [r for r in found if "patents-granted-2024" in r["observation"]]
    assert {r["status"] for r in conflicting} == {"conflicting"}
    derived = [r for r in conflicting if r.get("previous") is not None]
    # 12,000 / 1.05 = 11,428.6, rounded to the precision of "12,000" (the thousand)
    assert [(r["value"], r["previous"]) for r in derived] == [(12000, Decimal("11000"))]


def test_conflicts_are_reported_by_validate_and_data_quality_with_both_quotes(three_built, graph):
    result = CliRunner().invoke(main, ["validate", str(three_built)])
    assert result.exit_code == 0, result.output
    assert "Warning: conflicting figure: valid registered trademarks, Jilin, Liaoning" in result.output
    assert "2.16 million in https://w3id.org/ipgraph/id/source/xinhua-2025-05-31" in result.output
    assert "2.15 million in https://w3id.org/ipgraph/id/source/fixture-2025-06-02-c" in result.output
    assert "«Jilin granted 12,000 patents in 2024, up 5 percent year on year»" in result.output
    problems = [r for r in rows(graph, "data-quality") if r["problem"] == "conflicting-figure"]
    assert sorted(r["entity"].split("/figure/")[1] for r in problems) == [
        "patents-granted/region/jilin/2024-01-01--2024-12-31/total",
        "valid-registered-trademarks/region-group/northeast-china-and-inner-mongolia/at-2025-04-30/total",
    ]
    readings = rows(graph, "figure-conflicts")
    assert sorted((r["stated"], r["source"]) for r in readings) == [
        ("12,000", C),
        ("12,345", B),
        ("2.15 million", C),
        ("2.16 million", SEED),
    ]


def test_the_build_summary_counts_sources_figures_corroborations_and_conflicts(tmp_path):
    from conftest import three_sources_data

    result = build(three_sources_data(tmp_path / "data"), None, tmp_path / "out.trig")
    assert result.totals == {
        "sources": 3,
        "entities": result.totals["entities"],
        "observations": 8,
        "figures": 5,
        "corroborated figures": 1,
        "conflicts": 2,
    }
    assert [(s.slug, s.figures) for s in result.sources] == [
        ("fixture-2025-06-01-b", 3),
        ("fixture-2025-06-02-c", 2),
        ("xinhua-2025-05-31-northeast-ip-protection", 3),
    ]


def test_a_curator_extends_each_vocabulary_in_yaml(tmp_path):
    from conftest import seed_data

    data = seed_data(tmp_path / "data")
    additions = {
        "indicators": "  - id: test-indicator\n    label: test indicator\n    definition: A test.\n",
        "units": "  - id: test-unit\n    label: test units\n",
        "industries": "  - id: test-industry\n    label: test industry\n    broader: [new-materials]\n",
        "measure-types": "  - id: test-measure-type\n    label: test measure type\n",
        "scopes": "  - id: test-scope\n    label: test scope\n",
        "qualifiers": "  - id: test-qualifier\n    label: test qualifier\n    words: [testwise]\n",
    }
    for scheme, text in additions.items():
        with (data / "vocab" / f"{scheme}.yaml").open("a", encoding="utf-8") as stream:
            stream.write(text)
    out = tmp_path / "out.trig"
    build(data, None, out)
    dataset = load_dataset(out)
    found = {
        str(row.c).rsplit("/", 2)[1]: str(row.scheme).rsplit("/", 1)[1]
        for row in dataset.query(
            """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
               SELECT ?c ?scheme WHERE { GRAPH ?g { ?c skos:inScheme ?scheme ; skos:prefLabel ?l }
                                         FILTER(STRSTARTS(STR(?l), "test ")) }"""
        )
    }
    assert found == {
        "indicator": "indicators",
        "unit": "units",
        "industry": "industries",
        "measure-type": "measure-types",
        "scope": "scopes",
        "qualifier": "qualifiers",
    }
    narrower = dataset.query(
        """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
           ASK { GRAPH ?g { <https://w3id.org/ipgraph/id/industry/new-materials>
                            skos:narrower <https://w3id.org/ipgraph/id/industry/test-industry> } }"""
    )
    assert narrower.askAnswer


def test_the_whole_corpus_builds_and_its_sources_share_entities(corpus_built):
    graph = open_graph(corpus_built, "oxigraph")
    [row] = graph.query(
        """PREFIX ipg: <https://w3id.org/ipgraph/ontology#> PREFIX oa: <http://www.w3.org/ns/oa#>
           PREFIX schema: <https://schema.org/>
           SELECT (COUNT(DISTINCT ?s) AS ?sources) (COUNT(DISTINCT ?region) AS ?regions)
                  (MIN(?published) AS ?first) (MAX(?published) AS ?last) WHERE {
             ?s a schema:NewsArticle ; schema:datePublished ?published .
             OPTIONAL { ?region a ipg:ProvincialLevelRegion ; ipg:evidence/oa:hasTarget/oa:hasSource ?s } }"""
    ).records()
    assert row["sources"] >= 13
    assert row["regions"] >= 10
    assert row["first"].year <= 2018 and row["last"].year >= 2025
    shared = graph.query(
        """PREFIX ipg: <https://w3id.org/ipgraph/ontology#> PREFIX oa: <http://www.w3.org/ns/oa#>
           SELECT ?entity (COUNT(DISTINCT ?s) AS ?n) WHERE {
             ?entity ipg:evidence/oa:hasTarget/oa:hasSource ?s } GROUP BY ?entity HAVING (COUNT(DISTINCT ?s) >= 3)"""
    ).records()
    assert {r["entity"].rsplit("/", 1)[1] for r in shared} >= {"cnipa"}


def test_a_registry_entity_cannot_be_declared_again_by_a_source(tmp_path):
    from conftest import seed_data

    data = seed_data(tmp_path / "data")
    shutil.copy(data / "facts" / "xinhua-2025-05-31-northeast-ip-protection.yaml", tmp_path / "copy.yaml")
    facts = data / "facts" / "xinhua-2025-05-31-northeast-ip-protection.yaml"
    text = facts.read_text(encoding="utf-8").replace(
        "organizations:\n",
        "agencies:\n  - id: cnipa\n    label: CNIPA\n    jurisdiction: china\n"
        "    quote: the China National Intellectual Property Administration (CNIPA)\norganizations:\n",
        1,
    )
    facts.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--data", str(data), "--out", str(tmp_path / "x.trig")])
    assert result.exit_code == 2
    assert "agency 'cnipa' is already declared at" in result.output
    assert "registry/agencies.yaml:" in result.output
    assert "'mentions:' with 'of: agency/cnipa'" in result.output
    assert not (tmp_path / "x.trig").exists()


def test_the_model_docs_examples_run(graph):
    """docs/model.md's queries, with the prefixes the named queries use."""
    from conftest import ROOT

    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in text.split("```sparql\n")[1:]]
    assert len(blocks) == 2
    prefixes = (
        "PREFIX ipg: <https://w3id.org/ipgraph/ontology#> PREFIX oa: <http://www.w3.org/ns/oa#> "
        "PREFIX prov: <http://www.w3.org/ns/prov#>\n"
    )
    evidence = graph.query(prefixes + "SELECT ?fact ?source ?quote WHERE {" + blocks[0] + "}").records()
    assert {(r["source"], r["quote"]) for r in evidence} >= {(C, "Jilin granted")}
    conflicts = graph.query(prefixes + blocks[1]).records()
    assert sorted(r["stated"] for r in conflicts) == ["12,000", "12,345", "2.15 million", "2.16 million"]


def test_every_named_query_shows_each_quote_once_with_its_own_source(three_built, graph):
    """Whatever a named query shows a quote with, the quote stands in that
    source's text; no row repeats."""
    from conftest import FIXTURE_SOURCES, ROOT
    from ipgraph.query import list_named

    texts = {IPGR + "source/" + slug: text for slug, (text, _) in FIXTURE_SOURCES.items()}
    texts[SEED] = (ROOT / "data/sources/xinhua-2025-05-31-northeast-ip-protection.txt").read_text(encoding="utf-8")
    params = {
        "regions-by-industry": {"industry": "industry:high-end-equipment-manufacturing"},
        "entity": {"entity": "region:jilin"},
        "source-facts": {"source": "source:fixture-2025-06-01-b"},
        "fact-sources": {"fact": "region:jilin"},
    }
    checked = set()
    for named in list_named():
        found = rows(graph, named.name, **params.get(named.name, {}))
        with_quotes = [r for r in found if r.get("quote") and r.get("source")]
        for row in with_quotes:
            assert row["quote"] in texts[row["source"]], (named.name, row)
        assert len(found) == len({tuple(sorted((k, str(v)) for k, v in r.items())) for r in found}), named.name
        if with_quotes:
            checked.add(named.name)
    assert checked >= {"metrics", "source-facts", "fact-sources", "figure-conflicts"}
    jilin = rows(graph, "fact-sources", fact="region:jilin")
    assert sorted((r["source"], r["quote"]) for r in jilin if r.get("quote")) == [
        (B, "Jilin Province granted"),
        (C, "Jilin granted"),
        (SEED, "the northeastern provinces of Jilin, Liaoning and Heilongjiang"),
    ]
