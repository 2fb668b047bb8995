"""The vocabularies a curator extends: industries, indicators, units, measure
types, scopes and qualifiers, one YAML file each in ``data/vocab/``, turned
into SKOS concept schemes by :meth:`Vocabulary.graph`.

A file holds ``scheme:`` (label, comment) and ``concepts:``, a list of items
with ``id``, ``label`` and optionally ``label_zh``, ``alt_labels``,
``definition``, ``broader`` (ids in the same scheme), ``source`` and, for
qualifiers, ``words`` (how articles write them).

Example:
    >>> vocabulary = load_vocabulary("data/vocab")      # doctest: +SKIP
    >>> vocabulary.concepts["indicator"]["valid-invention-patents"].label  # doctest: +SKIP
    'valid invention patents'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef

from ipgraph.errors import FactsError
from ipgraph.namespaces import DCTERMS, IPG, IPGR, RDF, RDFS, SKOS, bind_prefixes
from ipgraph.yamlfile import Map, read_yaml

__all__ = ["SCHEMES", "Concept", "Vocabulary", "closest", "load_vocabulary"]


@dataclass(frozen=True)
class Scheme:
    """One vocabulary: its file, the kind of reference that names its
    concepts (and the IRI path segment), and the class of its concepts."""

    file: str
    kind: str
    cls: URIRef


SCHEMES = {
    scheme.kind: scheme
    for scheme in [
        Scheme("industries", "industry", IPG.Industry),
        Scheme("indicators", "indicator", IPG.Indicator),
        Scheme("units", "unit", IPG.Unit),
        Scheme("measure-types", "measure-type", IPG.MeasureType),
        Scheme("scopes", "scope", IPG.Scope),
        Scheme("qualifiers", "qualifier", IPG.Qualifier),
    ]
}

_FIELDS = {"id", "label", "label_zh", "alt_labels", "definition", "broader", "source", "words"}


@dataclass(frozen=True)
class Concept:
    """A concept of a scheme, as its YAML item gives it."""

    kind: str
    id: str
    label: str
    label_zh: str | None = None
    alt_labels: tuple[str, ...] = ()
    definition: str | None = None
    broader: tuple[str, ...] = ()
    source: str | None = None
    words: tuple[str, ...] = ()
    path: Path | None = None
    line: int = 0

    @property
    def iri(self) -> URIRef:
        return IPGR[f"{self.kind}/{self.id}"]


@dataclass
class Vocabulary:
    """Every scheme's concepts by kind and id, and the file of each scheme."""

    concepts: dict[str, dict[str, Concept]] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    schemes: dict[str, Map] = field(default_factory=dict)

    def ids(self) -> dict[str, set[str]]:
        """The ids of each kind of concept."""
        return {kind: set(concepts) for kind, concepts in self.concepts.items()}

    def graph(self) -> Graph:
        """The SKOS concept schemes: every concept with its labels,
        definition, ``skos:broader`` and ``skos:narrower``, and the top
        concepts of each scheme."""
        graph = bind_prefixes(Graph())
        for kind, concepts in sorted(self.concepts.items()):
            scheme_meta = self.schemes[kind]
            scheme = IPGR[f"scheme/{SCHEMES[kind].file}"]
            graph.add((scheme, RDF.type, SKOS.ConceptScheme))
            graph.add((scheme, RDFS.label, Literal(scheme_meta["label"], lang="en")))
            graph.add((scheme, SKOS.prefLabel, Literal(scheme_meta["label"], lang="en")))
            graph.add((scheme, RDFS.comment, Literal(scheme_meta["comment"], lang="en")))
            for concept in concepts.values():
                iri = concept.iri
                graph.add((iri, RDF.type, SCHEMES[kind].cls))
                graph.add((iri, SKOS.inScheme, scheme))
                graph.add((iri, SKOS.prefLabel, Literal(concept.label, lang="en")))
                graph.add((iri, RDFS.label, Literal(concept.label, lang="en")))
                if concept.label_zh:
                    graph.add((iri, SKOS.altLabel, Literal(concept.label_zh, lang="zh")))
                for alt in concept.alt_labels:
                    graph.add((iri, SKOS.altLabel, Literal(alt, lang="en")))
                for word in concept.words:
                    graph.add((iri, SKOS.hiddenLabel, Literal(word, lang="en")))
                if concept.definition:
                    graph.add((iri, SKOS.definition, Literal(concept.definition, lang="en")))
                if concept.source:
                    graph.add((iri, DCTERMS.source, Literal(concept.source)))
                if not concept.broader:
                    graph.add((iri, SKOS.topConceptOf, scheme))
                    graph.add((scheme, SKOS.hasTopConcept, iri))
                for broader in concept.broader:
                    graph.add((iri, SKOS.broader, concepts[broader].iri))
                    graph.add((concepts[broader].iri, SKOS.narrower, iri))
        return graph


def closest(word: str, known: set[str] | list[str], n: int = 3) -> str:
    """``" (closest: a, b)"`` naming the known ids nearest to ``word``, or ``""``."""
    import difflib

    matches = difflib.get_close_matches(word, sorted(known), n=n, cutoff=0.5)
    return f" (closest: {', '.join(matches)})" if matches else ""


def load_vocabulary(vocab_dir: str | Path) -> Vocabulary:
    """Read every ``<scheme>.yaml`` of ``vocab_dir``.

    Raises:
        FactsError: a file is missing, unknown or malformed; a concept has no
            label, an unknown field, a repeated id or a ``broader`` id that is
            not in its scheme.
    """
    vocab_dir = Path(vocab_dir)
    vocabulary = Vocabulary()
    expected = {scheme.file: kind for kind, scheme in SCHEMES.items()}
    for path in sorted(vocab_dir.glob("*.yaml")):
        if path.stem not in expected:
            raise FactsError(f"unknown vocabulary file; expected one of: {', '.join(sorted(expected))}", path=path)
    for file, kind in sorted(expected.items()):
        path = vocab_dir / f"{file}.yaml"
        document = read_yaml(path)
        if not isinstance(document, Map) or not isinstance(document.get("scheme"), Map):
            raise FactsError("expected 'scheme:' (label, comment) and 'concepts:'", path=path, line=1)
        scheme = document["scheme"]
        for key in ("label", "comment"):
            if not isinstance(scheme.get(key), str):
                raise FactsError(f"expected text in scheme.{key}", path=path, line=scheme.line_of(key), field=key)
        items = document.get("concepts")
        if not isinstance(items, list):
            raise FactsError("expected a list of concepts", path=path, line=document.line_of("concepts"))
        concepts: dict[str, Concept] = {}
        for item in items:
            concept = _load_concept(kind, item, path, document.line_of("concepts"))
            if concept.id in concepts:
                raise FactsError(
                    f"duplicate id {concept.id!r}: already defined at line {concepts[concept.id].line}",
                    path=path,
                    line=concept.line,
                    field="id",
                )
            concepts[concept.id] = concept
        for concept in concepts.values():
            for broader in concept.broader:
                if broader not in concepts:
                    raise FactsError(
                        f"unknown broader {kind} {broader!r}{closest(broader, set(concepts))}",
                        path=path,
                        line=concept.line,
                        field="broader",
                    )
        vocabulary.concepts[kind] = concepts
        vocabulary.files[kind] = path
        vocabulary.schemes[kind] = scheme
    return vocabulary


def _load_concept(kind: str, item: object, path: Path, section_line: int) -> Concept:
    from ipgraph.facts import SLUG

    if not isinstance(item, Map):
        raise FactsError("expected a mapping (id, label, ...)", path=path, line=section_line, field="concepts")

    def fail(message: str, key: str) -> FactsError:
        return FactsError(message, path=path, line=item.line_of(key), field=f"concepts.{key}")

    for key in item:
        if key not in _FIELDS or (key == "words" and kind != "qualifier"):
            raise fail(f"unknown field {key!r}; expected: {', '.join(sorted(_FIELDS - {'words'}))}", key)
    ident = item.get("id")
    if not isinstance(ident, str) or not SLUG.match(ident):
        raise fail(f"expected an id of lower-case letters, digits and hyphens, got {ident!r}", "id")
    texts = {}
    for key in ("label", "label_zh", "definition", "source"):
        value = item.get(key)
        if value is None and key != "label":
            continue
        if not isinstance(value, str) or not value.strip():
            raise fail(f"expected text, got {value!r}", key)
        texts[key] = value
    lists = {}
    for key in ("alt_labels", "broader", "words"):
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise fail(f"expected a list of texts, got {value!r}", key)
        lists[key] = tuple(value)
    if kind == "qualifier" and not lists["words"]:
        raise fail("a qualifier needs its words (how articles write it)", "id")
    return Concept(kind=kind, id=ident, path=path, line=item.line, **texts, **lists)
