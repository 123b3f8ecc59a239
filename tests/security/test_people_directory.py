"""Attacks on the people directory (SPEC §11, §9): ``PUT/GET /v1/users``.

Another organization's entries are never seen (not listed, 404 by id, never
a name in any read, progress history's causes included); only an admin
writes; an integration token reads nothing of it; e-mail addresses only for
admins and the person; bodies far too big are 413; every value at its limit
passes and one past it is 422; two puts at once end with one of them whole; a
full directory takes no new entry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.person import DISPLAY_NAME_LIMIT, EMAIL_LIMIT, EMAIL_LOCAL_LIMIT, USER_ID_LIMIT
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api, assert_error
from tests.e2e.test_people_names import reads, scene


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


def put(api: Api, user: str, who: dict[str, str], body: Any) -> Any:
    return api.call("PUT", f"/users/{user}", who, json=body)


# ---------------------------------------------------------------- organizations


def test_another_organizations_entries_are_never_seen(api: Api) -> None:
    ada, eve = api.token("ada", "admin"), api.token("eve", "admin", org="globex")
    api.put("/users/leo", ada, {"display_name": "Leo of Acme"}, 200)
    api.put("/users/leo", eve, {"display_name": "Leo of Globex"}, 200)
    api.put("/users/gus", eve, {"display_name": "Gus of Globex", "email": "gus@globex.example"})

    assert api.get("/users/leo", ada)["display_name"] == "Leo of Acme"
    assert api.get("/users/leo", eve)["display_name"] == "Leo of Globex"
    assert_error(api.call("GET", "/users/gus", ada), 404, "not_found")
    listed = api.get("/users", ada)["people"]
    assert [p["user_id"] for p in listed] == ["leo"]
    assert "Globex" not in api.call("GET", "/users", ada).text

    # A read in acme naming "gus" or "leo" shows acme's directory only.
    team = api.post("/teams", ada, {"name": "T"}, 201)["id"]
    api.post(f"/teams/{team}/members", ada, {"user_id": "gus", "role": "member"}, 200)
    api.post(f"/teams/{team}/members", ada, {"user_id": "leo", "role": "member"}, 200)
    members = {m["user_id"]: m["display_name"] for m in api.get(f"/teams/{team}", ada)["members"]}
    assert members == {"gus": None, "leo": "Leo of Acme"}

    # A cursor of globex's directory is refused in acme's.
    for user in ("a", "b"):
        api.put(f"/users/{user}", eve, {"display_name": user}, 200)
    cursor = api.get("/users", eve, limit=1)["next_cursor"]
    assert cursor is not None
    assert_error(api.call("GET", "/users", ada, params={"cursor": cursor}), 422)


def test_every_read_names_from_its_own_organizations_directory(api: Api) -> None:
    """Objective, time travel, tree, history, progress history, notes, teams: a
    person with an entry in globex only is named nowhere in acme."""
    s = scene(api)  # acme: olive owns, leo is assigned, checks in and writes a note
    eve = api.token("eve", "admin", org="globex")
    for user in ("olive", "leo", "max", "ada"):
        api.put(f"/users/{user}", eve, {"display_name": f"{user} of Globex"}, 200)
    found = reads(api, s)
    assert not any("Globex" in repr(value) for value in found.values()), found
    points = api.call("GET", f"/objectives/{s.objective}/progress-history", s.leo).text
    assert "Globex" not in points and '"actor_name":null' in points


# ---------------------------------------------------------------- roles


def test_only_an_admin_writes_and_an_integration_token_reads_nothing(api: Api) -> None:
    ada, mo, ci = api.token("ada", "admin"), api.token("mo"), api.token("ci", "integration")
    api.put("/users/mo", ada, {"display_name": "Mo", "email": "mo@example.org"}, 200)
    for who in (mo, ci):
        for user in ("mo", "someone"):
            assert_error(put(api, user, who, {"display_name": "Hijacked"}), 403, "forbidden")
    assert api.get("/users/mo", ada)["display_name"] == "Mo", "nothing changed"
    assert_error(api.call("GET", "/users", ci), 403, "forbidden")
    assert_error(api.call("GET", "/users/mo", ci), 403, "forbidden")
    for path in ("/users", "/users/mo"):
        assert_error(api.client.get(f"/v1{path}"), 401, "unauthorized")
    assert_error(api.client.put("/v1/users/mo", json={"display_name": "x"}), 401)
    # A 403 comes before the body is looked at: a bad body from a member is still 403.
    for body in ({"display_name": ""}, {"display_name": 42}, {"unknown": True}):
        assert_error(put(api, "mo", mo, body), 403)


def test_e_mail_addresses_only_for_admins_and_the_person(api: Api) -> None:
    ada, mo, leo = api.token("ada", "admin"), api.token("mo"), api.token("leo")
    api.put("/users/mo", ada, {"display_name": "Mo", "email": "mo@example.org"}, 200)
    api.put("/users/leo", ada, {"display_name": "Leo", "email": "leo@example.org"}, 200)
    assert api.get("/users/mo", mo)["email"] == "mo@example.org"
    assert api.get("/users/mo", leo)["email"] is None
    assert api.get("/users/mo", ada)["email"] == "mo@example.org"
    emails = {p["user_id"]: p["email"] for p in api.get("/users", leo)["people"]}
    assert emails == {"leo": "leo@example.org", "mo": None}
    assert "mo@example.org" not in api.call("GET", "/users", leo).text


# ---------------------------------------------------------------- bodies and limits


def test_a_body_far_too_big_is_refused_before_anything_is_kept(api: Api) -> None:
    ada = api.token("ada", "admin")
    huge = {"display_name": "x" * (2 * 1024 * 1024)}
    assert_error(put(api, "leo", ada, huge), 413)
    assert_error(api.call("GET", "/users/leo", ada), 404)


def test_values_at_their_limits_pass_and_past_them_are_refused(api: Api) -> None:
    ada = api.token("ada", "admin")
    longest_id = "u" * USER_ID_LIMIT
    longest_name = "N" * DISPLAY_NAME_LIMIT
    domain = "d" * (EMAIL_LIMIT - EMAIL_LOCAL_LIMIT - 1 - 4) + ".org"
    longest_email = "l" * EMAIL_LOCAL_LIMIT + "@" + domain
    assert len(longest_email) == EMAIL_LIMIT
    body = {"display_name": f"  {longest_name}\t", "email": longest_email}
    written = api.put(f"/users/{longest_id}", ada, body, 200)
    assert written["display_name"] == longest_name, "trimmed, then counted"
    assert written["email"] == longest_email
    assert api.get(f"/users/{longest_id}", ada)["user_id"] == longest_id

    refused: list[tuple[str, Any]] = [
        ("leo", {"display_name": "N" * (DISPLAY_NAME_LIMIT + 1)}),
        ("leo", {"display_name": ""}),
        ("leo", {"display_name": "   "}),
        ("leo", {"display_name": "Leo\nSmith"}),
        ("leo", {"display_name": "Leo\x07"}),
        ("leo", {"display_name": "Leo\x9b"}),  # C1 control
        ("leo", {"display_name": "Leo\u2028Smith"}),  # line separator
        ("leo", {"display_name": "\u202eoeL"}),  # right-to-left override
        ("leo", {"display_name": "Leo\u0000"}),
        ("leo", {"display_name": 42}),
        ("leo", {"display_name": None}),
        ("leo", {}),
        ("leo", {"display_name": "Leo", "role": "admin"}),  # unknown field
        ("leo", {"display_name": "Leo", "email": "x" + longest_email}),
        ("leo", {"display_name": "Leo", "email": "l" * (EMAIL_LOCAL_LIMIT + 1) + "@e.org"}),
        ("leo", {"display_name": "Leo", "email": ""}),
        ("leo", {"display_name": "Leo", "email": "leo"}),
        ("leo", {"display_name": "Leo", "email": "leo@localhost"}),
        ("leo", {"display_name": "Leo", "email": "le o@example.org"}),
        ("leo", {"display_name": "Leo", "email": "leo@@example.org"}),
        ("leo", {"display_name": "Leo", "email": ["leo@example.org"]}),
        ("u" * (USER_ID_LIMIT + 1), {"display_name": "Leo"}),
        ("leo%09", {"display_name": "Leo"}),  # a tab in the id
        ("%E2%80%8B", {"display_name": "Leo"}),  # a zero-width space: invisible
        ("%20", {"display_name": "Leo"}),
        ("le%00o", {"display_name": "Leo"}),
    ]
    for user, body in refused:
        assert_error(put(api, user, ada, body), 422)
    assert_error(api.call("GET", "/users/leo", ada), 404, "not_found")  # nothing was kept
    trimmed = api.put("/users/leo", ada, {"display_name": "Leo", "email": " leo@example.org\n"})
    assert trimmed["email"] == "leo@example.org", "surrounding blanks are trimmed"
    assert_error(api.call("GET", "/users/" + "u" * (USER_ID_LIMIT + 1), ada), 422)
    assert_error(api.call("GET", "/users/le%00o", ada), 422)
    # Not JSON at all: 400.
    answer = api.client.put(
        "/v1/users/leo",
        content=b"{display_name",
        headers={**ada, "Content-Type": "application/json"},
    )
    assert_error(answer, 400)


def test_the_directory_is_paged_with_the_lists_rules(api: Api) -> None:
    ada = api.token("ada", "admin")
    users = [f"user-{i}" for i in range(5)]
    for user in reversed(users):
        api.put(f"/users/{user}", ada, {"display_name": user.upper()}, 200)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/users", ada, **params)
        seen += [p["user_id"] for p in page["people"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == users and pages == 3
    for params in ({"limit": 0}, {"limit": 501}, {"cursor": "garbage"}, {"cursor": "x" * 600}):
        assert_error(api.call("GET", "/users", ada, params=params), 422)
    teams_cursor = None
    for name in ("a", "b"):
        api.post("/teams", ada, {"name": name}, 201)
    teams_cursor = api.get("/teams", ada, limit=1)["next_cursor"]
    assert_error(api.call("GET", "/users", ada, params={"cursor": teams_cursor}), 422)


# ---------------------------------------------------------------- at once, and full


def test_two_puts_at_once_end_with_one_of_them_whole(api: Api) -> None:
    ada = api.token("ada", "admin")
    bodies = [{"display_name": f"Name {i}", "email": f"mail{i}@example.org"} for i in range(16)]
    statuses: list[int] = []
    start = threading.Barrier(len(bodies))

    def send(body: dict[str, str]) -> None:
        start.wait()
        statuses.append(api.client.put("/v1/users/leo", json=body, headers=ada).status_code)

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * len(bodies)
    final = api.get("/users/leo", ada)
    number = final["display_name"].removeprefix("Name ")
    assert final["email"] == f"mail{number}@example.org", "never a mixture of two puts"
    assert len(api.get("/users", ada)["people"]) == 1


def test_a_full_directory_takes_no_new_entry_but_changes_one(api: Api, runtime: Runtime) -> None:
    ada = api.token("ada", "admin")
    runtime.people.limit = 2  # the limit of this runtime's directory, set small
    for user in ("a", "b"):
        api.put(f"/users/{user}", ada, {"display_name": user}, 200)
    assert_error(put(api, "c", ada, {"display_name": "c"}), 409, "limit_reached")
    assert api.put("/users/a", ada, {"display_name": "A"}, 200)["display_name"] == "A"
    eve = api.token("eve", "admin", org="globex")
    api.put("/users/c", eve, {"display_name": "c"}, 200)  # another organization's own limit
    assert_error(api.call("GET", "/users/c", ada), 404)
