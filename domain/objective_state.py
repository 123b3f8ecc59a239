"""The versions of an objective's stored state (its snapshots), and how each is upcast.

A snapshot records ``Objective.class_version``; one of an older version is
brought up to date by these functions, in turn, when it is loaded (the
library calls ``Objective.upcast_vN_vN+1``). A snapshot newer than the code,
or one that cannot be upcast, is not read at all: the repository replays the
objective from its events instead (``commands/snapshots.py``).

- 1 → 2: the state held every note; notes live only in their ``NoteAdded``
  events since (SPEC §9, growth of one aggregate).
- 2 → 3: key results in shape 2 (``domain/key_result.py``, ``SHAPE``): no
  ``checked_in`` flag, derived from ``last_check_in_at``.
- 3 → 4: key results in shape 3: a linked issue keeps the estimate given when
  linking (SPEC §16, a cleared estimate falls back to it). A key result whose
  issues cannot say it is not upcast, and the objective is replayed instead.
"""

from __future__ import annotations

from typing import Any, Final

from domain.key_result import KeyResult

STATE_VERSION: Final = 4
"""``Objective.class_version``: the version its snapshots are written in."""


def upcast_v1_v2(state: dict[str, Any]) -> None:
    """A version-1 snapshot carried every note; they are in the NoteAdded events."""
    state.pop("notes", None)


def upcast_v2_v3(state: dict[str, Any]) -> None:
    """Version 3's key results are in shape 2.

    The transcoding decodes each stored key result through ``KeyResult.from_dict``,
    which upcasts its own shape, before this runs; a key result still a plain
    dict here (state built without the transcoding) is read the same way.
    """
    state["key_results"] = {
        key: kr if isinstance(kr, KeyResult) else KeyResult.from_dict(kr)
        for key, kr in state.get("key_results", {}).items()
    }


def upcast_v3_v4(state: dict[str, Any]) -> None:
    """Version 4's key results are in shape 3 (read as in ``upcast_v2_v3``)."""
    upcast_v2_v3(state)
