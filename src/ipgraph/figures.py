"""Figures across sources: each observation's key, and whether the sources
that state a key agree.

A figure is identified by its key: indicator, area, period and scope (the
industries it counts and any other breakdown). A stock is keyed by its
instant (the end of its period: "end of 2024" and "end of December 2024" are
one key); a flow by its first and last day. One source states a key once; two
sources with the same key and the same value, unit and qualifier corroborate
each other, with different ones they conflict. Grouping is one pass over the
observations (a dict by key), so it grows linearly with the sources.

Example:
    >>> figures = compare(facts)                 # doctest: +SKIP
    >>> [f.status for f in figures][:3]          # doctest: +SKIP
    ['single', 'corroborated', 'conflict']
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import URIRef

from ipgraph.errors import FactsError
from ipgraph.facts import KINDS, Facts, Record
from ipgraph.namespaces import IPGR

__all__ = ["Figure", "check_keys", "compare", "figure_iri", "key_of", "scope_iri", "scope_token"]


def scope_token(record: Record) -> str:
    """The part of the key that says what the figure counts: ``total``, or
    ``scope-<id>`` and/or ``industries-<id>--<id>`` (ids sorted)."""
    fields = record.fields
    parts = []
    if "scope" in fields:
        parts.append(f"scope-{fields['scope'][1]}")
    if "industry_scope" in fields:
        parts.append("industries-" + "--".join(sorted(ident for _, ident in fields["industry_scope"])))
    return "/".join(parts) or "total"


def _period_token(record: Record) -> str:
    period = record.fields["period"]
    if record.fields["figure"] == "stock":
        return f"at-{period.end.isoformat()}"
    return f"{period.start.isoformat()}--{period.end.isoformat()}"


def key_of(record: Record) -> tuple[str, str, str, str]:
    """``(indicator, area, period, scope)`` of an observation, as IRI path parts."""
    section, area = record.fields["area"]
    return (
        record.fields["indicator"][1],
        f"{KINDS[section].path}/{area}",
        _period_token(record),
        scope_token(record),
    )


def figure_iri(key: tuple[str, str, str, str]) -> URIRef:
    """The IRI of a figure key, e.g. ``ipgr:figure/valid-invention-patents/region/jilin/at-2024-12-31/total``."""
    return IPGR["figure/" + "/".join(key)]


def scope_iri(token: str) -> URIRef:
    return IPGR[f"figure-scope/{token}"]


@dataclass
class Figure:
    """A figure key and the observations (of different sources) that state it."""

    key: tuple[str, str, str, str]
    observations: list[Record] = field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return sorted({record.source for record in self.observations})

    @property
    def status(self) -> str:
        """``single`` (one source), ``corroborated`` (several, one value) or ``conflict``."""
        values = {_reading(record) for record in self.observations}
        if len(values) > 1:
            return "conflict"
        return "corroborated" if len(self.sources) > 1 else "single"


def _reading(record: Record) -> tuple:
    fields = record.fields
    return (fields["value"], fields["unit"], fields.get("qualifier"))


def check_keys(facts: Facts) -> None:
    """One source states each figure key once.

    Raises:
        FactsError: at the second observation of a key in one source.
    """
    seen: dict[tuple, Record] = {}
    for record in facts.records.values():
        if record.kind != "observations":
            continue
        key = (record.source, key_of(record))
        other = seen.setdefault(key, record)
        if other is not record:
            raise FactsError(
                f"this source already states the figure {'/'.join(key_of(record))} in observation "
                f"{other.id!r} (line {other.line}); one source states a key (indicator, area, period, scope) once",
                path=record.path,
                line=record.line,
                field="observations.id",
            )


def compare(facts: Facts) -> list[Figure]:
    """Every figure key with the observations that state it, in key order."""
    figures: dict[tuple, Figure] = {}
    for record in facts.records.values():
        if record.kind == "observations":
            key = key_of(record)
            figures.setdefault(key, Figure(key)).observations.append(record)
    for figure in figures.values():
        figure.observations.sort(key=lambda record: (record.source, record.id))
    return [figures[key] for key in sorted(figures)]
