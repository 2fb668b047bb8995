"""Build the RDF dataset from the curated facts: one named graph per source,
plus the ontology and the vocabularies; validate it; write it as TriG.

The same inputs give a byte-identical file (no blank nodes, sorted graphs,
subjects and objects), and a failed build leaves the previous file as it was
(the new file is written beside it and renamed only when complete).

Example:
    >>> from ipgraph.build import build
    >>> result = build("data", "ontology", "build/ipgraph.trig")   # doctest: +SKIP
    >>> result.triples                                             # doctest: +SKIP
    1024
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from rdflib import Dataset, Graph, Literal, URIRef

from ipgraph.errors import FactsError
from ipgraph.facts import CONCEPT_PATHS, KINDS, Facts, Record, Source, load_facts
from ipgraph.mappings import LINKS_GRAPH, known_subjects, links_graph
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
from ipgraph.validate import parse_turtle, validate_graph

__all__ = [
    "DATASET",
    "ONTOLOGY_GRAPH",
    "VOCABULARY_GRAPH",
    "BuildResult",
    "build",
    "build_dataset",
    "load_ontology",
    "serialize_trig",
    "source_graph",
    "vocabulary_ids",
    "write_atomic",
]

ONTOLOGY_GRAPH = IPGR["graph/ontology"]
VOCABULARY_GRAPH = IPGR["graph/vocabulary"]
#: The one qb:DataSet every observation belongs to (ontology/datacube.ttl).
DATASET = IPGR["dataset/ip-metrics"]

_REGION_CLASSES = {
    "province": IPG.Province,
    "autonomous-region": IPG.AutonomousRegion,
    "municipality": IPG.Municipality,
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


@dataclass
class BuildResult:
    """What a build wrote: the file, its size and a summary of its content."""

    path: Path
    triples: int
    graphs: dict[str, int]
    classes: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Ontology and vocabularies
# ---------------------------------------------------------------------------


def load_ontology(ontology_dir: str | Path) -> tuple[Graph, Graph]:
    """Parse ``ipgraph.ttl`` + ``datacube.ttl`` and ``vocab/*.ttl``.

    Raises:
        IpgraphError: a file is missing or is not valid Turtle (with its line).
    """
    ontology_dir = Path(ontology_dir)
    ontology = parse_turtle(ontology_dir / "ipgraph.ttl", ontology_dir / "datacube.ttl")
    vocab_files = sorted((ontology_dir / "vocab").glob("*.ttl"))
    if not vocab_files:
        raise FactsError("no vocabulary files (*.ttl) found", path=ontology_dir / "vocab")
    return ontology, parse_turtle(*vocab_files)


def vocabulary_ids(vocabulary: Graph) -> dict[str, set[str]]:
    """The ids (last IRI segment) of the concepts of each vocabulary kind."""
    ids: dict[str, set[str]] = {kind: set() for kind in CONCEPT_PATHS}
    for concept in vocabulary.subjects(SKOS.inScheme, None):
        for kind, path in CONCEPT_PATHS.items():
            prefix = str(IPGR[f"{path}/"])
            if str(concept).startswith(prefix):
                ids[kind].add(str(concept)[len(prefix) :])
    return ids


# ---------------------------------------------------------------------------
# Facts to RDF
# ---------------------------------------------------------------------------


def build_dataset(facts: Facts, ontology: Graph, vocabulary: Graph) -> Dataset:
    """The dataset of ``facts``: ontology, vocabulary and one graph per source."""
    dataset = Dataset()
    bind_prefixes(dataset)
    ontology_graph = dataset.graph(ONTOLOGY_GRAPH)
    ontology_graph += ontology
    vocabulary_graph = dataset.graph(VOCABULARY_GRAPH)
    vocabulary_graph += vocabulary
    _add_supertypes(vocabulary_graph, ontology)
    labels = _Labels(facts, vocabulary)
    for slug in sorted(facts.sources):
        graph = dataset.graph(source_graph(slug))
        _add_source(graph, facts.sources[slug])
        for record in facts.of_source(slug):
            _add_record(graph, record, labels)
        _add_supertypes(graph, ontology)
    return dataset


def _iri(section_or_concept: str, ident: str) -> URIRef:
    path = KINDS[section_or_concept].path if section_or_concept in KINDS else CONCEPT_PATHS[section_or_concept]
    return IPGR[f"{path}/{ident}"]


def _ref(value: tuple[str, str]) -> URIRef:
    return _iri(*value)


class _Labels:
    """English labels of facts and concepts, to name derived things."""

    def __init__(self, facts: Facts, vocabulary: Graph) -> None:
        self._facts = facts
        self._vocabulary = vocabulary

    def __call__(self, value: tuple[str, str]) -> str:
        section, ident = value
        if section in KINDS:
            return self._facts.records[f"{KINDS[section].path}/{ident}"].fields["label"]
        return str(self._vocabulary.value(_iri(section, ident), SKOS.prefLabel))


def _add_source(graph: Graph, source: Source) -> None:
    article = IPGR[f"source/{source.slug}"]
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


def _slugify(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _add_record(graph: Graph, record: Record, labels: _Labels) -> None:
    fields = record.fields
    if record.kind == "mentions":
        subject = _ref(fields["concept"])
    else:
        subject = _iri(record.kind, record.id)
        graph.add(
            (subject, RDF.type, _REGION_CLASSES[fields["type"]] if record.kind == "regions" else _CLASSES[record.kind])
        )
        _add_labels(graph, subject, record, labels)
        _ADDERS[record.kind](graph, subject, fields)
    _add_evidence(graph, subject, record)


def _add_labels(graph: Graph, subject: URIRef, record: Record, labels: _Labels) -> None:
    fields = record.fields
    if "label" in fields:
        label = fields["label"]
    elif record.kind == "statements":
        label = f"statement of {labels(fields['speaker'])}"
    elif record.kind == "focus":
        label = f"industry focus of {labels(fields['of'])}"
    else:  # observations
        what = f"{labels(fields['indicator'])}, {labels(fields['area'])}, {fields['period'].label}"
        label = f"{what}: {fields['stated_value']}"
    graph.add((subject, RDFS.label, Literal(label, lang="en")))
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


def _add_group(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    for member in fields["members"]:
        graph.add((subject, IPG.hasMember, _ref(member)))


def _add_city(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    graph.add((subject, SCHEMA.containedInPlace, _ref(fields["in"])))
    if "capital_of" in fields:
        graph.add((subject, IPG.capitalOf, _ref(fields["capital_of"])))


def _add_agency(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    graph.add((subject, IPG.jurisdiction, _ref(fields["jurisdiction"])))
    if "part_of" in fields:
        graph.add((subject, ORG.subOrganizationOf, _ref(fields["part_of"])))


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


def _add_observation(graph: Graph, subject: URIRef, fields: dict[str, Any]) -> None:
    period = fields["period"]
    graph.add((subject, QB.dataSet, DATASET))
    graph.add((subject, SDMX_DIMENSION.refArea, _ref(fields["area"])))
    graph.add((subject, SDMX_DIMENSION.refPeriod, URIRef(period.iri)))
    graph.add((URIRef(period.iri), RDFS.label, Literal(period.label, lang="en")))
    graph.add((subject, IPG.periodEnd, Literal(period.end)))
    graph.add((subject, IPG.indicator, _ref(fields["indicator"])))
    graph.add((subject, SDMX_MEASURE.obsValue, _number(fields["value"])))
    graph.add((subject, IPG.statedValue, Literal(fields["stated_value"])))
    graph.add((subject, SDMX_ATTRIBUTE.unitMeasure, _ref(fields["unit"])))
    if "yoy_change_percent" in fields:
        change = fields["yoy_change_percent"]
        graph.add((subject, IPG.yoyChangePercent, Literal(change, datatype=XSD.decimal)))
    for industry in fields.get("industry_scope", []):
        graph.add((subject, IPG.industryScope, _ref(industry)))
    if "reported_by" in fields:
        graph.add((subject, IPG.reportedBy, _ref(fields["reported_by"])))


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
    "observations": _add_observation,
}


def _add_supertypes(graph: Graph, ontology: Graph) -> None:
    """State every superclass of each typed subject, so that queries by the
    contract's general terms (``org:Organization``, ``schema:AdministrativeArea``)
    find the facts without a reasoner."""
    for subject, cls in list(graph.subject_objects(RDF.type)):
        for superclass in ontology.transitive_objects(cls, RDFS.subClassOf):
            graph.add((subject, RDF.type, superclass))


# ---------------------------------------------------------------------------
# Serialisation and the whole build
# ---------------------------------------------------------------------------


def serialize_trig(dataset: Dataset) -> bytes:
    """Canonical TriG: named graphs in IRI order, each as sorted Turtle."""
    header = "".join(f"@prefix {prefix}: <{iri}> .\n" for prefix, iri in sorted(PREFIXES.items()))
    blocks = [header]
    names = bind_prefixes(Graph(bind_namespaces="none")).namespace_manager
    for context in sorted(dataset.graphs(), key=lambda g: str(g.identifier)):
        if len(context) == 0:
            continue
        graph = bind_prefixes(Graph(bind_namespaces="none"))
        graph += context
        body = graph.serialize(format="turtle")
        # Not indented: a line may continue a multi-line literal.
        statements = "\n".join(line for line in body.splitlines() if not line.startswith("@prefix")).strip("\n")
        blocks.append(f"\n{context.identifier.n3(names)} {{\n{statements}\n}}\n")
    return "".join(blocks).encode("utf-8")


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename, so a
    reader never sees half a file and a failure leaves the old one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def build(
    data_dir: str | Path = "data",
    ontology_dir: str | Path = "ontology",
    out: str | Path = "build/ipgraph.trig",
) -> BuildResult:
    """Read ``data_dir``, build and validate the dataset, write it to ``out``.

    Raises:
        FactsError, QuoteError, SourceError: bad input (nothing is written).
        ValidationError: the dataset breaks the SHACL shapes or the Data Cube
            integrity constraints (``queries/datacube/`` beside ``ontology_dir``);
            nothing is written.
    """
    ontology, vocabulary = load_ontology(ontology_dir)
    facts = load_facts(data_dir, vocabulary_ids(vocabulary))
    dataset = build_dataset(facts, ontology, vocabulary)
    # The links graph: data/mappings/*.sssom.tsv, checked against the facts (ipgraph.mappings).
    links = dataset.graph(LINKS_GRAPH)
    links += links_graph(Path(data_dir) / "mappings", known_subjects(dataset))
    project = Path(ontology_dir).parent
    validate_graph(dataset, Path(ontology_dir) / "shapes.ttl", project / "queries" / "datacube")
    write_atomic(out, serialize_trig(dataset))
    return summarize(dataset, Path(out))


def summarize(dataset: Dataset, path: Path) -> BuildResult:
    """Count triples per named graph, and the entities of each class the
    sources state, by their most specific class (an agency is not counted
    again as an organisation; an entity named by two sources counts once)."""
    names = dataset.namespace_manager
    graphs = {
        g.identifier.n3(names): len(g) for g in sorted(dataset.graphs(), key=lambda g: str(g.identifier)) if len(g)
    }
    typed = {
        (subject, cls)
        for graph in dataset.graphs()
        if graph.identifier not in (ONTOLOGY_GRAPH, VOCABULARY_GRAPH)
        for subject, cls in graph.subject_objects(RDF.type)
        if cls in _CLASSES.values() or cls in _REGION_CLASSES.values() or cls == SCHEMA.NewsArticle
    }
    ontology = dataset.graph(ONTOLOGY_GRAPH)
    classes = Counter(
        cls.n3(names)
        for subject, cls in typed
        if not any(
            (subject, other) in typed and cls in ontology.transitive_objects(other, RDFS.subClassOf)
            for other in _CLASSES.values()
            if other != cls
        )
    )
    return BuildResult(path=path, triples=sum(graphs.values()), graphs=graphs, classes=dict(sorted(classes.items())))
