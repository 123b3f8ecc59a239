"""An objective's story for auditors: who changed what, when, and how progress moved.

Built by replaying the objective's events in order (``projections/replay.py``, the
same aggregate code as the write side) and reading the objective's progress after each one; aligned
KRs take what progress history held at that moment, as in time travel.

Each event's ``type`` and ``data`` are its public ones (``projections/public_events.py``),
the same as history's, so ``summarise`` reads public field names.

Per reader: with a ``viewer`` (the dashboard), personal notes not meant for them
are left out and a move caused by an objective they may not see names none.
Without one (``okr audit``, an operator's tool run with the database's own
access) it tells everything.

Actors are shown by name beside their id (SPEC §11): the names come from the
people directory when the trail is told (``with_names``), never from what the
projection keeps, so an erased person's name is gone from every later telling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from domain.objective import Objective
from domain.values import ProgressMode
from domain.visibility import Viewer
from projections.history import may_read_event
from projections.objective_queries import progress_at, progress_history
from projections.replay import event_type, recorded, replay
from projections.store import ViewStore


@dataclass(frozen=True)
class AuditEntry:
    version: int | None  # None: a move caused by a child objective, not an event of this one
    at: datetime
    actor: str | None
    type: str
    summary: str
    progress_before: float | None
    progress_after: float
    data: dict[str, Any]  # the event's public data (projections/public_events.py)
    schema_version: int | None = None  # of ``data``; None for a child objective's move
    actor_name: str | None = None  # from the people directory, as the trail is told

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "at": self.at.isoformat()}


def audit_trail(
    app: Application[UUID], store: ViewStore, objective_id: UUID, *, viewer: Viewer | None
) -> list[AuditEntry]:
    """The objective's story as ``viewer`` may read it (None: an operator, everything)."""
    entries: list[AuditEntry] = []
    for step in replay(app.events.get(objective_id)):
        event, previous = step.event, step.before
        titles = _titles(previous)
        before = None
        if previous is not None:
            before = previous.progress(_aligned(store, previous, event.timestamp))
        objective = step.apply()
        if viewer is not None and not may_read_event(viewer, objective, event):
            continue
        after = objective.progress(_aligned(store, objective, event.timestamp))
        entry = recorded(event)
        titles.update(_titles(objective))
        entries.append(
            AuditEntry(
                version=entry.version,
                at=entry.at,
                actor=entry.actor,
                type=entry.type,
                summary=summarise(event, entry.data, titles),
                progress_before=before,
                progress_after=after,
                data=entry.data,
                schema_version=entry.schema_version,
            )
        )
    return _with_child_moves(entries, child_moves(store, objective_id, viewer))


def actors(entries: list[AuditEntry]) -> set[str]:
    """The user ids acting in the trail (to ask the directory for their names at once)."""
    return {entry.actor for entry in entries if entry.actor}


def with_names(entries: list[AuditEntry], names: Mapping[str, str]) -> list[AuditEntry]:
    """The trail with each actor's display name beside the id (None: no entry)."""
    return [
        replace(entry, actor_name=names.get(entry.actor) if entry.actor else None)
        for entry in entries
    ]


def who(entry: AuditEntry) -> str:
    """The actor as a line shows them: the name with the id, the id alone, or nothing."""
    if entry.actor and entry.actor_name:
        return f"{entry.actor_name} ({entry.actor})"
    return entry.actor or ""


def _aligned(store: ViewStore, objective: Objective, at: datetime) -> dict[str, float]:
    ids = [kr.id for kr in objective.active_key_results() if kr.mode == ProgressMode.ALIGNED]
    return progress_at(store, str(objective.id), ids, at) if ids else {}


def child_moves(store: ViewStore, objective_id: UUID, viewer: Viewer | None) -> list[AuditEntry]:
    """Moves of the objective's progress caused by objectives aligned to its KRs
    (a child the viewer may not see is not named)."""
    moves = []
    previous: float | None = None
    for point in progress_history(store, viewer, str(objective_id)):
        if point["key_result_id"] is not None:
            continue
        if point["cause"].get("type") == "child_progress":
            moves.append(
                AuditEntry(
                    version=None,
                    at=datetime.fromisoformat(point["at"]),
                    actor=None,
                    type="ChildProgress",
                    summary=_child_moved(point["cause"].get("child_objective_id")),
                    progress_before=previous,
                    progress_after=point["progress"],
                    data=dict(point["cause"]),
                )
            )
        previous = point["progress"]
    return moves


def _child_moved(child_id: str | None) -> str:
    return "an aligned objective moved" if child_id is None else f"child objective {child_id} moved"


def _with_child_moves(entries: list[AuditEntry], moves: list[AuditEntry]) -> list[AuditEntry]:
    """Interleave by time; an event and the child move it caused share no timestamp."""
    return sorted([*entries, *moves], key=lambda e: (e.at, e.version is None, e.version or 0))


def _titles(objective: Objective | None) -> dict[str, str]:
    if objective is None:
        return {}
    return {kr_id: kr.title for kr_id, kr in objective.key_results.items()}


def _kr(data: dict[str, Any], titles: dict[str, str]) -> str:
    kr_id = str(data.get("key_result_id"))
    return f'"{titles.get(kr_id, kr_id)}"'


def summarise(event: Objective.Event, data: dict[str, Any], titles: dict[str, str]) -> str:
    """One line in OKR words for each class of event (``data``: its plain fields)."""
    match event:
        case Objective.Drafted():
            owner = data.get("owner_user_id") or f"team {data.get('owner_team_id')}"
            return (
                f'drafted "{data["title"]}" ({data["level"]}, owner {owner}, {data["visibility"]})'
            )
        case Objective.Edited():
            return f"edited: {_changes(data)}"
        case Objective.Realigned():
            if data.get("key_result_id"):
                return f"aligned to key result {data['key_result_id']}"
            if data.get("objective_id"):
                return f"aligned to objective {data['objective_id']}"
            return "unaligned"
        case Objective.Archived():
            return "archived the objective"
        case Objective.KeyResultAdded():
            return f'added key result "{data["title"]}" ({data["mode"]}, weight {data["weight"]:g})'
        case Objective.KeyResultEdited():
            return f"edited key result {_kr(data, titles)}: {_changes(data)}"
        case Objective.KeyResultArchived():
            return f"archived key result {_kr(data, titles)}"
        case Objective.WeightsChanged():
            changes = ", ".join(f'"{titles.get(k, k)}" → {v:g}' for k, v in data["weights"].items())
            return f"re-weighted: {changes}"
        case Objective.KeyResultCheckedIn():
            return f"checked in {_kr(data, titles)}: {_check_in(data)}"
        case Objective.IssueLinked():
            return f"linked issue {data['tracker']}:{data['issue_key']} to {_kr(data, titles)}"
        case Objective.IssueUnlinked():
            return f"unlinked issue {data['tracker']}:{data['issue_key']} from {_kr(data, titles)}"
        case Objective.IssueStatusChanged():
            return (
                f"issue {data['tracker']}:{data['issue_key']} is now {data['status']}"
                f" (event {data['event_id']}) on {_kr(data, titles)}"
            )
        case Objective.NoteAdded():
            return f"note [{data['topic']}]: {data['text']}"
        case Objective.RetrospectiveRecorded():
            return f"retrospective recorded ({len(data['scores'])} scores)"
    return event_type(event)


def _changes(data: dict[str, Any]) -> str:
    return ", ".join(f"{k} → {v!r}" for k, v in data["changes"].items())


def _check_in(data: dict[str, Any]) -> str:
    value = (
        f"{data['percent']:g}%"
        if data.get("percent") is not None
        else f"current {data['current']:g}"
        if data.get("current") is not None
        else f"milestones done {data['milestones_done']}"
        if data.get("milestones_done") is not None
        else "status only"
    )
    confidence = (
        f", confidence {data['confidence']:g}" if data.get("confidence") is not None else ""
    )
    note = f' — "{data["note"]}"' if data.get("note") else ""
    return f"{value} ({data['status']}{confidence}){note}"


def render(entries: list[AuditEntry]) -> str:
    lines = []
    for e in entries:
        before = "—" if e.progress_before is None else f"{e.progress_before:.0%}"
        moved = (
            f"  progress {before} → {e.progress_after:.0%}"
            if e.progress_before != e.progress_after
            else ""
        )
        lines.append(
            f"{e.at:%Y-%m-%d %H:%M:%S}  {'v' + str(e.version) if e.version else '':<5}"
            f" {who(e):<12} {e.summary}{moved}"
        )
    return "\n".join(lines)
