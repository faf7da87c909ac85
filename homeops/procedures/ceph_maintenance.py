"""Putting one Ceph host into maintenance (enter) and taking it out again (exit), for work other than upgrades."""

from __future__ import annotations

from homeops.errors import RunbookStopped
from homeops.cluster.model import Node
from homeops.procedures.node_maintenance import (
    current_state,
    protect_beyond_rook,
    return_to_service,
    take_out_of_service,
)
from homeops.procedures.session import Session

ACTIONS = ("enter", "exit")


def chosen_node(session: Session, name: str, action: str) -> Node:
    if action not in ACTIONS:
        raise RunbookStopped(f"action must be 'enter' or 'exit', got {action!r}; nothing changed")
    if not name.strip():
        names = ", ".join(n.name for n in session.cluster.nodes)
        raise RunbookStopped(f"no node given: pass -p node=NAME (one of {names}); nothing changed")
    try:
        return session.cluster.node(name.strip())
    except KeyError as exc:
        raise RunbookStopped(f"{exc.args[0]}; nothing changed") from None


def enter(session: Session, node: Node) -> str:
    state = take_out_of_service(session, node, purpose="maintenance")
    protect_beyond_rook(session, state)
    done = "is in maintenance" if session.apply else "would be in maintenance"
    flag = f", noout set for host {state.hosts} and the whole cluster" if state.noout else ""
    return f"{node.name} {done}: cordoned and drained{flag}; run again with -p action=exit when the work is done"


def exit(session: Session, node: Node) -> str:
    state = current_state(node)
    had_noout = state.noout or state.cluster_noout
    return_to_service(session, node, state)
    done = "is back in service" if session.apply else "would be back in service"
    return (f"{node.name} {done}: uncordoned" + (", PGs active+clean" if state.osds else "")
            + (", noout cleared" if had_noout else ""))
