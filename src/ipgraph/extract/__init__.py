"""Draft the facts of a new article for a person to review.

:func:`extract` reads an article's text and returns a facts document in the
format of ``data/facts/`` (see docs/curating.md): mentions of the registry's
regions, cities and agencies and of the vocabulary's industries, measures,
and above all figures, each with a quote that stands once in the text and a
``confidence``. A wrong number is worse than a missing one, so a figure is
drafted only when its indicator, period and area are all found.

The gazetteer is built from the registry and the vocabularies (never from the
article's own curated facts); the phrases that name indicators, periods and
measures are data, in ``extract/data/*.yaml``. spaCy's blank English pipeline
splits sentences and its ``PhraseMatcher`` finds names.

One module per job: :mod:`.reading` (text and HTML), :mod:`.text`
(sentences, quotes, lexicons), :mod:`.gazetteer` (names and where they
stand), :mod:`.periods`, :mod:`.figures`, :mod:`.entities` (agencies, people,
region groups), :mod:`.measures`, and :mod:`.draft`, which runs them all.

Example:
    >>> import datetime as dt
    >>> draft = extract(
    ...     "By the end of 2024, Jilin had 9,100 valid invention patents.",
    ...     load_gazetteer("data"), slug="example-2025-01-01-jilin", date=dt.date(2025, 1, 1))
    >>> [(o["indicator"], o["area"], o["period"], o["value"]) for o in draft["observations"]]
    [('valid-invention-patents', 'jilin', '2024', 9100)]
"""

from __future__ import annotations

from .draft import Draft, draft_article, dump_draft, extract
from .gazetteer import Gazetteer, load_gazetteer
from .reading import read_article, strip_html

__all__ = [
    "Draft",
    "Gazetteer",
    "draft_article",
    "dump_draft",
    "extract",
    "load_gazetteer",
    "read_article",
    "strip_html",
]
