"""Read the YAML files of ``data/``: safe, exact and with line numbers.

Mappings remember the line of themselves and of each key (so that every error
can name its line), numbers with a fraction stay exact decimals, a repeated
key is an error instead of a silent overwrite, and a path that is not a
regular, readable UTF-8 file gets one clear :class:`~ipgraph.errors.FactsError`.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.yaml"
    >>> _ = path.write_text("value: 10.2\\n", encoding="utf-8")
    >>> document = read_yaml(path)
    >>> document["value"], document.key_lines["value"]
    (Decimal('10.2'), 1)
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ipgraph.errors import FactsError, IpgraphError

__all__ = ["MAX_BYTES", "Map", "file_kind", "read_text", "read_yaml", "regular_file"]

#: The largest data file read (a facts file of a long report is well under 1 MB).
MAX_BYTES = 64 * 1024 * 1024


class Map(dict):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """The line of ``key``, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    """Safe YAML loader: mappings keep line numbers, floats stay exact
    decimals, and a repeated key is an error instead of a silent overwrite."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Map:
    loader.flatten_mapping(node)
    result = Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
            )
        try:
            result[key] = loader.construct_object(value_node, deep=True)
        except TypeError:  # an unhashable key (a list or mapping used as a key)
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be text, not a list or mapping", key_node.start_mark
            ) from None
        result.key_lines[key] = line
    return result


def _construct_decimal(loader: _Loader, node: yaml.ScalarNode) -> Decimal:
    text = loader.construct_scalar(node).replace("_", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():  # .inf, .nan
        raise yaml.constructor.ConstructorError(None, None, f"{text!r} is not a finite number", node.start_mark)
    return number


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> dt.date:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as error:  # e.g. 2025-02-30
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value!r} is not a valid date ({error})", node.start_mark
        ) from None


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def file_kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, for a message: 'a directory', 'a FIFO' ..."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def regular_file(path: Path, error: type[IpgraphError] = FactsError, missing: str = "file not found") -> os.stat_result:
    """The ``stat`` of ``path`` if it is a regular file; else ``error`` saying
    what is there instead (nothing, a loop, a directory, a device, a FIFO)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise error(missing, path=path) from None
    except OSError as problem:  # a symlink loop, a name too long, no permission
        raise error(f"cannot read: {problem.strerror or problem}", path=path) from None
    if not stat.S_ISREG(info.st_mode):
        raise error(f"expected a file, found {file_kind(info.st_mode)}", path=path)
    return info


def read_text(path: Path, error: type[IpgraphError] = FactsError) -> str:
    """The UTF-8 text of the regular file ``path``; ``error`` names what is wrong.

    A directory, a device, a FIFO, a missing file, one larger than
    :data:`MAX_BYTES` or one that is not UTF-8 is refused with the path.
    """
    info = regular_file(path, error)
    if info.st_size > MAX_BYTES:
        raise error(f"file too large ({info.st_size} bytes; at most {MAX_BYTES})", path=path)
    try:
        data = path.read_bytes()
    except OSError as problem:
        raise error(f"cannot read: {problem.strerror or problem}", path=path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as problem:
        raise error(f"not UTF-8 text (byte {problem.start})", path=path) from None
    if "\x00" in text:
        raise error(f"not text: a NUL character at offset {text.index(chr(0))}", path=path)
    return text


def read_yaml(path: Path) -> Any:
    """Parse the YAML file ``path`` (see the module docstring).

    Raises:
        FactsError: not a readable UTF-8 file, or malformed YAML (with its line).
    """
    text = read_text(path)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise FactsError(f"malformed YAML: {error.problem or error}", path=path, line=line) from None
    except yaml.YAMLError as error:
        raise FactsError(f"malformed YAML: {error}", path=path) from None
    except RecursionError:
        raise FactsError("malformed YAML: nested too deeply", path=path) from None
