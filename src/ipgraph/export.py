"""Export the built dataset as Turtle, N-Triples, JSON-LD or TriG.

Turtle and N-Triples hold the union of all named graphs (a triple in two
graphs appears once); JSON-LD and TriG keep the named graphs. JSON-LD uses
the published context ``ontology/context.jsonld``. Every output is
deterministic: the same dataset gives the same bytes.

Example:
    >>> from ipgraph.export import export
    >>> export("build/ipgraph.trig", "nt", "build/ipgraph.nt")   # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path

from rdflib import Graph

from ipgraph.build import write_atomic
from ipgraph.errors import ExportError
from ipgraph.layout import CONTEXT
from ipgraph.namespaces import bind_prefixes
from ipgraph.validate import load_dataset
from ipgraph.yamlfile import read_text

__all__ = ["FORMATS", "export"]

#: Export formats and the file suffix each is usually given.
FORMATS = {"ttl": ".ttl", "nt": ".nt", "jsonld": ".jsonld", "trig": ".trig"}


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
