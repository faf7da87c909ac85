"""The component support table: a pinned Rook, Cilium, Flux or cert-manager outside its Kubernetes window warns."""

from __future__ import annotations

from pathlib import Path

from homeops.cli import main
from homeops.cluster import component_support
from homeops.cluster.loader import check_cluster

FIXTURE = Path(__file__).parent / "fixtures" / "component-unsupported" / "invalid.yaml"


def test_an_unsupported_component_warns_and_validate_still_succeeds(capsys):
    assert main(["validate", str(FIXTURE)]) == 0
    err = capsys.readouterr().err
    assert "versions.rook_ceph: warning: Rook v1.16.3 supports Kubernetes 1.27 to 1.32" in err


def test_strict_turns_the_support_warning_into_a_failure(capsys):
    assert main(["validate", "--strict", str(FIXTURE)]) == 1
    assert "(--strict: warnings count as errors)" in capsys.readouterr().err


def test_the_warning_names_the_lowest_release_that_supports_the_kubernetes_minor():
    [problem] = check_cluster(FIXTURE).warnings
    assert "Rook 1.18 is the lowest release that supports it" in problem.message
    assert component_support.lowest_supporting("rook_ceph", 35) == (1, 19)
    assert component_support.lowest_supporting("cilium", 34) == (1, 19)
    assert component_support.lowest_supporting("flux", 34) == (2, 7)


def test_flux_supports_the_three_kubernetes_minors_its_release_announcement_names():
    flux = component_support.support_of("flux", "v2.6.4")
    assert [minor for minor in range(28, 38) if component_support.supports(flux, minor)] == [31, 32, 33]
    flux = component_support.support_of("flux", "v2.7.5")
    assert [minor for minor in range(28, 38) if component_support.supports(flux, minor)] == [32, 33, 34]


def test_a_minor_without_a_row_is_not_judged():
    assert component_support.support_of("rook_ceph", "v1.99.0") is None


def test_every_row_names_its_upstream_source():
    for (key, minor), support in component_support.SUPPORT.items():
        assert key in component_support.COMPONENTS
        assert "/" in support.source and support.lowest <= (support.highest or 99), (key, minor)


def test_the_real_cluster_pins_components_that_support_its_kubernetes(repo_root: Path):
    codes = [p.code for p in check_cluster(repo_root / "cluster.yaml").problems]
    assert "component-unsupported" not in codes and "schematic-stale" not in codes
