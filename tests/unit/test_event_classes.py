"""Events are explicit classes with stable topics, and readers know every one of them.

The topics are what the event store holds (``module:Aggregate.Name``): a class
moved or renamed without registering its old topic would leave stored events
unreadable, so they are pinned here. So are the public names (``type`` in
history and the audit trail) and the progress causes each class records.
"""

from __future__ import annotations

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic, resolve_topic

from domain.cycle import Cycle
from domain.issue import Issue
from domain.key_result_locator import KeyResultLocator
from domain.objective import Objective
from domain.team import Team
from projections.progress_causes import CAUSES
from projections.replay import event_type

TOPICS = {
    "domain.cycle:Cycle.Planned",
    "domain.cycle:Cycle.PhaseAdvanced",
    "domain.team:Team.Formed",
    "domain.team:Team.MemberSet",
    "domain.issue:Issue.Registered",
    "domain.issue:Issue.StatusReported",
    "domain.issue:Issue.Linked",
    "domain.issue:Issue.Unlinked",
    "domain.key_result_locator:KeyResultLocator.Registered",
    *(
        f"domain.objective:Objective.{name}"
        for name in (
            "Drafted",
            "Edited",
            "Realigned",
            "Archived",
            "KeyResultAdded",
            "KeyResultEdited",
            "KeyResultArchived",
            "WeightsChanged",
            "KeyResultCheckedIn",
            "IssueLinked",
            "IssueUnlinked",
            "IssueStatusChanged",
            "NoteAdded",
            "RetrospectiveRecorded",
        )
    ),
}

CLASS_VERSIONS = {
    "domain.objective:Objective.KeyResultCheckedIn": 2,
    "domain.issue:Issue.StatusReported": 2,
}
"""Event classes past version 1 (a change of shape bumps the class here too)."""


def _event_classes(aggregate: type) -> list[type]:
    return [
        value
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and name not in {"Event", "Created"}
    ]


def test_every_event_class_keeps_its_stored_topic_and_has_a_class_version() -> None:
    classes = [
        cls
        for agg in (Cycle, Team, Issue, KeyResultLocator, Objective)
        for cls in _event_classes(agg)
    ]
    assert {get_topic(cls) for cls in classes} == TOPICS
    for topic in TOPICS:
        cls = resolve_topic(topic)
        declared = [k for k in cls.__mro__ if "class_version" in vars(k)]
        assert declared and declared[0].__module__.startswith("domain."), topic
        version = declared[0].class_version
        assert version == CLASS_VERSIONS.get(topic, 1), topic
        for older in range(1, version):  # every older version has its upcaster
            assert callable(getattr(cls, f"upcast_v{older}_v{older + 1}")), topic


def test_the_public_name_of_an_event_is_its_class_name_unless_renamed() -> None:
    # KeyResultCheckedIn was CheckedIn: its public name stays, and so does its old topic.
    assert event_type(Objective.KeyResultCheckedIn) == "CheckedIn"
    assert resolve_topic("domain.objective:Objective.CheckedIn") is Objective.KeyResultCheckedIn
    renamed = {"KeyResultCheckedIn": "CheckedIn"}
    assert {event_type(cls) for cls in _event_classes(Objective)} == {
        renamed.get(name, name)
        for name in (
            topic.rsplit(".", 1)[1] for topic in TOPICS if topic.startswith("domain.objective")
        )
    }


def test_every_objective_event_records_a_progress_cause() -> None:
    assert set(CAUSES) == set(_event_classes(Objective))
