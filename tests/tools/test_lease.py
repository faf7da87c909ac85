"""The Lease calls of the maintenance lock: API errors told apart by kubectl's reason."""

from __future__ import annotations

import pytest

from homeops.tools.lease import LeaseClient, LeaseConflict


def test_a_replace_of_a_lease_deleted_meanwhile_is_a_conflict_not_a_traceback(fake_tools):
    fake_tools.respond(["kubectl", "replace", "-f", "-"], returncode=1, stderr=(
        'Error from server (NotFound): error when replacing "STDIN": leases.coordination.k8s.io '
        '"homeops-maintenance" not found\n'))
    with pytest.raises(LeaseConflict, match="kube-system/homeops-maintenance was deleted since it was read"):
        LeaseClient().replace({"metadata": {"name": "homeops-maintenance", "namespace": "kube-system"}})
