"""Drafting review of SPEC §2: advice on a cycle's draft OKRs, never a refusal.

This module owns the drafting-review rules and the title similarity used to
spot near-duplicate objectives. It works on small frozen snapshots
(``ReviewObjective``/``ReviewKeyResult``) rather than aggregates, so the
command side, a projection or time travel can all run the same review over
whatever state they hold. Every finding is a ``ReviewWarning``; nothing here
raises for a questionable draft, because drafting is where OKRs are allowed
to be unfinished.

The caller passes the non-archived objectives of one cycle and one
organization, each with its non-archived key results.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from domain.values import Level, ProgressMode

__all__ = [
    "MAX_KEY_RESULTS",
    "MIN_KEY_RESULTS",
    "NEAR_DUPLICATE_THRESHOLD",
    "ReviewKeyResult",
    "ReviewObjective",
    "ReviewWarning",
    "drafting_review",
    "normalise_title",
    "title_similarity",
]

# The seed's rule of thumb: three to five key results per objective.
MIN_KEY_RESULTS = 3
MAX_KEY_RESULTS = 5

# Titles at or above this similarity are reported as near-duplicates (SPEC §2).
NEAR_DUPLICATE_THRESHOLD = 0.85

# Warning codes, in the order they are reported within one objective.
TOO_FEW_KEY_RESULTS = "too_few_key_results"
TOO_MANY_KEY_RESULTS = "too_many_key_results"
NOT_ALIGNED = "not_aligned"
ALL_WEIGHTS_ZERO = "all_weights_zero"
NUMERIC_WITHOUT_TARGET = "numeric_without_target"
NEAR_DUPLICATE_TITLE = "near_duplicate_title"


@dataclass(frozen=True)
class ReviewKeyResult:
    """What the review needs to know about one non-archived key result."""

    id: str
    mode: ProgressMode
    weight: float
    target: float | None


@dataclass(frozen=True)
class ReviewObjective:
    """What the review needs to know about one non-archived objective.

    ``aligned`` is true when the objective is aligned to a parent objective
    or to a key result of another objective.
    """

    id: str
    title: str
    level: Level
    aligned: bool
    key_results: tuple[ReviewKeyResult, ...]


@dataclass(frozen=True)
class ReviewWarning:
    """One piece of drafting advice about an objective.

    ``key_result_id`` names the key result concerned, if any;
    ``other_objective_id`` names the other objective of a near-duplicate pair.
    """

    code: str
    objective_id: str
    message: str
    key_result_id: str | None = None
    other_objective_id: str | None = None


_WHITESPACE = re.compile(r"\s+")


def normalise_title(title: str) -> str:
    """The form of a title that near-duplicate detection compares.

    Unicode NFKC (so full-width and ligature forms match their plain
    letters), casefold, punctuation removed (Unicode category P*; removed
    rather than replaced by a space, so "don't" matches "dont"), whitespace
    collapsed to single spaces and trimmed. NFKC is applied again after
    casefolding because casefolding can produce unnormalised sequences.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", title).casefold())
    without_punctuation = "".join(
        char for char in folded if not unicodedata.category(char).startswith("P")
    )
    return _WHITESPACE.sub(" ", without_punctuation).strip()


def title_similarity(a: str, b: str) -> float:
    """Similarity of two titles in [0, 1]: difflib's ratio of their normalised forms.

    ``SequenceMatcher.ratio`` can depend on argument order, and its
    "autojunk" heuristic ignores frequent characters in long strings; the
    pair is therefore put in a fixed order and autojunk is off, so the
    result is symmetric and does not change with title length.
    Two titles that both normalise to "" are identical (1.0).
    """
    return _normalised_similarity(normalise_title(a), normalise_title(b))


def _normalised_similarity(a: str, b: str) -> float:
    """The similarity ratio of two already normalised titles (see ``title_similarity``)."""
    first, second = sorted((a, b))
    return difflib.SequenceMatcher(None, first, second, autojunk=False).ratio()


def _objective_warnings(objective: ReviewObjective) -> list[ReviewWarning]:
    """Warnings about one objective on its own, in a fixed code order."""
    warnings: list[ReviewWarning] = []
    count = len(objective.key_results)
    if count < MIN_KEY_RESULTS:
        warnings.append(
            ReviewWarning(
                code=TOO_FEW_KEY_RESULTS,
                objective_id=objective.id,
                message=(
                    f"objective has {count} key result(s); "
                    f"at least {MIN_KEY_RESULTS} are recommended"
                ),
            )
        )
    if count > MAX_KEY_RESULTS:
        warnings.append(
            ReviewWarning(
                code=TOO_MANY_KEY_RESULTS,
                objective_id=objective.id,
                message=(
                    f"objective has {count} key results; at most {MAX_KEY_RESULTS} are recommended"
                ),
            )
        )
    # Organization objectives are the top of the tree: nothing to align to.
    if objective.level is not Level.ORGANIZATION and not objective.aligned:
        warnings.append(
            ReviewWarning(
                code=NOT_ALIGNED,
                objective_id=objective.id,
                message=(
                    f"{objective.level} objective is not aligned to a parent "
                    "objective or key result"
                ),
            )
        )
    # With no KRs there are no weights to be zero; too_few already covers it.
    if objective.key_results and all(kr.weight == 0 for kr in objective.key_results):
        warnings.append(
            ReviewWarning(
                code=ALL_WEIGHTS_ZERO,
                objective_id=objective.id,
                message="every key result has weight 0; progress falls back to the plain mean",
            )
        )
    for kr in objective.key_results:
        if kr.mode is ProgressMode.NUMERIC and kr.target is None:
            warnings.append(
                ReviewWarning(
                    code=NUMERIC_WITHOUT_TARGET,
                    objective_id=objective.id,
                    key_result_id=kr.id,
                    message="numeric key result has no target yet; its progress stays 0",
                )
            )
    return warnings


def drafting_review(objectives: Sequence[ReviewObjective]) -> list[ReviewWarning]:
    """All drafting warnings for one cycle's objectives, deterministically ordered.

    Order: objectives in input order; within one objective, its own warnings
    (too_few/too_many, not_aligned, all_weights_zero, then
    numeric_without_target per key result in input order) followed by its
    near-duplicate warnings. A near-duplicate pair is reported once, on the
    objective that comes first in the input, naming the other in
    ``other_objective_id``, in the other objectives' input order.
    """
    normalised = [normalise_title(objective.title) for objective in objectives]
    warnings: list[ReviewWarning] = []
    for index, objective in enumerate(objectives):
        warnings.extend(_objective_warnings(objective))
        for later_index in range(index + 1, len(objectives)):
            other = objectives[later_index]
            # Titles are normalised once up front; the pairwise loop is O(n²).
            similarity = _normalised_similarity(normalised[index], normalised[later_index])
            if similarity >= NEAR_DUPLICATE_THRESHOLD:
                warnings.append(
                    ReviewWarning(
                        code=NEAR_DUPLICATE_TITLE,
                        objective_id=objective.id,
                        other_objective_id=other.id,
                        message=(
                            f"title is {similarity:.0%} similar to objective {other.id} "
                            f"({other.title!r})"
                        ),
                    )
                )
    return warnings
