"""Keeping a persistent store in step with the built files, graph by graph.

The built dataset is one TriG file with one named graph per source (plus
the registry, vocabulary, figures and links graphs) and the enrichment files
beside it (``ipgraph link enrich``). A persistent store (an Oxigraph folder,
a remote SPARQL store) remembers a content digest of every named graph it
holds. :func:`sync` reads the files once, computes each graph's digest
(SHA-256 of its quads as N-Quads, in file order), and then

- loads the graphs that are new or whose digest changed, each replacing the
  store's copy in one step (see the backends for how),
- drops the graphs that no file holds any more,
- leaves the others alone,

so the work is proportional to what changed, however the build made the
files (a full build or an incremental one writes the same bytes for the same
input). The digests live with the store (:class:`GraphTarget`), so two
machines syncing one remote store agree on what it holds.

A graph's quads are read from the files a second time, only for the
graphs that changed, and handed over one graph at a time: memory is bounded
by the largest graph, not by the dataset (a graph split over several places
of a file is collected whole first).

Example:
    >>> from ipgraph.store.oxigraph import OxigraphStore          # doctest: +SKIP
    >>> OxigraphStore("build/oxigraph").load("build/ipgraph.trig").last_sync  # doctest: +SKIP
    SyncReport(loaded=['https://w3id.org/ipgraph/id/graph/figures', ...], dropped=[], unchanged=0, ...)
"""

from __future__ import annotations

import hashlib
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from ipgraph.errors import StoreError
from ipgraph.validate import check_rdf_file

__all__ = ["DEFAULT", "Digests", "GraphTarget", "SyncReport", "graph_digests", "graph_quads", "sync"]

#: The key of the default graph (triples outside any named graph) in digests.
DEFAULT = ""

_OX_FORMATS = {
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
}


@dataclass
class SyncReport:
    """What :func:`sync` did: graphs loaded (new or changed), dropped, and left as they were."""

    loaded: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    unchanged: int = 0
    triples: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """One line for people: ``3 graphs loaded (1,204 triples), 1 dropped, 19 unchanged``."""
        return (
            f"{len(self.loaded)} graphs loaded ({self.triples:,} triples), {len(self.dropped)} dropped, "
            f"{self.unchanged} unchanged in {self.seconds:.2f} s"
        )


class GraphTarget(ABC):
    """A persistent store :func:`sync` can update graph by graph."""

    @abstractmethod
    def graph_state(self) -> dict[str, str]:
        """The digest of every graph the store holds, as recorded by :meth:`finish_sync`."""

    @abstractmethod
    def begin_sync(self, changing: list[str]) -> None:
        """Called before any graph changes: forget the digests of ``changing``,
        so that a sync cut short (a crash, a lost connection) reloads them next time."""

    @abstractmethod
    def put_graph(self, graph: str, quads: list[ox.Quad], digest: str) -> None:
        """Replace graph ``graph`` (:data:`DEFAULT` for the default graph) with ``quads`` (all in that graph),
        in one step."""

    @abstractmethod
    def drop_graph(self, graph: str) -> None:
        """Remove graph ``graph`` and its digest."""

    @abstractmethod
    def finish_sync(self, digests: dict[str, str]) -> None:
        """Record ``digests`` as what the store now holds."""


def _checked(files: Iterable[str | Path]) -> list[tuple[Path, ox.RdfFormat]]:
    return [(path, _OX_FORMATS[rdf_format]) for path, rdf_format in map(check_rdf_file, files)]


def _quads(files: list[tuple[Path, ox.RdfFormat]]) -> Iterator[ox.Quad]:
    for path, rdf_format in files:
        try:
            yield from ox.parse(path=str(path), format=rdf_format)
        except SyntaxError as error:
            raise StoreError(f"not valid {rdf_format}: {error}", path=path) from None
        except OSError as error:
            raise StoreError(f"cannot read: {error.strerror or error}", path=path) from None


@dataclass
class Digests:
    """Each graph's digest, triple count and whether it is one run of the files."""

    digests: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    spread: set[str] = field(default_factory=set)


def graph_digests(files: Iterable[str | Path]) -> Digests:
    """Each graph's digest and triple count, in one streaming pass over ``files``.

    The digest is the SHA-256 of the graph's quads as Oxigraph writes them in
    N-Quads, in file order (written by the thousand: the per-quad work stays in Rust).

    Raises:
        StoreError: a file is missing, of an unknown type, or does not parse.
    """
    found = Digests()
    hashers: dict[str, hashlib._Hash] = {}
    current, name, chunk = None, None, []

    def flush() -> None:
        if chunk:
            hashers[name].update(ox.serialize(chunk, format=ox.RdfFormat.N_QUADS))
            found.counts[name] += len(chunk)
            chunk.clear()

    for quad in _quads(_checked(files)):
        graph = quad.graph_name
        if graph != current:
            flush()
            current = graph
            name = DEFAULT if isinstance(graph, ox.DefaultGraph) else graph.value
            if name in hashers:
                found.spread.add(name)
            else:
                hashers[name] = hashlib.sha256()
                found.counts[name] = 0
        chunk.append(quad)
        if len(chunk) >= 4096:
            flush()
    flush()
    found.digests = {key: hasher.hexdigest() for key, hasher in hashers.items()}
    return found


def graph_quads(
    files: Iterable[str | Path], wanted: set[str], spread: set[str] = frozenset()
) -> Iterator[tuple[str, list[ox.Quad]]]:
    """The quads of each graph in ``wanted``, one whole graph at a time.

    A graph that is one run of the files (as ``ipgraph build`` writes them) is
    handed over as soon as its run ends; one of ``spread`` (several runs, as
    :func:`graph_digests` found) is collected and handed over at the end.
    """
    current, name, quads = None, None, []
    keep = False
    collected: dict[str, list[ox.Quad]] = {}
    for quad in _quads(_checked(files)):
        graph = quad.graph_name
        if graph != current:
            if quads and name not in spread:
                yield name, quads
            current = graph
            name = DEFAULT if isinstance(graph, ox.DefaultGraph) else graph.value
            keep = name in wanted
            quads = collected.setdefault(name, []) if name in spread else []
        if keep:
            quads.append(quad)
    if quads and name not in spread:
        yield name, quads
    for key in sorted(collected):
        if collected[key]:
            yield key, collected[key]


def sync(target: GraphTarget, files: Iterable[str | Path]) -> SyncReport:
    """Bring ``target`` in step with ``files`` (see the module's documentation).

    Raises:
        StoreError: a file is missing or broken (nothing is changed then), or
            the store fails while a graph is replaced (that graph keeps its
            previous content; graphs replaced before it are new).
    """
    started = time.perf_counter()
    files = list(files)
    found = graph_digests(files)  # every file read and checked before anything changes
    digests = found.digests
    held = target.graph_state()
    changed = sorted(name for name, digest in digests.items() if held.get(name) != digest)
    gone = sorted(set(held) - set(digests))
    report = SyncReport(unchanged=len(digests) - len(changed))
    if changed or gone:
        target.begin_sync(changed + gone)
        for name, quads in graph_quads(files, set(changed), found.spread):
            target.put_graph(name, quads, digests[name])
            report.loaded.append(name)
            report.triples += len(quads)
        for name in gone:
            target.drop_graph(name)
            report.dropped.append(name)
        target.finish_sync(digests)
    report.loaded.sort()
    report.seconds = time.perf_counter() - started
    return report
