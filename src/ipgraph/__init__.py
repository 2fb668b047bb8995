"""ipgraph: a knowledge graph of intellectual-property policy in Chinese regions.

Facts curated from news reports and official statistics, each with the exact
quote it rests on, built into a validated RDF dataset. One module per stage:
:mod:`ipgraph.facts`, :mod:`ipgraph.build`, :mod:`ipgraph.validate`,
:mod:`ipgraph.store`, :mod:`ipgraph.query`, :mod:`ipgraph.project`,
:mod:`ipgraph.view`, :mod:`ipgraph.tables` and :mod:`ipgraph.charts` (the
analyst tables and pages), :mod:`ipgraph.link`, :mod:`ipgraph.serve`,
:mod:`ipgraph.export`. The queries, ontology, templates and starter data it
reads are package data; :mod:`ipgraph.layout` says where they are and where
a project folder keeps ``data/`` and ``build/``.

Example:
    >>> import ipgraph
    >>> graph = ipgraph.open_graph("build/ipgraph.trig")          # doctest: +SKIP
    >>> graph.query_named("metrics").records()[0]["value"]         # doctest: +SKIP
    46000
"""

from typing import Any

from ipgraph.errors import IpgraphError

__all__ = ["IpgraphError", "__version__", "open_graph"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``ipgraph.open_graph``, imported on first use (it loads the SPARQL stores)."""
    if name == "open_graph":
        from ipgraph.query import open_graph

        return open_graph
    raise AttributeError(f"module 'ipgraph' has no attribute {name!r}")
