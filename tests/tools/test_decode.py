"""Reading the machine output of the tools, and the errors when it is not what we expect."""

from __future__ import annotations

import pytest

from homeops.tools.decode import ToolOutputInvalid, json_lines, json_object, json_stream, table
from homeops.tools.process import ToolError

ARGV = ["talosctl", "-n", "10.0.10.21", "get", "machinestatus", "-o", "json"]


def test_a_stream_of_pretty_printed_objects_is_read_object_by_object():
    text = '{\n  "a": 1\n}\n{"b": {"c": [1, 2]}}{"d": 3}\n'
    assert json_stream(text, ARGV) == [{"a": 1}, {"b": {"c": [1, 2]}}, {"d": 3}]


def test_an_empty_stream_is_no_objects():
    assert json_stream("  \n", ARGV) == []


def test_a_broken_stream_names_the_command_and_what_it_printed():
    with pytest.raises(ToolOutputInvalid) as caught:
        json_stream('{"a": 1}\nerror: rpc error: code = Unavailable', ARGV)
    message = str(caught.value)
    assert "`talosctl -n 10.0.10.21 get machinestatus -o json`" in message
    assert "a stream of JSON objects" in message
    assert "rpc error: code = Unavailable" in message
    assert isinstance(caught.value, ToolError) and caught.value.argv == ARGV


def test_json_lines_reports_the_bad_line():
    with pytest.raises(ToolOutputInvalid, match=r"line 2"):
        json_lines('{"a": 1}\nnot json\n', ["talosctl", "version", "--json"])


def test_a_json_array_where_an_object_is_expected_is_refused():
    with pytest.raises(ToolOutputInvalid, match="a JSON object"):
        json_object("[]", ["kubectl", "get", "nodes", "-o", "json"])


def test_long_unreadable_output_is_shortened_in_the_message():
    with pytest.raises(ToolOutputInvalid) as caught:
        json_object("x" * 5000, ["kubectl", "get", "nodes", "-o", "json"])
    assert len(str(caught.value)) < 400
    assert caught.value.stdout == "x" * 5000  # the whole output stays on the error for whoever needs it


def test_table_cells_are_cut_at_the_header_positions_so_spaces_and_empty_cells_survive():
    text = (
        "NODE   DB SIZE   ERRORS\n"
        "n1     17 MB     \n"
        "n2     2 MB      no space\n"
    )
    rows = table(text, ("NODE", "DB SIZE", "ERRORS"), ["talosctl", "etcd", "status"])
    assert rows == [
        {"NODE": "n1", "DB SIZE": "17 MB", "ERRORS": ""},
        {"NODE": "n2", "DB SIZE": "2 MB", "ERRORS": "no space"},
    ]


def test_tab_separated_tables_are_read_too():
    rows = table("NODE\tID\nn1\tabc\n", ("NODE", "ID"), ["talosctl", "etcd", "members"])
    assert rows == [{"NODE": "n1", "ID": "abc"}]


def test_a_table_without_the_expected_columns_is_refused():
    with pytest.raises(ToolOutputInvalid, match="a table with the columns NODE, ID"):
        table("error: not authorized\n", ("NODE", "ID"), ["talosctl", "etcd", "members"])
