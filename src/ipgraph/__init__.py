"""ipgraph: a knowledge graph of intellectual-property policy in Chinese regions.

Facts curated from news reports and official statistics, each with the exact
quote it rests on, built into a validated RDF dataset. One module per stage:
:mod:`ipgraph.facts`, :mod:`ipgraph.build`, :mod:`ipgraph.validate`,
:mod:`ipgraph.export`.
"""

from ipgraph.errors import IpgraphError

__all__ = ["IpgraphError", "__version__"]
__version__ = "0.1.0"
