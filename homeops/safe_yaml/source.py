"""Read YAML into plain Python data, remembering where every value was written.

PyYAML's `safe_load` forgets positions, silently keeps the last of two duplicate keys, expands
aliases without limit (a "billion laughs" file of a few hundred bytes becomes gigabytes) and
recurses once per level. So the document is composed into nodes here (`compose`: depth bounded,
tags refused) and turned into data by `_Builder`: duplicate keys are reported with both lines,
and the expansion stops once it builds more values than a budget allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from homeops import collector
from homeops.safe_yaml.compose import MAX_DEPTH, STR_TAG, TooDeep, compose
from homeops.safe_yaml.files import Unreadable, read_text
from homeops.safe_yaml.problems import DataPath, Problem, dotted

Position = tuple[int, int]  # (line, column), both 1-based

# Without aliases a document holds at most about one value (key or value) per character, so a
# budget of its length plus this allowance never refuses a plain file of any size, and lets
# aliases add at most this many values on top.
ALIAS_ALLOWANCE = 10_000
# cluster.yaml is a few kilobytes (a 10,000-node one is under 1 MB); reading stops here so that
# a wrong path fails at once instead of filling memory.
MAX_FILE_BYTES = 20 * 1024 * 1024

_MERGE_TAG = "tag:yaml.org,2002:merge"
_scalar_constructor = SafeConstructor()


@dataclass
class Source:
    """A YAML document as data, with positions; `data` is None when it cannot be used at all.

    Positions are looked up in the composed nodes when a problem needs one, rather than
    recorded for every value: a 10,000-node file has some 70,000 values and few problems.
    A mapping's keys are indexed on the first lookup in it, so that a problem per key of a
    40,000-key mapping costs one pass over it, not one pass per problem.
    """

    file: str
    data: dict[Any, Any] | None = None
    root: Node | None = None
    problems: list[Problem] = field(default_factory=list)
    _indexes: dict[int, tuple[dict[str, tuple[Node, Node]], list[Node]]] = field(default_factory=dict, repr=False)

    def position(self, path: DataPath) -> Position:
        """Where the value at `path` was written, or its nearest written ancestor."""
        node = self.root
        if node is None:
            return (1, 1)
        for part in path:
            found = self._child(node, part)
            if found is None:
                break
            node = found[1]
        return _position(node)

    def key_position(self, path: DataPath) -> Position:
        """Where the key naming `path` was written (for list items: where the item starts)."""
        node = self.root
        for depth, part in enumerate(path):
            found = self._child(node, part) if node is not None else None
            if found is None:
                return self.position(path[:depth])
            key_node, node = found
            if depth == len(path) - 1:
                return _position(key_node or node)
        return self.position(path)

    def problem(self, path: DataPath, message: str, code: str) -> Problem:
        line, column = self.position(path)
        return Problem(line, column, dotted(path), message, file=self.file, code=code)

    def _child(self, node: Node, part: str | int) -> tuple[Node | None, Node] | None:
        """(key node, value node) of `part` inside `node`, following merge keys; None when absent."""
        if isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            return None, node.value[part]
        if not isinstance(node, MappingNode):
            return None
        keys, merged = self._index(node)
        if part in keys:
            return keys[part]
        for value_node in reversed(merged):
            for source in value_node.value if isinstance(value_node, SequenceNode) else [value_node]:
                found = self._child(source, part)
                if found is not None:
                    return found
        return None

    def _index(self, node: MappingNode) -> tuple[dict[str, tuple[Node, Node]], list[Node]]:
        index = self._indexes.get(id(node))
        if index is None:
            keys: dict[str, tuple[Node, Node]] = {}
            merged: list[Node] = []
            for key_node, value_node in node.value:  # later pairs overwrite: YAML keeps the last duplicate
                if key_node.tag == _MERGE_TAG:
                    merged.append(value_node)
                elif isinstance(key_node, ScalarNode):
                    keys[key_node.value] = (key_node, value_node)
            index = self._indexes[id(node)] = (keys, merged)
        return index


class _Unusable(Exception):
    """The document cannot be turned into data; carries the one problem that says why."""

    def __init__(self, line: int, column: int, path: DataPath, message: str, code: str):
        super().__init__(message)
        self.line, self.column, self.path, self.message, self.code = line, column, path, message, code

    def problem(self, file: str) -> Problem:
        return Problem(self.line, self.column, dotted(self.path), self.message, file=file, code=self.code)


def read_file(path: str | Path, file: str | None = None, *, top_keys: Sequence[str] = (),
              what: str = "the file", max_bytes: int = MAX_FILE_BYTES) -> Source:
    """Read the YAML file at `path` (named `file` in messages, default: as given); never raises for a bad file.

    Whatever `path` is (a FIFO, /dev/zero, a directory, a huge or non-UTF-8 file) the result is
    a `Source` whose problems say why it cannot be used, at once.
    """
    file = str(path) if file is None else file
    try:
        text = read_text(path, file, max_bytes=max_bytes, what=what)
    except Unreadable as exc:
        return Source(file, problems=[exc.problem])
    return read_source(text, file, top_keys=top_keys)


def read_source(text: str, file: str = "cluster.yaml", *, top_keys: Sequence[str] = (),
                alias_allowance: int = ALIAS_ALLOWANCE) -> Source:
    """Parse `text`; every problem found lands in `Source.problems`, nothing is raised.

    `top_keys` names the keys the top-level mapping holds, for the message when it is not one.
    """
    with collector.paused():
        return _read(text, file, top_keys, alias_allowance)


def _read(text: str, file: str, top_keys: Sequence[str], alias_allowance: int) -> Source:
    source = Source(file)
    try:
        root, refused = compose(text)
    except yaml.MarkedYAMLError as exc:
        source.problems.append(_syntax_problem(exc, file))
        return source
    except yaml.reader.ReaderError as exc:
        source.problems.append(_reader_problem(exc, text, file))
        return source
    except TooDeep as exc:
        line, column = _position(exc.node)
        source.problems.append(Problem(line, column, exc.top_key or "", _TOO_DEEP, file=file, code="too-deep"))
        return source
    if root is None or (isinstance(root, ScalarNode) and root.tag == "tag:yaml.org,2002:null" and not refused):
        source.problems.append(Problem(1, 1, "", "the file holds no data (it is empty or only comments)",
                                       file=file, code="empty-file"))
        return source
    if not isinstance(root, MappingNode):
        line, column = _position(root)
        kind = "a list" if isinstance(root, SequenceNode) else f"the value {root.value!r}"
        keys = f" ({', '.join(top_keys)})" if top_keys else ""
        source.problems.append(Problem(line, column, "", f"the top level must be a mapping of keys{keys}, found {kind}",
                                       file=file, code="not-a-mapping"))
        return source
    source.root = root
    builder = _Builder(source, budget=len(text) + alias_allowance, tagged={id(r.node) for r in refused})
    try:
        data = builder.build(root, ())
    except _Unusable as exc:
        source.problems.append(exc.problem(file))
        return source
    # A tag is reported where it was written, with the path of the value it is on.
    for tagged in refused:
        path = builder.paths.get(id(tagged.node), ())
        line, column = _position(tagged.node)
        source.problems.append(Problem(line, column, dotted(path), tagged.message, file=file, code=tagged.code))
    if not builder.unreadable and not refused:
        source.data = data
    return source


def _position(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


_KINDS = {bool: "a boolean", int: "an integer", float: "a number", type(None): "nothing (null)"}


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), f"a {type(value).__name__}")


_TOO_DEEP = f"the document is nested more than {MAX_DEPTH} levels deep here: is this really the right file?"


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    if exc.problem == "exceeded maximum nesting depth":  # libyaml's own bound (1,000), met while scanning ahead
        return Problem(line, column, "", _TOO_DEEP, file=file, code="too-deep")
    message = f"YAML syntax error: {exc.problem or exc.context}"
    if exc.context and exc.problem and exc.context_mark:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    return Problem(line, column, "", message, file=file, code="yaml-syntax")


def _reader_problem(exc: yaml.reader.ReaderError, text: str, file: str) -> Problem:
    # libyaml counts bytes of the UTF-8 text, the Python reader counts characters
    counted: str | bytes = text.encode() if yaml.__with_libyaml__ else text
    newline = b"\n" if isinstance(counted, bytes) else "\n"
    line = counted.count(newline, 0, exc.position) + 1
    before = counted[counted.rfind(newline, 0, exc.position) + 1:exc.position]
    column = len(before.decode(errors="replace") if isinstance(before, bytes) else before) + 1
    character = exc.character if isinstance(exc.character, int) else ord(exc.character)
    return Problem(line, column, "", f"YAML syntax error: the character U+{character:04X} is not allowed in a "
                   "YAML file", file=file, code="yaml-syntax")


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, checking keys and the alias budget."""

    def __init__(self, source: Source, budget: int, tagged: set[int]):
        self.source = source
        self.budget = budget
        self.built = 0
        # collections being built, with their paths: meeting one again means an alias loop
        self.open: dict[int, DataPath] = {}
        self.unreadable = False  # a value could not be read: report it, but do not validate guesses
        self.tagged = tagged  # ids of the nodes that carry a (refused) tag
        self.paths: dict[int, DataPath] = {}  # where each tagged node was met, for its message

    def build(self, node: Node, path: DataPath) -> Any:
        self.built += 1
        if self.built > self.budget:
            # Name the top-level entry being expanded: the deepest node is an arbitrary leaf.
            top = path[:1]
            raise _Unusable(*self.source.key_position(top), top,
                            f"YAML aliases make this value expand to more than {self.budget:,} values (a 'billion "
                            "laughs' document?): write the values out instead of nesting aliases", "alias-budget")
        if self.tagged and id(node) in self.tagged:
            self.paths.setdefault(id(node), path)
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
        if node.tag == STR_TAG or id(node) in self.tagged:  # a tagged value is reported, never constructed
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
            if not isinstance(key_node, ScalarNode):
                # `? [a, b]\n: 1` (a "complex key"): no key of ours is one; the rest is still checked
                self.unreadable = True
                self.source.problems.append(Problem(
                    *_position(key_node), dotted(path), "a key must be a plain value, not a list or mapping",
                    file=self.source.file, code="yaml-syntax"))
                continue
            self.built += 1
            if self.tagged and id(key_node) in self.tagged:
                self.paths.setdefault(id(key_node), path)
            key = self._scalar(key_node, path)
            if not isinstance(key, str):
                # `on:` or `1:` read as a boolean or a number: no key of ours is one
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
