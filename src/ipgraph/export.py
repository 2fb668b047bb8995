"""Export the built dataset as Turtle, N-Triples, JSON-LD or TriG.

Turtle and N-Triples hold the union of all named graphs (a triple in two
graphs appears once); JSON-LD and TriG keep the named graphs. JSON-LD uses
the published context ``ontology/context.jsonld``. Every output is
deterministic: the same dataset gives the same bytes.

``nquads`` and ``ntriples`` are streamed with constant memory
(:func:`export_stream`): straight from the built files, or from a store
(Oxigraph's own dump, or a remote store graph by graph). ``ntriples``
writes the triples of every named graph, so a triple two graphs hold comes
twice (an N-Triples reader merges them; ``nt`` writes each once, sorted,
but holds the union in memory).

Example:
    >>> from ipgraph.export import export
    >>> export("build/ipgraph.trig", "nt", "build/ipgraph.nt")   # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from ipgraph.build import check_writable, remove_stale_temporaries, write_atomic
from ipgraph.errors import ExportError, OutputError
from ipgraph.layout import CONTEXT
from ipgraph.namespaces import bind_prefixes
from ipgraph.validate import load_dataset
from ipgraph.yamlfile import read_text

__all__ = ["FORMATS", "STREAMED", "export", "export_stream"]

#: Export formats and the file suffix each is usually given.
FORMATS = {"ttl": ".ttl", "nt": ".nt", "jsonld": ".jsonld", "trig": ".trig", "nquads": ".nq", "ntriples": ".nt"}
#: Formats written as a stream, with constant memory (:func:`export_stream`).
STREAMED = {"nquads": ox.RdfFormat.N_QUADS, "ntriples": ox.RdfFormat.N_TRIPLES}


def export(dataset_path: str | Path, rdf_format: str, out: str | Path, context: str | Path | None = None) -> Path:
    """Write the dataset at ``dataset_path`` to ``out`` in ``rdf_format``.

    Parameters:
        dataset_path: a TriG file written by ``ipgraph build``.
        rdf_format: one of :data:`FORMATS`.
        out: the file to write (replaced atomically).
        context: the JSON-LD context file (default: the package's ``ontology/context.jsonld``).

    Raises:
        ExportError: unknown format, or a missing or unreadable context.
        IpgraphError: the dataset is missing or does not parse.
    """
    if rdf_format not in FORMATS:
        raise ExportError(f"unknown format {rdf_format!r}; expected one of {', '.join(FORMATS)}")
    dataset_path, out = Path(dataset_path), Path(out)
    if rdf_format in STREAMED:
        return export_stream(dataset_path, rdf_format, out)
    if rdf_format == "trig":
        load_dataset(dataset_path)  # fails clearly on a missing or broken file
        if dataset_path.resolve() != out.resolve():
            write_atomic(out, dataset_path.read_bytes(), rdf_format="trig")
        return out
    dataset = load_dataset(dataset_path)
    if rdf_format == "jsonld":
        data = _jsonld(dataset, Path(context or CONTEXT))
    else:
        union = bind_prefixes(Graph(bind_namespaces="none"))
        for s, p, o, _ in dataset.quads((None, None, None, None)):
            union.add((s, p, o))
        if rdf_format == "nt":
            # N-Triples ends each triple at "\n" and escapes it in literals; splitlines()
            # would also cut at U+2028, U+0085, VT, FF ... that literals may hold.
            lines = sorted(set(union.serialize(format="nt", encoding="utf-8").split(b"\n")) - {b""})
            data = b"\n".join(lines) + b"\n"
        else:
            data = union.serialize(format="turtle").encode("utf-8")
    write_atomic(out, data, rdf_format=rdf_format)
    return out


def export_stream(dataset_path: str | Path | None, rdf_format: str, out: str | Path, store=None) -> Path:
    """Write N-Quads or N-Triples to ``out`` as a stream (constant memory),
    through a temporary file renamed into place.

    Parameters:
        dataset_path: the built TriG (its enrichment files beside it are
            included), read straight from disk when ``store`` is ``None``.
        rdf_format: ``nquads`` or ``ntriples``.
        store: an :class:`~ipgraph.store.OxigraphStore` (dumped by Oxigraph)
            or a :class:`~ipgraph.store.SparqlStore` (read graph by graph).

    Raises:
        ExportError: not a streamed format.
        OutputError: ``out`` cannot be written (the old file stays).
        StoreError: a file does not parse, a remote store fails.
    """
    from ipgraph.store import OxigraphStore, SparqlStore
    from ipgraph.store.sync import _checked, _quads

    if rdf_format not in STREAMED:
        raise ExportError(f"only {', '.join(STREAMED)} are streamed, not {rdf_format!r}")
    out = Path(out)
    if store is None:
        from ipgraph.mappings import dataset_files

        files = _checked(dataset_files(dataset_path))  # every file checked before the output is touched
        quads: Iterator[ox.Quad] | None = _quads(files)
    elif isinstance(store, SparqlStore):
        quads = store.quads()
    elif isinstance(store, OxigraphStore):
        quads = None if rdf_format == "nquads" else iter(store.store)
    else:
        raise ExportError(f"cannot stream from a {store.kind} store; use --store oxigraph or sparql")
    check_writable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "wb") as stream:
            if quads is None:
                store.dump(stream, ox.RdfFormat.N_QUADS)
            elif rdf_format == "nquads":
                ox.serialize(quads, stream, ox.RdfFormat.N_QUADS)
            else:
                ox.serialize((quad.triple for quad in quads), stream, ox.RdfFormat.N_TRIPLES)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, out)
    except OSError as error:
        raise OutputError(f"cannot write: {error.strerror or error}", path=out) from None
    finally:
        temporary.unlink(missing_ok=True)
    return out


def _jsonld(dataset, context_path: Path) -> bytes:
    text = read_text(context_path, ExportError)  # refuses directories, devices, FIFOs, huge and non-UTF-8 files
    try:
        context = json.loads(text)["@context"]
    except (ValueError, KeyError, TypeError) as error:
        raise ExportError(f"not a JSON-LD context document: {error}", path=context_path) from None
    document = json.loads(dataset.serialize(format="json-ld", context=context))
    return (json.dumps(_sorted(document), ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def _sorted(document, key: str | None = None):
    """Sort every JSON array but ``@list`` ones: rdflib writes nodes and
    values in store order, and RDF gives them none."""
    if isinstance(document, dict):
        return {k: _sorted(value, k) for k, value in document.items()}
    if isinstance(document, list):
        items = [_sorted(item) for item in document]
        if key not in ("@list", "@context"):
            items.sort(key=lambda item: json.dumps(item, sort_keys=True, ensure_ascii=False))
        return items
    return document
