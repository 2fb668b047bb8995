"""Text helpers of the extractor: the lexicons, sentences with offsets, quotes that stand once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml


@cache
def lexicon(name: str) -> Any:
    """One data file of ``extract/data/``."""
    return yaml.safe_load(resources.files("ipgraph").joinpath(f"extract/data/{name}.yaml").read_text("utf-8"))


@cache
def pipeline() -> Any:
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    text: str
    paragraph: int


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of ``text`` with their offsets; a line is a paragraph."""
    nlp = pipeline()
    lines, offset = [], 0
    for line in text.split("\n"):
        if line.strip():
            lines.append((offset, line))
        offset += len(line) + 1
    nlp.max_length = max(nlp.max_length, max((len(line) for _, line in lines), default=0) + 1)
    result = []
    for number, ((offset, _), doc) in enumerate(zip(lines, nlp.pipe(line for _, line in lines), strict=True)):
        for sent in doc.sents:
            start, end = offset + sent.start_char, offset + sent.end_char
            if text[start:end].strip():
                result.append(Sentence(start, end, text[start:end], number))
    return result


_NEXT_WORD = re.compile(r"\s*\S+")
_LAST_WORD = re.compile(r"\S+\s*$")


def repeated(text: str, part: str) -> bool:
    """``part`` stands more than once in ``text`` (stops at the second)."""
    first = text.find(part)
    return first >= 0 and text.find(part, first + 1) >= 0


def unique_quote(text: str, start: int, end: int, limit: tuple[int, int] | None = None, words: int = 40) -> str:
    """``text[start:end]``, extended a word at a time (at most ``words`` on
    each side, within ``limit``) until it stands once in ``text``; the caller
    checks that it does."""
    low, high = limit or (max(0, start - 400), min(len(text), end + 400))
    for _ in range(words):
        if not repeated(text, text[start:end]):
            break
        grown = False
        if end < high:
            match = _NEXT_WORD.match(text, end)
            if match and match.end() <= high:
                end, grown = match.end(), True
        if repeated(text, text[start:end]) and start > low:
            window = max(low, start - 100)
            match = _LAST_WORD.search(text[window:start])
            if match:
                start, grown = window + match.start(), True
        if not grown:
            break
    return text[start:end].strip()


def slug_id(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-")
