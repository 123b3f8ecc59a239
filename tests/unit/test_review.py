"""Unit tests for the drafting review in ``domain.review``."""

from __future__ import annotations

import pytest

from domain.review import (
    NEAR_DUPLICATE_THRESHOLD,
    ReviewKeyResult,
    ReviewObjective,
    ReviewWarning,
    drafting_review,
    normalise_title,
    title_similarity,
)
from domain.values import Level, ProgressMode


def kr(
    id: str,
    mode: ProgressMode = ProgressMode.PERCENTAGE,
    weight: float = 1.0,
    target: float | None = None,
) -> ReviewKeyResult:
    return ReviewKeyResult(id=id, mode=mode, weight=weight, target=target)


def krs(n: int, weight: float = 1.0) -> tuple[ReviewKeyResult, ...]:
    return tuple(kr(f"kr{i}", weight=weight) for i in range(n))


def objective(
    id: str = "o1",
    title: str = "Delight our customers",
    level: Level = Level.ORGANIZATION,
    aligned: bool = False,
    key_results: tuple[ReviewKeyResult, ...] | None = None,
) -> ReviewObjective:
    return ReviewObjective(
        id=id,
        title=title,
        level=level,
        aligned=aligned,
        key_results=krs(3) if key_results is None else key_results,
    )


def codes(warnings: list[ReviewWarning]) -> list[str]:
    return [w.code for w in warnings]


def test_a_well_formed_draft_has_no_warnings() -> None:
    assert drafting_review([objective()]) == []
    assert drafting_review([]) == []


# --- number of key results ---------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 2])
def test_too_few_key_results(count: int) -> None:
    warnings = drafting_review([objective(key_results=krs(count))])
    assert codes(warnings) == ["too_few_key_results"]
    assert warnings[0].objective_id == "o1"


@pytest.mark.parametrize("count", [3, 4, 5])
def test_three_to_five_key_results_are_fine(count: int) -> None:
    warnings = drafting_review([objective(key_results=krs(count))])
    assert "too_few_key_results" not in codes(warnings)
    assert "too_many_key_results" not in codes(warnings)


@pytest.mark.parametrize("count", [6, 9])
def test_too_many_key_results(count: int) -> None:
    warnings = drafting_review([objective(key_results=krs(count))])
    assert codes(warnings) == ["too_many_key_results"]
    assert warnings[0].objective_id == "o1"


# --- alignment ---------------------------------------------------------------


@pytest.mark.parametrize("level", [Level.TEAM, Level.INDIVIDUAL])
def test_team_and_individual_objectives_without_alignment_warn(level: Level) -> None:
    warnings = drafting_review([objective(level=level, aligned=False)])
    assert codes(warnings) == ["not_aligned"]
    assert warnings[0].objective_id == "o1"


@pytest.mark.parametrize("level", [Level.TEAM, Level.INDIVIDUAL])
def test_aligned_team_and_individual_objectives_are_fine(level: Level) -> None:
    assert drafting_review([objective(level=level, aligned=True)]) == []


def test_organization_objectives_need_no_alignment() -> None:
    assert drafting_review([objective(level=Level.ORGANIZATION, aligned=False)]) == []


# --- numeric target ------------------------------------------------------------


def test_numeric_key_result_without_target_warns_per_key_result() -> None:
    key_results = (
        kr("a", ProgressMode.NUMERIC, target=None),
        kr("b", ProgressMode.NUMERIC, target=100.0),
        kr("c", ProgressMode.NUMERIC, target=None),
    )
    warnings = drafting_review([objective(key_results=key_results)])
    assert codes(warnings) == ["numeric_without_target", "numeric_without_target"]
    assert [w.key_result_id for w in warnings] == ["a", "c"]
    assert {w.objective_id for w in warnings} == {"o1"}


def test_numeric_key_result_with_target_and_other_modes_without_target_are_fine() -> None:
    key_results = (
        kr("a", ProgressMode.NUMERIC, target=0.0),  # 0 is a target, not a missing one
        kr("b", ProgressMode.PERCENTAGE, target=None),
        kr("c", ProgressMode.MILESTONE, target=None),
    )
    assert drafting_review([objective(key_results=key_results)]) == []


# --- weights ---------------------------------------------------------------------


def test_all_weights_zero_warns() -> None:
    warnings = drafting_review([objective(key_results=krs(3, weight=0.0))])
    assert codes(warnings) == ["all_weights_zero"]
    assert warnings[0].objective_id == "o1"


def test_some_weights_zero_is_fine() -> None:
    key_results = (kr("a", weight=0.0), kr("b", weight=0.0), kr("c", weight=0.5))
    assert drafting_review([objective(key_results=key_results)]) == []


def test_no_key_results_is_not_all_weights_zero() -> None:
    assert "all_weights_zero" not in codes(drafting_review([objective(key_results=())]))


# --- near-duplicate titles -----------------------------------------------------


def test_near_duplicate_titles_warn_on_the_first_objective() -> None:
    first = objective("o1", "Grow revenue in EMEA")
    second = objective("o2", "Grow revenue in EMEA!")
    warnings = drafting_review([first, second])
    assert codes(warnings) == ["near_duplicate_title"]
    assert warnings[0].objective_id == "o1"
    assert warnings[0].other_objective_id == "o2"


def test_distinct_titles_are_fine() -> None:
    first = objective("o1", "Grow revenue in EMEA")
    second = objective("o2", "Hire a data platform team")
    assert drafting_review([first, second]) == []


def test_normalisation_ignores_case_punctuation_width_and_spacing() -> None:
    assert normalise_title("  Grow,   REVENUE!  ") == "grow revenue"
    full_width = "\uff27\uff32\uff2f\uff37 revenue"  # "GROW" in full-width letters
    assert normalise_title(full_width) == "grow revenue"
    assert normalise_title("Straße") == normalise_title("STRASSE")
    assert title_similarity("Don't ship bugs", "dont SHIP   bugs.") == 1.0


def test_similarity_exactly_at_the_threshold_is_a_near_duplicate() -> None:
    # 17 of 20 characters match: 2 * 17 / 40 == 0.85.
    a, b = "abcdefghijklmnopqrst", "abcdefghijklmnopqxyz"
    assert title_similarity(a, b) == NEAR_DUPLICATE_THRESHOLD == 0.85
    warnings = drafting_review([objective("o1", a), objective("o2", b)])
    assert codes(warnings) == ["near_duplicate_title"]


def test_similarity_just_below_the_threshold_is_not_a_near_duplicate() -> None:
    # 28 of 33 characters match: 2 * 28 / 66 ≈ 0.848.
    a = "abcdefghijklmnopqrstuvwxyzab" + "cdefg"
    b = "abcdefghijklmnopqrstuvwxyzab" + "VWXYZ"
    assert 0.84 < title_similarity(a, b) < NEAR_DUPLICATE_THRESHOLD
    assert drafting_review([objective("o1", a), objective("o2", b)]) == []


def test_similarity_is_symmetric() -> None:
    a, b = "Reduce churn to 2 %", "Reduce the churn rate"
    assert title_similarity(a, b) == title_similarity(b, a)


def test_near_duplicates_are_reported_once_per_pair() -> None:
    objectives = [
        objective("o1", "Grow revenue in EMEA"),
        objective("o2", "Hire a data platform team"),
        objective("o3", "grow revenue in emea"),
        objective("o4", "Grow revenue in EMEA."),
    ]
    warnings = drafting_review(objectives)
    pairs = [(w.objective_id, w.other_objective_id) for w in warnings]
    assert pairs == [("o1", "o3"), ("o1", "o4"), ("o3", "o4")]
    assert set(codes(warnings)) == {"near_duplicate_title"}


# --- combination and order -------------------------------------------------------


def test_warnings_come_in_a_deterministic_order() -> None:
    objectives = [
        objective(
            "o1",
            "Grow revenue",
            level=Level.TEAM,
            key_results=(kr("a", ProgressMode.NUMERIC, weight=0.0),),
        ),
        objective("o2", "Grow revenue!", key_results=krs(6)),
    ]
    warnings = drafting_review(objectives)
    assert [(w.code, w.objective_id) for w in warnings] == [
        ("too_few_key_results", "o1"),
        ("not_aligned", "o1"),
        ("all_weights_zero", "o1"),
        ("numeric_without_target", "o1"),
        ("near_duplicate_title", "o1"),
        ("too_many_key_results", "o2"),
    ]
    assert drafting_review(objectives) == warnings
    assert all(w.message for w in warnings)
