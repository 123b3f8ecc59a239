"""The ``Objective`` aggregate and the rules of everything that changes one.

Key results live inside it (``KeyResult`` entities), so a check-in, a weight
change and an issue status change are each one event on one aggregate, with
the acting user and, where there is one, the cause (``event_id``).

Rules that need other aggregates (the cycle's phase, alignment cycles, who
manages the owner team) are checked by the command side before it calls in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidCommand, NotFound
from domain.key_result import (
    KeyResult,
    apply_check_in,
    finite,
    issue_ref,
    validate_check_in,
    validate_new,
)
from domain.progress import achievement_rate, objective_progress, objective_status
from domain.text import check_text
from domain.values import IssueStatus, Level, NoteTopic, ProgressMode, Visibility

TEXT_LIMIT = 10_000


def _required_text(name: str, value: str | None, *, limit: int = 500) -> str:
    check_text(name, value)
    if value is None or not value.strip():
        raise InvalidCommand(f"{name} must not be empty")
    if len(value) > limit:
        raise InvalidCommand(f"{name} is longer than {limit} characters")
    return value.strip()


def _optional_text(name: str, value: str | None, *, limit: int = TEXT_LIMIT) -> str | None:
    check_text(name, value)
    if value is not None and len(value) > limit:
        raise InvalidCommand(f"{name} is longer than {limit} characters")
    return value


class Objective(Aggregate):
    # Version 2 of the state holds no notes (SPEC §9, growth of one aggregate).
    # Snapshots record this version; an older one is upcast when it is loaded.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A version-1 snapshot carried every note; they are in the NoteAdded events."""
        state.pop("notes", None)

    @event("Drafted")
    def __init__(
        self,
        organization_id: str,
        cycle_id: UUID,
        title: str,
        description: str,
        level: str,
        owner_team_id: UUID | None,
        owner_user_id: str | None,
        visibility: str,
        aligned_to_objective_id: UUID | None,
        aligned_to_key_result_id: UUID | None,
        aligned_parent_id: UUID | None,
        actor: str,
    ) -> None:
        self.organization_id = organization_id
        self.cycle_id = cycle_id
        self.title = title
        self.description = description
        self.level = level
        self.owner_team_id = owner_team_id
        self.owner_user_id = owner_user_id
        self.visibility = visibility
        self.aligned_to_objective_id = aligned_to_objective_id
        self.aligned_to_key_result_id = aligned_to_key_result_id
        # The objective that owns the KR we align to: the parent in the tree.
        self.aligned_parent_id = aligned_parent_id
        self.archived = False
        self.key_results: dict[str, KeyResult] = {}
        # No notes here: they live only in their NoteAdded events (history, audit),
        # so loading and snapshotting an objective costs the same after any number.
        self.retrospective: dict[str, Any] | None = None

    # ----------------------------------------------------------------- drafting

    @classmethod
    def draft(
        cls,
        *,
        organization_id: str,
        cycle_id: UUID,
        title: str,
        description: str | None,
        level: str,
        owner_team_id: UUID | None,
        owner_user_id: str | None,
        visibility: str | None,
        aligned_to_objective_id: UUID | None,
        aligned_to_key_result_id: UUID | None,
        aligned_parent_id: UUID | None,
        actor: str,
    ) -> Objective:
        clean_title = _required_text("title", title)
        try:
            kind = Level(level)
        except ValueError:
            raise InvalidCommand(f"unknown level {level!r}") from None
        check_text("owner_user_id", owner_user_id)
        if kind is Level.INDIVIDUAL:
            if not owner_user_id or not owner_user_id.strip():
                raise InvalidCommand("an individual objective needs owner_user_id")
        else:
            if owner_team_id is None:
                raise InvalidCommand(f"an {kind.value}-level objective needs owner_team_id")
            if owner_user_id is not None:
                raise InvalidCommand(
                    f"an {kind.value}-level objective is owned by a team, not a user"
                )
        try:
            seen_by = Visibility(visibility or Visibility.PUBLIC.value)
        except ValueError:
            raise InvalidCommand(f"unknown visibility {visibility!r}") from None
        if aligned_to_objective_id is not None and aligned_to_key_result_id is not None:
            raise InvalidCommand("align to an objective or to a key result, not both")
        return cls(
            organization_id=organization_id,
            cycle_id=cycle_id,
            title=clean_title,
            description=_optional_text("description", description) or "",
            level=kind.value,
            owner_team_id=owner_team_id,
            owner_user_id=owner_user_id,
            visibility=seen_by.value,
            aligned_to_objective_id=aligned_to_objective_id,
            aligned_to_key_result_id=aligned_to_key_result_id,
            aligned_parent_id=aligned_parent_id,
            actor=actor,
        )

    def _require_active(self) -> None:
        if self.archived:
            raise Conflict("the objective is archived")

    def key_result(self, key_result_id: UUID | str) -> KeyResult:
        kr = self.key_results.get(str(key_result_id))
        if kr is None:
            raise NotFound(f"key result {key_result_id} not found")
        return kr

    def _active_key_result(self, key_result_id: UUID | str) -> KeyResult:
        kr = self.key_result(key_result_id)
        if kr.archived:
            raise Conflict(f"key result {key_result_id} is archived")
        return kr

    def edit(
        self,
        *,
        title: str | None,
        description: str | None,
        visibility: str | None,
        actor: str,
    ) -> None:
        self._require_active()
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = _required_text("title", title)
        if description is not None:
            changes["description"] = _optional_text("description", description)
        if visibility is not None:
            try:
                changes["visibility"] = Visibility(visibility).value
            except ValueError:
                raise InvalidCommand(f"unknown visibility {visibility!r}") from None
        changes = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if changes:
            self._edited(changes=changes, actor=actor)

    @event("Edited")
    def _edited(self, changes: dict[str, Any], actor: str) -> None:
        for name, value in changes.items():
            setattr(self, name, value)

    def realign(
        self,
        *,
        objective_id: UUID | None,
        key_result_id: UUID | None,
        parent_id: UUID | None,
        actor: str,
    ) -> None:
        """The command side has already checked that no cycle arises."""
        self._require_active()
        if objective_id is not None and key_result_id is not None:
            raise InvalidCommand("align to an objective or to a key result, not both")
        if objective_id == self.id or parent_id == self.id:
            raise InvalidCommand("an objective cannot be aligned to itself")
        if (objective_id, key_result_id) == (
            self.aligned_to_objective_id,
            self.aligned_to_key_result_id,
        ):
            return
        self._realigned(
            objective_id=objective_id, key_result_id=key_result_id, parent_id=parent_id, actor=actor
        )

    @event("Realigned")
    def _realigned(
        self,
        objective_id: UUID | None,
        key_result_id: UUID | None,
        parent_id: UUID | None,
        actor: str,
    ) -> None:
        self.aligned_to_objective_id = objective_id
        self.aligned_to_key_result_id = key_result_id
        self.aligned_parent_id = parent_id

    @property
    def parent_id(self) -> UUID | None:
        """The objective above this one in the tree, through an objective or a KR."""
        return self.aligned_to_objective_id or self.aligned_parent_id

    def archive(self, actor: str) -> None:
        self._require_active()
        self._archived(actor=actor)

    @event("Archived")
    def _archived(self, actor: str) -> None:
        self.archived = True

    # ------------------------------------------------------------- key results

    def add_key_result(
        self,
        *,
        title: str,
        mode: str,
        weight: float | None,
        start: float | None,
        target: float | None,
        unit: str | None,
        milestones: Sequence[str] | None,
        assignee_id: str | None,
        participant_ids: Sequence[str] | None,
        actor: str,
    ) -> UUID:
        self._require_active()
        for name, text in (("unit", unit), ("assignee_id", assignee_id)):
            check_text(name, text)
        for text in [*(milestones or ()), *(participant_ids or ())]:
            check_text("milestones and participant_ids", str(text))
        validate_new(
            title=title,
            mode=mode,
            weight=weight,
            start=start,
            target=target,
            unit=unit,
            milestones=milestones,
        )
        key_result_id = uuid4()
        numeric = ProgressMode(mode) is ProgressMode.NUMERIC
        self._key_result_added(
            key_result_id=key_result_id,
            title=title.strip(),
            mode=ProgressMode(mode).value,
            weight=1.0 if weight is None else float(weight),
            start=(0.0 if start is None else float(start)) if numeric else None,
            target=None if target is None else float(target),
            unit=unit,
            milestones=[str(m).strip() for m in milestones or ()],
            assignee_id=assignee_id,
            participant_ids=list(dict.fromkeys(participant_ids or ())),
            actor=actor,
        )
        return key_result_id

    @event("KeyResultAdded")
    def _key_result_added(
        self,
        key_result_id: UUID,
        title: str,
        mode: str,
        weight: float,
        start: float | None,
        target: float | None,
        unit: str | None,
        milestones: list[str],
        assignee_id: str | None,
        participant_ids: list[str],
        actor: str,
    ) -> None:
        self.key_results[str(key_result_id)] = KeyResult(
            id=str(key_result_id),
            title=title,
            mode=mode,
            weight=weight,
            start=start,
            target=target,
            current=start,
            unit=unit,
            milestones=[{"title": m, "done": False} for m in milestones],
            assignee_id=assignee_id,
            participant_ids=list(participant_ids),
        )

    def edit_key_result(self, key_result_id: UUID, changes: Mapping[str, Any], actor: str) -> None:
        """PATCH semantics: only the named fields change; an unchanged value is dropped."""
        self._require_active()
        kr = self._active_key_result(key_result_id)
        allowed = {"title", "start", "target", "unit", "assignee_id", "participant_ids"}
        unknown = set(changes) - allowed
        if unknown:
            raise InvalidCommand(f"cannot edit {', '.join(sorted(unknown))}")
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "title":
                clean[name] = _required_text("title", value)
            elif name in ("start", "target"):
                clean[name] = finite(name, value)
            elif name == "participant_ids":
                clean[name] = list(dict.fromkeys(value or ()))
            else:
                clean[name] = check_text(name, value)
        for participant in clean.get("participant_ids") or ():
            check_text("participant_ids", str(participant))
        numeric_fields = {"start", "target", "unit"} & set(clean)
        if numeric_fields and kr.mode != ProgressMode.NUMERIC:
            raise InvalidCommand("start, target and unit are for numeric key results only")
        if kr.mode == ProgressMode.NUMERIC:
            start = clean.get("start", kr.start)
            if "start" in clean and start is None:
                raise InvalidCommand("a numeric key result needs a start")
            target = clean.get("target", kr.target)
            if target is not None and target == start:
                raise InvalidCommand("a numeric key result's target must differ from its start")
        clean = {k: v for k, v in clean.items() if getattr(kr, k) != v}
        if clean:
            self._key_result_edited(key_result_id=key_result_id, changes=clean, actor=actor)

    @event("KeyResultEdited")
    def _key_result_edited(self, key_result_id: UUID, changes: dict[str, Any], actor: str) -> None:
        kr = self.key_results[str(key_result_id)]
        for name, value in changes.items():
            setattr(kr, name, value)
        if "start" in changes and not kr.checked_in:
            kr.current = kr.start  # current starts at start until someone checks in

    def archive_key_result(self, key_result_id: UUID, actor: str) -> None:
        self._require_active()
        self._active_key_result(key_result_id)
        self._key_result_archived(key_result_id=key_result_id, actor=actor)

    @event("KeyResultArchived")
    def _key_result_archived(self, key_result_id: UUID, actor: str) -> None:
        self.key_results[str(key_result_id)].archived = True

    def set_weights(self, weights: Mapping[UUID, float], actor: str) -> None:
        self._require_active()
        changed: dict[str, float] = {}
        for key_result_id, weight in weights.items():
            kr = self._active_key_result(key_result_id)
            value = finite(f"weight of {key_result_id}", weight, minimum=0)
            assert value is not None
            if kr.weight != value:
                changed[str(key_result_id)] = value
        if changed:
            self._weights_changed(weights=changed, actor=actor)

    @event("WeightsChanged")
    def _weights_changed(self, weights: dict[str, float], actor: str) -> None:
        for key_result_id, weight in weights.items():
            self.key_results[key_result_id].weight = weight

    # --------------------------------------------------------------- tracking

    def check_in(
        self,
        key_result_id: UUID,
        *,
        percent: float | None,
        current: float | None,
        milestones_done: Sequence[int] | None,
        status: str,
        confidence: float | None,
        note: str | None,
        at: datetime,
        actor: str,
    ) -> None:
        self._require_active()
        kr = self._active_key_result(key_result_id)
        validate_check_in(
            kr,
            percent=percent,
            current=current,
            milestones_done=milestones_done,
            status=status,
            confidence=confidence,
        )
        self._checked_in(
            key_result_id=key_result_id,
            percent=None if percent is None else float(percent),
            current=None if current is None else float(current),
            milestones_done=None if milestones_done is None else sorted(set(milestones_done)),
            status=status,
            confidence=None if confidence is None else float(confidence),
            note=_optional_text("note", note),
            at=at,
            actor=actor,
        )

    @event("CheckedIn")
    def _checked_in(
        self,
        key_result_id: UUID,
        percent: float | None,
        current: float | None,
        milestones_done: list[int] | None,
        status: str,
        confidence: float | None,
        note: str | None,
        at: datetime,
        actor: str,
    ) -> None:
        apply_check_in(
            self.key_results[str(key_result_id)],
            percent=percent,
            current=current,
            milestones_done=milestones_done,
            status=status,
            confidence=confidence,
            at=at,
        )

    def link_issue(
        self,
        key_result_id: UUID,
        *,
        tracker: str,
        issue_key: str,
        estimate: float | None,
        url: str | None,
        title: str | None,
        status: str | None,
        actor: str,
    ) -> None:
        """``status`` is the issue's current one, so a late link starts right."""
        self._require_active()
        kr = self._active_key_result(key_result_id)
        finite("estimate", estimate, minimum=0)
        for name, text in (("tracker", tracker), ("issue_key", issue_key), ("url", url)):
            check_text(name, text)
        _optional_text("title", title)
        if not tracker.strip() or not issue_key.strip():
            raise InvalidCommand("tracker and issue_key must not be empty")
        if kr.has_issue(tracker, issue_key):
            raise Conflict(f"issue {tracker}:{issue_key} is already linked to this key result")
        self._issue_linked(
            key_result_id=key_result_id,
            tracker=tracker,
            issue_key=issue_key,
            estimate=None if estimate is None else float(estimate),
            url=url,
            title=title,
            status=status,
            actor=actor,
        )

    @event("IssueLinked")
    def _issue_linked(
        self,
        key_result_id: UUID,
        tracker: str,
        issue_key: str,
        estimate: float | None,
        url: str | None,
        title: str | None,
        status: str | None,
        actor: str,
    ) -> None:
        self.key_results[str(key_result_id)].issues[issue_ref(tracker, issue_key)] = {
            "tracker": tracker,
            "issue_key": issue_key,
            "status": status,
            "estimate": estimate,
            "url": url,
            "title": title,
        }

    def unlink_issue(
        self, key_result_id: UUID, *, tracker: str, issue_key: str, actor: str
    ) -> None:
        self._require_active()
        kr = self._active_key_result(key_result_id)
        if not kr.has_issue(tracker, issue_key):
            raise NotFound(f"issue {tracker}:{issue_key} is not linked to this key result")
        self._issue_unlinked(
            key_result_id=key_result_id, tracker=tracker, issue_key=issue_key, actor=actor
        )

    @event("IssueUnlinked")
    def _issue_unlinked(
        self, key_result_id: UUID, tracker: str, issue_key: str, actor: str
    ) -> None:
        del self.key_results[str(key_result_id)].issues[issue_ref(tracker, issue_key)]

    def apply_issue_status(
        self,
        key_result_id: UUID,
        *,
        tracker: str,
        issue_key: str,
        status: str,
        estimate: float | None,
        event_id: str,
        actor: str,
    ) -> bool:
        """Moves the KR's view of a linked issue; False when nothing would change."""
        kr = self.key_results.get(str(key_result_id))
        if kr is None or not kr.has_issue(tracker, issue_key):
            return False
        IssueStatus(status)
        linked = kr.issues[issue_ref(tracker, issue_key)]
        new_estimate = linked["estimate"] if estimate is None else float(estimate)
        if linked["status"] == status and linked["estimate"] == new_estimate:
            return False
        self._issue_status_changed(
            key_result_id=key_result_id,
            tracker=tracker,
            issue_key=issue_key,
            status=status,
            estimate=new_estimate,
            event_id=event_id,
            actor=actor,
        )
        return True

    @event("IssueStatusChanged")
    def _issue_status_changed(
        self,
        key_result_id: UUID,
        tracker: str,
        issue_key: str,
        status: str,
        estimate: float | None,
        event_id: str,
        actor: str,
    ) -> None:
        linked = self.key_results[str(key_result_id)].issues[issue_ref(tracker, issue_key)]
        linked["status"] = status
        linked["estimate"] = estimate

    # ---------------------------------------------------- notes, retrospective

    def add_note(self, *, topic: str, text: str, actor: str) -> None:
        try:
            NoteTopic(topic)
        except ValueError:
            raise InvalidCommand(f"unknown note topic {topic!r}") from None
        clean = _required_text("text", text, limit=TEXT_LIMIT)
        self._note_added(note_id=uuid4(), topic=topic, text=clean, actor=actor)

    @event("NoteAdded")
    def _note_added(self, note_id: UUID, topic: str, text: str, actor: str) -> None:
        """A fact for history and the audit trail; nothing of it stays in the state."""

    def record_retrospective(
        self,
        *,
        scores: Mapping[UUID, float],
        problems: str,
        improvements: str,
        next_focus: str,
        actor: str,
    ) -> None:
        self._require_active()
        clean: dict[str, float] = {}
        for key_result_id, score in scores.items():
            self.key_result(key_result_id)
            value = finite(f"score of {key_result_id}", score, minimum=0)
            if value is None or value > 1:
                raise InvalidCommand(f"score of {key_result_id} must be between 0 and 1")
            clean[str(key_result_id)] = value
        self._retrospective_recorded(
            scores=clean,
            problems=_optional_text("problems", problems) or "",
            improvements=_optional_text("improvements", improvements) or "",
            next_focus=_optional_text("next_focus", next_focus) or "",
            actor=actor,
        )

    @event("RetrospectiveRecorded")
    def _retrospective_recorded(
        self,
        scores: dict[str, float],
        problems: str,
        improvements: str,
        next_focus: str,
        actor: str,
    ) -> None:
        self.retrospective = {
            "scores": dict(scores),
            "problems": problems,
            "improvements": improvements,
            "next_focus": next_focus,
        }

    # ------------------------------------------------------------ derived values

    def contributors(self) -> set[str]:
        """Assignees and participants of its key results: they see it even when private."""
        people: set[str] = set()
        for kr in self.key_results.values():
            if kr.assignee_id:
                people.add(kr.assignee_id)
            people.update(kr.participant_ids)
        return people

    def active_key_results(self) -> list[KeyResult]:
        return [kr for kr in self.key_results.values() if not kr.archived]

    def progress(self, aligned: Mapping[str, float] | None = None) -> float:
        """``aligned`` maps an aligned KR's id to the mean progress of its children."""
        return self.progress_of(self.key_result_progress(aligned))

    def key_result_progress(self, aligned: Mapping[str, float] | None = None) -> dict[str, float]:
        """Progress of each live KR, by id."""
        aligned = aligned or {}
        return {kr.id: kr.progress(aligned.get(kr.id)) for kr in self.active_key_results()}

    def progress_of(self, key_result_progress: Mapping[str, float]) -> float:
        """Objective progress from its live KRs' progress (computed once, used twice)."""
        return objective_progress(
            [(kr.weight, key_result_progress[kr.id]) for kr in self.active_key_results()]
        )

    def status(self) -> str:
        return objective_status(
            [kr.status if kr.checked_in else None for kr in self.active_key_results()]
        ).value

    def achievement_rate(self, aligned: Mapping[str, float] | None = None) -> float | None:
        """None until a retrospective exists; a KR without a score scores its progress."""
        if self.retrospective is None:
            return None
        aligned = aligned or {}
        scores = self.retrospective["scores"]
        return achievement_rate(
            [
                (kr.weight, scores.get(kr.id, kr.progress(aligned.get(kr.id))))
                for kr in self.active_key_results()
            ]
        )
