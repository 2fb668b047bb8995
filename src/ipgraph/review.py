"""From a reviewed draft to a curated facts file: ``ipgraph accept``.

A draft written by :mod:`ipgraph.extract` is checked exactly as curated facts
are (quotes, references, units, figure keys) together with everything already
in ``data/``, in a temporary copy, and only then moved into
``data/facts/<slug>.yaml``. The extractor's ``confidence`` fields are removed
first, as the facts format has no place for them.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from pathlib import Path

import yaml
from rdflib import Dataset, Graph

from .build import build_dataset, serialize_trig, source_graph, write_atomic
from .errors import FactsError, IpgraphError
from .extract import Draft, dump_draft
from .facts import SLUG, load_facts
from .figures import check_keys
from .vocab import load_vocabulary
from .yamlfile import read_text, read_yaml

__all__ = ["accept", "article_paths", "check_draft", "draft_trig", "strip_confidence_lines", "write_draft"]

_CONFIDENCE = re.compile(r"^[ \t]*confidence:[^\n]*$", re.MULTILINE)
_CONFIDENCE_LINE = re.compile(r"^[ \t]*confidence:[^\n]*\n", re.MULTILINE)


def strip_confidence_lines(text: str) -> str:
    """The draft's text with each ``confidence:`` line emptied (line numbers kept).

    >>> strip_confidence_lines("- id: a\\n  confidence: 0.9\\n  quote: x\\n")
    '- id: a\\n\\n  quote: x\\n'
    """
    return _CONFIDENCE.sub("", text)


def article_paths(draft: Path) -> tuple[Path, Path]:
    """Where ``ipgraph extract`` puts the article text and its metadata beside
    a draft that is not yet a stored source."""
    return draft.with_suffix(".article.txt"), draft.with_suffix(".article.yaml")


def _slug(draft: Path) -> str:
    document = read_yaml(draft)
    if not isinstance(document, dict) or not isinstance(document.get("source"), str):
        raise FactsError("expected a facts draft: a mapping with 'source: <slug>'", path=draft, line=1)
    slug = document["source"]
    if not SLUG.match(slug):
        raise FactsError(f"source {slug!r} is not a slug (lower case words joined by hyphens)", path=draft, line=1)
    return slug


def _checked_copy(draft: Path, data_dir: Path, workdir: Path, replace: bool = False) -> tuple[str, str, Path]:
    """Copy ``data_dir`` into ``workdir`` with the draft in place and load it
    all; return the slug, the cleaned draft text and the copy's data folder."""
    slug = _slug(draft)
    text = strip_confidence_lines(read_text(draft))
    target = data_dir / "facts" / f"{slug}.yaml"
    if target.exists() and not replace:
        raise FactsError(f"{target} already exists: remove it first to replace it with this draft", path=draft)
    copy = workdir / "data"
    shutil.copytree(data_dir, copy)
    stored = data_dir / "sources" / f"{slug}.txt"
    if not stored.exists():
        article, meta = article_paths(draft)
        if not (article.is_file() and meta.is_file()):
            raise FactsError(
                f"no source {stored} and no {article.name} + {meta.name} beside the draft "
                "(ipgraph extract writes them)",
                path=draft,
            )
        shutil.copyfile(article, copy / "sources" / f"{slug}.txt")
        shutil.copyfile(meta, copy / "sources" / f"{slug}.yaml")
    checked = copy / "facts" / f"{slug}.yaml"
    checked.write_text(text, encoding="utf-8")
    try:
        vocabulary = load_vocabulary(copy / "vocab")
        facts = load_facts(copy, vocabulary)
        check_keys(facts)
    except IpgraphError as error:
        # Report the reviewer's file, not the temporary copy (same lines).
        if error.path == checked:
            error.path = draft
        elif error.path is not None and copy in error.path.parents:
            error.path = data_dir / error.path.relative_to(copy)
        error.message = error.message.replace(str(copy), str(data_dir))
        raise
    return slug, text, copy


def check_draft(draft: str | Path, data_dir: str | Path = "data") -> str:
    """Check a draft as curated facts together with ``data_dir``; return its slug.

    Raises:
        FactsError, QuoteError, SourceError: what ``ipgraph build`` would
            refuse, with the draft's file and line.
    """
    with tempfile.TemporaryDirectory(prefix="ipgraph-accept-") as workdir:
        slug, _, _ = _checked_copy(Path(draft), Path(data_dir), Path(workdir))
    return slug


def accept(draft: str | Path, data_dir: str | Path = "data") -> Path:
    """Check the reviewed ``draft`` and move it into ``data/facts/<slug>.yaml``
    (with its article into ``data/sources/`` if it is not there yet); return
    the new facts file. Nothing is written if the check fails.

    Raises:
        FactsError, QuoteError, SourceError: as :func:`check_draft`.
    """
    draft, data_dir = Path(draft), Path(data_dir)
    with tempfile.TemporaryDirectory(prefix="ipgraph-accept-") as workdir:
        slug, _, _ = _checked_copy(draft, data_dir, Path(workdir))
    stored = data_dir / "sources" / f"{slug}.txt"
    if not stored.exists():
        article, meta = article_paths(draft)
        write_atomic(data_dir / "sources" / f"{slug}.yaml", meta.read_bytes())
        write_atomic(stored, article.read_bytes())
    target = data_dir / "facts" / f"{slug}.yaml"
    write_atomic(target, _CONFIDENCE_LINE.sub("", read_text(draft)).encode("utf-8"))
    draft.unlink()
    for beside in article_paths(draft):
        beside.unlink(missing_ok=True)
    return target


def draft_trig(draft: str | Path, data_dir: str | Path = "data") -> bytes:
    """The draft as RDF: its source's named graph, in TriG, built as ``ipgraph
    build`` builds curated facts (the draft is checked first).

    Raises:
        FactsError, QuoteError, SourceError: as :func:`check_draft`.
    """
    draft = Path(draft)
    with tempfile.TemporaryDirectory(prefix="ipgraph-draft-") as workdir:
        slug, _, copy = _checked_copy(draft, Path(data_dir), Path(workdir), replace=True)
        vocabulary = load_vocabulary(copy / "vocab")
        facts = load_facts(copy, vocabulary)
        dataset = build_dataset(facts, Graph(), vocabulary)
    graph = dataset.graph(source_graph(slug))
    result = Dataset()
    named = result.graph(source_graph(slug))
    for triple in graph:
        named.add(triple)
    for prefix, namespace in dataset.namespaces():
        result.bind(prefix, namespace)
    return serialize_trig(result)


def write_draft(draft: Draft, out: str | Path, data_dir: str | Path = "data", fmt: str = "yaml") -> list[Path]:
    """Write ``draft`` to ``out`` (YAML, or TriG for ``fmt="trig"``), with the
    article text and metadata beside it when ``data/sources/`` does not hold
    them yet; return the files written. Never writes into ``data/facts/``.

    Raises:
        FactsError: ``out`` is inside ``data/facts/``; for TriG, the draft
            does not check as curated facts.
    """
    out, data_dir = Path(out), Path(data_dir)
    facts_dir = (data_dir / "facts").resolve()
    if out.resolve().parent == facts_dir or facts_dir in out.resolve().parents:
        raise FactsError("a draft is not written into data/facts/: review it, then `ipgraph accept` it", path=out)
    if fmt == "trig":
        with tempfile.TemporaryDirectory(prefix="ipgraph-draft-") as workdir:
            temporary = Path(workdir) / f"{draft.slug}.yaml"
            _write_yaml_draft(draft, temporary)
            data = draft_trig(temporary, data_dir)
        write_atomic(out, data)
        return [out]
    return _write_yaml_draft(draft, out)


def _write_yaml_draft(draft: Draft, out: Path) -> list[Path]:
    written = [out]
    write_atomic(out, dump_draft(draft.document).encode("utf-8"))
    if not draft.stored:
        article, meta = article_paths(out)
        write_atomic(article, draft.text.encode("utf-8"))
        fields = {key: draft.meta.get(key) for key in ("headline", "publisher", "date_published", "url", "language")}
        fields["language"] = fields["language"] or "en"
        if isinstance(fields["date_published"], str):  # a date, not a quoted string, in the YAML
            try:
                fields["date_published"] = dt.date.fromisoformat(fields["date_published"])
            except ValueError:
                fields["date_published"] = None
        missing = [key for key, value in fields.items() if value in (None, "")]
        header = "# Metadata of the article; fill in what is missing before `ipgraph accept`.\n"
        if missing:
            header += f"# missing: {', '.join(missing)}\n"
        body = yaml.safe_dump(
            {k: v for k, v in fields.items() if v not in (None, "")}, sort_keys=False, allow_unicode=True
        )
        write_atomic(meta, (header + body).encode("utf-8"))
        written += [article, meta]
    return written
