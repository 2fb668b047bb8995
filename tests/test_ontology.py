"""The ontology and vocabularies: readable, complete, and in step with the code."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from ipgraph.namespaces import IPG
from ipgraph.vocab import load_vocabulary

ROOT = Path(__file__).resolve().parent.parent
ONTOLOGY = ROOT / "src" / "ipgraph" / "ontology"


@pytest.fixture(scope="module")
def ontology() -> Graph:
    graph = Graph()
    for name in ("ipgraph.ttl", "datacube.ttl"):
        graph.parse(ONTOLOGY / name)
    return graph


def test_every_ipg_term_in_the_code_is_defined_with_label_and_comment(ontology):
    defined = {s for s in ontology.subjects(RDF.type, None) if str(s).startswith(str(IPG._NS))}
    assert {IPG[name] for name in IPG.__annotations__} == defined
    for term in defined:
        assert ontology.value(term, RDFS.label) is not None, term
        assert ontology.value(term, RDFS.comment) is not None, term


def test_a_typo_in_a_term_fails_at_once():
    with pytest.raises(AttributeError):
        IPG.Provnce  # noqa: B018


def test_classes_follow_the_vocabulary_contract(ontology):
    def supers(cls):
        return set(ontology.transitive_objects(cls, RDFS.subClassOf))

    schema = "https://schema.org/"
    assert f"{schema}AdministrativeArea" in map(str, supers(IPG.Province))
    assert IPG.ProvincialLevelRegion in supers(IPG.AutonomousRegion)
    assert {str(c) for c in supers(IPG.Agency)} >= {
        "http://www.w3.org/ns/org#Organization",
        f"{schema}GovernmentOrganization",
    }
    assert "http://www.w3.org/ns/prov#Activity" in map(str, supers(IPG.Measure))
    assert SKOS.Concept in supers(IPG.Industry)
    assert (IPG.evidence, RDF.type, OWL.ObjectProperty) in ontology


def test_every_concept_is_in_one_scheme_with_an_english_label():
    # The vocabularies are data/vocab/*.yaml; the build makes them this graph.
    vocabulary = load_vocabulary(ROOT / "data" / "vocab").graph()
    concepts = set(vocabulary.subjects(SKOS.inScheme, None))
    assert len(concepts) >= 20
    for concept in concepts:
        assert len(set(vocabulary.objects(concept, SKOS.inScheme))) == 1, concept
        assert any(label.language == "en" for label in vocabulary.objects(concept, SKOS.prefLabel)), concept
