"""Namespaces of the vocabulary contract (DESIGN.md).

``IPG`` is closed: a term that the ontology does not define fails at once
(``IPG.Provnce`` raises ``AttributeError``), so a typo cannot mint a new
property. The other vocabularies come from rdflib where it has them.
"""

from __future__ import annotations

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import (
    DCTERMS,
    ORG,
    OWL,
    PROV,
    QB,
    RDF,
    RDFS,
    SDO,
    SKOS,
    XSD,
    DefinedNamespace,
)

__all__ = [
    "DCTERMS",
    "IPG",
    "IPGR",
    "OA",
    "ORG",
    "OWL",
    "PREFIXES",
    "PROV",
    "QB",
    "RDF",
    "RDFS",
    "REF_PERIOD",
    "SCHEMA",
    "SDMX_ATTRIBUTE",
    "SDMX_DIMENSION",
    "SDMX_MEASURE",
    "SKOS",
    "WD",
    "XSD",
    "bind_prefixes",
]


class IPG(DefinedNamespace):
    """ipgraph ontology terms (ontology/ipgraph.ttl)."""

    _NS = Namespace("https://w3id.org/ipgraph/ontology#")
    _fail = True

    # places
    Region: URIRef
    ProvincialLevelRegion: URIRef
    Province: URIRef
    AutonomousRegion: URIRef
    Municipality: URIRef
    SpecialAdministrativeRegion: URIRef
    City: URIRef
    RegionGroup: URIRef
    hasMember: URIRef
    capitalOf: URIRef
    iso3166Code: URIRef
    geonamesId: URIRef
    # agencies
    Agency: URIRef
    jurisdiction: URIRef
    formerName: URIRef
    # concepts
    Industry: URIRef
    Indicator: URIRef
    MeasureType: URIRef
    Unit: URIRef
    Scope: URIRef
    Qualifier: URIRef
    IndustryFocus: URIRef
    focusOf: URIRef
    focusIndustry: URIRef
    # measures
    Measure: URIRef
    measureType: URIRef
    implementedIn: URIRef
    implementedBy: URIRef
    targetsIndustry: URIRef
    # metrics
    indicator: URIRef
    periodEnd: URIRef
    periodStart: URIRef
    StockObservation: URIRef
    FlowObservation: URIRef
    figureScope: URIRef
    FigureScope: URIRef
    scope: URIRef
    qualifier: URIRef
    valuePrecision: URIRef
    figure: URIRef
    Figure: URIRef
    figureStatus: URIRef
    sourceCount: URIRef
    observationCount: URIRef
    Corroborated: URIRef
    Conflicting: URIRef
    SingleSource: URIRef
    industryScope: URIRef
    yoyChangePercent: URIRef
    reportedBy: URIRef
    statedValue: URIRef
    # events
    occurringOn: URIRef
    # provenance
    evidence: URIRef


IPGR = Namespace("https://w3id.org/ipgraph/id/")
SCHEMA = SDO
OA = Namespace("http://www.w3.org/ns/oa#")
SDMX_DIMENSION = Namespace("http://purl.org/linked-data/sdmx/2009/dimension#")
SDMX_MEASURE = Namespace("http://purl.org/linked-data/sdmx/2009/measure#")
SDMX_ATTRIBUTE = Namespace("http://purl.org/linked-data/sdmx/2009/attribute#")
REF_PERIOD = Namespace("http://reference.data.gov.uk/id/")
WD = Namespace("http://www.wikidata.org/entity/")

#: Prefixes bound in every file ipgraph writes. One prefix per IRI path
#: segment of ``ipgr:`` so that serialisers never escape a slash.
PREFIXES: dict[str, str] = {
    "ipg": str(IPG._NS),
    "ipgr": str(IPGR),
    "region": str(IPGR["region/"]),
    "city": str(IPGR["city/"]),
    "country": str(IPGR["country/"]),
    "group": str(IPGR["region-group/"]),
    "agency": str(IPGR["agency/"]),
    "organization": str(IPGR["organization/"]),
    "industry": str(IPGR["industry/"]),
    "indicator": str(IPGR["indicator/"]),
    "unit": str(IPGR["unit/"]),
    "mtype": str(IPGR["measure-type/"]),
    "measure": str(IPGR["measure/"]),
    "obs": str(IPGR["observation/"]),
    "focus": str(IPGR["focus/"]),
    "person": str(IPGR["person/"]),
    "statement": str(IPGR["statement/"]),
    "event": str(IPGR["event/"]),
    "source": str(IPGR["source/"]),
    "graph": str(IPGR["graph/"]),
    "scheme": str(IPGR["scheme/"]),
    "scope": str(IPGR["scope/"]),
    "qualifier": str(IPGR["qualifier/"]),
    "dataset": str(IPGR["dataset/"]),
    "provenance": str(IPGR["provenance/"]),
    "qb": str(QB),
    "sdmx-dimension": str(SDMX_DIMENSION),
    "sdmx-measure": str(SDMX_MEASURE),
    "sdmx-attribute": str(SDMX_ATTRIBUTE),
    "skos": str(SKOS),
    "prov": str(PROV),
    "org": str(ORG),
    "oa": str(OA),
    "dcterms": str(DCTERMS),
    "owl": str(OWL),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "xsd": str(XSD),
    "schema": str(SCHEMA),
    "wd": str(WD),
}


def bind_prefixes(graph: Graph) -> Graph:
    """Bind :data:`PREFIXES` on ``graph`` (replacing rdflib's defaults) and return it."""
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True, replace=True)
    return graph
