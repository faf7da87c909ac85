"""Reading YAML with positions: duplicate keys, syntax errors, aliases within a budget."""

from __future__ import annotations

import tracemalloc

import pytest

from homeops.safe_yaml.source import read_source

BILLION_LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi")
)


def test_positions_are_those_of_the_values_one_based():
    source = read_source("network:\n  node_cidr: 10.0.0.0/16\nnodes:\n  - name: cp-1\n    address: '10.0.10.11'\n")

    assert source.problems == []
    assert source.data == {
        "network": {"node_cidr": "10.0.0.0/16"},
        "nodes": [{"name": "cp-1", "address": "10.0.10.11"}],
    }
    assert source.position(("network", "node_cidr")) == (2, 14)
    assert source.position(("nodes", 0, "address")) == (5, 14)
    assert source.key_position(("nodes", 0, "address")) == (5, 5)
    assert source.key_position(("network",)) == (1, 1)
    # a path that is not in the file falls back to its nearest written ancestor
    assert source.position(("nodes", 0, "role")) == (4, 5)


def test_duplicate_key_names_both_lines_and_the_file_still_validates_the_rest():
    source = read_source("cluster:\n  name: a\n  domain: example.com\n  name: b\n", "c.yaml")

    [problem] = source.problems
    assert str(problem) == (
        "c.yaml:4:3: cluster.name: duplicate key 'name': first at line 2, again at line 4; "
        "YAML would silently keep only the last one"
    )
    assert source.data == {"cluster": {"name": "b", "domain": "example.com"}}


def test_syntax_error_carries_its_position():
    source = read_source("cluster:\n  name: [home-ops\n  domain: example.com\n", "c.yaml")

    [problem] = source.problems
    assert problem.code == "yaml-syntax"
    assert (problem.line, problem.column) == (3, 9)
    assert "YAML syntax error: did not find expected ',' or ']'" in problem.message
    assert "while parsing a flow sequence at line 2" in problem.message
    assert source.data is None


def test_tab_indentation_is_a_syntax_error_not_a_traceback():
    source = read_source("cluster:\n\tname: home-ops\n")

    assert [p.code for p in source.problems] == ["yaml-syntax"]
    assert source.problems[0].line == 2


def test_two_documents_are_refused():
    source = read_source("a: 1\n---\nb: 2\n")

    assert [p.code for p in source.problems] == ["yaml-syntax"]
    assert "expected a single document" in source.problems[0].message


def test_billion_laughs_stops_at_the_budget_with_a_clear_message():
    tracemalloc.start()
    try:
        source = read_source(BILLION_LAUGHS, "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    [problem] = source.problems
    assert problem.code == "alias-budget"
    assert "YAML aliases make this value expand to more than" in problem.message
    assert "billion laughs" in problem.message
    assert (problem.line, problem.path) == (5, "e")  # the first entry whose expansion crosses the budget
    assert source.data is None
    # a billion strings would take gigabytes; the budget keeps it to a few megabytes at most
    assert peak < 20 * 1024 * 1024


def test_alias_budget_counts_expanded_values():
    nine = "base: &x [1, 2, 3, 4, 5, 6, 7, 8, 9]\nuse: [*x, *x, *x, *x, *x, *x, *x, *x, *x, *x]\n"  # 10 x 10 values

    assert read_source(nine, alias_allowance=200).problems == []
    refused = read_source(nine, alias_allowance=0).problems
    assert [p.code for p in refused] == ["alias-budget"]


def test_aliases_and_merge_keys_expand_normally():
    text = (
        "defaults: &d {role: worker, osds: 1}\n"
        "nodes:\n"
        "  - <<: *d\n"
        "    name: w1\n"
        "  - <<: *d\n"
        "    name: w2\n"
        "    osds: 2\n"
    )
    source = read_source(text)

    assert source.problems == []
    assert source.data["nodes"] == [
        {"role": "worker", "osds": 1, "name": "w1"},
        {"role": "worker", "osds": 2, "name": "w2"},
    ]
    # the explicit key wins, and so does its position
    assert source.position(("nodes", 1, "osds")) == (7, 11)


def test_recursive_alias_is_refused():
    source = read_source("a: &loop\n  - *loop\n")

    [problem] = source.problems
    assert problem.code == "alias-recursive"
    assert problem.path == "a"


def test_empty_and_comment_only_files():
    for text in ("", "\n\n", "# only a comment\n", "---\n"):
        [problem] = read_source(text).problems
        assert problem.code == "empty-file", text
        assert problem.message == "the file holds no data (it is empty or only comments)"


def test_top_level_must_be_a_mapping():
    [problem] = read_source("just a string\n").problems

    assert problem.code == "not-a-mapping"
    assert "found the value 'just a string'" in problem.message


def test_every_tag_is_refused_at_its_value_on_scalars_mappings_and_lists_at_once():
    source = read_source(
        "cluster:\n"
        "  name: !!python/name:os.system home\n"
        "  domain: !!str example.com\n"
        "network: !!python/object:builtins.dict {a: 1}\n"
        "nodes: !!seq\n"
        "  - ! cp-1\n", "c.yaml")

    assert [str(p) for p in source.problems] == [
        "c.yaml:2:9: cluster.name: the tag 'tag:yaml.org,2002:python/name:os.system' is not allowed: YAML tags can "
        "make a reader build other kinds of values; write the plain value",
        "c.yaml:3:11: cluster.domain: the tag 'tag:yaml.org,2002:str' is not allowed: YAML tags can make a reader "
        "build other kinds of values; write the plain value",
        "c.yaml:4:10: network: the tag 'tag:yaml.org,2002:python/object:builtins.dict' is not allowed: YAML tags "
        "can make a reader build other kinds of values; write the plain value",
        "c.yaml:5:8: nodes: the tag 'tag:yaml.org,2002:seq' is not allowed: YAML tags can make a reader build "
        "other kinds of values; write the plain value",
        "c.yaml:6:5: nodes[0]: the tag '!' is not allowed: YAML tags can make a reader build other kinds of "
        "values; write the plain value",
    ]
    assert {p.code for p in source.problems} == {"yaml-tag"}
    assert source.data is None


def test_a_tag_on_a_key_is_refused_too():
    [problem] = read_source("cluster:\n  !!python/name:os.system name: x\n").problems

    assert (problem.line, problem.column, problem.path, problem.code) == (2, 3, "cluster", "yaml-tag")


def test_a_list_as_a_key_is_refused_with_its_position_and_the_rest_still_checked():
    source = read_source("cluster:\n  ? [a, b]\n  : 1\n  name: x\n  name: y\n", "c.yaml")

    assert [str(p) for p in source.problems] == [
        "c.yaml:2:5: cluster: a key must be a plain value, not a list or mapping",
        "c.yaml:5:3: cluster.name: duplicate key 'name': first at line 4, again at line 5; "
        "YAML would silently keep only the last one",
    ]
    assert source.data is None


def test_5000_levels_of_flow_nesting_are_refused_with_a_position():
    source = read_source("faults:\n  - node: " + "[" * 5000 + "]" * 5000 + "\n", "s.yaml")

    [problem] = source.problems
    # libyaml stops first, at its own bound of 1,000 levels, while it scans ahead
    assert str(problem).startswith("s.yaml:2:")
    assert problem.message == "the document is nested more than 64 levels deep here: is this really the right file?"
    assert problem.code == "too-deep"


def test_nesting_is_refused_at_the_65th_level():
    [problem] = read_source("faults:\n  - node: " + "[" * 65 + "]" * 65 + "\n", "s.yaml").problems

    # the top-level mapping, faults, its entry, then the 62nd bracket (column 10 + 62) is level 65
    assert str(problem) == ("s.yaml:2:72: faults: the document is nested more than 64 levels deep here: "
                            "is this really the right file?")


def test_5000_levels_of_block_nesting_are_refused_without_recursion():
    text = "".join(f"{'  ' * level}k{level}:\n" for level in range(5000)) + "  " * 5000 + "x: 1\n"

    [problem] = read_source(text).problems

    assert (problem.code, problem.line, problem.path) == ("too-deep", 65, "k0")


def test_64_levels_are_read():
    source = read_source("a: " + "[" * 63 + "]" * 63 + "\n")

    assert source.problems == []


def test_keys_that_read_as_booleans_or_numbers_are_refused():
    source = read_source("on: 1\n2: x\nname: ok\n")

    assert [(p.line, p.code, p.message) for p in source.problems] == [
        (1, "wrong-type", "the key 'on' reads as a boolean: keys are text (quote it)"),
        (2, "wrong-type", "the key '2' reads as an integer: keys are text (quote it)"),
    ]
    assert source.data == {"name": "ok"}


def test_a_control_character_is_reported_at_its_line_and_character_column():
    [problem] = read_source("cluster:\n  name: café \x07\n").problems

    assert (problem.line, problem.column, problem.code) == (2, 14, "yaml-syntax")
    assert problem.message == "YAML syntax error: the character U+0007 is not allowed in a YAML file"


def test_positions_follow_the_last_of_duplicate_keys_and_merged_mappings():
    source = read_source("base: &b {role: worker}\nnode:\n  <<: *b\n  name: a\n  name: b\n")

    assert source.position(("node", "name")) == (5, 9)
    assert source.position(("node", "role")) == (1, 17)  # from the merged mapping
    assert source.key_position(("node", "name")) == (5, 3)


def test_every_key_of_a_large_mapping_is_found_at_its_line():
    source = read_source("".join(f"k{i}: {i}\n" for i in range(5000)))

    assert [source.key_position((f"k{i}",))[0] for i in (0, 1234, 4999)] == [1, 1235, 5000]
    assert source.position(("k4999", "deeper")) == (5000, 8)  # a missing child falls back to its parent


@pytest.mark.parametrize("parser", ["libyaml", "pure-python"])
def test_the_pure_python_parser_gives_the_same_answers(parser: str, monkeypatch: pytest.MonkeyPatch):
    import yaml

    from homeops.safe_yaml import compose

    if parser == "pure-python":
        monkeypatch.setattr(compose, "_Parser", yaml.BaseLoader)
    text = "a: &x [1, 'two', null]\nb: *x\nc: !!str 3\nd: " + "[" * 70 + "]" * 70 + "\n"

    deep = read_source(text, "f.yaml").problems
    tagged = read_source("a: &x [1, 'two', null]\nb: *x\nc: !!str 3\n", "f.yaml")
    plain = read_source("a: &x [1, 'two', null]\nb: *x\n")

    assert [(p.line, p.column, p.code) for p in deep] == [(4, 67, "too-deep")]  # "d: " then the 64th bracket is level 65
    assert [(p.line, p.column, p.path, p.code) for p in tagged.problems] == [(3, 4, "c", "yaml-tag")]
    assert plain.data == {"a": [1, "two", None], "b": [1, "two", None]}
