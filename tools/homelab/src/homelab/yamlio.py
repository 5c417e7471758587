"""YAML loading that remembers where every key is and refuses to hide duplicate keys.

PyYAML keeps the last of two equal keys without a word; Juju then sees one machine where the
author wrote two. This loader records every duplicate (reported as a problem with its line) and
gives each mapping the line and column of each of its keys, so problems point into the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class LocDict(dict):
    """A dict that knows the (line, column) of each key, 1-based, and the text of scalars."""

    pos: dict[Any, tuple[int, int]]
    start: tuple[int, int]
    raw: dict[Any, str]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pos = {}
        self.raw = {}
        self.start = (0, 0)

    def line_of(self, key: Any) -> int:
        """The line of `key`, or of the mapping itself when the key is absent."""
        return self.pos.get(key, self.start)[0]


class LocList(list):
    """A list that knows the (line, column) of each item, 1-based."""

    pos: list[tuple[int, int]]
    start: tuple[int, int]

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.pos = []
        self.start = (0, 0)

    def line_of(self, index: int) -> int:
        """The line of item `index`."""
        return self.pos[index][0] if 0 <= index < len(self.pos) else self.start[0]


@dataclass(frozen=True)
class Duplicate:
    """A key written twice in one mapping."""

    mapping: LocDict
    key: str
    line: int
    first_line: int


class YamlError(Exception):
    """A file that is not readable YAML; the message names file, line and column."""

    def __init__(self, path: str, message: str, line: int = 0, column: int = 0):
        self.path, self.line, self.column = path, line, column
        where = f"{path}:{line}:{column}" if line else path
        super().__init__(f"{where}: {message}")
        self.message = message


class _Loader(yaml.SafeLoader):
    """SafeLoader building LocDict/LocList and collecting duplicate keys."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.duplicates: list[Duplicate] = []


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocDict:
    loader.flatten_mapping(node)
    result = LocDict()
    result.start = _mark(node)
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)  # type: ignore[arg-type]
        if isinstance(key, (list, dict)):
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            )
        value = loader.construct_object(value_node, deep=True)  # type: ignore[arg-type]
        text = str(key)
        line = _mark(key_node)[0]
        if text in seen:
            loader.duplicates.append(Duplicate(result, text, line, seen[text]))
            # Keep the first spelling of the key so "0" and 0 do not both survive.
            for existing in list(result):
                if str(existing) == text:
                    del result[existing]
        seen[text] = line
        result[key] = value
        result.pos[key] = _mark(key_node)
        if isinstance(value_node, yaml.ScalarNode):
            result.raw[key] = str(value_node.value)
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocList:
    result = LocList()
    result.start = _mark(node)
    for child in node.value:
        result.append(loader.construct_object(child, deep=True))  # type: ignore[arg-type]
        result.pos.append(_mark(child))
    return result


_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,  # type: ignore[arg-type]
)
_Loader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    _construct_sequence,  # type: ignore[arg-type]
)


@dataclass
class Document:
    """One loaded YAML file: its data, its display path and its duplicate keys.

    `data` is the first YAML document; `parts` holds every document of a multi-document file
    (Juju reads each as one overlay: charm/v12 bundledatasrc.go:196-246). An empty file has no
    parts. Documents built by hand (data only) get `parts == [data]`.
    """

    path: str
    data: Any
    duplicates: list[Duplicate]
    parts: list[Any] = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.parts is None:
            self.parts = [] if self.data is None else [self.data]


def loads(text: str, path: str) -> Document:
    """Parse YAML text; raise YamlError with line and column when it is not YAML."""
    loader = _Loader(text)
    parts: list[Any] = []
    try:
        while loader.check_data():
            parts.append(loader.get_data())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        if mark is None:
            raise YamlError(path, problem) from None
        raise YamlError(path, f"broken YAML: {problem}", mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise YamlError(path, f"broken YAML: {exc}") from None
    finally:
        loader.dispose()
    return Document(path, parts[0] if parts else None, loader.duplicates, parts)


def load(path: str | Path, display: str | None = None) -> Document:
    """Read and parse one YAML file; unreadable files raise YamlError too."""
    shown = display or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlError(shown, "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(shown, f"cannot read: {exc}") from None
    return loads(text, shown)


def plain(value: Any) -> Any:
    """A deep copy made of plain dicts and lists (what yaml.safe_dump accepts)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def line_of(container: Any, key: Any) -> int:
    """The line of `key` in a LocDict/LocList, 0 when unknown."""
    if isinstance(container, (LocDict, LocList)):
        return container.line_of(key)
    return 0
