"""What every store shares: the :class:`Result` of a query, the
:class:`QueryDataset` a query sees, and the :class:`Store` interface."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, BinaryIO

import pyoxigraph as ox

from ipgraph.errors import QueryError

if TYPE_CHECKING:
    from ipgraph.store.guard import CheckedQuery

__all__ = ["UNION", "QueryDataset", "Result", "Store", "to_python"]


@dataclass
class Result:
    """What a query returned.

    ``kind`` is ``"select"`` (``variables`` and ``rows``), ``"ask"``
    (``boolean``) or ``"graph"`` (``triples``, for CONSTRUCT and DESCRIBE).
    Terms are pyoxigraph terms (``NamedNode``, ``BlankNode``, ``Literal``),
    ``None`` where a variable is unbound. ``truncated`` says that the row
    limit cut the result.
    """

    kind: str
    variables: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    boolean: bool | None = None
    triples: list[ox.Triple] = field(default_factory=list)
    truncated: bool = False
    seconds: float = 0.0

    def __len__(self) -> int:
        return len(self.triples) if self.kind == "graph" else len(self.rows)

    def records(self) -> list[dict]:
        """The rows as dicts of plain Python values (see :func:`to_python`),
        ready for ``pandas.DataFrame(result.records())``."""
        return [
            {name: to_python(term) for name, term in zip(self.variables, row, strict=True) if term is not None}
            for row in self.rows
        ]

    def to_dataframe(self):
        """The rows as a pandas ``DataFrame`` (pandas must be installed)."""
        try:
            import pandas
        except ImportError:
            raise QueryError("pandas is not installed (pip install pandas)") from None
        return pandas.DataFrame(self.records(), columns=self.variables)


_XSD = "http://www.w3.org/2001/XMLSchema#"
_CONVERT = {
    _XSD + "integer": int,
    _XSD + "int": int,
    _XSD + "long": int,
    _XSD + "nonNegativeInteger": int,
    _XSD + "positiveInteger": int,
    _XSD + "decimal": Decimal,
    _XSD + "double": float,
    _XSD + "float": float,
    _XSD + "boolean": lambda value: value in ("true", "1"),
    _XSD + "date": date.fromisoformat,
}


def to_python(term):
    """An RDF term as a Python value: an IRI as ``str``, a literal as ``int``,
    ``Decimal``, ``float``, ``bool``, ``datetime.date`` or ``str`` by its
    datatype, a blank node as ``"_:id"``, unbound as ``None``.

    Example:
        >>> to_python(ox.Literal("10.2", datatype=ox.NamedNode(_XSD + "decimal")))
        Decimal('10.2')
    """
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    convert = _CONVERT.get(term.datatype.value)
    if convert is not None:
        try:
            return convert(term.value)
        except (ValueError, ArithmeticError):
            return term.value
    return term.value


def _select_result(payload: bytes, results_format: ox.QueryResultsFormat, limit: int | None) -> Result:
    solutions = ox.parse_query_results(payload, results_format)
    variables = [v.value for v in solutions.variables]
    rows = [tuple(solution) for solution in solutions]
    truncated = limit is not None and len(rows) > limit
    return Result("select", variables, rows[:limit] if truncated else rows, truncated=truncated)


def _graph_result(payload: bytes, limit: int | None) -> Result:
    triples = list(ox.parse(payload, ox.RdfFormat.N_TRIPLES))
    truncated = limit is not None and len(triples) > limit
    return Result("graph", triples=triples[:limit] if truncated else triples, truncated=truncated)


@dataclass(frozen=True)
class QueryDataset:
    """What a query sees, as a SPARQL 1.1 Protocol request can set it.

    ``base`` resolves relative IRIs. With ``default_graphs`` or
    ``named_graphs`` given, the default graph is the merge of the former and
    ``GRAPH`` sees only the latter (an omitted list is empty, Protocol 2.1.4);
    with neither, the default graph is the union of all named graphs. An IRI
    that names no graph in the store is an empty graph: nothing is fetched.
    The query's own ``FROM``/``FROM NAMED`` give one too (:func:`split_dataset`).
    """

    base: str | None = None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        return bool(self.default_graphs or self.named_graphs)


UNION = QueryDataset()


class Store(ABC):
    """A dataset loaded for querying. ``kind`` names it ("memory", "oxigraph")."""

    kind: str = ""

    @abstractmethod
    def _evaluate(
        self,
        query: CheckedQuery,
        bindings: dict[str, ox.NamedNode | ox.Literal],
        out: BinaryIO,
        limit: int | None,
        dataset: QueryDataset = UNION,
    ) -> None:
        """Run ``query`` (as the guard read it, :func:`ipgraph.store.guard.check_query`)
        and write its results to ``out``: a first line naming the payload
        format (``tsv``, ``json``, ``nt``), then the payload. Streamed formats
        (tsv, nt) are cut by the writer; others keep at most ``limit + 1`` rows."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of quads in the store."""

    def start_workers(self) -> None:
        """Start the fork server that forks this store's query workers (see
        :func:`execute`), if the platform can fork. :func:`open_store` calls
        it once the store is loaded, while the process has one thread; a
        query with a timeout starts it otherwise."""
        if hasattr(os, "fork"):
            from ipgraph.store.workers import pool

            pool(self)

    def stop_workers(self) -> None:
        """Stop the fork server and idle workers (also done when the store is
        garbage-collected; :meth:`load` does it, since they hold a snapshot)."""
        pool = self.__dict__.pop("_pool", None)
        if pool is not None:
            pool.close()
