"""Which organization (and partition) an event belongs to: the base of the read
side's partitions and of parking a poison event for one organization only."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from projections.organizations import OrganizationOf, partition_of
from tests.builders import ORG, OTHER_ADMIN, OTHER_ORG, World, memory_app


def test_every_event_is_known_by_its_aggregates_first_event() -> None:
    app = memory_app()
    acme, globex = World(app), World(app, OTHER_ADMIN)
    acme.objective(acme.cycle())
    globex.team(managers=["bo"])
    notifications = app.recorder.select_notifications(start=None, limit=1000)
    expected = {}
    for n in notifications:
        event = app.mapper.to_domain_event(n)
        if hasattr(event, "organization_id"):
            expected[event.originator_id] = event.organization_id
    assert set(expected.values()) == {ORG, OTHER_ORG}

    # A fresh resolver (a runner that started mid-log) reads each first event back.
    fresh = OrganizationOf(app)
    for n in notifications:
        assert fresh.of_event(app.mapper.to_domain_event(n)) == expected[n.originator_id]
        assert fresh.of_stored(n) == expected[n.originator_id]


def test_an_aggregate_never_seen_has_no_organization() -> None:
    from uuid import uuid4

    assert OrganizationOf(memory_app()).of_aggregate(uuid4()) is None


@given(st.text(max_size=40), st.integers(min_value=1, max_value=64))
def test_partition_is_in_range_and_stable(organization: str, partitions: int) -> None:
    share = partition_of(organization, partitions)
    assert 0 <= share < partitions
    assert share == partition_of(organization, partitions)
    assert partition_of(None, partitions) == 0


def test_the_generated_historys_organizations_use_both_of_two_shares() -> None:
    """The equality tests of 2 partition runners would prove nothing with one empty."""
    from tests.generated_history import ORGANIZATIONS

    assert {partition_of(org, 2) for org in ORGANIZATIONS} == {0, 1}


def test_partitions_spread_organizations() -> None:
    shares = Counter(partition_of(f"org-{i}", 4) for i in range(400))
    assert set(shares) == {0, 1, 2, 3}
    assert min(shares.values()) > 60
