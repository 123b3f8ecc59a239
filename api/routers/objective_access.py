"""What the objective routers share: their error lists and the visible objective."""

from __future__ import annotations

from uuid import UUID

from api.errors import WRITE_ERRORS, ApiError, documented
from commands.actor import Actor
from commands.application import OkrApplication
from commands.authorization import may_see
from domain.objective import Objective

ERRORS = WRITE_ERRORS
READ_ERRORS = documented(401, 404, 422, 503)


def visible_objective(app: OkrApplication, actor: Actor, objective_id: UUID) -> Objective:
    """The current aggregate, if the caller may see it; 404 otherwise (never 403)."""
    objective = app.find(actor, objective_id, Objective)
    if objective is None or not may_see(
        actor, objective, app.team_managers(actor, objective.owner_team_id)
    ):
        raise ApiError(404, f"objective {objective_id} not found")
    return objective
