"""The issue's bounded idempotency memory keeps SPEC §4's rules (SPEC §9).

Property tests against the unbounded rule the first release kept (every id
remembered forever): over any order of deliveries, with duplicates, ties and
late events, and a window far smaller than the history,

- a delivery of an id delivered before changes nothing (no event at all);
- nothing is applied that the unbounded rule would refuse, so an older event
  never overwrites a newer status; the watermark is the unbounded one's;
- an event newer than everything delivered so far is always applied;
- with distinct times, the status is exactly the unbounded rule's; with a
  window as large as the history, every verdict is;
- the memory stays within the window; replaying the events or loading a
  snapshot (also one of the first release's shape) gives the same answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

from eventsourcing.domain import Snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

import domain.issue
from domain.issue import Issue, ReportVerdict, instant

BASE = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
STATUSES = ("todo", "in_progress", "done", "cancelled")


@dataclass(frozen=True)
class Delivery:
    event_id: str
    occurred_at: datetime
    status: str


@dataclass
class UnboundedRule:
    """SPEC §4 as the first release kept it: every id remembered forever."""

    seen: set[str] = field(default_factory=set)
    last: datetime | None = None
    status: str | None = None

    def deliver(self, d: Delivery) -> ReportVerdict:
        if d.event_id in self.seen:
            return ReportVerdict.SEEN
        self.seen.add(d.event_id)
        if self.last is None or d.occurred_at >= self.last:
            self.last, self.status = d.occurred_at, d.status
            return ReportVerdict.NEW
        return ReportVerdict.LATE


@contextmanager
def window(size: int) -> Iterator[None]:
    with patch.object(domain.issue, "RECENT_EVENT_IDS", size):
        yield


def new_issue() -> Issue:
    return Issue(organization_id="acme", tracker="github", issue_key="a#1", actor="test")


def deliver(issue: Issue, d: Delivery) -> ReportVerdict:
    """What commands/issues.py does with one report."""
    verdict = issue.verdict(d.event_id, d.occurred_at)
    if verdict is not ReportVerdict.SEEN:
        issue.report_status(
            event_id=d.event_id,
            status=d.status,
            raw_status=None,
            occurred_at=d.occurred_at,
            title=None,
            url=None,
            estimate=None,
            applied=verdict is ReportVerdict.NEW,
            actor="test",
        )
    return verdict


@st.composite
def pool(draw: st.DrawFn, distinct_times: bool = False) -> list[Delivery]:
    """Distinct events (an id is one event: one time, one status); few times, so ties happen."""
    size = draw(st.integers(1, 25))
    if distinct_times:
        minutes = draw(st.lists(st.integers(0, 500), min_size=size, max_size=size, unique=True))
    else:
        minutes = draw(st.lists(st.integers(0, 6), min_size=size, max_size=size))
    return [
        Delivery(f"ev-{n}", BASE + timedelta(minutes=m), draw(st.sampled_from(STATUSES)))
        for n, m in enumerate(minutes)
    ]


def delivered_from(draw: st.DrawFn, events: list[Delivery]) -> list[Delivery]:
    """The pool's events in any order, some several times."""
    order = draw(st.lists(st.integers(0, len(events) - 1), min_size=1, max_size=60))
    return [events[i] for i in order]


@st.composite
def deliveries(draw: st.DrawFn, distinct_times: bool = False) -> list[Delivery]:
    return delivered_from(draw, draw(pool(distinct_times)))


@st.composite
def two_runs(draw: st.DrawFn) -> tuple[list[Delivery], list[Delivery]]:
    """Deliveries before and after a reload, of one pool of events."""
    events = draw(pool())
    return delivered_from(draw, events), delivered_from(draw, events)


def state(issue: Issue) -> dict[str, Any]:
    return {k: v for k, v in vars(issue).items() if k != "_pending_events"}


@settings(max_examples=150, deadline=None)
@given(deliveries(), st.integers(1, 4))
def test_bounded_memory_keeps_both_rules_of_the_unbounded_one(
    sequence: list[Delivery], size: int
) -> None:
    with window(size):
        issue, rule = new_issue(), UnboundedRule()
        delivered: set[str] = set()
        applied_statuses: list[str] = []
        for d in sequence:
            before = rule.last
            verdict = deliver(issue, d)
            expected = rule.deliver(d)
            if d.event_id in delivered:
                assert verdict is ReportVerdict.SEEN, "a redelivery changed something"
            if verdict is ReportVerdict.NEW:
                assert expected is ReportVerdict.NEW, "applied what the unbounded rule refuses"
                applied_statuses.append(d.status)
            if d.event_id not in delivered and (before is None or d.occurred_at > before):
                assert verdict is ReportVerdict.NEW, "a newer event was lost"
            delivered.add(d.event_id)
            assert issue.last_occurred_at == rule.last
            assert issue.status == (applied_statuses[-1] if applied_statuses else None)
            assert len(issue.applied_event_ids) <= size


@settings(max_examples=100, deadline=None)
@given(deliveries(distinct_times=True), st.integers(1, 4))
def test_with_distinct_times_the_status_is_the_unbounded_one(
    sequence: list[Delivery], size: int
) -> None:
    with window(size):
        issue, rule = new_issue(), UnboundedRule()
        for d in sequence:
            deliver(issue, d)
            rule.deliver(d)
            assert (issue.status, issue.last_occurred_at) == (rule.status, rule.last)


@settings(max_examples=100, deadline=None)
@given(deliveries())
def test_a_window_as_large_as_the_history_answers_exactly_like_the_unbounded_rule(
    sequence: list[Delivery],
) -> None:
    with window(len(sequence)):
        issue, rule = new_issue(), UnboundedRule()
        for d in sequence:
            assert deliver(issue, d) is rule.deliver(d)
        assert issue.forgotten_until is None


@settings(max_examples=100, deadline=None)
@given(two_runs(), st.integers(1, 4))
def test_replay_and_snapshots_answer_like_the_live_issue(
    runs: tuple[list[Delivery], list[Delivery]], size: int
) -> None:
    first, then = runs
    with window(size):
        live = new_issue()
        for d in first:
            deliver(live, d)
        replayed: Any = None
        for e in live.collect_events():
            replayed = e.mutate(replayed)
        restored = deepcopy(Issue.Snapshot.take(live)).mutate(None)  # stored, not shared
        assert state(replayed) == state(live) == state(restored)
        for d in then:
            verdicts = {deliver(copy, d) for copy in (live, replayed, restored)}
            assert len(verdicts) == 1


def first_release_snapshot(issue: Issue, seen: set[str]) -> Issue:
    """The issue loaded from a snapshot the first release wrote: every id, no window."""
    state = deepcopy(dict(Issue.Snapshot.take(issue).state))
    state.pop("class_version", None)
    state.pop("forgotten_until")
    state["applied_event_ids"] = dict.fromkeys(sorted(seen), True)
    old = Snapshot(
        originator_id=issue.id,
        originator_version=issue.version,
        timestamp=Snapshot.create_timestamp(),
        topic=Issue.Snapshot.take(issue).topic,
        state=state,
    )
    loaded = old.mutate(None)
    assert isinstance(loaded, Issue)
    return loaded


@settings(max_examples=100, deadline=None)
@given(two_runs())
def test_a_first_release_snapshot_still_keeps_both_rules(
    runs: tuple[list[Delivery], list[Delivery]],
) -> None:
    first, then = runs
    with window(len(first) + len(then)):
        issue, rule = new_issue(), UnboundedRule()
        for d in first:
            deliver(issue, d)
            rule.deliver(d)
        loaded = first_release_snapshot(issue, rule.seen)
        assert loaded.applied_event_ids == {}
        assert loaded.forgotten_until == (
            instant(rule.last) if rule.seen and rule.last is not None else None
        )
        delivered = set(rule.seen)
        for d in then:
            before = rule.last
            verdict = deliver(loaded, d)
            expected = rule.deliver(d)
            if d.event_id in delivered:
                assert verdict is ReportVerdict.SEEN
            if verdict is ReportVerdict.NEW:
                assert expected is ReportVerdict.NEW
            if d.event_id not in delivered and (before is None or d.occurred_at > before):
                assert verdict is ReportVerdict.NEW
            delivered.add(d.event_id)
            assert loaded.last_occurred_at == rule.last


def test_an_old_duplicate_that_left_the_window_changes_nothing() -> None:
    with window(2):
        issue = new_issue()
        for n in range(5):
            deliver(issue, Delivery(f"ev-{n}", BASE + timedelta(minutes=n), "in_progress"))
        assert list(issue.applied_event_ids) == ["ev-3", "ev-4"]
        version = issue.version
        assert deliver(issue, Delivery("ev-0", BASE, "done")) is ReportVerdict.SEEN
        assert (issue.version, issue.status) == (version, "in_progress")


def test_a_tie_at_the_watermark_applies_while_its_time_is_remembered() -> None:
    with window(2):
        issue = new_issue()
        at = BASE + timedelta(minutes=5)
        assert deliver(issue, Delivery("a", at, "in_progress")) is ReportVerdict.NEW
        assert deliver(issue, Delivery("b", at, "done")) is ReportVerdict.NEW
        assert issue.status == "done"
        # a third at the same instant pushes "a" out: its time is now the forgotten
        # one, and an unknown id at that time might be "a" again, so it is seen
        assert deliver(issue, Delivery("c", at, "todo")) is ReportVerdict.NEW
        assert issue.forgotten_until == instant(at)
        assert deliver(issue, Delivery("a", at, "in_progress")) is ReportVerdict.SEEN
        assert deliver(issue, Delivery("d", at, "cancelled")) is ReportVerdict.SEEN
        assert issue.status == "todo"
        # time moves on: newer events apply as ever
        later = Delivery("e", at + timedelta(seconds=1), "done")
        assert deliver(issue, later) is ReportVerdict.NEW


def test_late_events_within_the_window_are_recorded_and_remembered() -> None:
    with window(3):
        issue = new_issue()
        deliver(issue, Delivery("new", BASE + timedelta(minutes=10), "done"))
        assert deliver(issue, Delivery("old", BASE + timedelta(minutes=2), "todo")) is (
            ReportVerdict.LATE
        )
        assert deliver(issue, Delivery("old", BASE + timedelta(minutes=2), "todo")) is (
            ReportVerdict.SEEN
        )
        assert issue.status == "done"


def test_the_window_is_a_module_constant_and_holds() -> None:
    issue = new_issue()
    for n in range(domain.issue.RECENT_EVENT_IDS * 3):
        deliver(issue, Delivery(f"ev-{n}", BASE + timedelta(seconds=n), "in_progress"))
    assert len(issue.applied_event_ids) == domain.issue.RECENT_EVENT_IDS
    assert deliver(issue, Delivery("ev-0", BASE, "done")) is ReportVerdict.SEEN
