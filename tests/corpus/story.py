"""The corpus's story, told through the HTTP API, and the reads whose answers it keeps.

One organization, one cycle in the past (so that pace, which reads compute at
the moment they answer, is the same whenever the corpus is loaded: the cycle
is over), every event type of every aggregate. Check-ins take their moment
from a fixed clock in the cycle, for the same reason (staleness is counted
from it). ``tell`` writes; ``reads`` lists the requests whose answers are
recorded: every objective's read, history, progress history, time travel by
every version and at every event's time, the tree, the cycle, teams, issues.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from entrypoints.bootstrap import Runtime

ORG = "acme"
USERS = {
    "ada": "admin",
    "mia": "member",
    "ivy": "member",
    "zoe": "member",
    "ci-bot": "integration",
}
"""Who acts in the story (user id → token role); the test makes tokens for them afresh."""

CHECK_IN_CLOCK = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)

NAMES = {
    "ada": "Ada Lovelace",
    "mia": "Mia Hamm",
    "ivy": "Ivy Baker",
    "zoe": "Zoe Erased",
    "ci-bot": "CI",
}
"""The people directory (PUT /v1/users); zoe writes texts and is then erased."""


class Client:
    """The HTTP API as each user of the story, reading its own writes."""

    def __init__(self, client: TestClient, runtime: Runtime) -> None:
        self.client = client
        self.headers = {
            user: {"Authorization": f"Bearer {runtime.tokens.create(ORG, user, role)[1]}"}
            for user, role in USERS.items()
        }
        self.position = 0

    def send(
        self, method: str, path: str, who: str, body: Any = None, **params: Any
    ) -> tuple[int, Any]:
        if method == "GET":
            params.setdefault("min_position", self.position)
        response = self.client.request(
            method, f"/v1{path}", json=body, params=params, headers=self.headers[who]
        )
        answer = response.json() if response.content else None
        if method != "GET":
            assert response.status_code < 300, f"{method} {path}: {response.text}"
            if isinstance(answer, dict) and isinstance(answer.get("position"), int):
                self.position = max(self.position, answer["position"])
        return response.status_code, answer

    def write(self, method: str, path: str, who: str = "ada", body: Any = None, **p: Any) -> Any:
        return self.send(method, path, who, body, **p)[1]


def ticking(start: datetime, step: timedelta) -> Iterator[datetime]:
    moment = start
    while True:
        yield moment
        moment += step


def tell(api: Client, runtime: Runtime) -> dict[str, str]:
    """Write the story; answers the ids its reads need."""
    clock = ticking(CHECK_IN_CLOCK, timedelta(hours=7))
    runtime.app.clock = lambda: next(clock)
    w = api.write
    for user, name in NAMES.items():
        w("PUT", f"/users/{user}", body={"display_name": name})
    cycle = w(
        "POST",
        "/cycles",
        body={
            "name": "Corpus Q1",
            "start_date": "2025-01-01",
            "end_date": "2025-03-31",
            "cadence": "quarter",
        },
    )["id"]
    platform = w("POST", "/teams", body={"name": "Platform"})["id"]
    mobile = w("POST", "/teams", body={"name": "Mobile", "parent_id": platform})["id"]
    w("POST", f"/teams/{platform}/members", body={"user_id": "mia", "role": "manager"})
    w("POST", f"/teams/{platform}/members", body={"user_id": "ivy", "role": "member"})
    w("POST", f"/teams/{platform}/members", body={"user_id": "ivy", "role": "manager"})
    w("POST", f"/teams/{platform}/members", body={"user_id": "zoe", "role": "manager"})
    w("POST", f"/cycles/{cycle}/phase", body={"phase": "drafting"})

    top = w(
        "POST",
        "/objectives",
        body={
            "cycle_id": cycle,
            "title": "Ship faster",
            "level": "organization",
            "owner_team_id": platform,
            "description": "Everything we ship, sooner.",
        },
    )["id"]
    build = w(
        "POST",
        "/objectives",
        "mia",
        body={
            "cycle_id": cycle,
            "title": "Faster builds",
            "level": "team",
            "owner_team_id": platform,
            "aligned_to_objective_id": top,
        },
    )["id"]
    mine = w(
        "POST",
        "/objectives",
        "ivy",
        body={
            "cycle_id": cycle,
            "title": "Learn the build system",
            "level": "individual",
            "visibility": "private",
        },
    )["id"]
    dropped = w(
        "POST",
        "/objectives",
        body={
            "cycle_id": cycle,
            "title": "Rewrite the app",
            "level": "team",
            "owner_team_id": mobile,
        },
    )["id"]

    def kr(objective: str, who: str = "ada", **body: Any) -> str:
        return str(w("POST", f"/objectives/{objective}/key-results", who, body)["key_result_id"])

    aligned = kr(top, title="Teams on pace", mode="aligned")
    coverage = kr(build, "mia", title="Cache hit rate", mode="percentage", weight=2)
    minutes = kr(
        build,
        "mia",
        title="Build minutes",
        mode="numeric",
        start=30,
        target=10,
        unit="min",
        assignee_id="ivy",
    )
    steps = kr(
        build,
        "mia",
        title="Remote cache",
        mode="milestone",
        milestones=["Design", "Build", "Roll out"],
        participant_ids=["ivy"],
    )
    tracked = kr(build, "mia", title="Cache issues closed", mode="issues")
    spare = kr(build, "mia", title="Spare", mode="percentage")
    learning = kr(mine, "ivy", title="Chapters read", mode="numeric", start=0, target=12)
    kr(dropped, title="Screens rewritten", mode="percentage")

    w("PATCH", f"/objectives/{build}", "mia", {"description": "Minutes, not hours."})
    w(
        "PATCH",
        f"/objectives/{build}/key-results/{minutes}",
        "mia",
        {"target": 8, "unit": "minutes"},
    )
    w("POST", f"/objectives/{build}/key-results/{spare}/archive", "mia")
    w("PUT", f"/objectives/{build}/weights", "mia", {"weights": {minutes: 1.5}})
    w("PUT", f"/objectives/{build}/alignment", "mia", {"key_result_id": aligned})
    w("POST", f"/objectives/{dropped}/archive")
    w(
        "POST",
        f"/objectives/{build}/key-results/{tracked}/issues",
        "mia",
        {
            "tracker": "github",
            "issue_key": "acme/cache#1",
            "estimate": 3,
            "url": "https://example.com/acme/cache/1",
            "title": "Cache keys",
        },
    )
    w(
        "POST",
        f"/objectives/{build}/key-results/{tracked}/issues",
        "mia",
        {"tracker": "github", "issue_key": "acme/cache#2"},
    )
    w(
        "DELETE",
        f"/objectives/{build}/key-results/{tracked}/issues",
        "mia",
        None,
        tracker="github",
        issue_key="acme/cache#2",
    )
    w(
        "POST",
        f"/objectives/{build}/key-results/{tracked}/issues",
        "mia",
        {"tracker": "jira", "issue_key": "OPS-7"},
    )
    w("POST", f"/cycles/{cycle}/phase", body={"phase": "tracking"})

    def check_in(objective: str, key_result: str, who: str = "mia", **body: Any) -> None:
        w("POST", f"/objectives/{objective}/key-results/{key_result}/check-ins", who, body)

    check_in(build, coverage, percent=35, status="on_track", confidence=0.8, note="warming up")
    check_in(build, minutes, "ivy", current=22, status="at_risk")
    check_in(build, steps, "ivy", milestones_done=[0], status="on_track")
    check_in(mine, learning, "ivy", current=3, status="on_track", note="chapter 3")
    check_in(build, coverage, percent=60, status="on_track")
    check_in(build, minutes, "ivy", current=12.5, status="on_track", confidence=0.6)
    check_in(build, steps, "ivy", milestones_done=[0, 1], status="behind")

    def issue_event(event_id: str, key: str, status: str, day: int, **extra: Any) -> None:
        w(
            "POST",
            "/issue-events",
            "ci-bot",
            {
                "event_id": event_id,
                "tracker": "github",
                "issue_key": key,
                "status": status,
                "occurred_at": f"2025-02-{day:02d}T10:00:00Z",
                **extra,
            },
        )

    issue_event("gh-1", "acme/cache#1", "in_progress", 10, raw_status="open")
    issue_event("gh-2", "acme/cache#1", "done", 12, raw_status="closed", estimate=5)
    issue_event("gh-0", "acme/cache#1", "todo", 5)  # late: recorded, not applied
    issue_event("gh-2", "acme/cache#1", "done", 12)  # the same event again: nothing
    issue_event("gh-9", "acme/other#9", "in_progress", 11)  # an issue no KR links
    w("POST", f"/objectives/{build}/notes", "mia", {"topic": "progress", "text": "On track."})
    w("POST", f"/objectives/{build}/notes", "mia", {"topic": "coaching", "text": "Pair on it."})
    w("POST", f"/objectives/{mine}/notes", "ivy", {"topic": "career", "text": "Aim: lead."})
    # Zoe writes a note and a check-in note, then is forgotten (SPEC §11): her texts
    # answer "[erased]" from here on, her name null, and every formula is unchanged.
    w("POST", f"/objectives/{build}/notes", "zoe", {"topic": "progress", "text": "Zoe's note."})
    check_in(build, coverage, "zoe", percent=61, status="on_track", note="Zoe's check-in.")
    w("DELETE", "/users/zoe")
    w("POST", f"/cycles/{cycle}/phase", body={"phase": "retrospective"})
    w(
        "PUT",
        f"/objectives/{build}/retrospective",
        "mia",
        {
            "scores": {coverage: 0.6},
            "problems": "Flaky cache.",
            "improvements": "Pin keys.",
            "next_focus": "Test times.",
        },
    )
    w("POST", f"/cycles/{cycle}/phase", body={"phase": "closed"})
    return {
        "cycle": cycle,
        "platform": platform,
        "mobile": mobile,
        "top": top,
        "build": build,
        "mine": mine,
        "dropped": dropped,
    }


def reads(api: Client, ids: dict[str, str]) -> list[dict[str, Any]]:
    """The requests whose answers the corpus records (each: path, params, as whom)."""
    asked: list[dict[str, Any]] = []

    def ask(path: str, who: str = "ada", **params: Any) -> Any:
        asked.append({"path": path, "as": who, "params": params})
        return api.send("GET", path, who, **params)[1]

    for name in ("top", "build", "mine", "dropped"):
        objective = ids[name]
        ask(f"/objectives/{objective}")
        history = ask(f"/objectives/{objective}/history", limit=500)
        ask(f"/objectives/{objective}/progress-history", limit=500)
        for entry in history["events"]:
            ask(f"/objectives/{objective}", version=entry["version"])
            ask(f"/objectives/{objective}", as_of=entry["occurred_at"])
        ask(f"/objectives/{objective}", version=len(history["events"]) + 1)  # 404
        ask(f"/objectives/{objective}", as_of="2024-12-31T00:00:00Z")  # before it: 404
    for who in ("ivy", "mia"):  # a private objective and a career note: what each may see
        ask(f"/objectives/{ids['mine']}", who)
        ask(f"/objectives/{ids['mine']}/history", who)
        ask(f"/objectives/{ids['build']}/history", who)
        ask(f"/cycles/{ids['cycle']}/tree", who)
    ask(f"/cycles/{ids['cycle']}/tree")
    ask(f"/cycles/{ids['cycle']}/tree", team_id=ids["platform"])
    ask(f"/cycles/{ids['cycle']}")
    ask(f"/teams/{ids['platform']}")
    ask(f"/teams/{ids['mobile']}")
    ask("/issues", tracker="github", issue_key="acme/cache#1")
    ask("/issues", tracker="github", issue_key="acme/other#9")
    ask("/issues", tracker="jira", issue_key="OPS-7")
    return asked


def answer(api: Client, request: dict[str, Any], position: int) -> dict[str, Any]:
    """The API's answer to one recorded request, read once the log reached ``position``."""
    status, body = api.send(
        "GET", request["path"], request["as"], **{**request["params"], "min_position": position}
    )
    return {"status": status, "body": body}
