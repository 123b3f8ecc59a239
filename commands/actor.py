"""Who is acting: the organization, user and token role behind a command.

Every command and query takes an ``Actor``; tenant isolation and the "who may"
rules of SPEC §7 start from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.values import TokenRole


@dataclass(frozen=True)
class Actor:
    organization_id: str
    user_id: str
    role: TokenRole

    @property
    def is_admin(self) -> bool:
        return self.role is TokenRole.ADMIN

    @property
    def label(self) -> str:
        """What events record as ``actor``: unique across organizations."""
        return self.user_id
