"""Erasure of a person (the right to be forgotten, SPEC §11), for the API and the CLI.

What it removes, in this order:

1. the person's key (``projections/personal_keys.py``): from that moment every
   text they wrote reads ``[erased]`` wherever it is stored, sealed (events,
   snapshots, read models, caches), in every process, since none caches keys;
2. their directory entry (``api/people.py``), scrubbed like the key;
3. personal texts they wrote before texts were sealed (legacy plaintext in
   stored events, snapshots and read models), rewritten to ``[erased]``
   (``api/legacy_erasure.py``).

The pseudonymous user id stays in the events (``actor``): history, time travel
and every formula keep working. Erasing is idempotent, and erasing a user id
another organization also has touches only the caller's organization.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.legacy_erasure import erase_legacy_texts
from api.ports import Runtime
from projections.personal_keys import scrub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Erased:
    """What one erasure found to delete (all False: nothing, or erased before)."""

    key: bool
    directory_entry: bool
    legacy_events: int  # events whose plaintext personal fields were rewritten


def erase_person(runtime: Runtime, organization_id: str, user_id: str) -> Erased:
    key = runtime.personal_keys.forget(organization_id, user_id)
    entry = runtime.people.forget(organization_id, user_id)
    scrub(runtime.store, "okr_people", small=True)
    legacy = erase_legacy_texts(runtime.app, runtime.store, organization_id, user_id)
    if legacy:
        # This process's read models forget the aggregates they hold; other processes
        # (API workers, `okr project` runners) hold theirs until restarted (docs/privacy.md).
        runtime.follower.stale.set()
        log.warning(
            "erasure rewrote %d stored event(s) of legacy plaintext: restart the other"
            " API workers and projection runners so no cached copy is written back",
            legacy,
        )
    return Erased(key=key, directory_entry=entry, legacy_events=legacy)
