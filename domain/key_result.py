"""The key result: an entity inside its objective, with its own id.

It holds only plain values (str, float, bool, lists, dicts) so that the
objective's snapshots serialise without custom types.

Its stored dict (``to_dict``, inside the objective's snapshots) carries its own
shape version, ``SHAPE_KEY``: the key result's fields change on their own
schedule, and a snapshot is decoded key result by key result by the
transcoding (``commands/base.py``) before the objective's upcasters could see
it. ``from_dict`` upcasts an older shape step by step (``UPCASTERS``); a newer
shape, or a key this code does not know, raises ``KeyResultShapeError``, never
a silent drop: the repository then ignores that snapshot and replays the
objective from its events (``commands/snapshots.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime, timedelta
from typing import Any, Final

from domain.errors import Conflict, InvalidCommand
from domain.progress import (
    clamp,
    issues_progress,
    milestone_progress,
    numeric_progress,
    percentage_progress,
)
from domain.text import check_text, optional_text, required_text
from domain.values import IssueStatus, KeyResultStatus, ProgressMode

STALE_AFTER = timedelta(days=14)
"""A key result with no check-in for this long is stale (the dashboard lists it)."""


def is_stale(last_check_in_at: datetime | str | None, now: datetime) -> bool:
    """No check-in yet, or the last one (a moment, or its ISO text) before ``now - STALE_AFTER``."""
    if last_check_in_at is None:
        return True
    if isinstance(last_check_in_at, str):
        last_check_in_at = datetime.fromisoformat(last_check_in_at)
    return last_check_in_at < now - STALE_AFTER


def issue_ref(tracker: str, issue_key: str) -> str:
    """The key of a linked issue inside a KR (tracker slugs never contain ':')."""
    return f"{tracker}:{issue_key}"


LINKED_ESTIMATE = "linked_estimate"
"""Where a linked issue keeps the estimate given when linking, once the tracker's
first estimate has replaced it in ``estimate`` (SPEC §16: a cleared estimate
falls back to it)."""


def remember_linked_estimate(linked: dict[str, Any]) -> None:
    """Keep the estimate given when linking before a tracker's estimate replaces it.

    Until the first issue status change, a linked issue's ``estimate`` is the
    one given when linking (``IssueLinked``), so it is saved then; a link made
    again starts afresh. A snapshot saved before this existed (key result shape
    2) is not upcast but replayed from its events (``_shape_2_to_3``).
    """
    linked.setdefault(LINKED_ESTIMATE, linked.get("estimate"))


def linked_estimate(linked: dict[str, Any]) -> float | None:
    """The estimate given when linking (None: none was given, the issue counts as 1)."""
    value = linked.get(LINKED_ESTIMATE, linked.get("estimate"))
    return None if value is None else float(value)


def reported_estimate(
    linked: dict[str, Any], estimate: float | None, cleared: bool
) -> float | None:
    """A linked issue's estimate after a tracker's report (SPEC §16): the number it
    gives; if it cleared it, the estimate given when linking; else the last one."""
    if estimate is not None:
        return float(estimate)
    if cleared:
        return linked_estimate(linked)
    value = linked["estimate"]
    return None if value is None else float(value)


SHAPE: Final = 3
"""The shape of a stored key result. 2: no ``checked_in`` flag (``checked_in`` is
derived from ``last_check_in_at``). 3: each linked issue keeps the estimate given
when linking (``LINKED_ESTIMATE``) once a tracker's estimate has replaced it."""

SHAPE_KEY: Final = "shape"
"""The key of the shape version in a stored key result; absent means shape 1."""


class KeyResultShapeError(ValueError):
    """A stored key result this code cannot read: a newer shape, or unknown keys."""


def _shape_1_to_2(data: dict[str, Any]) -> None:
    """Shape 1 kept ``checked_in``, always ``last_check_in_at is not None``."""
    data.pop("checked_in", None)


def _shape_2_to_3(data: dict[str, Any]) -> None:
    """Shape 2 did not keep the estimate given when linking. After a tracker's first
    report it cannot be told from the state, so a key result with linked issues is
    not upcast: the snapshot holding it is ignored and the objective replayed from
    its events, which know it (``commands/snapshots.py``)."""
    issues = data.get("issues") or {}
    if any(LINKED_ESTIMATE not in linked for linked in issues.values()):
        raise KeyResultShapeError(
            f"key result {data.get('id')!r} (shape 2) does not keep its issues'"
            " estimates given when linking: replay it from its events"
        )


UPCASTERS: Final = {1: _shape_1_to_2, 2: _shape_2_to_3}
"""``UPCASTERS[n]`` turns a stored key result of shape n into shape n + 1, in place."""


@dataclass
class KeyResult:
    id: str
    title: str
    mode: str
    weight: float = 1.0
    start: float | None = None
    target: float | None = None
    current: float | None = None
    unit: str | None = None
    percent: float | None = None
    milestones: list[dict[str, Any]] = field(default_factory=list)
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    assignee_id: str | None = None
    participant_ids: list[str] = field(default_factory=list)
    status: str | None = None
    confidence: float | None = None
    last_check_in_at: str | None = None
    archived: bool = False

    @property
    def checked_in(self) -> bool:
        """Someone checked in at least once (derived, so it is not stored)."""
        return self.last_check_in_at is not None

    def progress(self, aligned: float | None = None) -> float:
        """One formula per mode (domain/progress.py); ``aligned`` comes from outside."""
        mode = ProgressMode(self.mode)
        if mode is ProgressMode.PERCENTAGE:
            return percentage_progress(self.percent)
        if mode is ProgressMode.NUMERIC:
            return numeric_progress(self.start or 0.0, self.target, self.current)
        if mode is ProgressMode.MILESTONE:
            return milestone_progress([bool(m["done"]) for m in self.milestones])
        if mode is ProgressMode.ISSUES:
            return issues_progress(
                (i["status"] or IssueStatus.TODO.value, i.get("estimate"))
                for i in self.issues.values()
            )
        return clamp(aligned or 0.0)

    def has_issue(self, tracker: str, issue_key: str) -> bool:
        return issue_ref(tracker, issue_key) in self.issues

    def to_dict(self) -> dict[str, Any]:
        """The stored dict: the fields and the shape they are in."""
        return {SHAPE_KEY: SHAPE, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyResult:
        """A stored key result of any shape up to ``SHAPE``, upcast to this one."""
        fields = dict(data)
        shape = fields.pop(SHAPE_KEY, 1)
        if not isinstance(shape, int) or not 1 <= shape <= SHAPE:
            raise KeyResultShapeError(
                f"key result {fields.get('id')!r} is stored in shape {shape!r};"
                f" this code reads shapes 1..{SHAPE}"
            )
        for version in range(shape, SHAPE):
            UPCASTERS[version](fields)
        unknown = set(fields) - _FIELDS
        if unknown:
            raise KeyResultShapeError(
                f"key result {fields.get('id')!r} (shape {shape}) has unknown fields"
                f" {sorted(unknown)}"
            )
        return cls(**fields)


_FIELDS: Final = frozenset(f.name for f in dataclass_fields(KeyResult))


def finite(name: str, value: float | None, *, minimum: float | None = None) -> float | None:
    """Refuse NaN, infinities and values under ``minimum`` with a clear message."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidCommand(f"{name} must be a finite number")
    if minimum is not None and value < minimum:
        raise InvalidCommand(f"{name} must be >= {minimum:g}")
    return float(value)


def validate_new(
    *,
    title: str,
    mode: str,
    weight: float | None,
    start: float | None,
    target: float | None,
    unit: str | None,
    milestones: Sequence[str] | None,
) -> None:
    if not title.strip():
        raise InvalidCommand("a key result needs a title")
    try:
        kind = ProgressMode(mode)
    except ValueError:
        raise InvalidCommand(f"unknown progress mode {mode!r}") from None
    finite("weight", weight, minimum=0)
    finite("start", start)
    finite("target", target)
    if kind is ProgressMode.NUMERIC:
        if target is not None and target == (start if start is not None else 0.0):
            raise InvalidCommand("a numeric key result's target must differ from its start")
    elif start is not None or target is not None or unit is not None:
        raise InvalidCommand("start, target and unit are for numeric key results only")
    if kind is ProgressMode.MILESTONE:
        for name in milestones or ():
            if not str(name).strip():
                raise InvalidCommand("milestone titles must not be empty")
    elif milestones:
        raise InvalidCommand("milestones are for milestone key results only")


def validate_check_in(
    kr: KeyResult,
    *,
    percent: float | None,
    current: float | None,
    milestones_done: Sequence[int] | None,
    status: str,
    confidence: float | None,
) -> None:
    """A check-in carries the value its mode needs, and nothing else."""
    try:
        KeyResultStatus(status)
    except ValueError:
        raise InvalidCommand(f"unknown status {status!r}") from None
    finite("confidence", confidence, minimum=0)
    if confidence is not None and confidence > 1:
        raise InvalidCommand("confidence must be between 0 and 1")
    mode = ProgressMode(kr.mode)
    given = {
        "percent": percent is not None,
        "current": current is not None,
        "milestones_done": milestones_done is not None,
    }
    wanted = {
        ProgressMode.PERCENTAGE: "percent",
        ProgressMode.NUMERIC: "current",
        ProgressMode.MILESTONE: "milestones_done",
    }.get(mode)
    extra = [name for name, present in given.items() if present and name != wanted]
    if extra:
        raise InvalidCommand(f"a {mode.value} key result takes no {', '.join(extra)}")
    if wanted is not None and not given[wanted]:
        raise InvalidCommand(f"a check-in on a {mode.value} key result needs {wanted}")
    finite("percent", percent, minimum=0)
    finite("current", current)
    for index in milestones_done or ():
        if isinstance(index, bool) or not isinstance(index, int):
            raise InvalidCommand("milestones_done holds milestone indices")
        if not 0 <= index < len(kr.milestones):
            raise InvalidCommand(
                f"milestone index {index} is out of range (0..{len(kr.milestones) - 1})"
                if kr.milestones
                else "this key result has no milestones"
            )


def apply_check_in(
    kr: KeyResult,
    *,
    percent: float | None,
    current: float | None,
    milestones_done: Sequence[int] | None,
    status: str,
    confidence: float | None,
    checked_in_at: datetime,
) -> None:
    if percent is not None:
        kr.percent = float(percent)
    if current is not None:
        kr.current = float(current)
    if milestones_done is not None:
        done = set(milestones_done)
        for index, milestone in enumerate(kr.milestones):
            milestone["done"] = index in done
    kr.status = status
    kr.confidence = confidence
    kr.last_check_in_at = checked_in_at.isoformat()


EDITABLE = frozenset({"title", "start", "target", "unit", "assignee_id", "participant_ids"})
"""What a key-result edit may change (PATCH semantics: only the named fields)."""


def clean_edit(kr: KeyResult, changes: Mapping[str, Any]) -> dict[str, Any]:
    """The edit's changes, checked and normalised, without the values that would not change."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidCommand(f"cannot edit {', '.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "title":
            clean[name] = required_text("title", value)
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
    return {k: v for k, v in clean.items() if getattr(kr, k) != v}


def validate_link(
    kr: KeyResult,
    *,
    tracker: str,
    issue_key: str,
    estimate: float | None,
    url: str | None,
    title: str | None,
) -> None:
    """An issue may be linked once per key result, with storable, non-empty names."""
    finite("estimate", estimate, minimum=0)
    for name, text in (("tracker", tracker), ("issue_key", issue_key), ("url", url)):
        check_text(name, text)
    optional_text("title", title)
    if not tracker.strip() or not issue_key.strip():
        raise InvalidCommand("tracker and issue_key must not be empty")
    if kr.has_issue(tracker, issue_key):
        raise Conflict(f"issue {tracker}:{issue_key} is already linked to this key result")


def checked_in_values(
    kr: KeyResult,
    *,
    percent: float | None,
    current: float | None,
    milestones_done: Sequence[int] | None,
    status: str,
    confidence: float | None,
) -> dict[str, Any]:
    """A check-in's values, checked (``validate_check_in``) and as its event stores them."""
    validate_check_in(
        kr,
        percent=percent,
        current=current,
        milestones_done=milestones_done,
        status=status,
        confidence=confidence,
    )
    return {
        "percent": None if percent is None else float(percent),
        "current": None if current is None else float(current),
        "milestones_done": None if milestones_done is None else sorted(set(milestones_done)),
        "status": status,
        "confidence": None if confidence is None else float(confidence),
    }
