"""Genealogy: what an object was made from (upstream) and what was made from it (downstream).

Relations come from the events (EPCIS 2.0 §7.4):

- TransformationEvent: every input (``inputEPCList``, ``inputQuantityList``)
  went into every output;
- AggregationEvent / AssociationEvent (ADD, OBSERVE): the children are parts of,
  or travel inside, the parent.

Upstream of X walks from outputs to inputs and from parents to children;
downstream walks the other way (the recall question: which finished goods hold
material from lot L?). Every event that names a node of the answer also lands
in its timeline: where each thing was, when, doing what. Identifiers are
canonical GS1 Digital Links, so an SGTIN URN and its Digital Link meet; a
class (LGTIN, a lot) is a node like an instance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select

from mics.db import Database
from mics.trace.canonical_uri import canonical
from mics.trace.query import as_event
from mics.trace.store import EventEpcRow, EventRow
from mics.trace.viewer import Viewer, visible

Direction = Literal["upstream", "downstream"]
MAX_NODES = 10_000
PARTS = ("epc", "quantity")
INPUTS = ("input", "input_quantity")
OUTPUTS = ("output", "output_quantity")


@dataclass
class Genealogy:
    root: str
    direction: Direction
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[dict[str, Any]] = field(default_factory=list)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    truncated: bool = False

    def timeline(self) -> list[dict[str, Any]]:
        """Every event of the answer in time order, with where and why."""
        rows = []
        for event in self.events.values():
            rows.append(
                {
                    "eventID": event.get("eventID"),
                    "eventTime": event.get("eventTime"),
                    "type": event.get("type"),
                    "action": event.get("action"),
                    "bizStep": event.get("bizStep"),
                    "disposition": event.get("disposition"),
                    "readPoint": (event.get("readPoint") or {}).get("id"),
                    "bizLocation": (event.get("bizLocation") or {}).get("id"),
                }
            )
        return sorted(rows, key=lambda r: (r["eventTime"] or "", r["eventID"] or ""))

    def as_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "direction": self.direction,
            "nodes": list(self.nodes.values()),
            "edges": self.edges,
            "events": list(self.events.values()),
            "timeline": self.timeline(),
            "truncated": self.truncated,
        }


def _kind(uri: str) -> str:
    if "/21/" in uri or "/00/" in uri or "/8004/" in uri:
        return "instance"
    if "/10/" in uri or uri.startswith("https://id.gs1.org/01/"):
        return "class"
    return "other"


def trace(
    db: Database, epc: str, direction: Direction, viewer: Viewer, extra_roots: Iterable[str] = ()
) -> Genealogy:
    """Walk the event graph from ``epc`` (any EPC URN or Digital Link) in one direction."""
    root = canonical(epc)
    answer = Genealogy(root=root, direction=direction)
    answer.nodes[root] = {"id": root, "kind": _kind(root), "depth": 0}
    frontier = {root}
    for other in extra_roots:
        node = canonical(other)
        answer.nodes[node] = {"id": node, "kind": _kind(node), "depth": 0}
        answer.edges.append({"from": node, "to": root, "relation": "same_lot", "event": None})
        frontier.add(node)
    depth = 0
    with db.read() as s:
        while frontier and not answer.truncated:
            depth += 1
            touching = visible(
                select(EventEpcRow.event, EventEpcRow.epc, EventEpcRow.role)
                .join(EventRow, EventRow.id == EventEpcRow.event)
                .where(EventEpcRow.epc.in_(frontier)),
                viewer,
            )
            hits = s.execute(touching).all()
            event_ids = {e for e, _, _ in hits}
            if not event_ids:
                break
            rows = {r.id: r for r in s.scalars(select(EventRow).where(EventRow.id.in_(event_ids)))}
            members: dict[int, list[tuple[str, str]]] = {}
            for e, epc_, role in s.execute(
                select(EventEpcRow.event, EventEpcRow.epc, EventEpcRow.role).where(
                    EventEpcRow.event.in_(event_ids)
                )
            ):
                members.setdefault(e, []).append((epc_, role))
            next_frontier: set[str] = set()
            for e, node, role in hits:
                row = rows[e]
                body = as_event(row)
                answer.events.setdefault(row.event_id, body)
                for other, link in _related(row, role, members.get(e, []), direction):
                    if other not in answer.nodes:
                        if len(answer.nodes) >= MAX_NODES:
                            answer.truncated = True
                            break
                        answer.nodes[other] = {"id": other, "kind": _kind(other), "depth": depth}
                        next_frontier.add(other)
                    src, dst = (other, node) if direction == "upstream" else (node, other)
                    edge = {"from": src, "to": dst, "relation": link, "event": row.event_id}
                    if edge not in answer.edges:
                        answer.edges.append(edge)
            frontier = next_frontier
    return answer


def _related(
    row: EventRow, role: str, members: list[tuple[str, str]], direction: Direction
) -> list[tuple[str, str]]:
    """The identifiers one step away from a node that plays ``role`` in the event."""
    kind = row.event_type
    if kind == "TransformationEvent":
        mine, theirs = (OUTPUTS, INPUTS) if direction == "upstream" else (INPUTS, OUTPUTS)
        if role in mine:
            return [(epc, "made_from") for epc, r in members if r in theirs]
        return []
    if kind in ("AggregationEvent", "AssociationEvent") and row.action != "DELETE":
        if direction == "upstream" and role == "parent":
            return [(epc, "contains") for epc, r in members if r in PARTS]
        if direction == "downstream" and role in PARTS:
            return [(epc, "part_of") for epc, r in members if r == "parent"]
    return []
