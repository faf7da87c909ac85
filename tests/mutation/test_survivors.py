"""The survivor check of `make mutate`: a new survivor or a stale accepted entry fails it."""

from __future__ import annotations

import pytest

from tests.mutation import survivors

RESULTS = """\
    homeops.gate.xǁGateǁsay__mutmut_8: survived
    homeops.procedures.waits.x_wait_until__mutmut_3: timeout
    homeops.cluster.rules.x_cidr_overlap__mutmut_2: no tests
"""


def test_results_are_read_per_mutant():
    assert survivors.parse_results(RESULTS + "\n1/3  🎉 1\n") == {
        "homeops.gate.xǁGateǁsay__mutmut_8": "survived",
        "homeops.procedures.waits.x_wait_until__mutmut_3": "timeout",
        "homeops.cluster.rules.x_cidr_overlap__mutmut_2": "no tests",
    }


def test_a_survivor_or_an_untested_mutant_not_accepted_is_new_and_a_timeout_counts_as_caught():
    verdict = survivors.judge(survivors.parse_results(RESULTS), {}, {"homeops.gate": 10, "homeops.cluster.rules": 4,
                                                                      "homeops.procedures.waits": 5})

    assert verdict.new == [("homeops.cluster.rules.x_cidr_overlap__mutmut_2", "no tests"),
                           ("homeops.gate.xǁGateǁsay__mutmut_8", "survived")]
    assert verdict.score == {"homeops.cluster.rules": (3, 4), "homeops.gate": (9, 10), "homeops.procedures.waits": (5, 5)}


def test_an_accepted_survivor_passes_and_an_accepted_mutant_now_killed_is_stale():
    accepted = survivors.parse_accepted(
        "# comment\n"
        "homeops.gate.xǁGateǁsay__mutmut_8  # flush only matters on a terminal\n"
        "homeops.cluster.rules.x_cidr_overlap__mutmut_2  # not reachable\n"
        "homeops.gate.xǁGateǁchange__mutmut_1  # was a survivor once\n")

    verdict = survivors.judge(survivors.parse_results(RESULTS), accepted, {"homeops.gate": 10})

    assert verdict.new == []
    assert verdict.stale == ["homeops.gate.xǁGateǁchange__mutmut_1"]


def test_an_accepted_entry_without_a_reason_is_refused():
    with pytest.raises(ValueError, match=r"accepted.txt:2: homeops.gate.xǁGateǁsay__mutmut_8 has no reason"):
        survivors.parse_accepted("\nhomeops.gate.xǁGateǁsay__mutmut_8\n")


def test_the_module_of_a_method_and_of_a_function_mutant():
    assert survivors.module_of("homeops.gate.xǁGateǁsay__mutmut_8") == "homeops.gate"
    assert survivors.module_of("homeops.runner.lock.x_acquire__mutmut_12") == "homeops.runner.lock"
