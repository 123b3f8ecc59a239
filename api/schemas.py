"""Response shapes shared by every router."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from commands.base import Written


class WriteResult(BaseModel):
    id: UUID
    version: int = Field(description="the aggregate's version after the write")
    position: int = Field(description="log position; pass as ?min_position= to read it back")

    @classmethod
    def of(cls, written: Written) -> WriteResult:
        return cls(id=written.id, version=written.version, position=written.position)
