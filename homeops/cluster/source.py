"""Read YAML text into plain Python data, remembering where every value was written.

PyYAML's `safe_load` forgets positions, silently keeps the last of two duplicate keys and
expands aliases without limit (a "billion laughs" file of a few hundred bytes becomes
gigabytes). So the document is only *composed* by PyYAML (libyaml when available), which
keeps each alias as a shared node, and turned into data here: duplicate keys are reported
with both lines, and the expansion stops once it builds more values than a budget allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from homeops import collector
from homeops.cluster.problems import DataPath, Problem, dotted

try:  # libyaml composes a 1,000-node file about ten times faster than the pure-Python parser
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Position = tuple[int, int]  # (line, column), both 1-based

# Without aliases a document holds at most about one value (key or value) per character, so a
# budget of its length plus this allowance never refuses a plain file of any size, and lets
# aliases add at most this many values on top.
ALIAS_ALLOWANCE = 10_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_scalar_constructor = SafeConstructor()


@dataclass
class Source:
    """A YAML document as data, with positions; `data` is None when it cannot be used at all.

    Positions are looked up in the composed nodes when a problem needs one, rather than
    recorded for every value: a 10,000-node file has some 70,000 values and few problems.
    """

    file: str
    data: dict[Any, Any] | None = None
    root: Node | None = None
    problems: list[Problem] = field(default_factory=list)

    def position(self, path: DataPath) -> Position:
        """Where the value at `path` was written, or its nearest written ancestor."""
        node = self.root
        if node is None:
            return (1, 1)
        for part in path:
            found = _child(node, part)
            if found is None:
                break
            node = found[1]
        return _position(node)

    def key_position(self, path: DataPath) -> Position:
        """Where the key naming `path` was written (for list items: where the item starts)."""
        node = self.root
        for depth, part in enumerate(path):
            found = _child(node, part) if node is not None else None
            if found is None:
                return self.position(path[:depth])
            key_node, node = found
            if depth == len(path) - 1:
                return _position(key_node or node)
        return self.position(path)

    def problem(self, path: DataPath, message: str, code: str) -> Problem:
        line, column = self.position(path)
        return Problem(line, column, dotted(path), message, file=self.file, code=code)


def _child(node: Node, part: str | int) -> tuple[Node | None, Node] | None:
    """(key node, value node) of `part` inside `node`, following merge keys; None when absent."""
    if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    if not isinstance(node, MappingNode):
        return None
    merged = []
    for key_node, value_node in reversed(node.value):  # YAML keeps the last of duplicate keys
        if key_node.tag == _MERGE_TAG:
            merged.append(value_node)
        elif isinstance(key_node, ScalarNode) and key_node.value == part:
            return key_node, value_node
    for value_node in reversed(merged):
        for source in value_node.value if isinstance(value_node, SequenceNode) else [value_node]:
            found = _child(source, part)
            if found is not None:
                return found
    return None


class _Unusable(Exception):
    """The document cannot be turned into data; carries the one problem that says why."""

    def __init__(self, line: int, column: int, path: DataPath, message: str, code: str):
        super().__init__(message)
        self.line, self.column, self.path, self.message, self.code = line, column, path, message, code

    def problem(self, file: str) -> Problem:
        return Problem(self.line, self.column, dotted(self.path), self.message, file=file, code=self.code)


def read_source(text: str, file: str = "cluster.yaml", *, alias_allowance: int = ALIAS_ALLOWANCE) -> Source:
    """Parse `text`; every problem found lands in `Source.problems`, nothing is raised."""
    with collector.paused():
        return _read(text, file, alias_allowance)


def _read(text: str, file: str, alias_allowance: int) -> Source:
    source = Source(file)
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as exc:
        source.problems.append(_syntax_problem(exc, file))
        return source
    except yaml.reader.ReaderError as exc:
        # libyaml counts bytes of the UTF-8 text, the Python reader counts characters
        counted = text.encode() if _Loader is getattr(yaml, "CSafeLoader", None) else text
        newline = b"\n" if isinstance(counted, bytes) else "\n"
        line = counted.count(newline, 0, exc.position) + 1
        before = counted[counted.rfind(newline, 0, exc.position) + 1:exc.position]
        column = len(before.decode(errors="replace") if isinstance(before, bytes) else before) + 1
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        source.problems.append(Problem(line, column, "", f"YAML syntax error: the character U+{character:04X} is not "
                                       "allowed in a YAML file", file=file, code="yaml-syntax"))
        return source
    if root is None or (isinstance(root, ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
        source.problems.append(Problem(1, 1, "", "the file holds no data (it is empty or only comments)",
                                       file=file, code="empty-file"))
        return source
    if not isinstance(root, MappingNode):
        line, column = _position(root)
        kind = "a list" if isinstance(root, SequenceNode) else f"the value {root.value!r}"
        source.problems.append(Problem(line, column, "", f"the top level must be a mapping of keys "
                                       f"(cluster, versions, talos, network, nodes), found {kind}",
                                       file=file, code="not-a-mapping"))
        return source
    source.root = root
    builder = _Builder(source, budget=len(text) + alias_allowance)
    try:
        data = builder.build(root, ())
    except _Unusable as exc:
        source.problems.append(exc.problem(file))
        return source
    except RecursionError:
        source.problems.append(Problem(1, 1, "", "the document is nested too deeply to read", file=file,
                                       code="yaml-syntax"))
        return source
    if not builder.unreadable:
        source.data = data
    return source


def _compose(text: str) -> Node | None:
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _position(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


_KINDS = {bool: "a boolean", int: "an integer", float: "a number", type(None): "nothing (null)"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), f"a {type(value).__name__}")


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = f"YAML syntax error: {exc.problem or exc.context}"
    if exc.context and exc.problem and exc.context_mark:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    return Problem(line, column, "", message, file=file, code="yaml-syntax")


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, checking keys and the alias budget."""

    def __init__(self, source: Source, budget: int):
        self.source = source
        self.budget = budget
        self.built = 0
        # collections being built, with their paths: meeting one again means an alias loop
        self.open: dict[int, DataPath] = {}
        self.unreadable = False  # a value could not be read: report it, but do not validate guesses

    def build(self, node: Node, path: DataPath) -> Any:
        self.built += 1
        if self.built > self.budget:
            # Name the top-level entry being expanded: the deepest node is an arbitrary leaf.
            top = path[:1]
            raise _Unusable(*self.source.key_position(top), top,
                            f"YAML aliases make this value expand to more than {self.budget:,} values (a 'billion "
                            "laughs' document?): write the values out instead of nesting aliases", "alias-budget")
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if id(node) in self.open:
            anchored_at = self.open[id(node)]
            raise _Unusable(*_position(node), anchored_at, f"this value contains an alias to itself (at "
                            f"{dotted(path)}), so it would never end", "alias-recursive")
        self.open[id(node)] = path
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            return self._mapping(node, path)
        finally:
            del self.open[id(node)]

    def _scalar(self, node: ScalarNode, path: DataPath) -> Any:
        if node.tag == _STR_TAG:  # most values: skip the constructor's dispatch
            return node.value
        construct = SafeConstructor.yaml_constructors.get(node.tag)
        try:
            if construct is None:
                raise yaml.constructor.ConstructorError(None, None, f"the tag {node.tag!r} is not supported")
            return construct(_scalar_constructor, node)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            self.unreadable = True
            reason = getattr(exc, "problem", None) or str(exc)
            self.source.problems.append(self.source.problem(path, f"cannot read this value: {reason}", "yaml-syntax"))
            return None

    def _mapping(self, node: MappingNode, path: DataPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        # `<<: *defaults` (or a list of them) first, so that keys written in the mapping itself win.
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self._merge(value_node, path, result)
        first_seen: dict[Any, Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self._key(key_node, path)
            if not isinstance(key, str):
                # `on:` or `1:` read as a boolean or a number: no key of cluster.yaml is one
                self.source.problems.append(Problem(
                    *_position(key_node), dotted(path),
                    f"the key {key_node.value!r} reads as {_kind(key)}: keys are text (quote it)",
                    file=self.source.file, code="wrong-type"))
                continue
            if key in first_seen:
                self._duplicate(key, first_seen[key], key_node, path)
            first_seen[key] = key_node
            result[key] = self.build(value_node, (*path, key))
        return result

    def _key(self, key_node: Node, path: DataPath) -> Any:
        if not isinstance(key_node, ScalarNode):
            raise _Unusable(*_position(key_node), path, "a key must be a plain value, not a list or mapping",
                            "yaml-syntax")
        self.built += 1
        key = self._scalar(key_node, path)
        try:
            hash(key)
        except TypeError:
            raise _Unusable(*_position(key_node), path, f"{key_node.value!r} cannot be a key", "yaml-syntax") from None
        return key

    def _duplicate(self, key: Any, first: Node, again: Node, path: DataPath) -> None:
        line, column = _position(again)
        self.source.problems.append(Problem(
            line, column, dotted((*path, key)),
            f"duplicate key {key!r}: first at line {first.start_mark.line + 1}, again at line {line}; "
            "YAML would silently keep only the last one",
            file=self.source.file, code="duplicate-key"))

    def _merge(self, merged: Node, path: DataPath, into: dict[Any, Any]) -> None:
        # In `<<: [*a, *b]` the first mapping wins, so apply them last to first.
        sources = list(reversed(merged.value)) if isinstance(merged, SequenceNode) else [merged]
        for source_node in sources:
            if not isinstance(source_node, MappingNode):
                raise _Unusable(*_position(source_node), path, "'<<' must merge a mapping or a list of mappings",
                                "yaml-syntax")
            into.update(self.build(source_node, path))
