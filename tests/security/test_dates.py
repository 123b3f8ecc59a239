"""SPEC §9 dates: cycles within 1970-01-01..2199-12-31 lasting at most 5 years, ``as_of``
within the same range, and no stored date (even 0001..9999) makes a read answer 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.cycle import Cycle
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api, Headers, assert_error


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


def plan(api: Api, admin: Headers, start: str, end: str) -> int:
    answer = api.call(
        "POST",
        "/cycles",
        admin,
        json={"name": "Q", "start_date": start, "end_date": end, "cadence": "custom"},
    )
    if answer.status_code != 201:
        assert_error(answer, 422)
    return answer.status_code


@pytest.mark.parametrize(
    ("start", "end", "status"),
    [
        ("1970-01-01", "1970-12-31", 201),  # the first day of the calendar
        ("1969-12-31", "1970-06-30", 422),  # a day before it
        ("1900-01-01", "1901-01-01", 422),
        ("2199-01-01", "2199-12-31", 201),  # the last day of the calendar
        ("2199-06-01", "2200-01-01", 422),  # a day after it
        ("2300-01-01", "2300-06-30", 422),
        ("0001-01-01", "9999-12-31", 422),
        ("2026-01-01", "2030-12-31", 201),  # exactly five years (the end day counts)
        ("2026-01-01", "2031-01-01", 422),  # five years and one day
        ("2024-02-29", "2029-02-28", 201),  # from 29 February: up to the day before 1 March
        ("2024-02-29", "2029-03-01", 422),
        ("2195-01-01", "2199-12-31", 201),  # five years ending on the last day
        ("2026-03-01", "2026-03-01", 422),  # not before its end
        ("2026-03-02", "2026-03-01", 422),
    ],
)
def test_cycle_dates_at_and_past_every_limit(api: Api, start: str, end: str, status: int) -> None:
    admin = api.token("ada", "admin")
    assert plan(api, admin, start, end) == status


def test_dates_no_calendar_knows_are_refused_in_the_error_shape(api: Api) -> None:
    admin = api.token("ada", "admin")
    for start, end in (("10000-01-01", "10000-02-01"), ("0000-01-01", "2026-01-01")):
        answer = api.call(
            "POST",
            "/cycles",
            admin,
            json={"name": "Q", "start_date": start, "end_date": end, "cadence": "custom"},
        )
        assert_error(answer, 422)


def test_the_five_year_rule_has_one_home() -> None:
    from domain.cycle import latest_end_date

    assert latest_end_date(date(2026, 1, 1)) == date(2030, 12, 31)
    assert latest_end_date(date(2024, 2, 29)) == date(2029, 2, 28)
    assert latest_end_date(date(2026, 7, 15)) == date(2031, 7, 14)


def _objective(api: Api, admin: Headers, cycle: str) -> tuple[str, str]:
    team = api.post("/teams", admin, {"name": "Platform"}, 201)["id"]
    for phase in ("drafting", "tracking"):
        api.post(f"/cycles/{cycle}/phase", admin, {"phase": phase}, 200)
    objective = api.post(
        "/objectives",
        admin,
        {"cycle_id": cycle, "title": "O", "level": "team", "owner_team_id": team},
        201,
    )["id"]
    kr = api.post(
        f"/objectives/{objective}/key-results", admin, {"title": "P", "mode": "percentage"}, 201
    )["key_result_id"]
    api.post(
        f"/objectives/{objective}/key-results/{kr}/check-ins",
        admin,
        {"percent": 40, "status": "on_track"},
        200,
    )
    return team, objective


@pytest.mark.parametrize(
    ("moment", "refused"),
    [
        ("1969-12-31T23:59:59Z", True),
        ("1970-01-01T00:00:00Z", False),
        ("2199-12-31T23:59:59Z", False),
        ("2200-01-01T00:00:00Z", True),
        ("2199-12-31T23:00:00-02:00", True),  # 2200-01-01 in UTC
        ("0001-01-01T00:00:00Z", True),
        ("0001-01-01T00:30:00+01:00", True),  # before year 1 in UTC
        ("9999-12-31T23:59:59-01:00", True),  # after year 9999 in UTC
        ("9999-12-31T23:59:59", True),
    ],
)
def test_as_of_outside_the_calendar_is_422(api: Api, moment: str, refused: bool) -> None:
    admin = api.token("ada", "admin")
    cycle = api.post(
        "/cycles",
        admin,
        {"name": "Q", "start_date": "2026-01-01", "end_date": "2026-12-31", "cadence": "year"},
        201,
    )["id"]
    _, objective = _objective(api, admin, cycle)
    answer = api.call("GET", f"/objectives/{objective}", admin, params={"as_of": moment})
    if refused:
        assert_error(answer, 422)
    else:
        assert answer.status_code in (200, 404), answer.text  # 404: it did not exist yet


def test_a_stored_cycle_from_year_1_to_9999_never_makes_a_read_fail(api: Api) -> None:
    """Written past the new rule (as an older version or an import could have)."""
    admin = api.token("ada", "admin")
    forever = Cycle(
        organization_id="acme",
        name="Forever",
        start_date=date(1, 1, 1),
        end_date=date(9999, 12, 31),
        cadence="custom",
        actor="ada",
    )
    written = api.runtime.app.create(forever)
    api.position = max(api.position, written.position)
    cycle = str(forever.id)
    team, objective = _objective(api, admin, cycle)

    now = datetime.now(UTC).isoformat()
    reads = [
        "/cycles",
        f"/cycles/{cycle}",
        f"/cycles/{cycle}/tree",
        f"/cycles/{cycle}/tree?team_id={team}",
        f"/cycles/{cycle}/dashboard",
        f"/cycles/{cycle}/dashboard?team_id={team}",
        f"/cycles/{cycle}/review",
        f"/objectives/{objective}",
        f"/objectives/{objective}?version=1",
        f"/objectives/{objective}?as_of={now}",
        f"/objectives/{objective}/history",
        f"/objectives/{objective}/progress-history",
    ]
    for path in reads:
        answer = api.call("GET", path, admin)
        assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text}"
    pace = api.get(f"/objectives/{objective}", admin)["expected_progress"]
    assert 0.0 < pace < 1.0
    for page in ("/dashboard", f"/dashboard/cycles/{cycle}", f"/dashboard/objectives/{objective}"):
        answer = api.client.get(page, headers=admin, follow_redirects=True)
        assert answer.status_code == 200, f"{page}: {answer.status_code} {answer.text[-500:]}"
