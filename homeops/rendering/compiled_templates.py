"""The templates' compiled code, kept for the life of the process.

makejinja makes a new Jinja environment for each pass (a render makes one for the tree and one per
node) and Jinja keeps what it compiled per environment, so every pass compiled its templates again:
the per-node template once per node, and under `mkdocs serve` the whole tree at each edit of
cluster.yaml. `share(env)` gives a pass's environment this process's bytecode cache, in memory
(nothing is written anywhere), one per set of the settings that shape the code Jinja generates. Jinja
looks an entry up by the template's name and file and it is used only for a source of the same
checksum, so an edited template is compiled again. The filters, which Jinja's optimizer may call
while compiling, are the same functions for the life of a process.
"""

from __future__ import annotations

from jinja2 import BytecodeCache, Environment
from jinja2.bccache import Bucket

# What the generated code depends on, besides the source (Environment.compile, lexer, parser, compiler).
CODE_SETTINGS = (
    "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
    "comment_start_string", "comment_end_string", "line_statement_prefix", "line_comment_prefix",
    "trim_blocks", "lstrip_blocks", "newline_sequence", "keep_trailing_newline", "optimized",
    "autoescape", "finalize", "is_async", "code_generator_class", "lexer_class", "template_class",
)


class InMemory(BytecodeCache):
    def __init__(self) -> None:
        self._code: dict[str, tuple[str, object]] = {}  # bucket key -> (source checksum, code)

    def load_bytecode(self, bucket: Bucket) -> None:
        found = self._code.get(bucket.key)
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = (bucket.checksum, bucket.code)


_CACHES: dict[tuple, InMemory] = {}


def share(env: Environment) -> None:
    """`env` compiles each template once per process (per version of its source)."""
    settings = tuple(repr(getattr(env, name, None)) for name in CODE_SETTINGS) + tuple(sorted(env.extensions))
    env.bytecode_cache = _CACHES.setdefault(settings, InMemory())
