"""Tracker adapters: native webhook payloads → canonical ``IssueEvent``.

This package owns the translation of each tracker's own webhook (GitHub,
GitLab, Jira, Linear, Azure DevOps: one module each) into the canonical issue event of
SPEC §4, and each tracker's way of proving a delivery is genuine. It is pure:
no web framework, database or Kafka, so the webhook endpoint, replay tools
and tests call the same functions.

Every adapter module exposes the same two functions::

    adapt(payload, headers, mapping: TrackerMapping = DEFAULT_MAPPING) -> IssueEvent
    verify(body: bytes, headers: Mapping[str, str], secret: str) -> bool

``ADAPTERS`` maps a tracker name to them; ``adapt`` and ``verify_signature``
dispatch by name, ``adapt`` with the registration's mapping (and, for
GitHub, what earlier deliveries said of Projects items). Errors:
``UnknownTracker`` (no such adapter), ``UnsupportedPayload`` (a genuine
delivery this service does not map: acknowledge it and record why, SPEC §16)
and ``InvalidIssueEvent`` (a body that is not the tracker's JSON: refuse
it). Field-by-field mapping: ``docs/trackers.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from consumers.issue_event import InvalidIssueEvent, IssueEvent
from consumers.trackers import azure_devops, github, gitlab, jira, linear
from consumers.trackers._common import UnknownTracker, UnsupportedPayload
from consumers.trackers.github import NO_PROJECT_ITEMS, ProjectItems
from consumers.trackers.mapping import DEFAULT_MAPPING, TrackerMapping

__all__ = [
    "ADAPTERS",
    "DEFAULT_MAPPING",
    "NO_PROJECT_ITEMS",
    "InvalidIssueEvent",
    "ProjectItems",
    "TrackerAdapter",
    "TrackerMapping",
    "UnknownTracker",
    "UnsupportedPayload",
    "adapt",
    "get_adapter",
    "verify_signature",
]

AdaptFunction = Callable[[Mapping[str, Any], Mapping[str, str], TrackerMapping], IssueEvent]
VerifyFunction = Callable[[bytes, Mapping[str, str], str], bool]


@dataclass(frozen=True, slots=True)
class TrackerAdapter:
    """One tracker's pair of functions, registered under ``name``."""

    name: str
    adapt: AdaptFunction
    verify: VerifyFunction


ADAPTERS: Final[Mapping[str, TrackerAdapter]] = MappingProxyType(
    {
        module.TRACKER: TrackerAdapter(module.TRACKER, module.adapt, module.verify)
        for module in (github, gitlab, jira, linear, azure_devops)
    }
)
"""Tracker name (the ``tracker`` of the events it makes) → its adapter. Read-only."""


def get_adapter(tracker: str) -> TrackerAdapter:
    """The adapter registered as ``tracker`` (case-insensitive), or ``UnknownTracker``."""
    adapter = ADAPTERS.get(tracker.lower()) if isinstance(tracker, str) else None
    if adapter is None:
        known = ", ".join(sorted(ADAPTERS))
        raise UnknownTracker(f"no adapter for tracker {tracker!r} (known: {known})")
    return adapter


def adapt(
    tracker: str,
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    mapping: TrackerMapping = DEFAULT_MAPPING,
    items: ProjectItems = NO_PROJECT_ITEMS,
) -> IssueEvent:
    """The canonical event for one native webhook payload of ``tracker``.

    The one conversion: the webhook endpoint and every tool that turns a
    native delivery into the canonical event (then published to Kafka or
    posted to ``/v1/issue-events``) call this. ``mapping`` is the
    registration's (SPEC §16); ``items`` is read by GitHub only.
    Raises ``UnknownTracker``, ``UnsupportedPayload`` or ``InvalidIssueEvent``.
    """
    adapter = get_adapter(tracker)
    if adapter.name == github.TRACKER:
        return github.adapt(payload, headers, mapping, items)
    return adapter.adapt(payload, headers, mapping)


def verify_signature(tracker: str, body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Whether the raw ``body`` and ``headers`` prove the delivery came from ``tracker``.

    ``body`` must be the bytes as received: re-serialised JSON would not
    match the signature. Raises ``UnknownTracker`` for an unknown tracker.
    """
    return get_adapter(tracker).verify(body, headers, secret)
