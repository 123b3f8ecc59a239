"""Attacks on erasure and on sealed personal texts (SPEC §11).

- Only an admin of the organization erases: a member and an integration token
  get 403 and erase nothing; another organization's admin erasing the same
  user id erases nothing here.
- A sealed string copied into a request (a note, a title, a check-in note, a
  retrospective) is refused at the door, so nobody can plant another person's
  sealed text where answers would reveal it to them; a forged one (the format
  guessed) is refused the same way.
- The same erasure twice at once: both answer 204, the key is gone.
- A user id past the limit is a clear 422.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.objective import Objective
from domain.personal import ERASED, MARK
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api, Headers

SECRET = "ZED-CAREER-SECRET"


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


@dataclass
class World:
    ada: Headers  # admin of acme
    zed: Headers  # member of acme, the person
    mia: Headers  # another member of acme
    bot: Headers  # acme's integration token
    eve: Headers  # admin of globex
    objective: str
    kr: str
    sealed: str  # zed's note as stored


def build(api: Api) -> World:
    ada, zed, mia = api.token("ada", "admin"), api.token("zed"), api.token("mia")
    bot, eve = api.token("bot", "integration"), api.token("eve", "admin", org="globex")
    api.runtime.people.put("acme", "zed", "Zed", None)
    today = datetime.now(UTC).date()
    cycle = api.post(
        "/cycles",
        ada,
        {
            "name": "Q",
            "start_date": (today - timedelta(days=5)).isoformat(),
            "end_date": (today + timedelta(days=60)).isoformat(),
            "cadence": "quarter",
        },
        201,
    )["id"]
    api.post(f"/cycles/{cycle}/phase", ada, {"phase": "drafting"}, 200)
    draft = {"cycle_id": cycle, "title": "Grow", "level": "individual", "owner_user_id": "zed"}
    objective = api.post("/objectives", zed, draft, 201)["id"]
    kr = api.post(
        f"/objectives/{objective}/key-results", zed, {"title": "KR", "mode": "percentage"}, 201
    )["key_result_id"]
    api.post(f"/cycles/{cycle}/phase", ada, {"phase": "tracking"}, 200)
    api.post(f"/objectives/{objective}/notes", zed, {"topic": "progress", "text": SECRET}, 200)
    notes = [
        e for e in api.runtime.app.events.get(UUID(objective)) if isinstance(e, Objective.NoteAdded)
    ]
    assert notes and notes[0].text.startswith(MARK)  # stored sealed, never as written
    return World(ada, zed, mia, bot, eve, objective, kr, notes[0].text)


def note_texts(api: Api, world: World, who: Headers) -> list[str]:
    notes = api.get(f"/objectives/{world.objective}/notes", who)["notes"]
    return [n["text"] for n in notes]


def test_only_an_admin_of_the_organization_erases(api: Api) -> None:
    world = build(api)
    for who in (world.zed, world.mia, world.bot):
        refused = api.client.delete("/v1/users/zed", headers=who)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
    eve_erases = api.client.delete("/v1/users/zed", headers=world.eve)
    assert eve_erases.status_code == 204  # globex has no zed: nothing to erase there
    assert note_texts(api, world, world.ada) == [SECRET]
    assert api.runtime.people.get("acme", "zed") is not None
    assert api.client.delete("/v1/users/zed").status_code == 401


def test_an_answer_with_a_personal_text_is_not_to_be_cached(api: Api) -> None:
    world = build(api)
    answer = api.client.get(f"/v1/objectives/{world.objective}/notes", headers=world.ada)
    assert SECRET in answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert int(answer.headers["content-length"]) == len(answer.content)


def test_another_organization_sees_nothing_of_the_text(api: Api) -> None:
    world = build(api)
    answer = api.client.get(f"/v1/objectives/{world.objective}/notes", headers=world.eve)
    assert answer.status_code == 404
    assert SECRET not in answer.text


@pytest.mark.parametrize("org", ["globex", "acme", None])
def test_a_sealed_string_echoed_back_opens_only_for_its_own_organization(
    api: Api, org: str | None
) -> None:
    """An error message may echo what the caller sent (an If-Match header, which no body
    rule sees). Eve of globex plants Zed's sealed note there: the echo must not open with
    acme's key. Nor for no one (no token); for acme's own admin it may: the text is hers
    to read anyway."""
    world = build(api)
    headers = {"If-Match": world.sealed}
    if org == "globex":
        headers |= world.eve
    elif org == "acme":
        headers |= world.ada
    answer = api.client.patch(
        f"/v1/objectives/{world.objective}", headers=headers, json={"title": "x"}
    )
    assert 400 <= answer.status_code < 500
    if org == "acme":
        return  # seen in acme's own answers anyway; nothing further to hold
    assert SECRET not in answer.text, answer.text
    page = api.client.get("/dashboard/", headers={"If-Match": world.sealed} | world.eve)
    assert SECRET not in page.text


@pytest.mark.parametrize("where", ["note", "title", "check_in", "retrospective"])
def test_a_sealed_string_in_a_request_is_refused(api: Api, where: str) -> None:
    """Mia pastes Zed's sealed note (as if she had seen it) into her own texts, and a
    forged one: each is refused, so no answer ever reveals Zed's text to her."""
    world = build(api)
    forged = f"{MARK}1:{'ab' * 16}:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    for planted in (world.sealed, f"copied: {world.sealed}", forged):
        path, body, method = {
            "note": (
                f"/objectives/{world.objective}/notes",
                {"topic": "progress", "text": planted},
                "POST",
            ),
            "title": (f"/objectives/{world.objective}", {"title": planted}, "PATCH"),
            "check_in": (
                f"/objectives/{world.objective}/key-results/{world.kr}/check-ins",
                {"percent": 10, "status": "on_track", "note": planted},
                "POST",
            ),
            "retrospective": (
                f"/objectives/{world.objective}/retrospective",
                {"problems": planted},
                "PUT",
            ),
        }[where]
        answer = api.call(method, path, world.zed if where != "note" else world.mia, json=body)
        assert answer.status_code == 422, answer.text
        assert SECRET not in answer.text
    assert note_texts(api, world, world.ada) == [SECRET]


def test_the_same_erasure_twice_at_once(api: Api) -> None:
    world = build(api)
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda _: api.client.delete("/v1/users/zed", headers=world.ada), range(2))
        )
    assert [a.status_code for a in answers] == [204, 204]
    assert note_texts(api, world, world.ada) == [ERASED]
    assert api.runtime.personal_keys.keys([world.sealed.split(":")[2]]) == {}
    assert api.runtime.people.get("acme", "zed") is None


def test_a_user_id_past_the_limit_is_refused(api: Api) -> None:
    world = build(api)
    answer = api.client.delete(f"/v1/users/{'z' * 201}", headers=world.ada)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "validation_error"
    assert api.client.delete(f"/v1/users/{'z' * 200}", headers=world.ada).status_code == 204


def test_writing_after_an_erasure_starts_a_new_key(api: Api) -> None:
    """An erased person who writes again gets a new key: the old texts stay erased."""
    world = build(api)
    assert api.client.delete("/v1/users/zed", headers=world.ada).status_code == 204
    api.post(
        f"/objectives/{world.objective}/notes", world.zed, {"topic": "progress", "text": "new"}
    )
    assert note_texts(api, world, world.ada) == [ERASED, "new"]
