"""The build: the facts of the seed source, by SPARQL over the contract's terms."""

from __future__ import annotations

from decimal import Decimal

PREFIXES = """
PREFIX ipg: <https://w3id.org/ipgraph/ontology#>
PREFIX ipgr: <https://w3id.org/ipgraph/id/>
PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX sdmx-dimension: <http://purl.org/linked-data/sdmx/2009/dimension#>
PREFIX sdmx-measure: <http://purl.org/linked-data/sdmx/2009/measure#>
PREFIX sdmx-attribute: <http://purl.org/linked-data/sdmx/2009/attribute#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX prov: <http://www.w3.org/ns/prov#>
"""


def test_three_figures_with_value_period_unit_change_and_quote(union):
    rows = union.query(
        PREFIXES
        + """
        SELECT ?value ?end ?unit ?change ?area ?exact WHERE {
          ?obs a qb:Observation ; sdmx-measure:obsValue ?value ; ipg:periodEnd ?end ;
               sdmx-attribute:unitMeasure ?unit ; sdmx-dimension:refArea ?area ;
               ipg:evidence/oa:hasTarget/oa:hasSelector/oa:exact ?exact .
          OPTIONAL { ?obs ipg:yoyChangePercent ?change }
        } ORDER BY ?value"""
    )
    got = [
        (r.value.toPython(), str(r.end), str(r.unit).rsplit("/", 1)[1], r.change and r.change.toPython()) for r in rows
    ]
    assert got == [
        (46000, "2024-12-31", "patents", None),
        (195000, "2025-04-30", "patents", Decimal("10.2")),
        (2160000, "2025-04-30", "trademarks", Decimal("7.7")),
    ]
    assert {str(r.area) for r in rows} == {
        "https://w3id.org/ipgraph/id/region-group/northeast-china-and-inner-mongolia"
    }
    assert "46,000" in str(next(iter(rows)).exact)
