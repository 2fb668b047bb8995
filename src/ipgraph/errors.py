"""Errors raised by ipgraph. All share one base class, :class:`IpgraphError`.

The library raises them with the file, line and field where there is one;
only the CLI turns them into a message and an exit code.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ExportError",
    "FactsError",
    "IpgraphError",
    "LinkError",
    "MappingError",
    "OutputError",
    "ProjectFolderError",
    "ProjectionError",
    "QueryError",
    "QueryRefused",
    "QueryTimeout",
    "QueryTooLarge",
    "QuoteError",
    "SourceError",
    "StoreError",
    "ValidationError",
    "ViewError",
]


class IpgraphError(Exception):
    """Base class: a problem with the user's input or request, not a bug.

    ``str(error)`` reads ``file:line: field: message``, leaving out what is
    not known.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.field = field

    def __reduce__(self):
        """Pickled with its attributes (a worker process raises it, the main one reports it)."""
        return _rebuild, (type(self), self.args, self.__dict__)

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        if self.field:
            where += f"{self.field}: "
        return where + self.message


def _rebuild(cls: type[IpgraphError], args: tuple, state: dict) -> IpgraphError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class FactsError(IpgraphError):
    """A facts file is malformed or says something the model cannot hold."""


class SourceError(IpgraphError):
    """A source text or its metadata is missing or unreadable."""


class QuoteError(FactsError):
    """A quote is not found verbatim in its source, or not only once."""


class ValidationError(IpgraphError):
    """The graph does not conform to the SHACL shapes.

    ``report`` holds the readable report (one violation per paragraph).
    """

    def __init__(self, message: str, report: str, **where) -> None:
        super().__init__(message, **where)
        self.report = report


class ExportError(IpgraphError):
    """An export was asked in an unknown format or from a missing dataset."""


class MappingError(FactsError):
    """A SSSOM mapping file is malformed: a bad CURIE, an unknown subject, a
    repeated identity link (file, row line and column name)."""


class LinkError(IpgraphError):
    """Reconciliation or enrichment against an external SPARQL endpoint failed:
    unreachable, timed out, refused (HTTP 429/5xx) or answered nonsense."""


class OutputError(IpgraphError):
    """An output file cannot be written: its folder is a file or unwritable,
    the disk is full, it is not a regular file, or what would be written does
    not parse back. The old file, if any, is left as it was."""


class ProjectFolderError(IpgraphError):
    """A project folder that cannot be created (``ipgraph init``): not empty, or not writable."""


class ProjectionError(IpgraphError):
    """A projection, entity or output format that does not exist, or an unwritable output."""


class ViewError(IpgraphError):
    """A view cannot be drawn or written."""


class StoreError(IpgraphError):
    """A store cannot be opened or loaded: unknown kind, missing or broken file."""


class QueryError(IpgraphError):
    """A query cannot run: a syntax error (line and column), an unknown named
    query, a missing or bad parameter, or a refused operation (Update,
    FROM, SERVICE to an endpoint not allowed)."""


class QueryRefused(QueryError):
    """A query asks for what ipgraph never runs: an update, FROM, LOAD, or
    SERVICE to an endpoint that is not allowed."""


class QueryTimeout(QueryError):
    """A query ran longer than its timeout and was stopped."""


class QueryTooLarge(QueryError):
    """A query's results grew past the byte limit and it was stopped."""
