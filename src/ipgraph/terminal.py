"""Text for a terminal: control characters made visible.

A label may hold anything a source or a registry holds; printed raw, an
escape sequence (``\\x1b[31m``), a carriage return, a bell or a bidirectional
override (U+202E) would recolour, overwrite or reorder what the user reads.

Example:
    >>> printable("Jilin\\x1b[31m\\r\\u202e")
    'Jilin\\\\x1b[31m\\\\r\\\\u202e'
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable"]

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
