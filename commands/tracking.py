"""Objective commands of tracking: check-ins, and links to tracker issues."""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands.actor import Actor
from commands.authorization import require_key_result_worker
from commands.base import Written
from commands.messages import CheckIn, LinkIssue, UnlinkIssue
from commands.objective_base import ObjectiveCommandsBase
from domain.cycle import PhaseAction
from domain.issue import Issue, issue_id
from domain.limits import require_room_for_issue_link
from domain.objective import Objective


class TrackingCommands(ObjectiveCommandsBase):
    def check_in(self, actor: Actor, command: CheckIn) -> Written:
        c = command
        key_result_id = str(c.key_result_id)

        def may(actor: Actor, objective: Objective, managers: Collection[str]) -> None:
            require_key_result_worker(actor, objective, key_result_id, managers)

        return self._edit(
            actor,
            c.objective_id,
            PhaseAction.CHECK_IN,
            lambda o, _: o.check_in(
                c.key_result_id,
                percent=c.percent,
                current=c.current,
                milestones_done=c.milestones_done,
                status=c.status,
                confidence=c.confidence,
                note=c.note,
                checked_in_at=self.clock(),
                actor=actor.label,
                seal=self._seal_for(actor),
            ),
            c.expected_version,
            may,
        )

    def link_issue(self, actor: Actor, command: LinkIssue) -> Written:
        """Links both ways in one transaction: the KR lists the issue, the issue its KRs."""
        c = command

        def attempt() -> Written:
            objective = self._issue_link_target(
                actor, c.objective_id, c.key_result_id, c.expected_version
            )
            issue = self.find(actor, issue_id(actor.organization_id, c.tracker, c.issue_key), Issue)
            if issue is None:
                issue = Issue(
                    organization_id=actor.organization_id,
                    tracker=c.tracker,
                    issue_key=c.issue_key,
                    actor=actor.label,
                )
            require_room_for_issue_link(objective)
            objective.link_issue(
                c.key_result_id,
                tracker=c.tracker,
                issue_key=c.issue_key,
                estimate=c.estimate if c.estimate is not None else issue.estimate,
                url=c.url if c.url is not None else issue.url,
                title=c.title if c.title is not None else issue.title,
                status=issue.status,
                actor=actor.label,
            )
            issue.link(objective.id, c.key_result_id, actor=actor.label)
            position = self.record(objective, issue)
            return Written(objective.id, objective.version, position)

        return self.retrying(attempt, c.expected_version)

    def unlink_issue(self, actor: Actor, command: UnlinkIssue) -> Written:
        c = command

        def attempt() -> Written:
            objective = self._issue_link_target(
                actor, c.objective_id, c.key_result_id, c.expected_version
            )
            objective.unlink_issue(
                c.key_result_id, tracker=c.tracker, issue_key=c.issue_key, actor=actor.label
            )
            issue = self.find(actor, issue_id(actor.organization_id, c.tracker, c.issue_key), Issue)
            others: list[Aggregate] = []
            if issue is not None:
                issue.unlink(objective.id, c.key_result_id, actor=actor.label)
                others.append(issue)
            position = self.record(objective, *others)
            return Written(objective.id, objective.version, position)

        return self.retrying(attempt, c.expected_version)

    def _issue_link_target(
        self, actor: Actor, objective_id: UUID, key_result_id: UUID, expected_version: int | None
    ) -> Objective:
        objective = self.load(actor, objective_id, Objective)
        managers = self.team_managers(actor, objective.owner_team_id)
        require_key_result_worker(actor, objective, str(key_result_id), managers)
        self.check_version(objective, expected_version)
        self._cycle_allows(actor, objective.cycle_id, PhaseAction.EDIT_OBJECTIVES)
        return objective
