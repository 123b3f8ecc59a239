"""The demo organization's story, as plain values: who is in which team, the two
cycles' objectives and key results, and what each week's check-ins, notes and
tracker issues say. ``entrypoints/demo/loader.py`` tells it through the real
commands; change the story here, not there.

Weeks count from the cycle's start (week 1 is its first Monday-ish check-in);
a series holds one value per week, ``None`` where nobody checked in that week.
``RANDOM`` draws the status from ``CURRENT_STATUSES`` with the loader's seeded
random generator, in the order the series are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

ORG: Final = "demo"
ADMIN_USER: Final = "olivia"
TRACKER_USER: Final = "tracker-bot"
RANDOM: Final = "random"
CURRENT_STATUSES: Final = ("on_track", "on_track", "on_track", "at_risk", "behind")


@dataclass(frozen=True)
class Team:
    name: str
    parent: str | None
    manager: str
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class KeyResult:
    title: str
    mode: str
    options: dict[str, Any] = field(default_factory=dict)
    """``add_key_result``'s other fields: start, target, unit, weight, assignee, milestones."""


@dataclass(frozen=True)
class Objective:
    title: str
    level: str
    owner_team: str
    key_results: tuple[KeyResult, ...]
    options: dict[str, Any] = field(default_factory=dict)
    """description, owner_user_id, visibility."""
    aligned_to_key_result: str | None = None
    aligned_to_objective: str | None = None


@dataclass(frozen=True)
class Series:
    """One key result's weekly check-ins: values (a milestone count for milestones)."""

    key_result: str
    who: str
    values: tuple[float | None, ...]
    statuses: tuple[str, ...] | str = "on_track"
    confidence: float | None = None


@dataclass(frozen=True)
class Note:
    week: int
    who: str
    objective: str
    topic: str
    text: str


@dataclass(frozen=True)
class Retrospective:
    who: str
    scores: dict[str, float]
    """A score per key result, by title."""
    problems: str
    improvements: str
    next_focus: str


@dataclass(frozen=True)
class LinkedIssue:
    """A tracker issue counted by a key result; it starts moving ``order`` weeks
    after the first, is in progress for three weeks, then done (or cancelled)."""

    tracker: str
    key: str
    estimate: int
    cancelled_from_week: int | None = None


TEAMS: Final = (
    Team("Leadership", None, "olivia", ("erin", "paul")),
    Team("Engineering", None, "erin"),
    Team("Product", None, "paul"),
    Team("Platform", "Engineering", "pat", ("sam", "sue")),
    Team("Mobile", "Engineering", "mia", ("max",)),
    Team("Growth", "Product", "gus", ("gina",)),
)

PEOPLE: Final = {
    "olivia": "Olivia Okafor",
    "erin": "Erin Eriksen",
    "paul": "Paul Park",
    "pat": "Pat Patel",
    "sam": "Sam Stone",
    "sue": "Sue Suzuki",
    "mia": "Mia Moreau",
    "max": "Max Müller",
    "gus": "Gus García",
    "gina": "Gina Gallo",
}
"""Display names in the people directory (SPEC §11); the tracker bot has none, so the
dashboard shows its id."""

# -- the previous cycle: closed, with its retrospective ------------------------

PREVIOUS_OBJECTIVE: Final = Objective(
    "Stabilise on-call",
    "team",
    "Platform",
    (
        KeyResult(
            "Pages per week",
            "numeric",
            {"start": 40, "target": 10, "unit": "pages", "assignee_id": "pat"},
        ),
        KeyResult("Runbooks for every alert", "percentage", {"assignee_id": "sue"}),
        KeyResult(
            "On-call rotation redesigned",
            "milestone",
            {"milestones": ["Survey", "Proposal", "Rollout"], "assignee_id": "sam"},
        ),
    ),
    {"description": "Fewer pages, calmer nights."},
)
PREVIOUS_WEEKS: Final = 11
PREVIOUS_SERIES: Final = (
    Series(
        "Pages per week",
        "pat",
        (37.4, 34.8, 32.2, 29.6, 27.0, 24.4, 21.8, 19.2, 16.6, 14.0, 12.0),
        ("at_risk",) * 3 + ("on_track",) * 8,
        confidence=0.7,
    ),
    Series(
        "Runbooks for every alert",
        "sue",
        (8.5, 17.0, 25.5, 34.0, 42.5, 51.0, 59.5, 68.0, 76.5, 85.0, 93.5),
    ),
    Series("On-call rotation redesigned", "sam", (0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3)),
)
PREVIOUS_APPRAISAL: Final = Note(
    0, "pat", "Stabilise on-call", "appraisal", "Pages halved; the rotation change helped most."
)
PREVIOUS_RETROSPECTIVE: Final = Retrospective(
    "pat",
    {"Pages per week": 0.9},
    "Alert noise from the legacy queue hid real incidents.",
    "Retire the legacy queue; review alerts monthly.",
    "Make the platform fast: latency is the next bottleneck.",
)

# -- the current cycle: in tracking, weeks of history --------------------------

DELIGHT: Final = "Delight customers with a faster product"
PLATFORM: Final = "Make the platform fast and reliable"
MOBILE: Final = "Ship the new mobile onboarding"
GROWTH: Final = "Grow activation"

CURRENT_OBJECTIVES: Final = (
    Objective(
        DELIGHT,
        "organization",
        "Leadership",
        (
            KeyResult(
                "p95 page load",
                "numeric",
                {"start": 3.2, "target": 1.5, "unit": "s", "weight": 2, "assignee_id": "erin"},
            ),
            KeyResult("Teams deliver their quarter", "aligned", {"weight": 2}),
            KeyResult("NPS", "numeric", {"start": 38, "target": 50, "assignee_id": "paul"}),
        ),
        {"description": "Speed is the feature customers ask for most."},
    ),
    Objective(
        PLATFORM,
        "team",
        "Platform",
        (
            KeyResult(
                "Cache hit rate above 90%",
                "percentage",
                {"assignee_id": "sam", "participant_ids": ["sue"]},
            ),
            KeyResult(
                "Services on the new runtime",
                "milestone",
                {"milestones": ["Auth", "Billing", "Search", "Feeds"], "assignee_id": "sue"},
            ),
            KeyResult(
                "Reliability backlog burned down",
                "issues",
                {"assignee_id": "pat", "weight": 2},
            ),
        ),
        aligned_to_key_result="Teams deliver their quarter",
    ),
    Objective(
        MOBILE,
        "team",
        "Mobile",
        (
            KeyResult("Onboarding completion rate", "percentage", {"assignee_id": "mia"}),
            KeyResult(
                "Release milestones",
                "milestone",
                {"milestones": ["Design", "Beta", "GA"], "assignee_id": "max"},
            ),
            KeyResult(
                "Crash-free sessions",
                "numeric",
                {"start": 97, "target": 99.5, "unit": "%", "assignee_id": "max"},
            ),
        ),
        aligned_to_key_result="Teams deliver their quarter",
    ),
    Objective(
        GROWTH,
        "team",
        "Growth",
        (
            KeyResult(
                "Activation rate",
                "numeric",
                {"start": 20, "target": 35, "unit": "%", "assignee_id": "gus"},
            ),
            KeyResult("Experiments shipped", "issues", {"assignee_id": "gina"}),
            KeyResult(
                "Pricing page redesign",
                "milestone",
                {"milestones": ["Research", "Design", "Launch"], "assignee_id": "gina"},
            ),
        ),
        aligned_to_objective=DELIGHT,
    ),
    Objective(
        "Become the team's caching expert",
        "individual",
        "Platform",
        (
            KeyResult("Caching guide written", "percentage", {"assignee_id": "sam"}),
            KeyResult("Talks given", "numeric", {"start": 0, "target": 2, "assignee_id": "sam"}),
            KeyResult(
                "Cache incidents reviewed",
                "milestone",
                {"milestones": ["Collect", "Analyse", "Share"], "assignee_id": "sam"},
            ),
        ),
        {"owner_user_id": "sam"},
        aligned_to_key_result="Cache hit rate above 90%",
    ),
    Objective(
        "Prepare for the senior role",
        "individual",
        "Growth",
        (
            KeyResult(
                "Mentoring sessions", "numeric", {"start": 0, "target": 6, "assignee_id": "gina"}
            ),
            KeyResult("Lead one experiment end to end", "percentage", {"assignee_id": "gina"}),
            KeyResult(
                "Feedback collected",
                "milestone",
                {"milestones": ["Peers", "Manager", "Summary"], "assignee_id": "gina"},
            ),
        ),
        {"owner_user_id": "gina", "visibility": "private"},
        aligned_to_objective=GROWTH,
    ),
)
CURRENT_WEIGHTS: Final = {MOBILE: {"Onboarding completion rate": 2.0}}
LINKED_ISSUES: Final = {
    "Reliability backlog burned down": tuple(
        LinkedIssue("github", f"acme/platform#{n}", e)
        for n, e in ((101, 3), (102, 1), (103, 2), (104, 5), (105, 1))
    ),
    "Experiments shipped": (
        LinkedIssue("jira", "GROW-11", 2),
        LinkedIssue("jira", "GROW-12", 3),
        LinkedIssue("jira", "GROW-13", 1),
        LinkedIssue("jira", "GROW-14", 2, cancelled_from_week=5),
    ),
}
GOAL_SETTING_NOTE: Final = Note(
    0, "pat", PLATFORM, "goal_setting", "Latency first; reliability work rides along."
)
_ON_EVEN_WEEKS: Final = (None, 24.0, None, 48.0, None, 72.0, None, 96.0, None, 100.0, None, 100.0)
CURRENT_SERIES: Final = (
    Series(
        "p95 page load",
        "erin",
        (3.1, 2.99, 2.89, 2.78, 2.68, 2.58, 2.47, 2.37, 2.27, 2.16, 2.06, 1.95, 1.85),
        confidence=0.7,
    ),
    Series(
        "NPS",
        "paul",
        (39, 40, 40, 41, 42, 43, 43, 44, 45, 46, 46, 47, 48),
        RANDOM,
        confidence=0.6,
    ),
    Series(
        "Cache hit rate above 90%",
        "sam",
        (43.5, 46.9, 50.4, 53.8, 57.3, 60.8, 64.2, 67.7, 71.2, 74.6, 78.1, 81.5, 85.0),
        confidence=0.8,
    ),
    Series(
        "Services on the new runtime",
        "sue",
        (0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4),
        ("on_track",) * 3 + ("at_risk",) * 2 + ("on_track",) * 8,
    ),
    Series(
        "Onboarding completion rate",
        "mia",
        (32.7, 35.4, 38.1, 40.8, 43.5, 46.2, 48.8, 51.5, 54.2, 56.9, 59.6, 62.3, 65.0),
        RANDOM,
    ),
    Series("Release milestones", "max", (0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3)),
    Series(
        "Crash-free sessions",
        "max",
        (97.14, 97.28, 97.42, 97.55, 97.69, 97.83, 97.97, 98.11, 98.25, 98.38, 98.52, 98.66, 98.8),
        ("at_risk",) * 6 + ("behind",) * 7,
        confidence=0.4,
    ),
    Series(
        "Activation rate",
        "gus",
        (20.7, 21.4, 22.1, 22.8, 23.5, 24.2, 24.8, 25.5, 26.2, 26.9, 27.6, 28.3, 29.0),
    ),
    Series("Pricing page redesign", "gina", (0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3)),
    Series("Caching guide written", "sam", _ON_EVEN_WEEKS),
    Series(
        "Talks given",
        "sam",
        (None, 0.0, None, 1.0, None, 1.0, None, 2.0, None, 2.0, None, 2.0, None),
    ),
    Series(
        "Mentoring sessions",
        "gina",
        (None, 1.0, None, 2.0, None, 3.0, None, 4.0, None, 5.0, None, 6.0, None),
    ),
)
CURRENT_NOTES: Final = (
    Note(3, "mia", MOBILE, "coaching", "Pair on the beta crash reports with Max."),
    Note(
        5, "gus", "Prepare for the senior role", "career", "Gina leads the pricing experiment next."
    ),
)
