"""The Oxigraph store: the dataset in a pyoxigraph ``Store``, in memory or on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox

from ipgraph.errors import StoreError
from ipgraph.namespaces import PREFIXES
from ipgraph.store.base import UNION, Store
from ipgraph.validate import check_rdf_file
from ipgraph.yamlfile import read_text

__all__ = ["OxigraphStore"]

_OX_FORMATS = {
    "trig": ox.RdfFormat.TRIG,
    "nquads": ox.RdfFormat.N_QUADS,
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
}


class OxigraphStore(Store):
    """The dataset in a pyoxigraph ``Store``, in memory or on disk at ``path``.

    A store on disk remembers which files it was loaded from (size and
    modification time, in ``ipgraph-source.json`` inside its folder) and is
    reloaded only when one changed; once loaded it is reopened read-only.
    """

    kind = "oxigraph"
    _MARK = "ipgraph-source.json"

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            self._check_mark(self.path / self._MARK)
        try:
            self.store = ox.Store(str(self.path)) if self.path is not None else ox.Store()
        except OSError as error:
            raise StoreError(f"cannot open the Oxigraph store: {error}", path=self.path) from None

    @staticmethod
    def _check_mark(mark: Path) -> None:
        """Refuse a store folder whose marker is not what :meth:`load` writes
        (truncated, not UTF-8, a directory), before the store is opened or changed."""
        if not (mark.exists() or mark.is_symlink()):
            return
        problem = ""
        try:
            stamp = json.loads(read_text(mark, StoreError))
        except ValueError as error:
            problem = f"not JSON ({error})"
        else:
            if not isinstance(stamp, list) or not all(isinstance(item, dict) for item in stamp):
                problem = "not a list of loaded files"
        if problem:
            raise StoreError(
                f"the store's marker file is broken: {problem}; remove the folder to load the store again", path=mark
            )

    def load(self, *paths: str | Path) -> OxigraphStore:
        """Bulk-load RDF files into the store (skipped when an on-disk store
        already holds these very files)."""
        checked = [check_rdf_file(path) for path in paths]
        self.stop_workers()
        stamp = [
            {"file": str(path.resolve()), "size": path.stat().st_size, "mtime_ns": path.stat().st_mtime_ns}
            for path, _ in checked
        ]
        mark = self.path / self._MARK if self.path is not None else None
        if mark is None or not mark.is_file() or json.loads(mark.read_text(encoding="utf-8")) != stamp:
            if mark is not None:
                mark.unlink(missing_ok=True)
                self.store.clear()
            for path, rdf_format in checked:
                try:
                    self.store.bulk_load(path=str(path), format=_OX_FORMATS[rdf_format])
                except SyntaxError as error:
                    raise StoreError(f"not valid {rdf_format}: {error}", path=path) from None
            if mark is not None:
                self.store.flush()
                mark.write_text(json.dumps(stamp), encoding="utf-8")
        if self.path is not None:
            # Queries run in forked workers (see execute); a writable RocksDB
            # store may be flushing or compacting in a background thread at
            # the fork, and a child that inherits its held lock hangs. A
            # read-only store does no background work.
            self.store = None
            self.store = ox.Store.read_only(str(self.path))
        return self

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
