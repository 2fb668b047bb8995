"""Text for a terminal: control characters made visible, tables that fit its width.

A label may hold anything a source or a registry holds; printed raw, an
escape sequence (``\\x1b[31m``), a carriage return, a bell or a bidirectional
override (U+202E) would recolour, overwrite or reorder what the user reads. A table (:func:`table`) wraps long cells to
the terminal's width rather than cutting them: a quote is shown whole.

Example:
    >>> printable("Jilin\\x1b[31m\\r\\u202e")
    'Jilin\\\\x1b[31m\\\\r\\\\u202e'
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["clean", "printable", "table", "width_of", "wrap"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(character: str) -> str:
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with control, format and line/paragraph-separator characters
    (C0, C1, DEL, U+200E/F, U+202A–E, U+2066–9, U+2028/9, ...) written as
    backslash escapes; everything else, Chinese included, as it is."""
    return "".join(_escape(c) if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)


def clean(text: str) -> str:
    """A table cell: runs of spaces, tabs and newlines as one space, other
    control characters escaped (:func:`printable`)."""
    return printable(" ".join(re.split(r"[ \t\n]+", text.strip(" \t\n"))))


def width_of(text: str) -> int:
    """The columns ``text`` takes in a terminal: two for a wide (CJK) character, none for a combining mark."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text
    )


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns, broken at spaces where
    it can be and inside a word (or a run of Chinese) where it must. Nothing
    is dropped but the spaces a line breaks at.

    Example:
        >>> wrap("the northeastern provinces of Jilin", 12)
        ['the', 'northeastern', 'provinces of', 'Jilin']
        >>> wrap("吉林省知识产权局", 6)
        ['吉林省', '知识产', '权局']
    """
    width = max(width, 2)
    lines: list[str] = []
    line, used = "", 0
    for word in text.split(" "):
        size = width_of(word)
        if line and used + 1 + size <= width:
            line, used = f"{line} {word}", used + 1 + size
            continue
        if line or lines:
            lines.append(line)
        line, used = "", 0
        while size > width:  # a word longer than the column: cut it by characters
            cut, taken = 0, 0
            while cut < len(word) and taken + width_of(word[cut]) <= width:
                taken += width_of(word[cut])
                cut += 1
            lines.append(word[:cut])
            word, size = word[cut:], size - taken
        line, used = word, size
    lines.append(line)
    return lines


def _widths(natural: list[int], floor: list[int], room: int) -> list[int]:
    """Column widths that fit ``room``: every column gets its ``floor``, and
    what is left is shared in proportion to how much more each one needs
    (so a long quote gets most of it, a short name keeps its width)."""
    if sum(natural) <= room:
        return list(natural)
    floor = list(floor)
    while sum(floor) > room and max(floor) > 1:  # too many columns for their floors: narrow the widest
        floor[floor.index(max(floor))] -= 1
    left = room - sum(floor)
    if left <= 0:
        return floor
    need = [n - f for n, f in zip(natural, floor, strict=True)]
    extra = [left * n // sum(need) for n in need]
    for index in sorted(range(len(need)), key=lambda i: -need[i])[: left - sum(extra)]:
        extra[index] += 1
    return [f + e for f, e in zip(floor, extra, strict=True)]


def table(header: list[str], rows: list[list[str]], width: int | None = None, title: str | None = None) -> str:
    """Rows as aligned columns (two spaces apart) for a terminal. With
    ``width`` (the terminal's columns), long cells are wrapped onto more
    lines so that every line fits, and no character of a cell is cut; with
    ``None``, one line per row, however long (``--wide``).

    Example:
        >>> print(table(["region", "quote"], [["Jilin", "the northeastern provinces of Jilin"]], width=30), end="")
        region  quote
        ------  ----------------------
        Jilin   the northeastern
                provinces of Jilin
        (1 row)
    """
    cells = [[clean(str(text)) for text in row] for row in rows]
    heads = [clean(name) for name in header]
    natural = [max([width_of(name)] + [width_of(row[i]) for row in cells]) for i, name in enumerate(heads)]
    if width is None:
        widths = natural
    else:
        floor = [min(natural[i], max(8, min(width_of(heads[i]), 14))) for i in range(len(heads))]
        widths = _widths(natural, floor, max(width - 2 * (len(heads) - 1), len(heads)))

    def lines_of(row: list[str]) -> list[str]:
        wrapped = [wrap(text, size) if width is not None else [text] for text, size in zip(row, widths, strict=True)]
        out = []
        for number in range(max(len(lines) for lines in wrapped)):
            parts = [lines[number] if number < len(lines) else "" for lines in wrapped]
            padded = [part + " " * (size - width_of(part)) for part, size in zip(parts, widths, strict=True)]
            out.append("  ".join(padded).rstrip())
        return out

    out = [title] if title else []
    out += lines_of(heads)
    out.append("  ".join("-" * size for size in widths))
    for row in cells:
        out += lines_of(row)
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out) + "\n"
