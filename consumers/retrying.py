"""Trying again: without end for what is away, a bounded number of times for the unexpected.

The consumer never skips a batch because something it writes to is away: it
tries the same write again with exponential backoff (``tenacity``), for as
long as it takes (``until_done``). An unexpected error (a bug, a corrupt
aggregate) is different: trying forever would be a crash loop in slow motion,
so ``within_budget`` tries again only while a ``RetryBudget`` lasts, and then
lets the error through for the caller to dead-letter (SPEC §10). A stop
request ends either wait at once: they then answer ``None`` and the caller
leaves the batch uncommitted, to be consumed again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_never
from tenacity.wait import wait_exponential_jitter

from consumers.store_errors import describe

__all__ = ["RetryBudget", "until_done", "within_budget"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Stopped(Exception):
    """Raised from the wait between two tries when the stop event is set."""


def _with_backoff(
    call: Callable[[], T],
    *,
    stop_event: threading.Event,
    retry_on: Callable[[BaseException], bool],
    failed: Callable[[BaseException, float, int], None],
    first_delay: float,
    max_delay: float,
) -> T | None:
    """The one backoff loop both policies share: ``call()``, tried again after an error
    ``retry_on`` accepts (``failed`` is told it, the delay and the attempt before the
    wait); the delay doubles from ``first_delay`` up to ``max_delay``, with a little
    jitter so that a group of consumers does not retry in step. None if stopped."""

    def wait(seconds: float) -> None:
        if stop_event.wait(seconds):
            raise _Stopped

    def before_wait(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        if error is None:  # pragma: no cover - tenacity waits only after a failure
            return
        delay = state.next_action.sleep if state.next_action is not None else 0.0
        failed(error, delay, state.attempt_number)

    retrying = Retrying(
        retry=retry_if_exception(retry_on),
        wait=wait_exponential_jitter(multiplier=first_delay, max=max_delay, jitter=first_delay / 2),
        stop=stop_never,
        sleep=wait,
        before_sleep=before_wait,
        reraise=True,
    )
    try:
        return retrying(call)
    except _Stopped:
        return None


def until_done(
    call: Callable[[], T],
    *,
    stop_event: threading.Event,
    unavailable: tuple[type[BaseException], ...],
    what: str,
    first_delay: float,
    max_delay: float,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T | None:
    """``call()`` until it stops raising ``unavailable``; None if stopped meanwhile.

    Any other exception propagates from the first try that raises it. ``what``
    names the failure in the log line ("database unavailable"); ``on_retry`` is
    told each failure before the wait.
    """

    def failed(error: BaseException, delay: float, attempt: int) -> None:
        if on_retry is not None:
            on_retry(error)
        log.warning(
            "%s (%s); trying again in %.1f s (attempt %d)", what, describe(error), delay, attempt
        )

    return _with_backoff(
        call,
        stop_event=stop_event,
        retry_on=lambda error: isinstance(error, unavailable),
        failed=failed,
        first_delay=first_delay,
        max_delay=max_delay,
    )


@dataclass
class RetryBudget:
    """The retries left to one piece of work (one organization's share of a batch).

    Shared by every try of that work, the whole group's and then each of its
    messages' alone, so that the time one bad organization can hold the
    consumer is bounded by one budget, not by one budget per message.
    """

    left: int


def within_budget(
    call: Callable[[], T],
    *,
    budget: RetryBudget,
    stop_event: threading.Event,
    retry_on: Callable[[BaseException], bool],
    what: str,
    first_delay: float,
    max_delay: float,
    on_retry: Callable[[BaseException], None] | None = None,
) -> T | None:
    """``call()``, tried again after an error ``retry_on`` accepts while ``budget`` lasts.

    Each retry spends one of ``budget.left``; once none is left, the error
    propagates (as does at once any error ``retry_on`` declines). None if
    stopped during a wait. Backoff as ``until_done``'s; ``on_retry`` is told
    each failure before the wait (after the budget was spent on it).
    """

    def failed(error: BaseException, delay: float, _: int) -> None:
        budget.left -= 1
        if on_retry is not None:
            on_retry(error)
        log.warning(
            "%s (%s); trying again in %.1f s (%d retries left)",
            what,
            describe(error),
            delay,
            budget.left,
        )

    return _with_backoff(
        call,
        stop_event=stop_event,
        retry_on=lambda error: budget.left > 0 and retry_on(error),
        failed=failed,
        first_delay=first_delay,
        max_delay=max_delay,
    )
