"""Finds a key result's objective from the KR's id alone, consistently.

``PUT /objectives/{id}/alignment`` names only a ``key_result_id``; to check
tenancy and alignment cycles the write side must know which objective owns
it. A read model would be eventually consistent, so instead every KR gets a
tiny aggregate, saved in the same transaction as the KR itself, whose id is
the KR's id.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event


class Registered(Aggregate.Created):
    """A key result was added: it names its objective (``__init__`` sets the state)."""

    class_version = 1
    key_result_id: UUID
    objective_id: UUID
    organization_id: str
    actor: str


class KeyResultLocator(Aggregate):
    """A key result's objective (its event is stored as ``KeyResultLocator.Registered``)."""

    Registered = Registered

    @staticmethod
    def create_id(key_result_id: UUID, **_: Any) -> UUID:
        return key_result_id

    @event(Registered)
    def __init__(
        self, key_result_id: UUID, objective_id: UUID, organization_id: str, actor: str
    ) -> None:
        self.objective_id = objective_id
        self.organization_id = organization_id
