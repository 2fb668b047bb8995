"""Reading an article: UTF-8 text or HTML (tags stripped), and the metadata beside it."""

from __future__ import annotations

import html.parser
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import SourceError

#: An article longer than this is refused (a news article is a few kB).
MAX_ARTICLE_BYTES = 8 * 1024 * 1024


class _TextOnly(html.parser.HTMLParser):
    """The text of an HTML page, one line per block element."""

    _BLOCKS = frozenset({"p", "div", "br", "h1", "h2", "h3", "h4", "li", "tr", "title", "section", "article"})
    _SKIP = frozenset({"script", "style", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self.skipping:
            self.skipping -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def strip_html(text: str) -> str:
    """The text of an HTML document: tags removed, one paragraph a line.

    >>> strip_html("<html><p>Jilin <b>grew</b>.</p><script>x()</script><p>Then &amp; now</p></html>")
    'Jilin grew.\\nThen & now'
    """
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    return "\n".join(line for line in lines if line)


def _looks_like_html(text: str) -> bool:
    return bool(re.search(r"<(?:html|body|p|div|!doctype)\b", text[:4096], re.IGNORECASE))


def read_article(path: str | Path) -> tuple[str, dict[str, Any]]:
    """The text of the article at ``path`` (HTML stripped) and its metadata
    (the ``.yaml`` beside it, if there is one).

    Raises:
        SourceError: not a file, empty, too large, binary or not UTF-8.
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError("not a file (expected an article as a UTF-8 text or HTML file)", path=path)
    size = path.stat().st_size
    if size > MAX_ARTICLE_BYTES:
        raise SourceError(f"the file has {size} bytes; an article may have at most {MAX_ARTICLE_BYTES}", path=path)
    data = path.read_bytes()
    if b"\x00" in data:
        raise SourceError("a binary file, not an article text (it holds NUL bytes)", path=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(f"not UTF-8 text (byte {error.start} cannot be read)", path=path) from None
    text = text.removeprefix("\ufeff")
    if _looks_like_html(text):
        text = strip_html(text)
    if not text.strip():
        raise SourceError("the article is empty", path=path)
    meta: dict[str, Any] = {}
    beside = path.with_suffix(".yaml")
    if beside.is_file() and beside != path:
        loaded = yaml.safe_load(beside.read_text("utf-8"))
        if isinstance(loaded, dict) and "source" not in loaded:
            meta = loaded
    return text, meta
