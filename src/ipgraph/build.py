"""Build the RDF dataset from the curated facts: one named graph per source,
plus the ontology and the vocabularies; validate it; write it as TriG.

The same inputs give a byte-identical file (no blank nodes, sorted graphs,
subjects and objects), and a failed build leaves the previous file as it was
(the new file is written beside it and renamed only when complete).

Example:
    >>> from ipgraph.build import build
    >>> result = build("data", out="build/ipgraph.trig")          # doctest: +SKIP
    >>> result.triples                                             # doctest: +SKIP
    1024
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections import Counter
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph
from rdflib import Dataset, Graph, Literal, URIRef

from ipgraph.errors import OutputError
from ipgraph.facts import CONCEPT_PATHS, KINDS, Facts, Record, Source
from ipgraph.figures import Figure, compare, figure_iri, key_of, scope_iri, scope_token
from ipgraph.namespaces import (
    DCTERMS,
    IPG,
    IPGR,
    OA,
    ORG,
    PREFIXES,
    PROV,
    QB,
    RDF,
    RDFS,
    SCHEMA,
    SDMX_ATTRIBUTE,
    SDMX_DIMENSION,
    SDMX_MEASURE,
    SKOS,
    XSD,
    bind_prefixes,
)
from ipgraph.validate import parse_turtle
from ipgraph.vocab import Vocabulary

__all__ = [
    "FIGURES_GRAPH",
    "ONTOLOGY_GRAPH",
    "REGISTRY_GRAPH",
    "VOCABULARY_GRAPH",
    "BuildResult",
    "SourceSummary",
    "build",
    "build_dataset",
    "check_writable",
    "dataset_iri",
    "load_ontology",
    "serialize_trig",
    "source_graph",
    "write_atomic",
]

ONTOLOGY_GRAPH = IPGR["graph/ontology"]
VOCABULARY_GRAPH = IPGR["graph/vocabulary"]
#: The entities many sources share (data/registry/), with their provenance.
REGISTRY_GRAPH = IPGR["graph/registry"]
#: Figure keys across sources (corroborated, conflicting), their scopes and periods.
FIGURES_GRAPH = IPGR["graph/figures"]
#: The Data Cube structure every source's data set shares (ontology/datacube.ttl).
STRUCTURE = IPGR["dsd/ip-metrics"]

_REGION_CLASSES = {
    "province": IPG.Province,
    "autonomous-region": IPG.AutonomousRegion,
    "municipality": IPG.Municipality,
    "special-administrative-region": IPG.SpecialAdministrativeRegion,
}
_CLASSES = {
    "countries": SCHEMA.Country,
    "region_groups": IPG.RegionGroup,
    "cities": IPG.City,
    "agencies": IPG.Agency,
    "organizations": SCHEMA.Organization,
    "people": SCHEMA.Person,
    "statements": SCHEMA.Quotation,
    "events": SCHEMA.Event,
    "focus": IPG.IndustryFocus,
    "measures": IPG.Measure,
    "observations": QB.Observation,
}


def source_graph(slug: str) -> URIRef:
    """The IRI of the named graph holding the facts of source ``slug``."""
    return IPGR[f"graph/{slug}"]


def dataset_iri(slug: str) -> URIRef:
    """The ``qb:DataSet`` of the figures of source ``slug``."""
    return IPGR[f"dataset/{slug}"]


@dataclass(frozen=True)
class SourceSummary:
    """What one source contributes: its facts, figures and quotes."""

    slug: str
    facts: int
    figures: int
    quotes: int


@dataclass
class BuildResult:
    """What a build wrote: the file, its size and a summary of its content."""

    path: Path
    triples: int
    graphs: dict[str, int]
    classes: dict[str, int] = field(default_factory=dict)
    sources: list[SourceSummary] = field(default_factory=list)
    #: Whole-graph counts: sources, entities, figures, corroborated, conflicts.
    totals: dict[str, int] = field(default_factory=dict)
    #: The figure keys whose sources disagree.
    conflicts: list[Figure] = field(default_factory=list)
    #: How many sources' graphs this build made (the others were reused from the last build).
    rebuilt: int = 0
    #: What the reader should know about this build (e.g. why it rebuilt everything).
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Ontology and vocabularies
# ---------------------------------------------------------------------------


def load_ontology(ontology_dir: str | Path) -> Graph:
    """Parse ``ipgraph.ttl`` and ``datacube.ttl``.

    Raises:
        IpgraphError: a file is missing or is not valid Turtle (with its line).
    """
    ontology_dir = Path(ontology_dir)
    return parse_turtle(ontology_dir / "ipgraph.ttl", ontology_dir / "datacube.ttl")


# ---------------------------------------------------------------------------
# Facts to RDF
# ---------------------------------------------------------------------------


def build_dataset(
    facts: Facts, ontology: Graph, vocabulary: Vocabulary, figures: list[Figure] | None = None
) -> Dataset:
    """The dataset of ``facts``: ontology, vocabulary, registry, one graph per
    source, and the figures graph that relates the sources' figures
    (``figures``: :func:`ipgraph.figures.compare` of ``facts``, if already made)."""
    dataset = Dataset()
    bind_prefixes(dataset)
    ontology_graph = dataset.graph(ONTOLOGY_GRAPH)
    ontology_graph += ontology
    vocabulary_graph = dataset.graph(VOCABULARY_GRAPH)
    vocabulary_graph += vocabulary.graph()
    superclasses = _Superclasses(ontology)
    superclasses.add_to(vocabulary_graph)
    labels = _Labels(facts.label, vocabulary, facts.sources)
    registry = dataset.graph(REGISTRY_GRAPH)
    _add_provenance(registry, facts)
    for record in facts.of_source(None):
        _add_record(registry, record, labels)
    superclasses.add_to(registry)
    for slug in sorted(facts.sources):
        graph = dataset.graph(source_graph(slug))
        _add_source(graph, facts.sources[slug])
        for record in facts.of_source(slug):
            _add_record(graph, record, labels)
        superclasses.add_to(graph)
    figures_graph = dataset.graph(FIGURES_GRAPH)
    _add_figures(figures_graph, compare(facts) if figures is None else figures, labels)
    superclasses.add_to(figures_graph)
    return dataset


def _iri(section_or_concept: str, ident: str) -> URIRef:
    path = KINDS[section_or_concept].path if section_or_concept in KINDS else CONCEPT_PATHS[section_or_concept]
    return IPGR[f"{path}/{ident}"]


def _ref(value: tuple[str, str]) -> URIRef:
    return _iri(*value)


class _Labels:
    """English labels of facts and concepts, to name derived things.

    ``entity_label(section, id)`` gives the label of an entity (of the facts,
    or only of those a source refers to); ``sources`` are the slugs of the
    stored sources, which a registry record's provenance may name."""

    def __init__(
        self, entity_label: Callable[[str, str], str], vocabulary: Vocabulary, sources: Container[str] = ()
    ) -> None:
        self._entity_label = entity_label
        self._vocabulary = vocabulary
        self._sources = sources

    def __call__(self, value: tuple[str, str]) -> str:
        section, ident = value
        if section in KINDS:
            return self._entity_label(section, ident)
        return self._vocabulary.concepts[section][ident].label

    def is_source(self, ident: str) -> bool:
        """Whether a provenance id names a stored source (else a registry entry)."""
        return ident in self._sources

    def scope(self, record: Record) -> str:
        """What an observation counts beyond its indicator: `` in biomedicine
        and new materials``, `` (enterprises)``, or nothing."""
        fields = record.fields
        text = ""
        if "industry_scope" in fields:
            names = [self(industry) for industry in fields["industry_scope"]]
            text += " in " + (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0])
        if "scope" in fields:
            text += f" ({self(fields['scope'])})"
        return text

    def period(self, record: Record) -> str:
        period = record.fields["period"]
        return f"end of {period.label}" if record.fields["figure"] == "stock" else period.label


def _add_provenance(graph: Graph, facts: Facts) -> None:
    """The registry's provenance entries: a data package and its version, or a document."""
    for ident, entry in sorted(facts.provenance.items()):
        node = IPGR[f"provenance/{ident}"]
        graph.add((node, RDF.type, PROV.Entity))
        if "package" in entry:
            graph.add((node, RDF.type, SCHEMA.Dataset))
            graph.add((node, RDFS.label, Literal(f"{entry['package']} {entry['version']}", lang="en")))
            graph.add((node, SCHEMA.name, Literal(entry["package"])))
            graph.add((node, SCHEMA.version, Literal(entry["version"])))
        else:
            graph.add((node, RDF.type, SCHEMA.CreativeWork))
            title = entry.get("title") or entry["document"]
            graph.add((node, RDFS.label, Literal(title)))
            if entry["document"].startswith(("http://", "https://")):
                graph.add((node, SCHEMA.url, URIRef(entry["document"])))
            else:
                graph.add((node, SCHEMA.identifier, Literal(entry["document"])))
        if "part" in entry:
            graph.add((node, DCTERMS.description, Literal(entry["part"], lang="en")))


def _add_source(graph: Graph, source: Source) -> None:
    article = IPGR[f"source/{source.slug}"]
    figures = dataset_iri(source.slug)
    graph.add((figures, RDF.type, QB.DataSet))
    graph.add((figures, QB.structure, STRUCTURE))
    graph.add((figures, RDFS.label, Literal(f"Figures of: {source.headline}", lang="en")))
    graph.add((figures, PROV.wasDerivedFrom, article))
    publisher = IPGR[f"organization/{_slugify(source.publisher)}"]
    graph.add((article, RDF.type, SCHEMA.NewsArticle))
    graph.add((article, RDFS.label, Literal(source.headline, lang="en")))
    graph.add((article, SCHEMA.headline, Literal(source.headline, lang=source.language)))
    graph.add((article, SCHEMA.datePublished, Literal(source.date_published)))
    graph.add((article, SCHEMA.publisher, publisher))
    graph.add((article, SCHEMA.url, URIRef(source.url)))
    graph.add((article, SCHEMA.inLanguage, Literal(source.language)))
    graph.add((article, SCHEMA.text, Literal(source.text)))
    graph.add((publisher, RDF.type, SCHEMA.Organization))
    graph.add((publisher, RDFS.label, Literal(source.publisher, lang="en")))
    graph.add((publisher, PROV.wasDerivedFrom, article))


def _slugify(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _add_record(graph: Graph, record: Record, labels: _Labels) -> None:
    fields = record.fields
    if record.kind == "mentions":
        subject = _ref(fields["of"])
        _add_alt_labels(graph, subject, fields)
        _add_additions(graph, subject, fields)
    else:
        subject = _iri(record.kind, record.id)
        graph.add(
            (subject, RDF.type, _REGION_CLASSES[fields["type"]] if record.kind == "regions" else _CLASSES[record.kind])
        )
        _add_labels(graph, subject, record, labels)
        if record.kind == "observations":
            _add_observation(graph, subject, record)
        else:
            _ADDERS[record.kind](graph, subject, fields)
    if record.evidence is not None:
        _add_evidence(graph, subject, record)
    for ident in record.provenance:
        kind = "source" if labels.is_source(ident) else "provenance"
        graph.add((subject, PROV.wasDerivedFrom, IPGR[f"{kind}/{ident}"]))


def _add_additions(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    """What a source's mention adds about an entity declared elsewhere."""
    if "capital_of" in fields:
        graph.add((subject, IPG.capitalOf, _ref(fields["capital_of"])))
    if "part_of" in fields:
        graph.add((subject, ORG.subOrganizationOf, _ref(fields["part_of"])))
    if "job_title" in fields:
        graph.add((subject, SCHEMA.jobTitle, Literal(fields["job_title"], lang="en")))
    if "works_for" in fields:
        graph.add((subject, SCHEMA.worksFor, _ref(fields["works_for"])))


def _add_labels(graph: Graph, subject: URIRef, record: Record, labels: _Labels) -> None:
    fields = record.fields
    if "label" in fields:
        label = fields["label"]
    elif record.kind == "statements":
        label = f"statement of {labels(fields['speaker'])}"
    elif record.kind == "focus":
        label = f"industry focus of {labels(fields['of'])}"
    else:  # observations
        qualifier = f"{labels(fields['qualifier'])} " if "qualifier" in fields else ""
        what = f"{labels(fields['indicator'])}{labels.scope(record)}, {labels(fields['area'])}, {labels.period(record)}"
        label = f"{what}: {qualifier}{fields['stated_value']}"
    graph.add((subject, RDFS.label, Literal(label, lang="en")))
    _add_alt_labels(graph, subject, fields)


def _add_alt_labels(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    if "label_zh" in fields:
        graph.add((subject, SKOS.altLabel, Literal(fields["label_zh"], lang="zh")))
    for alt in fields.get("alt_labels", []):
        graph.add((subject, SKOS.altLabel, Literal(alt, lang="en")))


def _add_evidence(graph: Graph, subject: URIRef, record: Record) -> None:
    evidence = record.evidence
    article = IPGR[f"source/{evidence.source}"]
    annotation = IPGR[f"evidence/{evidence.source}/{evidence.start}-{evidence.end}"]
    target = URIRef(f"{annotation}/target")
    quote = URIRef(f"{annotation}/quote")
    position = URIRef(f"{annotation}/position")
    graph.add((subject, PROV.wasDerivedFrom, article))
    graph.add((subject, IPG.evidence, annotation))
    graph.add((annotation, RDF.type, OA.Annotation))
    graph.add((annotation, OA.motivatedBy, OA.describing))
    graph.add((annotation, OA.hasBody, subject))
    graph.add((annotation, OA.hasTarget, target))
    graph.add((target, RDF.type, OA.SpecificResource))
    graph.add((target, OA.hasSource, article))
    graph.add((target, OA.hasSelector, quote))
    graph.add((target, OA.hasSelector, position))
    graph.add((quote, RDF.type, OA.TextQuoteSelector))
    graph.add((quote, OA.exact, Literal(evidence.exact)))
    graph.add((quote, OA.prefix, Literal(evidence.prefix)))
    graph.add((quote, OA.suffix, Literal(evidence.suffix)))
    graph.add((position, RDF.type, OA.TextPositionSelector))
    graph.add((position, OA.start, Literal(evidence.start, datatype=XSD.nonNegativeInteger)))
    graph.add((position, OA.end, Literal(evidence.end, datatype=XSD.nonNegativeInteger)))


def _add_place(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    if "part_of" in fields:
        graph.add((subject, SCHEMA.containedInPlace, _ref(fields["part_of"])))
    if "iso_code" in fields:
        graph.add((subject, IPG.iso3166Code, Literal(fields["iso_code"])))


def _add_group(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    for member in fields["members"]:
        graph.add((subject, IPG.hasMember, _ref(member)))


def _add_city(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    graph.add((subject, SCHEMA.containedInPlace, _ref(fields["in"])))
    if "capital_of" in fields:
        graph.add((subject, IPG.capitalOf, _ref(fields["capital_of"])))
    if "geonames" in fields:
        graph.add((subject, IPG.geonamesId, Literal(str(fields["geonames"]))))


def _add_agency(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    graph.add((subject, IPG.jurisdiction, _ref(fields["jurisdiction"])))
    if "part_of" in fields:
        graph.add((subject, ORG.subOrganizationOf, _ref(fields["part_of"])))
    for name in fields.get("former_names", []):
        graph.add((subject, IPG.formerName, Literal(name, lang="en")))
        graph.add((subject, SKOS.altLabel, Literal(name, lang="en")))


def _add_organization(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    if "location" in fields:
        graph.add((subject, SCHEMA.location, _ref(fields["location"])))


def _add_person(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    graph.add((subject, SCHEMA.jobTitle, Literal(fields["job_title"], lang="en")))
    graph.add((subject, SCHEMA.worksFor, _ref(fields["works_for"])))


def _add_statement(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    graph.add((subject, SCHEMA.creator, _ref(fields["speaker"])))
    graph.add((subject, SCHEMA.text, Literal(fields["text"], lang="en")))


def _add_event(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    graph.add((subject, SCHEMA.location, _ref(fields["location"])))
    if "start_date" in fields:
        graph.add((subject, SCHEMA.startDate, Literal(fields["start_date"])))
    if "occurring_on" in fields:
        graph.add((subject, IPG.occurringOn, Literal(fields["occurring_on"])))


def _add_focus(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    graph.add((subject, IPG.focusOf, _ref(fields["of"])))
    for industry in fields["industries"]:
        graph.add((subject, IPG.focusIndustry, _ref(industry)))


def _add_measure(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    graph.add((subject, IPG.measureType, _ref(fields["type"])))
    graph.add((subject, IPG.implementedIn, _ref(fields["implemented_in"])))
    graph.add((subject, DCTERMS.description, Literal(fields["description"], lang="en")))
    if "implemented_by" in fields:
        graph.add((subject, IPG.implementedBy, _ref(fields["implemented_by"])))
    for industry in fields.get("industries", []):
        graph.add((subject, IPG.targetsIndustry, _ref(industry)))
    if "date" in fields:
        graph.add((subject, DCTERMS.date, _partial_date(fields["date"])))


def _partial_date(text: str) -> Literal:
    """``2021`` as xsd:gYear, ``2021-06`` as xsd:gYearMonth, else xsd:date."""
    datatype = {4: XSD.gYear, 7: XSD.gYearMonth}.get(len(text), XSD.date)
    return Literal(text, datatype=datatype)


def _add_observation(graph: Graph, subject: URIRef, record: Record) -> None:
    fields = record.fields
    period = fields["period"]
    flow = fields["figure"] == "flow"
    graph.add((subject, RDF.type, IPG.FlowObservation if flow else IPG.StockObservation))
    graph.add((subject, QB.dataSet, dataset_iri(record.source)))
    graph.add((subject, SDMX_DIMENSION.refArea, _ref(fields["area"])))
    graph.add((subject, SDMX_DIMENSION.refPeriod, URIRef(period.iri)))
    graph.add((subject, IPG.indicator, _ref(fields["indicator"])))
    graph.add((subject, IPG.figureScope, scope_iri(scope_token(record))))
    graph.add((subject, IPG.periodEnd, Literal(period.end)))
    if flow:
        graph.add((subject, IPG.periodStart, Literal(period.start)))
    graph.add((subject, SDMX_MEASURE.obsValue, _number(fields["value"])))
    graph.add((subject, IPG.statedValue, Literal(fields["stated_value"])))
    graph.add((subject, IPG.valuePrecision, Literal(fields["precision"], datatype=XSD.decimal)))
    graph.add((subject, SDMX_ATTRIBUTE.unitMeasure, _ref(fields["unit"])))
    if "qualifier" in fields:
        graph.add((subject, IPG.qualifier, _ref(fields["qualifier"])))
    if "yoy_change_percent" in fields:
        change = fields["yoy_change_percent"]
        graph.add((subject, IPG.yoyChangePercent, Literal(change, datatype=XSD.decimal)))
    for industry in fields.get("industry_scope", []):
        graph.add((subject, IPG.industryScope, _ref(industry)))
    if "scope" in fields:
        graph.add((subject, IPG.scope, _ref(fields["scope"])))
    if "reported_by" in fields:
        graph.add((subject, IPG.reportedBy, _ref(fields["reported_by"])))
    graph.add((subject, IPG.figure, figure_iri(key_of(record))))


_STATUS = {"single": IPG.SingleSource, "corroborated": IPG.Corroborated, "conflict": IPG.Conflicting}


def _add_figures(graph: Graph, figures: list[Figure], labels: _Labels) -> None:
    """Each figure key once: what it counts, where and when, how many sources
    state it and whether they agree; each scope and period once."""
    for figure in figures:
        first = figure.observations[0]
        fields = first.fields
        node = figure_iri(figure.key)
        scope = scope_iri(figure.key[3])
        period = fields["period"]
        graph.add((node, RDF.type, IPG.Figure))
        what = f"{labels(fields['indicator'])}{labels.scope(first)}, {labels(fields['area'])}, {labels.period(first)}"
        graph.add((node, RDFS.label, Literal(what, lang="en")))
        graph.add((node, IPG.indicator, _ref(fields["indicator"])))
        graph.add((node, SDMX_DIMENSION.refArea, _ref(fields["area"])))
        graph.add((node, IPG.figureScope, scope))
        graph.add((node, IPG.periodEnd, Literal(period.end)))
        if fields["figure"] == "flow":
            graph.add((node, IPG.periodStart, Literal(period.start)))
        graph.add((node, IPG.figureStatus, _STATUS[figure.status]))
        graph.add((node, IPG.sourceCount, Literal(len(figure.sources))))
        graph.add((node, IPG.observationCount, Literal(len(figure.observations))))
        graph.add((scope, RDF.type, IPG.FigureScope))
        graph.add((scope, RDFS.label, Literal(labels.scope(first).strip() or "all", lang="en")))
        for industry in fields.get("industry_scope", []):
            graph.add((scope, IPG.industryScope, _ref(industry)))
        if "scope" in fields:
            graph.add((scope, IPG.scope, _ref(fields["scope"])))
        for record in figure.observations:
            graph.add(
                (URIRef(record.fields["period"].iri), RDFS.label, Literal(record.fields["period"].label, lang="en"))
            )


def _number(value: Decimal) -> Literal:
    """An ``xsd:integer`` for a whole number, else an ``xsd:decimal``."""
    if value == value.to_integral_value():
        return Literal(int(value))
    return Literal(value.normalize(), datatype=XSD.decimal)


_ADDERS = {
    "countries": _add_place,
    "regions": _add_place,
    "region_groups": _add_group,
    "cities": _add_city,
    "agencies": _add_agency,
    "organizations": _add_organization,
    "people": _add_person,
    "statements": _add_statement,
    "events": _add_event,
    "focus": _add_focus,
    "measures": _add_measure,
}


class _Superclasses:
    """Every superclass of each class of the ontology, computed once."""

    def __init__(self, ontology: Graph) -> None:
        self._ontology = ontology
        self._cache: dict[URIRef, list[URIRef]] = {}

    def of(self, cls: URIRef) -> list[URIRef]:
        if cls not in self._cache:
            self._cache[cls] = [c for c in self._ontology.transitive_objects(cls, RDFS.subClassOf) if c != cls]
        return self._cache[cls]

    def add_to(self, graph: Graph) -> None:
        """State every superclass of each typed subject, so that queries by the
        contract's general terms (``org:Organization``, ``schema:AdministrativeArea``)
        find the facts without a reasoner."""
        for subject, cls in list(graph.subject_objects(RDF.type)):
            for superclass in self.of(cls):
                graph.add((subject, RDF.type, superclass))


# ---------------------------------------------------------------------------
# Serialisation and the whole build
# ---------------------------------------------------------------------------


def serialize_trig(dataset: Dataset) -> bytes:
    """Canonical TriG: named graphs in IRI order, each as sorted Turtle.

    The Turtle of each graph is written by rdflib with the prefixes first and
    a blank line after them; the statements are taken whole after that line
    (never split into lines: a literal may hold any line separator).
    """
    header = "".join(f"@prefix {prefix}: <{iri}> .\n" for prefix, iri in sorted(PREFIXES.items()))
    blocks = [header]
    names = bind_prefixes(Graph(bind_namespaces="none")).namespace_manager
    for context in sorted(dataset.graphs(), key=lambda g: str(g.identifier)):
        if len(context) == 0:
            continue
        graph = bind_prefixes(Graph(bind_namespaces="none"))
        graph += context
        body = graph.serialize(format="turtle")
        statements = body.split("\n\n", 1)[1] if body.startswith("@prefix") else body
        blocks.append(f"\n{context.identifier.n3(names)} {{\n{statements.strip(chr(10))}\n}}\n")
    return "".join(blocks).encode("utf-8")


#: Oxigraph's parser for each RDF format a writer may check before replacing.
_CHECK_FORMATS = {
    "trig": pyoxigraph.RdfFormat.TRIG,
    "nt": pyoxigraph.RdfFormat.N_TRIPLES,
    "ttl": pyoxigraph.RdfFormat.TURTLE,
    "jsonld": pyoxigraph.RdfFormat.JSON_LD,
}


def check_rdf(
    data: bytes | None, rdf_format: str, path: str | Path, quads: int | None = None, *, written: Path | None = None
) -> None:
    """Parse ``data`` (or the file ``written``) back with Oxigraph (a
    conformant parser) and, when ``quads`` is given, count its quads, before
    it may replace a good file.

    Raises:
        OutputError: the data does not parse, or holds another number of quads.
    """
    source = {"input": data} if written is None else {"path": str(written)}
    try:
        count = sum(1 for _ in pyoxigraph.parse(**source, format=_CHECK_FORMATS[rdf_format]))
    except (SyntaxError, ValueError) as error:
        raise OutputError(
            f"the {rdf_format} written does not parse back ({error}); nothing was replaced", path=path
        ) from None
    if quads is not None and count != quads:
        raise OutputError(f"the {rdf_format} written holds {count} quads, not {quads}; nothing was replaced", path=path)


def check_trig(data: bytes, quads: int, path: Path) -> None:
    """:func:`check_rdf` for the built TriG."""
    check_rdf(data, "trig", path, quads)


#: Temporary files of :func:`write_atomic`: ``.NAME.PID.TOKEN.tmp`` beside the output.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[0-9a-f]{12}\.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporary files a killed writer of ``path`` left behind
    (those whose writer's pid is no longer alive); return them."""
    path = Path(path)
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match and match["name"] == path.name and not _alive(int(match["pid"])):
            try:
                entry.unlink()
            except OSError:
                continue
            removed.append(entry)
    return removed


def check_writable(path: str | Path) -> None:
    """Refuse, before any work is done, an output that cannot be a file: one
    that exists and is not a regular file, or one under a file.

    Raises:
        OutputError: what is in the way.
    """
    path = Path(path)
    if (path.exists() or path.is_symlink()) and not path.is_file():
        raise OutputError("not a regular file; refusing to replace it", path=path)
    for folder in path.absolute().parents:
        try:
            info = folder.stat()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as error:
            raise OutputError(f"cannot write: {error.strerror or error}", path=path) from None
        if not stat.S_ISDIR(info.st_mode):
            raise OutputError(f"cannot write: {folder} is not a folder", path=path)
        return


def write_atomic(
    path: str | Path, data: bytes | Iterable[bytes], *, rdf_format: str | None = None, quads: int | None = None
) -> None:
    """Write ``data`` (bytes, or pieces of bytes written one after another)
    to ``path`` through a temporary file, fsync and a rename, so a reader
    never sees half a file and a failure leaves the old one; the file gets
    the mode the user's umask gives a new file.

    With ``rdf_format`` (trig, nt, ttl, jsonld) the data is parsed back
    first (see :func:`check_rdf`; pieces are parsed back from the temporary
    file). The temporary file is named with the writer's pid, so a later
    write removes those of writers that were killed.

    Raises:
        OutputError: the data does not parse back; ``path`` exists and is
            not a regular file; its folder cannot be made or written.
    """
    path = Path(path)
    whole = isinstance(data, bytes)
    if rdf_format is not None and whole:
        check_rdf(data, rdf_format, path, quads)
    check_writable(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        # os.open with 0o666 lets the umask decide the mode (mkstemp would give 0600).
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise OutputError(f"cannot write: {error.strerror or error}", path=path) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            for piece in [data] if whole else data:
                stream.write(piece)
            stream.flush()
            os.fsync(stream.fileno())
        if rdf_format is not None and not whole:
            check_rdf(None, rdf_format, path, quads, written=temporary)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"cannot write: {error.strerror or error}", path=path) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def build(
    data_dir: str | Path = "data",
    ontology_dir: str | Path | None = None,
    out: str | Path = "build/ipgraph.trig",
    *,
    jobs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> BuildResult:
    """Read ``data_dir``, build and validate the dataset, write it to ``out``:
    source by source, in ``jobs`` processes (default: one per core), reusing
    the graphs of sources that did not change since the last build
    (:mod:`ipgraph.pipeline`).

    Raises:
        FactsError, QuoteError, SourceError: bad input (nothing is written).
        ValidationError: the dataset breaks the SHACL shapes or the Data Cube
            integrity constraints (the package's ``queries/datacube/``);
            nothing is written.

    ``ontology_dir`` holds ``ipgraph.ttl``, ``datacube.ttl`` and ``shapes.ttl``
    (default: the package's ``ontology/``).
    """
    from ipgraph.pipeline import run

    return run(data_dir, ontology_dir, out, jobs=jobs, progress=progress)


def _entity_class(record: Record) -> URIRef:
    if record.kind == "regions":
        return _REGION_CLASSES[record.fields["type"]]
    return _CLASSES[record.kind]


def summarize(graphs: dict[str, int], facts: Facts, path: Path, figures: list[Figure]) -> BuildResult:
    """Entities by their most specific class (each declared once: in the
    registry or one facts file); and, per source and for the whole graph,
    facts, figures and quotes; ``graphs``: the triples of each named graph.
    One pass over each."""
    names = bind_prefixes(Graph(bind_namespaces="none")).namespace_manager
    classes = Counter(
        _entity_class(record).n3(names)
        for record in facts.records.values()
        if record.kind in _CLASSES or record.kind == "regions"
    )
    classes[SCHEMA.NewsArticle.n3(names)] = len(facts.sources)
    sources = []
    for slug in sorted(facts.sources):
        records = list(facts.of_source(slug))
        quotes = {(r.evidence.start, r.evidence.end) for r in records}
        count = sum(1 for r in records if r.kind == "observations")
        sources.append(SourceSummary(slug=slug, facts=len(records), figures=count, quotes=len(quotes)))
    status = Counter(figure.status for figure in figures)
    entities = sum(1 for r in facts.records.values() if r.kind in _ENTITY_SECTIONS)
    totals = {
        "sources": len(facts.sources),
        "entities": entities,
        "observations": sum(s.figures for s in sources),
        "figures": len(figures),
        "corroborated figures": status["corroborated"],
        "conflicts": status["conflict"],
    }
    return BuildResult(
        path=path,
        triples=sum(graphs.values()),
        graphs=graphs,
        classes=dict(sorted(classes.items())),
        sources=sources,
        totals=totals,
        conflicts=[figure for figure in figures if figure.status == "conflict"],
    )


_ENTITY_SECTIONS = ("countries", "regions", "region_groups", "cities", "agencies", "organizations", "people", "events")
