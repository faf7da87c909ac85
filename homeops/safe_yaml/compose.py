"""YAML text -> a tree of PyYAML nodes, composed here from the parser's events.

PyYAML's own composer recurses once per level (the pure-Python one ends in RecursionError at
about 1,000 levels) and cannot tell `!!str x` from `x` once composed. Composing from the event
stream in one loop bounds the depth with a clear message and sees every explicit tag, for about
the cost of libyaml's composer (a 10,000-node file: 0.30 s of CPU against 0.27 s): the resolver
runs for plain scalars only.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent, SequenceStartEvent, StreamEndEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:  # libyaml parses about ten times faster than the pure-Python parser
    from yaml import CBaseLoader as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import BaseLoader as _Parser  # type: ignore[assignment]

# cluster.yaml and a scenario nest four levels; libyaml itself stops at 1,000.
MAX_DEPTH = 64

STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_resolver = yaml.resolver.Resolver()


@dataclass(frozen=True)
class Refused:
    """Something the document may not contain, at the node that holds it."""

    node: Node
    code: str
    message: str


class TooDeep(Exception):
    def __init__(self, node: Node, top_key: str | None):
        super().__init__(f"nested more than {MAX_DEPTH} levels deep")
        self.node, self.top_key = node, top_key


def compose(text: str) -> tuple[Node | None, list[Refused]]:
    """The single document of `text` as nodes, and every tag it carries (each refused).

    Raises yaml.YAMLError (with marks) for a syntax error, a second document or an unknown
    alias, and TooDeep beyond MAX_DEPTH levels.
    """
    parser = _Parser(text)
    try:
        return _document(parser)
    finally:
        parser.dispose()


def _document(parser) -> tuple[Node | None, list[Refused]]:
    parser.get_event()  # the stream's start
    if isinstance(parser.peek_event(), StreamEndEvent):  # no document: empty, or only comments
        return None, []
    start = parser.get_event()  # the document's start
    root, refused = _nodes(parser)
    parser.get_event()  # the document's end
    following = parser.get_event()
    if not isinstance(following, StreamEndEvent):
        raise yaml.composer.ComposerError("expected a single document in the stream", start.start_mark,
                                          "but found another document", following.start_mark)
    return root, refused


def _nodes(parser) -> tuple[Node, list[Refused]]:
    refused: list[Refused] = []
    anchors: dict[str, Node] = {}
    # Open collections; for a mapping, also the key whose value comes next (None: a key comes next).
    stack: list[list] = []
    while True:
        event = parser.get_event()
        if isinstance(event, AliasEvent):
            node = anchors.get(event.anchor)
            if node is None:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                                  event.start_mark)
        elif isinstance(event, ScalarEvent):
            node = ScalarNode(_scalar_tag(event), event.value, event.start_mark, event.end_mark, event.style)
        elif isinstance(event, CollectionStartEvent):
            if isinstance(event, SequenceStartEvent):
                node = SequenceNode(_SEQ_TAG, [], event.start_mark, None, event.flow_style)
            else:
                node = MappingNode(_MAP_TAG, [], event.start_mark, None, event.flow_style)
            if len(stack) >= MAX_DEPTH:
                raise TooDeep(node, _top_key(stack))
        else:  # the end of a sequence or a mapping
            node = stack.pop()[0]
            node.end_mark = event.end_mark
            if not stack:
                return node, refused
            continue
        if getattr(event, "tag", None) is not None:
            refused.append(Refused(node, "yaml-tag", f"the tag {event.tag!r} is not allowed: YAML tags can make "
                                   "a reader build other kinds of values; write the plain value"))
        if getattr(event, "anchor", None) is not None and not isinstance(event, AliasEvent):
            anchors[event.anchor] = node
        if stack:
            _add(stack[-1], node)
        if isinstance(node, ScalarNode) or isinstance(event, AliasEvent):
            if not stack:
                return node, refused
        else:
            stack.append([node, None])


def _add(frame: list, node: Node) -> None:
    parent = frame[0]
    if isinstance(parent, SequenceNode):
        parent.value.append(node)
    elif frame[1] is None:
        frame[1] = node
    else:
        parent.value.append((frame[1], node))
        frame[1] = None


def _scalar_tag(event: ScalarEvent) -> str:
    # Quoted scalars are text; only plain ones are read as numbers, booleans, null (YAML 1.1 rules).
    if event.implicit[0]:
        return _resolver.resolve(ScalarNode, event.value, event.implicit)
    return STR_TAG


def _top_key(stack: list[list]) -> str | None:
    """The top-level key under which the too-deep value sits, to name it in the message."""
    if len(stack) < 1 or not isinstance(stack[0][0], MappingNode):
        return None
    root = stack[0][0]
    if root.value and len(stack) > 1 and root.value[-1][1] is stack[1][0]:
        key = root.value[-1][0]
        return key.value if isinstance(key, ScalarNode) else None
    return None
