"""The build, source by source, in parallel and incrementally.

``ipgraph build`` runs four steps:

1. **Read** every facts file with its source text and metadata (a pure
   function of those three files, run in worker processes; a file whose
   bytes the last build read is taken from its cache instead).
2. **Check across sources** in the main process, each check one pass over
   an index: ids declared once, references resolved, aliases unique, figure
   keys stated once per source (:func:`ipgraph.facts.load_facts`,
   :func:`ipgraph.figures.check_keys`), and the figure keys grouped once
   (:func:`ipgraph.figures.compare`).
3. **Build each source's named graph** in a worker: its triples, the SHACL
   shapes at its own nodes against that graph together with the shared
   graphs it refers to (ontology, vocabulary, registry, and the types of the
   entities of other sources it names), the Data Cube integrity constraints
   on its data set, and its canonical TriG (triples sorted, serialised by
   Oxigraph). Each step is a pure function of its inputs, whose hash names
   its output: a graph whose inputs did not change since the last build is
   reused, not rebuilt.
4. **Write**: the shared graphs (ontology, vocabulary, registry, figures,
   links) are made in the main process; ``ipgraph.trig`` is the graphs'
   TriG in IRI order, written atomically and parsed back; then the parts and
   the state are replaced.

Beside ``build/ipgraph.trig`` the build keeps ``build/ipgraph.parts/``:
``graphs/`` (each named graph as a standalone TriG file, named by its
graph and the hash of its inputs), ``read/`` (the cache of read facts
files) and ``state.json`` (for each facts file and named graph, the hashes
of its inputs and its file). New parts are staged in a temporary folder and
moved into place only after ``ipgraph.trig`` is written, so a failed or
killed build leaves the last one whole. A missing or unreadable state means
a full build, with a note. A build holds a lock (``flock``) on the output's folder,
so a second build of the same project waits for the first.

Example:
    >>> from ipgraph.pipeline import run
    >>> result = run("data", None, "build/ipgraph.trig", jobs=2)   # doctest: +SKIP
    >>> result.rebuilt, len(result.sources)                        # doctest: +SKIP
    (117, 117)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import multiprocessing
import os
import pickle
import secrets
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph
from rdflib import Graph, URIRef
from rdflib.namespace import SH

import ipgraph
from ipgraph import build as graphs
from ipgraph.errors import OutputError, ValidationError
from ipgraph.facts import KINDS, Facts, FactsFile, Record, load_facts, read_facts_file
from ipgraph.figures import Figure, check_keys, compare, figure_iri, scope_iri
from ipgraph.layout import DATACUBE_QUERIES, ONTOLOGY
from ipgraph.mappings import LINKS_GRAPH, links_graph
from ipgraph.namespaces import IPGR, PREFIXES, RDF, SCHEMA, XSD, bind_prefixes
from ipgraph.validate import Violation, check_nodes, datacube_store, parse_turtle
from ipgraph.vocab import Vocabulary, load_vocabulary

__all__ = ["Progress", "canonical_trig", "parts_dir", "run"]

#: ``progress(step, done, total)``: called as a build advances.
Progress = Callable[[str, int, int], None]

#: Bumped when the state's layout changes (an older state is then ignored).
STATE_VERSION = 1
#: The modules whose code decides the graphs; their bytes are part of every hash.
_CODE = ("build", "pipeline", "facts", "figures", "validate", "periods", "namespaces", "vocab", "yamlfile", "mappings")
_PREFIXES = dict(sorted(PREFIXES.items()))
#: The prefix of the folders (in the temporary folder) where a build stages its new parts.
_STAGING = "ipgraph-build-"
_HEADER = pyoxigraph.serialize([], format=pyoxigraph.RdfFormat.TRIG, prefixes=_PREFIXES) or b""


def parts_dir(out: str | Path) -> Path:
    """Where the build of ``out`` keeps its parts and state: ``build/ipgraph.parts/``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.parts")


def _sha(*pieces: bytes | str) -> str:
    digest = hashlib.sha256()
    for piece in pieces:
        data = piece.encode("utf-8") if isinstance(piece, str) else piece
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _file_sha(path: Path) -> str | None:
    """The hash of a regular file's bytes; None for anything else (the reader then says what is wrong)."""
    try:
        if not path.is_file():
            return None
        return _sha(path.read_bytes())
    except OSError:
        return None


def _folder_sha(folder: Path, pattern: str) -> str:
    return _sha(*(f"{path.name}\0{_file_sha(path)}" for path in sorted(folder.glob(pattern))))


# ---------------------------------------------------------------------------
# Canonical TriG of one named graph
# ---------------------------------------------------------------------------


def _ox(term) -> pyoxigraph.NamedNode | pyoxigraph.Literal | pyoxigraph.BlankNode:
    if isinstance(term, URIRef):
        return pyoxigraph.NamedNode(str(term))
    if hasattr(term, "language"):
        if term.language:
            return pyoxigraph.Literal(str(term), language=term.language)
        if term.datatype is not None:
            text = str(term)
            if term.datatype == XSD.decimal and not any(c in text for c in ".eE"):
                text += ".0"  # the canonical form (as rdflib's Turtle writes it): 1000.0, not 1000
            return pyoxigraph.Literal(text, datatype=pyoxigraph.NamedNode(str(term.datatype)))
        return pyoxigraph.Literal(str(term))
    return pyoxigraph.BlankNode(str(term))


def _quads(name: URIRef, graph: Graph) -> list[pyoxigraph.Quad]:
    """The triples of ``graph`` as Oxigraph quads of graph ``name``, sorted by their N-Quads."""
    context = pyoxigraph.NamedNode(str(name))
    quads = [pyoxigraph.Quad(_ox(s), _ox(p), _ox(o), context) for s, p, o in graph]
    quads.sort(key=str)
    return quads


def canonical_trig(quads: list[pyoxigraph.Quad]) -> bytes:
    """TriG of sorted quads with ipgraph's prefixes: the same quads give the same bytes."""
    data = pyoxigraph.serialize(quads, format=pyoxigraph.RdfFormat.TRIG, prefixes=_PREFIXES)
    assert data.startswith(_HEADER)
    return data


# ---------------------------------------------------------------------------
# What every source's step shares
# ---------------------------------------------------------------------------


@dataclass
class _Shared:
    """The inputs every source's step shares, made once per build. Worker
    processes are forked after it is made, so they inherit it."""

    vocabulary: Vocabulary
    superclasses: graphs._Superclasses
    #: What the vocabulary and registry graphs say of each node (and the type
    #: of each article the registry cites), by subject.
    descriptions: dict[URIRef, tuple[tuple, ...]]
    #: The ontology, vocabulary and registry graphs, for the Data Cube constraints.
    base_ntriples: bytes
    shapes: Graph
    datacube: Path
    staging: Path


_SHARED: _Shared | None = None


@dataclass
class _SourceJob:
    """The inputs of one source's step: its source and records, the labels of
    the entities it names, the declarations of other sources' entities it
    mentions (to validate what it adds to them), and the classes of other
    sources' entities it refers to."""

    slug: str
    source: object
    records: list[Record]
    labels: dict[tuple[str, str], str]
    context: list[Record]
    types: dict[str, tuple[str, ...]]
    key: str


@dataclass(frozen=True)
class _Chunk:
    """One named graph as written: its IRI, file (under graphs/), size and hash."""

    graph: str
    file: str
    quads: int
    sha256: str
    key: str


def _chunk_name(graph: str, key: str) -> str:
    return graph.removeprefix(str(IPGR["graph/"])) + f".{key[:16]}.trig"


def _build_source(job: _SourceJob) -> _Chunk | str:
    """Build, validate and write one source's named graph; its chunk, or the
    text of its violations."""
    shared = _SHARED
    labels = graphs._Labels(lambda section, ident: job.labels[(section, ident)], shared.vocabulary)
    name = graphs.source_graph(job.slug)
    graph = Graph()
    graphs._add_source(graph, job.source)
    for record in job.records:
        graphs._add_record(graph, record, labels)
    shared.superclasses.add_to(graph)
    context = Graph()
    for record in job.context:
        graphs._add_record(context, record, labels)
    for iri, classes in job.types.items():
        for cls in classes:
            context.add((URIRef(iri), RDF.type, URIRef(cls)))
    for figure in graph.objects(None, graphs.IPG.figure):
        context.add((figure, RDF.type, graphs.IPG.Figure))
    for scope in graph.objects(None, graphs.IPG.figureScope):
        context.add((scope, RDF.type, graphs.IPG.FigureScope))
    violations = _validate(graph, context, sorted(set(graph.subjects()), key=str))
    quads = _quads(name, graph)
    store = pyoxigraph.Store()
    store.load(shared.base_ntriples, pyoxigraph.RdfFormat.N_TRIPLES)
    store.extend(pyoxigraph.Quad(q.subject, q.predicate, q.object) for q in quads)
    violations += [
        Violation(
            focus=f"the data set of {job.slug}", label=None, path=None, value=None, message=title, severity="Violation"
        )
        for title in datacube_store(store, shared.datacube)
    ]
    if violations:
        return "\n\n".join(str(v) for v in violations)
    return _write_chunk(str(name), job.key, quads)


def _validate(graph: Graph, context: Graph, focus: list[URIRef]) -> list[Violation]:
    """SHACL at ``focus`` on ``graph`` with ``context`` and what the shared
    graphs say of the nodes they name: each node's description, and the
    types of the nodes those descriptions name. The shapes look at a focus
    node's values and their classes (superclasses are stated, so no
    ``rdfs:subClassOf`` is needed), so this gives the result of validating
    against all of the shared graphs, at the cost of what the source names."""
    descriptions = _SHARED.descriptions
    data = Graph()
    data += graph
    data += context
    named = {node for triple in data for node in (triple[0], triple[2]) if isinstance(node, URIRef)}
    seen = set()
    for node in named:
        for triple in descriptions.get(node, ()):
            data.add(triple)
            if isinstance(triple[2], URIRef) and triple[2] not in named and triple[2] not in seen:
                seen.add(triple[2])
    for node in seen:
        for triple in descriptions.get(node, ()):
            if triple[1] == RDF.type:
                data.add(triple)
    return check_nodes(data, _SHARED.shapes, focus)


def _write_chunk(graph: str, key: str, quads: list[pyoxigraph.Quad]) -> _Chunk:
    data = canonical_trig(quads)
    file = _chunk_name(graph, key)
    graphs.write_atomic(_SHARED.staging / file, data)
    return _Chunk(graph=graph, file=file, quads=len(quads), sha256=_sha(data), key=key)


def _read(arguments: tuple[Path, Path]) -> bytes:
    """Read one facts file (in a worker): its :class:`FactsFile`, pickled."""
    return pickle.dumps(read_facts_file(*arguments), protocol=pickle.HIGHEST_PROTOCOL)


# ---------------------------------------------------------------------------
# The state of the last build
# ---------------------------------------------------------------------------


class _Parts:
    """``build/ipgraph.parts/``: the state, the graphs and the read cache."""

    def __init__(self, out: Path) -> None:
        self.root = parts_dir(out)
        self.state_path = self.root / "state.json"
        self.graphs = self.root / "graphs"
        self.read = self.root / "read"

    def load_state(self, code: str) -> tuple[dict, str | None]:
        """The last build's state, or an empty one and why it was not usable."""
        empty = {"files": {}, "graphs": {}}
        if not self.state_path.exists():
            return empty, None if not self.root.exists() else "no build state found: a full build"
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
                return empty, "the build state is of another version: a full build"
            if not isinstance(state.get("files"), dict) or not isinstance(state.get("graphs"), dict):
                raise ValueError("files or graphs missing")
            if state.get("code") != code:
                return empty, None  # another ipgraph: everything is rebuilt, which is no surprise
            for entry in [*state["files"].values(), *state["graphs"].values()]:
                if not isinstance(entry, dict):
                    raise ValueError("an entry is not an object")
        except (OSError, ValueError) as error:
            return empty, f"the build state {self.state_path} is unreadable ({error}): a full build"
        return state, None


@contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the output's folder (its nearest existing
    ancestor) while building: a second build of the same output waits. The
    lock is on the folder itself, so taking it creates no file."""
    folder = out.absolute().parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise OutputError(f"cannot open the output's folder: {error.strerror or error}", path=folder) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Another build is writing into {folder}; waiting for it to finish…", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


# ---------------------------------------------------------------------------
# The build
# ---------------------------------------------------------------------------


@dataclass
class _Plan:
    """What this build does: the chunks it reuses and the jobs it runs."""

    reused: dict[str, _Chunk] = field(default_factory=dict)
    jobs: list[_SourceJob] = field(default_factory=list)


def _code_key(ontology_dir: Path) -> str:
    package = Path(graphs.__file__).parent
    code = [(package / f"{module}.py").read_bytes() for module in _CODE]
    return _sha(ipgraph.__version__, *code)


def _shared_key(code: str, data_dir: Path, ontology_dir: Path, datacube: Path) -> str:
    return _sha(
        code,
        _folder_sha(data_dir / "registry", "*.yaml"),
        _folder_sha(data_dir / "vocab", "*.yaml"),
        _folder_sha(ontology_dir, "*.ttl"),
        _folder_sha(datacube, "*.r[qu]"),
    )


class _Reader:
    """Reads the facts files for :func:`load_facts`: from the cache when the
    three files of a source have the bytes the last build read, else in the pool."""

    def __init__(self, data_dir: Path, parts: _Parts, state: dict, code: str, pool, staging: Path, progress) -> None:
        self.data_dir = data_dir
        self.parts = parts
        self.state = state
        self.code = code
        self.pool = pool
        self.staging = staging
        self.progress = progress
        #: facts file (relative path) → its state entry in this build.
        self.files: dict[str, dict] = {}

    def _key(self, facts_sha: str, slug: str) -> str | None:
        sources = self.data_dir / "sources"
        text, meta = _file_sha(sources / f"{slug}.txt"), _file_sha(sources / f"{slug}.yaml")
        if text is None or meta is None:
            return None
        return _sha(self.code, facts_sha, text, meta)

    def __call__(self, paths: list[Path]) -> Iterator[FactsFile]:
        cached: dict[int, FactsFile] = {}
        fresh: list[int] = []
        shas = [_file_sha(path) for path in paths]
        for index, path in enumerate(paths):
            entry = self.state["files"].get(path.name)
            if entry and shas[index] is not None and entry.get("facts") == shas[index]:
                key = self._key(shas[index], str(entry.get("slug")))
                cache = self.parts.read / f"{key}.pickle"
                if key is not None and key == entry.get("read") and cache.is_file():
                    try:
                        cached[index] = pickle.loads(cache.read_bytes())  # noqa: S301 (the build's own cache)
                        self.files[path.name] = entry
                        continue
                    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
                        pass
            fresh.append(index)
        arguments = [(self.data_dir, paths[index]) for index in fresh]
        results = self.pool.map(_read, arguments, chunksize=8) if self.pool else map(_read, arguments)
        done = len(cached)
        self.progress("reading", done, len(paths))
        results = iter(results)
        for index, path in enumerate(paths):
            if index in cached:
                yield cached[index]
                continue
            data = next(results)
            loaded = pickle.loads(data)  # noqa: S301 (from the build's own worker)
            done += 1
            self.progress("reading", done, len(paths))
            if loaded.error is None and shas[index] is not None:
                key = self._key(shas[index], loaded.source.slug)
                if key is not None:
                    graphs.write_atomic(self.staging / "read" / f"{key}.pickle", data)
                    self.files[path.name] = {"facts": shas[index], "slug": loaded.source.slug, "read": key}
            yield loaded


def _refs(record: Record) -> Iterator[tuple[str, str]]:
    """The entities and concepts a record refers to, as ``(section, id)``."""
    for value in record.fields.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], str):
                yield item


def _record_of(facts: Facts, ref: tuple[str, str]) -> Record | None:
    section, ident = ref
    return facts.records.get(f"{KINDS[section].path}/{ident}") if section in KINDS else None


def _classes(record: Record, superclasses: graphs._Superclasses) -> tuple[str, ...]:
    cls = graphs._entity_class(record)
    return tuple(str(c) for c in [cls, *superclasses.of(cls)])


def _job(slug: str, facts: Facts, superclasses, shared_key: str, read_key: str) -> _SourceJob:
    records = list(facts.of_source(slug))
    labels: dict[tuple[str, str], str] = {}
    context: list[Record] = []
    types: dict[str, tuple[str, ...]] = {}

    def note(ref: tuple[str, str]) -> None:
        record = _record_of(facts, ref)
        if record is None:
            return
        if "label" in record.fields:
            labels[ref] = record.fields["label"]
        if record.source not in (None, slug):
            types[str(graphs._ref(ref))] = _classes(record, superclasses)
            types[str(IPGR[f"source/{record.source}"])] = (
                str(SCHEMA.NewsArticle),
                *map(str, superclasses.of(SCHEMA.NewsArticle)),
            )

    for record in records:
        for ref in _refs(record):
            note(ref)
        if record.kind == "mentions":
            home = _record_of(facts, record.fields["of"])
            if home is not None and home.source not in (None, slug):
                context.append(home)
    for record in context:
        for ref in _refs(record):
            note(ref)
    key = _sha(shared_key, read_key, repr(sorted(labels.items())), repr(sorted(types.items())), repr(context))
    return _SourceJob(slug, facts.sources[slug], records, labels, context, types, key)


def _valid_chunk(parts: _Parts, entry: dict, key: str) -> _Chunk | None:
    """The last build's chunk of a graph, if its inputs had ``key`` and its file is intact."""
    if entry.get("key") != key or not isinstance(entry.get("file"), str):
        return None
    path = parts.graphs / Path(entry["file"]).name
    try:
        if _sha(path.read_bytes()) != entry.get("sha256") or not isinstance(entry.get("quads"), int):
            return None
    except OSError:
        return None
    return _Chunk(graph=entry.get("graph", ""), file=path.name, quads=entry["quads"], sha256=entry["sha256"], key=key)


def _shared_graphs(facts: Facts, ontology: Graph, vocabulary: Vocabulary, superclasses) -> dict[URIRef, Graph]:
    """The ontology, vocabulary and registry graphs."""
    labels = graphs._Labels(facts.label, vocabulary, facts.sources)
    vocabulary_graph = vocabulary.graph()
    superclasses.add_to(vocabulary_graph)
    registry = Graph()
    graphs._add_provenance(registry, facts)
    for record in facts.of_source(None):
        graphs._add_record(registry, record, labels)
    superclasses.add_to(registry)
    return {graphs.ONTOLOGY_GRAPH: ontology, graphs.VOCABULARY_GRAPH: vocabulary_graph, graphs.REGISTRY_GRAPH: registry}


def _figures_graph(figures: list[Figure], facts: Facts, vocabulary: Vocabulary, superclasses) -> Graph:
    graph = Graph()
    graphs._add_figures(graph, figures, graphs._Labels(facts.label, vocabulary, facts.sources))
    superclasses.add_to(graph)
    return graph


def _typed_subjects(facts: Facts, shared: Iterable[Graph], figures: list[Figure]) -> set[URIRef]:
    """Every IRI the dataset gives a type (what a mapping may have as
    subject), from the facts, the ontology, vocabulary and registry graphs and
    the figure keys: what each source's graph and the figures graph type,
    without reading them."""
    subjects = {s for graph in shared for s in graph.subjects(RDF.type, None) if isinstance(s, URIRef)}
    subjects.update(node for figure in figures for node in (figure_iri(figure.key), scope_iri(figure.key[3])))
    for slug, source in facts.sources.items():
        subjects.add(IPGR[f"source/{slug}"])
        subjects.add(graphs.dataset_iri(slug))
        subjects.add(IPGR[f"organization/{graphs._slugify(source.publisher)}"])
    for record in facts.records.values():
        if record.kind != "mentions":
            subjects.add(graphs._iri(record.kind, record.id))
        if record.evidence is not None:
            annotation = IPGR[f"evidence/{record.evidence.source}/{record.evidence.start}-{record.evidence.end}"]
            subjects.update(URIRef(f"{annotation}{part}") for part in ("", "/target", "/quote", "/position"))
    return subjects


def _targeted(shapes: Graph) -> set[URIRef]:
    return {cls for cls in shapes.objects(None, SH.targetClass) if isinstance(cls, URIRef)}


def run(
    data_dir: str | Path = "data",
    ontology_dir: str | Path | None = None,
    out: str | Path = "build/ipgraph.trig",
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> graphs.BuildResult:
    """Build ``out`` from ``data_dir`` (see the module docstring); ``jobs``
    worker processes (default: one per core; 1 runs everything in this one).

    Raises:
        FactsError, QuoteError, SourceError, MappingError: bad input (nothing is written).
        ValidationError: a graph breaks the shapes or the Data Cube constraints (nothing is written).
        OutputError: ``out`` cannot be written.
    """
    data_dir, out = Path(data_dir), Path(out)
    ontology_dir = Path(ontology_dir) if ontology_dir is not None else ONTOLOGY
    jobs = max(1, jobs or os.cpu_count() or 1)
    progress = progress or (lambda step, done, total: None)
    graphs.check_writable(out)
    with _lock(out):
        return _run(data_dir, ontology_dir, out, jobs, progress)


def _run(data_dir: Path, ontology_dir: Path, out: Path, jobs: int, progress: Progress) -> graphs.BuildResult:
    global _SHARED
    parts = _Parts(out)
    code = _code_key(ontology_dir)
    state, note = parts.load_state(code)
    notes = [note] if note else []
    ontology = graphs.load_ontology(ontology_dir)
    shapes = parse_turtle(ontology_dir / "shapes.ttl")
    vocabulary = load_vocabulary(data_dir / "vocab")
    shared_key = _shared_key(code, data_dir, ontology_dir, DATACUBE_QUERIES)
    # New parts are made outside the project until the build succeeds: a failed build changes nothing there.
    staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-"))
    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(jobs, mp_context=context) if jobs > 1 else _no_pool() as pool:
            reader = _Reader(data_dir, parts, state, code, pool, staging, progress)
            facts = load_facts(data_dir, vocabulary, read=reader)
        check_keys(facts)
        figures = compare(facts)
        superclasses = graphs._Superclasses(ontology)
        shared = _shared_graphs(facts, ontology, vocabulary, superclasses)
        described = Graph()
        for name, graph in shared.items():
            if name != graphs.ONTOLOGY_GRAPH:
                described += graph
        for record in facts.of_source(None):
            for ident in record.provenance:
                if ident in facts.sources:
                    article = IPGR[f"source/{ident}"]
                    for cls in [SCHEMA.NewsArticle, *superclasses.of(SCHEMA.NewsArticle)]:
                        described.add((article, RDF.type, cls))
        descriptions: dict[URIRef, list[tuple]] = {}
        for triple in described:
            descriptions.setdefault(triple[0], []).append(triple)
        cube = (triple for graph in shared.values() for triple in graph)
        _SHARED = _Shared(
            vocabulary=vocabulary,
            superclasses=superclasses,
            descriptions={node: tuple(triples) for node, triples in descriptions.items()},
            base_ntriples=pyoxigraph.serialize(
                (pyoxigraph.Triple(_ox(s), _ox(p), _ox(o)) for s, p, o in cube), format=pyoxigraph.RdfFormat.N_TRIPLES
            ),
            shapes=shapes,
            datacube=DATACUBE_QUERIES,
            staging=staging,
        )
        plan = _Plan()
        # A source whose files changed while they were read is not cached: a random key rebuilds it.
        read_keys = {entry["slug"]: entry["read"] for entry in reader.files.values()}
        for slug in sorted(facts.sources):
            job = _job(slug, facts, superclasses, shared_key, read_keys.get(slug) or secrets.token_hex(16))
            graph = str(graphs.source_graph(slug))
            chunk = _valid_chunk(parts, state["graphs"].get(graph, {}), job.key)
            if chunk is not None:
                plan.reused[graph] = _Chunk(graph, chunk.file, chunk.quads, chunk.sha256, chunk.key)
            else:
                plan.jobs.append(job)
        built, failures = _run_jobs(plan.jobs, jobs, context, progress)
        if failures:
            report = "\n\n".join(failures)
            count = report.count("\nViolation") + report.startswith("Violation")
            raise ValidationError(
                f"the graph breaks {count} constraint(s)", report=report + f"\n\n{count} violation(s)."
            )
        chunks = {**plan.reused, **{chunk.graph: chunk for chunk in built}}
        progress("shared graphs", 0, 1)
        chunks.update(
            _shared_chunks(shared, figures, facts, vocabulary, superclasses, data_dir, parts, state, shared_key, shapes)
        )
        progress("shared graphs", 1, 1)
        order = sorted(chunks)
        total = sum(chunks[graph].quads for graph in order)

        def pieces() -> Iterator[bytes]:
            yield _HEADER
            for index, graph in enumerate(order):
                chunk = chunks[graph]
                folder = staging if (staging / chunk.file).exists() else parts.graphs
                yield b"\n" + (folder / chunk.file).read_bytes()[len(_HEADER) :]
                progress("writing", index + 1, len(order))

        graphs.write_atomic(out, pieces(), rdf_format="trig", quads=total)
        _commit(parts, staging, chunks, reader.files, code, shared_key)
    finally:
        _SHARED = None
        shutil.rmtree(staging, ignore_errors=True)
    names = bind_prefixes(Graph(bind_namespaces="none")).namespace_manager
    counts = {URIRef(graph).n3(names): chunks[graph].quads for graph in order if chunks[graph].quads}
    result = graphs.summarize(counts, facts, out, figures)
    result.rebuilt = len(built)
    result.notes = notes
    return result


@contextmanager
def _no_pool() -> Iterator[None]:
    yield None


def _run_jobs(jobs: list[_SourceJob], workers: int, context, progress: Progress) -> tuple[list[_Chunk], list[str]]:
    """Run the source steps (in a pool forked now, so that it inherits the shared inputs)."""
    built: list[_Chunk] = []
    failures: list[str] = []
    progress("building graphs", 0, len(jobs))
    if not jobs:
        return built, failures
    _SHARED.staging.mkdir(parents=True, exist_ok=True)
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:
            results = pool.map(_build_source, jobs, chunksize=max(1, min(16, len(jobs) // (4 * workers))))
            for index, result in enumerate(results):
                (built if isinstance(result, _Chunk) else failures).append(result)
                progress("building graphs", index + 1, len(jobs))
    else:
        for index, job in enumerate(jobs):
            result = _build_source(job)
            (built if isinstance(result, _Chunk) else failures).append(result)
            progress("building graphs", index + 1, len(jobs))
    return built, failures


def _shared_chunks(shared, figures, facts, vocabulary, superclasses, data_dir, parts, state, shared_key, shapes):
    """The chunks of the ontology, vocabulary, registry, figures and links graphs.

    The registry is validated at its own nodes (once per change of the shared
    files); no shape targets a class of the figures graph (checked here, else
    it is validated too); the links graph is checked by
    :func:`ipgraph.mappings.load_mappings` (subjects the dataset types, one
    identity link per target) and no shape constrains its predicates.
    """
    chunks = {}
    # The registry graph depends on the shared files and on which of the ids its records cite are sources.
    cited = {ident for record in facts.of_source(None) for ident in record.provenance if ident in facts.sources}
    registry_key = _sha(shared_key, repr(sorted(cited)))
    for name, graph in shared.items():
        entry = state["graphs"].get(str(name), {})
        chunk = _valid_chunk(parts, entry, registry_key)
        if chunk is not None:
            chunks[str(name)] = _Chunk(str(name), chunk.file, chunk.quads, chunk.sha256, registry_key)
            continue
        if name == graphs.REGISTRY_GRAPH:
            violations = _validate(graph, Graph(), sorted(set(graph.subjects()), key=str))
            if violations:
                report = "\n\n".join(map(str, violations)) + f"\n\n{len(violations)} violation(s)."
                raise ValidationError(f"the graph breaks {len(violations)} constraint(s)", report=report)
        chunks[str(name)] = _write_staged(str(name), registry_key, graph)
    figures_key = _figures_key(shared_key, figures, facts)
    chunk = _valid_chunk(parts, state["graphs"].get(str(graphs.FIGURES_GRAPH), {}), figures_key)
    if chunk is None:
        figures_graph = _figures_graph(figures, facts, vocabulary, superclasses)
        targeted = _targeted(shapes)
        if any(cls in targeted for cls in set(figures_graph.objects(None, RDF.type))):
            violations = _validate(figures_graph, Graph(), sorted(set(figures_graph.subjects()), key=str))
            if violations:
                report = "\n\n".join(map(str, violations)) + f"\n\n{len(violations)} violation(s)."
                raise ValidationError(f"the graph breaks {len(violations)} constraint(s)", report=report)
        chunk = _write_staged(str(graphs.FIGURES_GRAPH), figures_key, figures_graph)
    chunks[str(graphs.FIGURES_GRAPH)] = _Chunk(
        str(graphs.FIGURES_GRAPH), chunk.file, chunk.quads, chunk.sha256, figures_key
    )
    links = links_graph(data_dir / "mappings", _typed_subjects(facts, shared.values(), figures))
    quads = _quads(LINKS_GRAPH, links)  # always made anew (it is small): named by its content
    chunks[str(LINKS_GRAPH)] = _write_chunk(str(LINKS_GRAPH), _sha(shared_key, *map(str, quads)), quads)
    return chunks


def _figures_key(shared_key: str, figures: list[Figure], facts: Facts) -> str:
    """The hash of what the figures graph is made of: every observation's
    fields and the labels of what they name (from the registry, vocabularies
    or any source), so that it is remade only when one of them changed."""
    digest = hashlib.sha256(shared_key.encode("utf-8"))
    for figure in figures:
        for record in figure.observations:
            digest.update(repr((record.source, record.id, sorted(record.fields.items()))).encode("utf-8"))
            for ref in _refs(record):
                named = _record_of(facts, ref)
                if named is not None and "label" in named.fields:
                    digest.update(repr((ref, named.fields["label"])).encode("utf-8"))
    return digest.hexdigest()


def _write_staged(name: str, key: str, graph: Graph) -> _Chunk:
    """Write a shared graph's chunk, named by ``key`` (the hash of its inputs)."""
    quads = _quads(URIRef(name), graph)
    return _write_chunk(name, key, quads)


def _commit(parts: _Parts, staging: Path, chunks: dict[str, _Chunk], files: dict, code: str, shared_key: str) -> None:
    """Move the new chunks and read cache into place, write the state, and
    remove what no graph or file uses any more (and stale staging folders of
    killed builds). ``out`` is already written: a kill before the state is
    replaced leaves the old state, whose chunks are still there."""
    parts.graphs.mkdir(parents=True, exist_ok=True)
    parts.read.mkdir(parents=True, exist_ok=True)
    for path in sorted(staging.glob("*.trig")):
        shutil.move(path, parts.graphs / path.name)  # a rename, or a copy from another file system
    for path in sorted((staging / "read").glob("*.pickle")):
        shutil.move(path, parts.read / path.name)
    state = {
        "version": STATE_VERSION,
        "code": code,
        "shared": shared_key,
        "files": dict(sorted(files.items())),
        "graphs": {
            graph: {"graph": graph, "file": c.file, "quads": c.quads, "sha256": c.sha256, "key": c.key}
            for graph, c in sorted(chunks.items())
        },
    }
    graphs.write_atomic(parts.state_path, (json.dumps(state, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    used = {chunk.file for chunk in chunks.values()}
    for path in parts.graphs.iterdir():
        if path.name not in used:
            path.unlink(missing_ok=True)
    used = {entry["read"] + ".pickle" for entry in files.values()}
    for path in parts.read.iterdir():
        if path.name not in used:
            path.unlink(missing_ok=True)
    for path in Path(tempfile.gettempdir()).glob(f"{_STAGING}*"):
        pid = path.name.removeprefix(_STAGING).split("-")[0]
        if pid.isdigit() and not graphs._alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)  # of a build that was killed
