"""How the Talos API answers the twin's talosctl: the nodes a command targets, and per-node
errors the way talosctl's multi-node client prints them (`1 error occurred:` / `* IP: rpc error: ...`)."""

from __future__ import annotations

from homeops.twin import clock, nodes
from homeops.twin.args import UsageError
from homeops.twin.failure import ToolFailure

NO_NODES = (
    "nodes are not set for the command: please use `--nodes` flag or configuration file to set the nodes to run "
    "the command against"
)


def addresses(parsed, required: bool = True) -> list[str]:
    addresses = [a.strip() for value in parsed.all("nodes") for a in value.split(",") if a.strip()]
    if not addresses and required:
        raise ToolFailure(NO_NODES)
    return addresses


def unreachable(address: str, why: str = "connection refused") -> str:
    return (
        'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: '
        f'dial tcp {address}:50000: connect: {why}"'
    )


def dial_timeouts(current: dict, address: str, error: str) -> str:
    """What a call to a node whose Talos API is down gets when the state sets `timing.dial_seconds`:
    talosctl's dial gives up with `i/o timeout` after that long (a machine that is off or has no network
    yet drops the connection attempt; gRPC's connect timeout is 20 s), instead of an instant refusal
    (a machine that is stopping, or the twin's default). The caller waits that long itself."""
    if (current["timing"].get("dial_seconds") or 0) <= 0 or not error.endswith("connect: connection refused\""):
        return error
    # Go's net.Dialer: a dial that runs out of time is `dial tcp ADDR: i/o timeout` (no `connect:`).
    return ('rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: '
            f'dial tcp {address}:50000: i/o timeout"')


def dial_seconds(current: dict, errors: list[tuple[str, str]]) -> float:
    """How long a call waits for the nodes that time out (they are dialled at once, so the longest)."""
    if any(error.endswith("i/o timeout\"") for _, error in errors):
        return float(current["timing"].get("dial_seconds") or 0)
    return 0.0


def node_errors(errors: list[tuple[str, str]]) -> str:
    head = "1 error occurred:" if len(errors) == 1 else f"{len(errors)} errors occurred:"
    return head + "".join(f"\n\t* {address}: {message}" for address, message in errors) + "\n\n"


# A node in maintenance mode serves a self-signed certificate: talosctl with the cluster's
# talosconfig cannot verify it (siderolabs/talos issues #9241, #8442).
UNKNOWN_AUTHORITY = (
    'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: '
    'tls: failed to verify certificate: x509: certificate signed by unknown authority"'
)
# A configured node's apid requires a client certificate, which `--insecure` does not send.
CERTIFICATE_REQUIRED = (
    'rpc error: code = Unavailable desc = connection error: desc = "error reading server preface: '
    'remote error: tls: certificate required"'
)


def reach(current: dict, address: str, now: float, insecure: bool = False) -> tuple[dict | None, str | None]:
    """The node behind `address` and None, or None and why the Talos API did not answer.

    `insecure` is talosctl's --insecure: the maintenance service, without client certificates,
    which only a node in maintenance mode runs."""
    node = nodes.find(current, address=address)
    if node is None:
        return None, unreachable(address, "no route to host")
    if not nodes.api_reachable(node, now):
        return None, unreachable(address)
    if (node.get("config_try") or {}).get("cut_off"):
        return None, unreachable(address, "i/o timeout")  # a tried configuration cut it off, until it reverts
    maintenance_service = nodes.in_maintenance(node) or nodes.installing(node, now)
    if maintenance_service and not insecure:
        return None, UNKNOWN_AUTHORITY
    if insecure and not maintenance_service:
        return None, CERTIFICATE_REQUIRED
    return node, None


def duration(parsed, name: str, default: str) -> float:
    text = parsed.value(name, default)
    try:
        return clock.parse_duration(text)
    except ValueError as exc:
        raise UsageError(f'invalid argument "{text}" for "--{name}" flag: {exc}') from None


def client_version(current: dict) -> str:
    """The talosctl release the twin plays (`client.talosctl` in the state): the cluster's by default."""
    return (current.get("client") or {}).get("talosctl") or current["versions"].get("talos", "v1.11.1")


def client_before(current: dict, minor: int) -> bool:
    """True when the played talosctl is older than v1.`minor`.0 (its output differs)."""
    parts = client_version(current).lstrip("v").split(".")
    return (int(parts[0]), int(parts[1])) < (1, minor)
