"""Write a synthetic dataset in the shape of ipgraph's (regions in groups,
agencies, a SKOS industry hierarchy, measures, observations with evidence
annotations, statements), as N-Quads with one named graph per source.

    python benchmarks/query/generate.py --triples 1000000 --out build/bench/synthetic.nq
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

ID = "https://w3id.org/ipgraph/id/"
IPG = "https://w3id.org/ipgraph/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS = "http://www.w3.org/2004/02/skos/core#"
QB = "http://purl.org/linked-data/cube#"
OA = "http://www.w3.org/ns/oa#"
PROV = "http://www.w3.org/ns/prov#"
SDO = "https://schema.org/"
XSD = "http://www.w3.org/2001/XMLSchema#"
DIM = "http://purl.org/linked-data/sdmx/2009/dimension#"
MEAS = "http://purl.org/linked-data/sdmx/2009/measure#"
ATTR = "http://purl.org/linked-data/sdmx/2009/attribute#"
OWL = "http://www.w3.org/2002/07/owl#"


def iri(value: str) -> str:
    return f"<{value}>"


def lit(value, datatype: str | None = None, lang: str | None = None) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    if lang:
        return f'"{text}"@{lang}'
    return f'"{text}"^^<{XSD}{datatype}>' if datatype else f'"{text}"'


def generate(target: int, out: Path, seed: int = 4) -> int:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    scale = target / 1_000_000
    n_regions, n_groups, n_industries = int(2000 * scale) + 8, int(200 * scale) + 2, 300
    n_sources = int(100 * scale) + 1
    vocab = iri(ID + "graph/vocabulary")
    with out.open("w", encoding="utf-8") as f:

        def quad(s, p, o, g):
            nonlocal count
            f.write(f"{s} {p} {o} {g} .\n")
            count += 1

        industries = [ID + f"industry/i{i}" for i in range(n_industries)]
        for i, industry in enumerate(industries):
            quad(iri(industry), iri(RDF_TYPE), iri(IPG + "Industry"), vocab)
            quad(iri(industry), iri(RDF_TYPE), iri(SKOS + "Concept"), vocab)
            quad(iri(industry), iri(LABEL), lit(f"industry {i}", lang="en"), vocab)
            if i:
                quad(iri(industry), iri(SKOS + "broader"), iri(industries[(i - 1) // 4]), vocab)
        indicators = [ID + f"indicator/k{i}" for i in range(20)]
        for i, indicator in enumerate(indicators):
            quad(iri(indicator), iri(LABEL), lit(f"indicator {i}", lang="en"), vocab)
        regions = [ID + f"region/r{i}" for i in range(n_regions)]
        groups = [ID + f"region-group/g{i}" for i in range(n_groups)]
        agencies = [ID + f"agency/a{i}" for i in range(n_regions)]
        source_graphs = [(ID + f"source/s{i}", iri(ID + f"graph/s{i}")) for i in range(n_sources)]

        def evidence(subject: str, source: str, graph: str, number: int, text: str) -> None:
            annotation = f"{ID}evidence/{number}"
            quad(iri(subject), iri(IPG + "evidence"), iri(annotation), graph)
            quad(iri(subject), iri(PROV + "wasDerivedFrom"), iri(source), graph)
            quad(iri(annotation), iri(RDF_TYPE), iri(OA + "Annotation"), graph)
            quad(iri(annotation), iri(OA + "hasTarget"), iri(annotation + "/target"), graph)
            quad(iri(annotation + "/target"), iri(OA + "hasSource"), iri(source), graph)
            quad(iri(annotation + "/target"), iri(OA + "hasSelector"), iri(annotation + "/quote"), graph)
            quad(iri(annotation + "/quote"), iri(OA + "exact"), lit(text), graph)
            quad(iri(annotation + "/target"), iri(OA + "hasSelector"), iri(annotation + "/position"), graph)
            quad(iri(annotation + "/position"), iri(OA + "start"), lit(number, "nonNegativeInteger"), graph)
            quad(iri(annotation + "/position"), iri(OA + "end"), lit(number + 40, "nonNegativeInteger"), graph)

        for i, region in enumerate(regions):
            source, graph = source_graphs[i % n_sources]
            quad(iri(region), iri(RDF_TYPE), iri(IPG + ("Province" if i % 5 else "AutonomousRegion")), graph)
            quad(iri(region), iri(RDF_TYPE), iri(IPG + "ProvincialLevelRegion"), graph)
            quad(iri(region), iri(LABEL), lit(f"Region {i}", lang="en"), graph)
            if i % 3:
                quad(iri(region), iri(SKOS + "altLabel"), lit(f"地区{i}", lang="zh"), graph)
            if i % 2:
                quad(iri(region), iri(OWL + "sameAs"), iri(f"http://www.wikidata.org/entity/Q{100000 + i}"), graph)
            quad(iri(ID + f"city/c{i}"), iri(RDF_TYPE), iri(IPG + "City"), graph)
            quad(iri(ID + f"city/c{i}"), iri(LABEL), lit(f"City {i}", lang="en"), graph)
            quad(iri(ID + f"city/c{i}"), iri(IPG + "capitalOf"), iri(region), graph)
            quad(iri(ID + f"city/c{i}"), iri(SDO + "containedInPlace"), iri(region), graph)
            quad(iri(agencies[i]), iri(RDF_TYPE), iri(IPG + "Agency"), graph)
            quad(iri(agencies[i]), iri(LABEL), lit(f"Agency {i}", lang="en"), graph)
            quad(iri(agencies[i]), iri(IPG + "jurisdiction"), iri(region), graph)
            quad(iri(groups[i % n_groups]), iri(IPG + "hasMember"), iri(region), graph)
            person = ID + f"person/p{i}"
            quad(iri(person), iri(RDF_TYPE), iri(SDO + "Person"), graph)
            quad(iri(person), iri(LABEL), lit(f"Person {i}", lang="en"), graph)
            quad(iri(person), iri(SDO + "worksFor"), iri(agencies[i]), graph)
            quad(iri(person), iri(SDO + "jobTitle"), lit("deputy head", lang="en"), graph)
            statement = ID + f"statement/q{i}"
            quad(iri(statement), iri(RDF_TYPE), iri(SDO + "Quotation"), graph)
            quad(iri(statement), iri(SDO + "creator"), iri(person), graph)
            quad(iri(statement), iri(SDO + "text"), lit(f"We will protect IP in region {i}", lang="en"), graph)
            evidence(statement, source, graph, 10_000_000 + i, f"said person {i}")
        for i, group in enumerate(groups):
            source, graph = source_graphs[i % n_sources]
            quad(iri(group), iri(RDF_TYPE), iri(IPG + "RegionGroup"), graph)
            quad(iri(group), iri(LABEL), lit(f"Group {i}", lang="en"), graph)
            focus = ID + f"focus/f{i}"
            quad(iri(focus), iri(RDF_TYPE), iri(IPG + "IndustryFocus"), graph)
            quad(iri(focus), iri(LABEL), lit(f"focus of group {i}", lang="en"), graph)
            quad(iri(focus), iri(IPG + "focusOf"), iri(group), graph)
            for industry in rng.sample(industries, 5):
                quad(iri(focus), iri(IPG + "focusIndustry"), iri(industry), graph)
        for i, source_graph in enumerate(source_graphs):
            source, graph = source_graph
            quad(iri(source), iri(RDF_TYPE), iri(SDO + "NewsArticle"), graph)
            quad(iri(source), iri(SDO + "headline"), lit(f"Headline {i}", lang="en"), graph)
            quad(iri(source), iri(SDO + "datePublished"), lit("2025-05-31", "date"), graph)
        number = 0
        while count < target:
            number += 1
            source, graph = source_graphs[number % n_sources]
            if number % 2:
                measure = ID + f"measure/m{number}"
                region = regions[rng.randrange(n_regions)]
                quad(iri(measure), iri(RDF_TYPE), iri(IPG + "Measure"), graph)
                quad(iri(measure), iri(LABEL), lit(f"Measure {number}", lang="en"), graph)
                quad(iri(measure), iri(IPG + "implementedIn"), iri(region), graph)
                quad(iri(measure), iri(IPG + "implementedBy"), iri(agencies[number % n_regions]), graph)
                quad(iri(measure), iri(IPG + "measureType"), iri(ID + f"measure-type/t{number % 6}"), graph)
                for industry in rng.sample(industries, 2):
                    quad(iri(measure), iri(IPG + "targetsIndustry"), iri(industry), graph)
                evidence(measure, source, graph, number, f"measure {number} text")
            else:
                observation = ID + f"observation/o{number}"
                area = groups[rng.randrange(n_groups)] if number % 4 == 0 else regions[rng.randrange(n_regions)]
                year = 2015 + number % 10
                quad(iri(observation), iri(RDF_TYPE), iri(QB + "Observation"), graph)
                quad(iri(observation), iri(IPG + "indicator"), iri(indicators[number % 20]), graph)
                quad(iri(observation), iri(DIM + "refArea"), iri(area), graph)
                quad(iri(observation), iri(IPG + "periodEnd"), lit(f"{year}-12-31", "date"), graph)
                quad(iri(observation), iri(MEAS + "obsValue"), lit(rng.randrange(1000, 10**6), "integer"), graph)
                quad(iri(observation), iri(ATTR + "unitMeasure"), iri(ID + "unit/patents"), graph)
                if number % 3:
                    quad(
                        iri(observation),
                        iri(IPG + "yoyChangePercent"),
                        lit(f"{rng.randrange(-50, 300) / 10}", "decimal"),
                        graph,
                    )
                evidence(observation, source, graph, number, f"figure {number} text")
    return count


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("build/bench/synthetic.nq"))
    arguments = parser.parse_args()
    print(f"wrote {generate(arguments.triples, arguments.out)} quads to {arguments.out}")
