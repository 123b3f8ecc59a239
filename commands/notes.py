"""Objective commands of communication and review: notes and retrospectives."""

from __future__ import annotations

from commands.actor import Actor
from commands.authorization import require_note_author
from commands.base import Written
from commands.messages import AddNote, RecordRetrospective
from commands.objective_base import ObjectiveCommandsBase
from domain.cycle import PhaseAction


class NoteCommands(ObjectiveCommandsBase):
    def add_note(self, actor: Actor, command: AddNote) -> Written:
        c = command
        return self._edit(
            actor,
            c.objective_id,
            PhaseAction.NOTE,
            lambda o, _: o.add_note(
                topic=c.topic, text=c.text, actor=actor.label, seal=self._seal_for(actor)
            ),
            c.expected_version,
            require_note_author,
        )

    def record_retrospective(self, actor: Actor, command: RecordRetrospective) -> Written:
        c = command
        return self._edit(
            actor,
            c.objective_id,
            PhaseAction.RETROSPECTIVE,
            lambda o, _: o.record_retrospective(
                scores=c.scores or {},
                problems=c.problems,
                improvements=c.improvements,
                next_focus=c.next_focus,
                actor=actor.label,
                seal=self._seal_for(actor),
            ),
            c.expected_version,
        )
