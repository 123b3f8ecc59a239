"""What an objective does with the tracker issues linked to its key results.

Mixed into ``Objective`` (``domain/objective.py``), which names the event
classes; kept apart so that the aggregate's module stays one screenful of
rules per concern.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.errors import NotFound
from domain.key_result import issue_ref, reported_estimate, validate_link
from domain.objective_readings import ObjectiveReadings
from domain.values import IssueStatus


class LinkedIssues(ObjectiveReadings):
    """Linking, unlinking, and a linked issue's reported status and estimate."""

    if TYPE_CHECKING:  # given by ``Objective`` and the library's ``Aggregate``
        IssueLinked: Any
        IssueUnlinked: Any
        IssueStatusChanged: Any

        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

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
        validate_link(
            kr, tracker=tracker, issue_key=issue_key, estimate=estimate, url=url, title=title
        )
        self.trigger_event(
            self.IssueLinked,
            key_result_id=key_result_id,
            tracker=tracker,
            issue_key=issue_key,
            estimate=None if estimate is None else float(estimate),
            url=url,
            title=title,
            status=status,
            actor=actor,
        )

    def unlink_issue(
        self, key_result_id: UUID, *, tracker: str, issue_key: str, actor: str
    ) -> None:
        self._require_active()
        kr = self._active_key_result(key_result_id)
        if not kr.has_issue(tracker, issue_key):
            raise NotFound(f"issue {tracker}:{issue_key} is not linked to this key result")
        self.trigger_event(
            self.IssueUnlinked,
            key_result_id=key_result_id,
            tracker=tracker,
            issue_key=issue_key,
            actor=actor,
        )

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
        estimate_cleared: bool = False,
    ) -> bool:
        """Moves the KR's view of a linked issue; False when nothing would change."""
        kr = self.key_results.get(str(key_result_id))
        if kr is None or not kr.has_issue(tracker, issue_key):
            return False
        IssueStatus(status)
        linked = kr.issues[issue_ref(tracker, issue_key)]
        new_estimate = reported_estimate(linked, estimate, estimate_cleared)
        if linked["status"] == status and linked["estimate"] == new_estimate:
            return False
        self.trigger_event(
            self.IssueStatusChanged,
            key_result_id=key_result_id,
            tracker=tracker,
            issue_key=issue_key,
            status=status,
            estimate=new_estimate,
            event_id=event_id,
            actor=actor,
        )
        return True
