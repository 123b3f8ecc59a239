"""Private things stay private in derived data, and personal notes stay personal
(SPEC §9), through every reader.

- A progress-history cause never names an objective its reader may not see:
  a private child's id is null there, for the reader only (the stored point
  keeps it: the owner, managers and admins still see it).
- Notes on ``career`` and ``appraisal`` are read only by their author, the
  owner user of an individual objective, managers of the owner team and admins:
  in the notes list, the history, and the dashboard's audit trail. Everyone
  else (another member, an integration token) finds them absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.personal import reveal
from entrypoints.bootstrap import Runtime
from projections.audit import audit_trail
from tests.e2e.test_api_support import Api, Headers

LEO_APPRAISAL = "LEO-APPRAISAL-OF-IVY"
IVY_CAREER = "IVY-CAREER-WISH"
ZOE_PROGRESS = "ZOE-PROGRESS-REMARK"
LEO_TEAM_CAREER = "LEO-CAREER-ON-TEAM-OBJECTIVE"
SECRET_CHILD = "Secret child objective of Ivy"


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


@dataclass
class Org:
    admin: Headers
    max: Headers  # manager of the team
    leo: Headers  # member of the team
    ivy: Headers  # owner of the individual objectives
    zoe: Headers  # another member, in no team
    bot: Headers  # an integration token
    cycle: str
    team_objective: str
    team_kr: str
    ivy_objective: str  # public individual objective of Ivy, owner team: the team
    child: str  # Ivy's private objective aligned to the team objective's KR


def build(api: Api) -> Org:
    admin, max_, leo = api.token("ada", "admin"), api.token("max"), api.token("leo")
    ivy, zoe, bot = api.token("ivy"), api.token("zoe"), api.token("bot", "integration")
    today = datetime.now(UTC).date()
    cycle = api.post(
        "/cycles",
        admin,
        {
            "name": "Q",
            "start_date": (today - timedelta(days=10)).isoformat(),
            "end_date": (today + timedelta(days=80)).isoformat(),
            "cadence": "quarter",
        },
        201,
    )["id"]
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "drafting"}, 200)
    team = api.post("/teams", admin, {"name": "Platform"}, 201)["id"]
    api.post(f"/teams/{team}/members", admin, {"user_id": "max", "role": "manager"}, 200)
    api.post(f"/teams/{team}/members", admin, {"user_id": "leo", "role": "member"}, 200)
    team_objective = api.post(
        "/objectives",
        admin,
        {"cycle_id": cycle, "title": "Team objective", "level": "team", "owner_team_id": team},
        201,
    )["id"]
    team_kr = api.post(
        f"/objectives/{team_objective}/key-results",
        admin,
        {"title": "Children move", "mode": "aligned"},
        201,
    )["key_result_id"]
    ivy_objective = api.post(
        "/objectives",
        ivy,
        {
            "cycle_id": cycle,
            "title": "Ivy's public goal",
            "level": "individual",
            "owner_team_id": team,
            "aligned_to_objective_id": team_objective,
        },
        201,
    )["id"]
    child = api.post(
        "/objectives",
        ivy,
        {
            "cycle_id": cycle,
            "title": SECRET_CHILD,
            "level": "individual",
            "visibility": "private",
            "aligned_to_key_result_id": team_kr,
        },
        201,
    )["id"]
    child_kr = api.post(
        f"/objectives/{child}/key-results", ivy, {"title": "Ship", "mode": "percentage"}, 201
    )["key_result_id"]
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "tracking"}, 200)
    api.post(
        f"/objectives/{child}/key-results/{child_kr}/check-ins",
        ivy,
        {"percent": 50, "status": "on_track"},
        200,
    )
    notes = (
        (leo, ivy_objective, "appraisal", LEO_APPRAISAL),
        (ivy, ivy_objective, "career", IVY_CAREER),
        (zoe, ivy_objective, "progress", ZOE_PROGRESS),
        (leo, team_objective, "career", LEO_TEAM_CAREER),
    )
    for who, objective, topic, text in notes:
        api.post(f"/objectives/{objective}/notes", who, {"topic": topic, "text": text}, 200)
    return Org(
        admin, max_, leo, ivy, zoe, bot, cycle, team_objective, team_kr, ivy_objective, child
    )


# ---------------------------------------------------------------- private causes


def _child_causes(api: Api, who: Headers, objective: str) -> list[str | None]:
    points = api.get(f"/objectives/{objective}/progress-history", who)["points"]
    return [
        p["cause"]["child_objective_id"] for p in points if p["cause"]["type"] == "child_progress"
    ]


def test_a_progress_cause_never_names_a_private_child_to_those_who_may_not_see_it(
    api: Api,
) -> None:
    org = build(api)
    for who in (org.leo, org.zoe, org.bot):
        causes = _child_causes(api, who, org.team_objective)
        assert causes and all(cause is None for cause in causes), causes
        page = api.call("GET", f"/objectives/{org.team_objective}/progress-history", who)
        assert org.child not in page.text
    for who in (org.ivy, org.admin):
        assert org.child in _child_causes(api, who, org.team_objective)


def test_the_dashboard_audit_trail_does_not_name_a_private_child(api: Api) -> None:
    org = build(api)
    api.get(f"/objectives/{org.team_objective}", org.admin)  # caught up
    for who in (org.leo, org.zoe):
        page = api.client.get(f"/dashboard/objectives/{org.team_objective}", headers=who)
        assert page.status_code == 200
        assert org.child not in page.text
        assert SECRET_CHILD not in page.text
        assert "an aligned objective moved" in page.text
    own = api.client.get(f"/dashboard/objectives/{org.team_objective}", headers=org.ivy)
    assert SECRET_CHILD in own.text


# ---------------------------------------------------------------- personal notes


def _readers(org: Org) -> dict[str, tuple[Headers, set[str]]]:
    """Each kind of viewer and the personal notes of Ivy's objective they may read."""
    everything = {LEO_APPRAISAL, IVY_CAREER, ZOE_PROGRESS}
    return {
        "author": (org.leo, {LEO_APPRAISAL, ZOE_PROGRESS}),
        "owner user": (org.ivy, everything),
        "owner-team manager": (org.max, everything),
        "admin": (org.admin, everything),
        "other member": (org.zoe, {ZOE_PROGRESS}),
        "integration token": (org.bot, {ZOE_PROGRESS}),
    }


def _texts(found: list[str]) -> set[str]:
    return {t for t in found if t in (LEO_APPRAISAL, IVY_CAREER, ZOE_PROGRESS, LEO_TEAM_CAREER)}


def test_the_notes_list_answers_personal_notes_only_to_those_they_are_for(api: Api) -> None:
    org = build(api)
    for kind, (who, expected) in _readers(org).items():
        notes = api.get(f"/objectives/{org.ivy_objective}/notes", who)
        assert notes["next_cursor"] is None
        assert _texts([n["text"] for n in notes["notes"]]) == expected, kind
        for note in notes["notes"]:
            assert set(note) == {"id", "topic", "text", "author", "author_name", "occurred_at"}
            UUID(note["id"])
    leo_note = next(
        n
        for n in api.get(f"/objectives/{org.ivy_objective}/notes", org.leo)["notes"]
        if n["text"] == LEO_APPRAISAL
    )
    assert (leo_note["topic"], leo_note["author"]) == ("appraisal", "leo")


def test_history_leaves_out_personal_notes_not_meant_for_the_reader(api: Api) -> None:
    org = build(api)
    for kind, (who, expected) in _readers(org).items():
        events = api.get(f"/objectives/{org.ivy_objective}/history", who)["events"]
        texts = [e["data"].get("text", "") for e in events if e["type"] == "NoteAdded"]
        assert _texts(texts) == expected, kind
        versions = [e["version"] for e in events]
        assert versions == sorted(versions)


def test_the_dashboard_audit_trail_leaves_out_personal_notes_not_meant_for_the_reader(
    api: Api,
) -> None:
    org = build(api)
    api.get(f"/objectives/{org.ivy_objective}", org.admin)  # caught up
    for kind, (who, expected) in _readers(org).items():
        page = api.client.get(f"/dashboard/objectives/{org.ivy_objective}", headers=who)
        assert page.status_code == 200, kind
        shown = {t for t in (LEO_APPRAISAL, IVY_CAREER, ZOE_PROGRESS) if t in page.text}
        assert shown == expected, kind


def test_a_personal_note_on_a_team_objective_is_for_its_author_managers_and_admins(
    api: Api,
) -> None:
    org = build(api)
    allowed = {"leo": org.leo, "max": org.max, "admin": org.admin}
    refused = {"ivy": org.ivy, "zoe": org.zoe, "bot": org.bot}
    path = f"/objectives/{org.team_objective}"
    for name, who in {**allowed, **refused}.items():
        notes = [n["text"] for n in api.get(f"{path}/notes", who)["notes"]]
        history = api.call("GET", f"{path}/history", who).text
        assert (LEO_TEAM_CAREER in notes) == (name in allowed), name
        assert (LEO_TEAM_CAREER in history) == (name in allowed), name


def test_okr_audit_is_an_operators_tool_and_tells_everything(api: Api) -> None:
    """Decision (docs/security-parts/paging.md): ``okr audit`` runs with the database's
    own access, so it prints every note and names every child."""
    org = build(api)
    api.get(f"/objectives/{org.ivy_objective}", org.admin)  # caught up
    runtime = api.runtime
    entries = audit_trail(runtime.app, runtime.store, UUID(org.ivy_objective), viewer=None)
    sealed = " ".join(e.summary for e in entries)
    assert LEO_APPRAISAL not in sealed  # stored sealed; opened as `okr audit` prints it
    summaries = reveal(sealed, runtime.personal_keys, organization_id="acme")
    assert LEO_APPRAISAL in summaries and IVY_CAREER in summaries
    moves = audit_trail(runtime.app, runtime.store, UUID(org.team_objective), viewer=None)
    assert any(org.child in e.summary for e in moves)


def test_the_notes_list_of_an_objective_one_may_not_see_is_404(api: Api) -> None:
    org = build(api)
    api.post(f"/objectives/{org.child}/notes", org.ivy, {"topic": "progress", "text": "x"}, 200)
    eve = api.token("eve", "admin", org="globex")
    for who, objective in ((org.zoe, org.child), (org.bot, org.child), (eve, org.ivy_objective)):
        response = api.call("GET", f"/objectives/{objective}/notes", who)
        assert response.status_code == 404, response.text
        assert "x" not in response.json()["error"]["message"].split()


def test_the_dashboard_does_not_name_a_parent_that_turned_private(api: Api) -> None:
    """Ivy's objective was re-aligned to Max's team objective, which then turned
    private: Zoe still sees Ivy's objective, but its audit trail names no parent."""
    org = build(api)
    path = f"/objectives/{org.ivy_objective}"
    api.put(f"{path}/alignment", org.ivy, {"key_result_id": org.team_kr}, 200)
    api.patch(f"/objectives/{org.team_objective}", org.max, {"visibility": "private"}, 200)
    api.get(path, org.zoe)  # caught up
    page = api.client.get(f"/dashboard{path}", headers=org.zoe)
    assert page.status_code == 200
    assert org.team_kr not in page.text and org.team_objective not in page.text
    assert "aligned to a key result not shown here" in page.text


def test_an_integration_token_reads_no_personal_note_whatever_user_it_names(api: Api) -> None:
    """A token for a program is no person: one made out to Ivy's or Leo's user id
    still reads none of the personal notes meant for Ivy or Leo."""
    org = build(api)
    for user in ("ivy", "leo", "max"):
        bot = api.token(user, "integration")
        notes = api.get(f"/objectives/{org.ivy_objective}/notes", bot)["notes"]
        history = api.call("GET", f"/objectives/{org.ivy_objective}/history", bot).text
        assert _texts([n["text"] for n in notes]) == {ZOE_PROGRESS}, user
        assert LEO_APPRAISAL not in history and IVY_CAREER not in history, user
