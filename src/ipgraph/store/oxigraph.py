"""The Oxigraph store: the dataset in a pyoxigraph ``Store``, in memory or on disk."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pyoxigraph as ox

from ipgraph.errors import StoreError
from ipgraph.namespaces import PREFIXES
from ipgraph.store.base import UNION, Store
from ipgraph.store.sync import DEFAULT, GraphTarget, SyncReport, graph_digests, sync
from ipgraph.validate import check_rdf_file
from ipgraph.yamlfile import read_text

__all__ = ["OxigraphStore"]

_OX_FORMATS = {
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
}


class OxigraphStore(Store, GraphTarget):
    """The dataset in a pyoxigraph ``Store``, in memory or on disk at ``path``.

    A store on disk keeps itself in step with the files it is loaded from,
    graph by graph (:func:`ipgraph.store.sync.sync`): ``ipgraph-source.json``
    in its folder records each file's size and modification time and each
    named graph's content digest. Files that did not change are not read at
    all; of files that did, only the graphs whose digest changed are
    replaced, and graphs no file holds any more are dropped. Once loaded it is
    reopened read-only.
    """

    kind = "oxigraph"
    #: The file in the store's folder that records what it holds.
    MARK = "ipgraph-source.json"

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.last_sync: SyncReport | None = None
        self._state: dict = {"files": [], "graphs": {}}
        if self.path is not None:
            self._state = self._read_mark(self.path / self.MARK)
        try:
            self.store = ox.Store(str(self.path)) if self.path is not None else ox.Store()
        except OSError as error:
            if "LOCK" in str(error):
                raise StoreError(
                    "another process is writing to this Oxigraph store (an 'ipgraph load' or another command "
                    "syncing it); try again when it is done",
                    path=self.path,
                ) from None
            raise StoreError(f"cannot open the Oxigraph store: {error}", path=self.path) from None

    @staticmethod
    def _read_mark(mark: Path) -> dict:
        """The store's record of what it holds (empty when there is none);
        refuses a marker that is not what :meth:`load` writes (truncated, not
        UTF-8, a directory), before the store is opened or changed."""
        if not (mark.exists() or mark.is_symlink()):
            return {"files": [], "graphs": {}}
        problem = ""
        try:
            state = json.loads(read_text(mark, StoreError))
        except ValueError as error:
            problem = f"not JSON ({error})"
        else:
            if isinstance(state, list):  # written before graphs were synced one by one: load everything again
                return {"files": [], "graphs": {}}
            if not (
                isinstance(state, dict)
                and isinstance(state.get("files"), list)
                and isinstance(state.get("graphs"), dict)
                and all(isinstance(v, str) for v in state["graphs"].values())
            ):
                problem = "not a record of loaded files and graphs"
        if problem:
            raise StoreError(
                f"the store's marker file is broken: {problem}; remove the folder to load the store again", path=mark
            )
        return state

    def load(self, *paths: str | Path) -> OxigraphStore:
        """Load RDF files into the store: a store in memory bulk-loads them; one
        on disk is synced graph by graph (nothing read when the files did not
        change; see the class documentation). ``last_sync`` says what changed."""
        checked = [check_rdf_file(path) for path in paths]
        self.stop_workers()
        if self.path is None:
            for path, rdf_format in checked:
                self._bulk_load(path, rdf_format)
            return self
        stamp = [
            {"file": str(path.resolve()), "size": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns}
            for path, _ in checked
        ]
        if self._state["files"] != stamp or not self._state["graphs"]:
            if not self._state["graphs"]:
                self._load_all(checked)
            else:
                self.last_sync = sync(self, [path for path, _ in checked])
            self._state["files"] = stamp
            self._write_mark()
        else:
            self.last_sync = SyncReport(unchanged=len(self._state["graphs"]))
        # Queries run in forked workers (see execute); a writable RocksDB
        # store may be flushing or compacting in a background thread at
        # the fork, and a child that inherits its held lock hangs. A
        # read-only store does no background work.
        self.store = None
        self.store = ox.Store.read_only(str(self.path))
        return self

    def as_is(self) -> OxigraphStore:
        """Use an on-disk store as it is, without its files (reopened read-only).

        Raises:
            StoreError: the folder holds no store that :meth:`load` filled.
        """
        if self.path is None or not self._state["graphs"]:
            raise StoreError("no loaded store here (fill it with 'ipgraph load')", path=self.path)
        self.stop_workers()
        self.store = None
        self.store = ox.Store.read_only(str(self.path))
        return self

    def _bulk_load(self, path: Path, rdf_format: str) -> None:
        try:
            self.store.bulk_load(path=str(path), format=_OX_FORMATS[rdf_format])
        except SyntaxError as error:
            raise StoreError(f"not valid {rdf_format}: {error}", path=path) from None

    def _load_all(self, checked: list[tuple[Path, str]]) -> None:
        """A first load: every file with the bulk loader (faster than graph by
        graph), then the digests of what it holds."""
        started = time.perf_counter()
        found = graph_digests([path for path, _ in checked])  # checks every file before the store changes
        self._state = {"files": [], "graphs": {}}
        self._write_mark()  # a load cut short leaves a store that is loaded again next time
        self.store.clear()
        for path, rdf_format in checked:
            self._bulk_load(path, rdf_format)
        self.store.flush()
        self._state["graphs"] = found.digests
        self.last_sync = SyncReport(
            loaded=sorted(found.digests), triples=sum(found.counts.values()), seconds=time.perf_counter() - started
        )

    def _write_mark(self) -> None:
        """Write the marker through a temporary file, fsync and a rename: a crash leaves the old one or the new."""
        mark = self.path / self.MARK
        temporary = mark.with_name(f".{mark.name}.{os.getpid()}.tmp")
        with temporary.open("wb") as stream:
            stream.write(json.dumps(self._state, sort_keys=True).encode("utf-8"))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, mark)

    # -- GraphTarget: what sync() calls ----------------------------------------

    def graph_state(self) -> dict[str, str]:
        """The recorded digests, and any other graph the store holds (added by
        hand, or left by a load cut short) as one of unknown content: a sync
        drops it unless a file holds it."""
        state = dict(self._state["graphs"])
        for graph in self.store.named_graphs():
            state.setdefault(graph.value, "")
        if next(iter(self.store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is not None:
            state.setdefault(DEFAULT, "")
        return state

    def begin_sync(self, changing: list[str]) -> None:
        for name in changing:
            self._state["graphs"].pop(name, None)
        self._state["files"] = []
        self._write_mark()

    def put_graph(self, graph: str, quads: list[ox.Quad], digest: str) -> None:
        if graph == DEFAULT:
            self.store.clear_graph(ox.DefaultGraph())
        else:
            self.store.remove_graph(ox.NamedNode(graph))
        self.store.bulk_extend(quads)

    def drop_graph(self, graph: str) -> None:
        if graph == DEFAULT:
            self.store.clear_graph(ox.DefaultGraph())
        else:
            self.store.remove_graph(ox.NamedNode(graph))

    def finish_sync(self, digests: dict[str, str]) -> None:
        self.store.flush()
        self._state["graphs"] = dict(digests)

    # -- reading ---------------------------------------------------------------

    def dump(self, out, rdf_format: ox.RdfFormat = ox.RdfFormat.N_QUADS) -> None:
        """Write every quad to the binary stream ``out`` (streamed by Oxigraph: constant memory)."""
        self.store.dump(out, rdf_format)

    def __len__(self) -> int:
        return len(self.store)

    def _evaluate(self, query, bindings, out, limit, dataset=UNION) -> None:
        graphs: dict = {"use_default_graph_as_union": True}
        if dataset.restricted:
            graphs = {
                "default_graph": [ox.NamedNode(iri) for iri in dataset.default_graphs],
                "named_graphs": [ox.NamedNode(iri) for iri in dataset.named_graphs],
            }
        # Oxigraph reads the guard's canonical text (no \u escapes, no CR): see
        # ipgraph.store.guard for why it reads what the guard read.
        result = self.store.query(
            query.text,
            prefixes=PREFIXES,
            base_iri=dataset.base,
            substitutions={ox.Variable(name): term for name, term in bindings.items()},
            **graphs,
        )
        if isinstance(result, ox.QueryBoolean):
            out.write(b"json\n")
            result.serialize(out, ox.QueryResultsFormat.JSON)
        elif isinstance(result, ox.QueryTriples):
            out.write(b"nt\n")
            result.serialize(out, ox.RdfFormat.N_TRIPLES)
        else:
            out.write(b"tsv\n")
            result.serialize(out, ox.QueryResultsFormat.TSV)
