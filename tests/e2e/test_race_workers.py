"""Cross-aggregate rules under real concurrency: ``okr serve --workers 3`` on PostgreSQL.

Many re-alignment pairs that would close a loop, and check-ins, key result edits
and drafts racing a phase change, all over HTTP from threads, each request on a
fresh connection (the kernel spreads them over the three processes). Afterwards
the event log itself is checked: no alignment loop is stored, and nothing a
phase forbids follows the phase change that forbids it. The deterministic
interleavings are in tests/integration/test_cross_aggregate_races.py; this one
is the same rules under load, as deployed (workers + `okr project`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from commands.application import OkrApplication
from domain.alignment import alignment_cycles
from domain.cycle import Cycle, PhaseAdvanced
from domain.objective import Objective
from domain.values import Phase
from entrypoints.bootstrap import build_runtime
from entrypoints.settings import Settings
from tests.e2e.servers import free_port, wait_for_health

pytestmark = pytest.mark.postgres

LOOP_PAIRS = 12
PHASE_ROUNDS = 8
CHECK_INS_PER_ROUND = 4
TIMEOUT = 30.0


def _env(**okr: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env.update(okr)
    return env


class Http:
    """One admin's calls; a new connection per request."""

    def __init__(self, base: str, token: str) -> None:
        self.base = f"{base}/v1"
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.request(
            method, self.base + path, json=body, headers=self.headers, timeout=TIMEOUT
        )

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.call(method, path, body)
        assert answer.status_code in (200, 201), answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
def http(pg_url: str, tmp_path: Path) -> Iterator[Http]:
    """Three API workers and the projection runner on one fresh database."""
    runtime = build_runtime(Settings(database_url=pg_url, data_dir=tmp_path))
    try:
        _, token = runtime.tokens.create("acme", "ada", "admin")
    finally:
        runtime.close()
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "entrypoints.cli",
                "serve",
                *("--workers", "3", "--port", str(port)),
            ],
            env=_env(OKR_DATABASE_URL=pg_url, OKR_TOKEN_CACHE_SECONDS="0"),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        runner = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "project"],
            env=_env(OKR_DATABASE_URL=pg_url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, server, log.read_text)
        yield Http(base, token)
    finally:
        for process in (server, runner):
            process.terminate()
        for process in (server, runner):
            process.wait(timeout=60)
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Start every call at the same moment, each in its own thread."""
    start = threading.Barrier(len(calls), timeout=TIMEOUT)
    answers: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            start.wait()
            answers[i] = calls[i]()
        except BaseException as error:  # examined below
            answers[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT * 2)
    assert not any(t.is_alive() for t in threads), "a request hung"
    for answer in answers:
        assert isinstance(answer, httpx.Response), answer
    return answers


def code(answer: httpx.Response) -> str:
    return str(answer.json()["error"]["code"])


def tracking_cycle(http: Http, name: str) -> str:
    cycle = http.ok(
        "POST",
        "/cycles",
        {"name": name, "start_date": "2027-01-01", "end_date": "2027-03-31", "cadence": "quarter"},
    )["id"]
    for step in (Phase.DRAFTING, Phase.TRACKING):
        http.ok("POST", f"/cycles/{cycle}/phase", {"phase": step.value})
    return str(cycle)


def draft(http: Http, cycle: str, team: str, title: str) -> str:
    body = {"cycle_id": cycle, "title": title, "level": "team", "owner_team_id": team}
    return str(http.ok("POST", "/objectives", body)["id"])


def test_races_over_three_workers_leave_no_loop_and_nothing_after_a_phase_change(
    http: Http, pg_url: str, tmp_path: Path
) -> None:
    team = http.ok("POST", "/teams", {"name": "Platform"})["id"]

    # Re-alignment pairs that together would close a loop, all pairs at once.
    aligning = tracking_cycle(http, "Aligning")
    pairs = [
        (draft(http, aligning, team, f"X{i}"), draft(http, aligning, team, f"Y{i}"))
        for i in range(LOOP_PAIRS)
    ]

    def align(child: str, parent: str) -> Callable[[], httpx.Response]:
        return lambda: http.call("PUT", f"/objectives/{child}/alignment", {"objective_id": parent})

    answers = at_once([align(x, y) for x, y in pairs] + [align(y, x) for x, y in pairs])
    for i in range(LOOP_PAIRS):
        pair = sorted([answers[i], answers[LOOP_PAIRS + i]], key=lambda a: a.status_code)
        assert [a.status_code for a in pair] == [200, 409], [a.text for a in pair]
        assert code(pair[1]) == "alignment_cycle", pair[1].text

    # Check-ins, a key result edit and a draft racing the move to retrospective.
    gated: dict[str, str] = {}  # cycle -> the objective its racers write
    for round_ in range(PHASE_ROUNDS):
        cycle = tracking_cycle(http, f"Round {round_}")
        objective = draft(http, cycle, team, f"R{round_}")
        kr = http.ok(
            "POST", f"/objectives/{objective}/key-results", {"title": "K", "mode": "percentage"}
        )["key_result_id"]
        gated[cycle] = objective
        kr_path = f"/objectives/{objective}/key-results/{kr}"
        racers: list[Callable[[], httpx.Response]] = [
            lambda p=kr_path, n=n: http.call(  # type: ignore[misc]
                "POST", f"{p}/check-ins", {"percent": 10 + n, "status": "on_track"}
            )
            for n in range(CHECK_INS_PER_ROUND)
        ]
        racers.append(lambda p=kr_path: http.call("PATCH", p, {"title": "Renamed"}))  # type: ignore[misc]
        racers.append(
            lambda c=cycle: http.call(  # type: ignore[misc]
                "POST",
                "/objectives",
                {"cycle_id": c, "title": "Late", "level": "team", "owner_team_id": team},
            )
        )
        racers.append(
            lambda c=cycle: http.call(  # type: ignore[misc]
                "POST", f"/cycles/{c}/phase", {"phase": Phase.RETROSPECTIVE.value}
            )
        )
        answers = at_once(racers)
        assert answers[-1].status_code == 200, answers[-1].text
        for answer in answers[:-1]:
            assert answer.status_code in (200, 201, 409), answer.text
            if answer.status_code == 409:
                assert code(answer) == "phase_rule", answer.text

    # The log itself: no loop, nothing gated after the phase change that forbids it.
    reader = OkrApplication(
        env=Settings(database_url=pg_url, data_dir=tmp_path).eventsourcing_env()
    )
    try:
        log = reader.recorder.select_notifications(start=1, limit=100_000)
        aggregates = {n.originator_id for n in log}
        objectives: dict[UUID, Objective] = {}
        for aggregate_id in aggregates:
            found = reader.repository.get(aggregate_id)
            if isinstance(found, Objective):
                objectives[found.id] = found
        parents = {o.id: o.parent_id for o in objectives.values()}
        assert alignment_cycles(parents) == set()

        retrospective_at: dict[UUID, int] = {}
        for note in log:
            event = reader.mapper.to_domain_event(note)
            if isinstance(event, PhaseAdvanced) and event.phase == Phase.RETROSPECTIVE.value:
                retrospective_at[note.originator_id] = int(note.id)
        assert set(map(str, retrospective_at)) >= set(gated)
        late = [
            (int(n.id), objectives[n.originator_id].title, n.topic)
            for n in log
            if n.originator_id in objectives
            and str(objectives[n.originator_id].cycle_id) in gated
            and int(n.id) > retrospective_at[objectives[n.originator_id].cycle_id]
        ]
        assert late == []
        for cycle in gated:
            found_cycle = reader.repository.get(UUID(cycle))
            assert isinstance(found_cycle, Cycle) and found_cycle.phase is Phase.RETROSPECTIVE
    finally:
        reader.close()
