"""The recorders' assertion of what a command read (commands/reads.py), at and past
what any command reads: the alignment walk reads at most the depth limit's 100
objectives above (plus the parent, its team, the cycle); here 1,000 aggregates,
on both backends. A change to any one of them refuses the insert, whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from commands.application import OkrApplication
from commands.reads import UNCHANGED, Read, ReadsChanged
from domain.cycle import Cycle
from entrypoints.settings import Settings

READS = 1_000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OkrApplication]:
    if request.param == "sqlite":
        settings = Settings(data_dir=tmp_path, database_url=None)
    else:
        settings = Settings(database_url=request.getfixturevalue("pg_url"), data_dir=tmp_path)
    application = OkrApplication(env=settings.eventsourcing_env())
    try:
        yield application
    finally:
        application.close()


def planned(n: int) -> Cycle:
    return Cycle.plan(
        organization_id="acme",
        name=f"Q{n}",
        start_date=date(2027, 1, 1),
        end_date=date(2027, 3, 31),
        cadence="quarter",
        actor="acme/ada",
    )


def test_a_thousand_reads_are_asserted_and_one_change_among_them_refuses(
    app: OkrApplication,
) -> None:
    read = [planned(n) for n in range(READS)]
    app.save(*read)
    unchanged = {cycle.id: Read(cycle.version) for cycle in read}

    first = planned(READS)
    app.save(first, **{UNCHANGED: unchanged})  # nothing moved: saved
    assert app.repository.get(first.id).version == 1

    moved = app.repository.get(read[READS // 2].id)
    moved.advance_phase("drafting", actor="acme/ada")
    app.save(moved)
    before = app.recorder.max_notification_id()
    refused = planned(READS + 1)
    with pytest.raises(ReadsChanged):
        app.save(refused, **{UNCHANGED: unchanged})
    assert app.recorder.max_notification_id() == before  # nothing of it was written


def test_a_newer_event_of_a_kind_not_relied_on_does_not_refuse(app: OkrApplication) -> None:
    """Relying on one kind of event (an objective's re-alignment) ignores the others."""
    cycle = planned(0)
    app.save(cycle)
    version = cycle.version
    cycle.advance_phase("drafting", actor="acme/ada")
    app.save(cycle)
    other = planned(1)
    app.save(other, **{UNCHANGED: {cycle.id: Read(version, frozenset({"x.y:Z.Other"}))}})
    assert app.repository.get(other.id).version == 1
    with pytest.raises(ReadsChanged):
        app.save(planned(2), **{UNCHANGED: {cycle.id: Read(version)}})
