"""The built-in dashboard as a person sees it: a real server, a real headless Chromium.

One server (``okr serve``, embedded mode) is started over a fresh data directory
loaded with ``okr demo``. Chromium opens ``/dashboard?token=…`` exactly as a
person would paste it: the token becomes a cookie, the address loses it, and the
rendered DOM must show the demo's OKR tree. Screenshots land in tests/artifacts/
for humans to look at. Plain HTTP tests cover sign-in, tenancy and privacy.

Chromium is required (scripts/chromium-install.sh installs Debian's package):
without it these tests fail, they never skip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.servers import free_port, wait_for_health

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SERVE = [sys.executable, "-m", "runtime.cli", "serve"]
BROWSER_TIMEOUT = 90
EVIL_TITLE = '<script>alert("owned")</script> & <b>bold</b>'


@dataclass
class Served:
    url: str
    data_dir: Path
    tokens: dict[str, str]
    cycles: dict[str, str]
    objectives: dict[str, str] = field(default_factory=dict)
    teams: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[token]}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env["OKR_DATA_DIR"] = str(data_dir)
    return env


def _okr(data_dir: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        env=_env(data_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"okr {' '.join(args)} failed:\n{done.stderr}"
    return done.stdout


def _walk(objectives: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for objective in objectives:
        yield objective
        yield from _walk(objective["children"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("dashboard")
    demo = _okr(data_dir, "demo")
    admin = re.search(r"admin token for demo/olivia \(shown once\): (\S+)", demo)
    current = re.search(r"current cycle: (\S+)", demo)
    events = re.search(r"(\d+) events", demo)
    assert admin and current and events, demo
    tokens = {"admin": admin.group(1)}
    # Created before the server starts, so no two processes write the SQLite file at once.
    for name, org, user, role in (
        ("max", "demo", "max", "member"),  # Mobile member: may not see Gina's private objective
        ("gina", "demo", "gina", "member"),  # its owner
        ("other", "elsewhere", "zed", "admin"),  # another organization's admin
        ("evil", "evil", "eve", "admin"),  # an organization whose titles carry markup
    ):
        tokens[name] = _okr(
            data_dir, "token", "create", "--org", org, "--user", user, "--role", role
        ).strip()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [*SERVE, "--port", str(port)],
            env=_env(data_dir),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(url, server, log.read_text)
        served = Served(url, data_dir, tokens, {"current": current.group(1)})
        with served.client("admin") as api:
            # The server's projections follow the demo's events on start: wait for them.
            cycles = api.get("/v1/cycles", params={"min_position": events.group(1)})
            assert cycles.status_code == 200, cycles.text
            for cycle in cycles.json()["cycles"]:
                if cycle["id"] != served.cycles["current"]:
                    served.cycles["previous"] = cycle["id"]
            tree = api.get(f"/v1/cycles/{served.cycles['current']}/tree").json()
            served.objectives = {o["title"]: o["id"] for o in _walk(tree["objectives"])}
            served.teams = {t["name"]: t["id"] for t in api.get("/v1/teams").json()["teams"]}
        yield served
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


# ---------------------------------------------------------------- the browser


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.fail(
            "chromium is missing: install it with scripts/chromium-install.sh", pytrace=False
        )
    return found


def _browse(url: str, *action: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run with a profile of its own (so no cookie carries over)."""
    with tempfile.TemporaryDirectory(prefix="okr-chromium-") as profile:
        done = subprocess.run(
            [
                _chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "--window-size=1400,1800",
                *action,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=BROWSER_TIMEOUT,
        )
    assert done.returncode == 0, f"chromium failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return done


def _dom(url: str) -> str:
    return _browse(url, "--dump-dom").stdout


def _screenshot(url: str, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    path.unlink(missing_ok=True)
    _browse(url, f"--screenshot={path}")
    assert path.exists(), f"chromium wrote no screenshot to {path}"
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000, "not a real screenshot"
    return path


def test_the_browser_signs_in_with_the_token_and_shows_the_cycle_tree(served: Served) -> None:
    url = f"{served.url}/dashboard?token={served.tokens['admin']}"
    dom = _dom(url)
    assert "Sign in" not in dom, "the token cookie did not survive the redirect"
    for title in (
        "Delight customers with a faster product",
        "Make the platform fast and reliable",
        "Ship the new mobile onboarding",
        "Grow activation",
        "Become the team's caching expert",
    ):
        assert title in dom, title
    bars = dom.count('role="progressbar"')
    assert bars >= 6 + 18, f"expected a progress bar per objective and key result, got {bars}"
    assert dom.count('class="pace"') >= 6, "every bar shows the expected-progress mark"
    for piece in ("on track", "behind", "Stale key results", "Mean progress", "All teams"):
        assert piece in dom, piece
    assert served.tokens["admin"] not in dom, "the token must never be rendered"
    _screenshot(url, "dashboard-cycle.png")


def test_the_browser_shows_an_objective_with_its_chart_and_audit_trail(served: Served) -> None:
    objective = served.objectives["Make the platform fast and reliable"]
    url = f"{served.url}/dashboard/objectives/{objective}?token={served.tokens['admin']}"
    dom = _dom(url)
    assert "Make the platform fast and reliable" in dom
    assert "<svg" in dom and 'aria-label="progress over time"' in dom
    assert dom.count('class="series"') == 4, "the objective's line and one per key result"
    for legend in (
        "Objective",
        "Cache hit rate above 90%",
        "Services on the new runtime",
        "Reliability backlog burned down",
        "expected (pace)",
    ):
        assert legend in dom, legend
    assert "Audit trail" in dom
    assert "drafted" in dom and "checked in" in dom and "issue github:acme/platform#101" in dom
    assert "→" in dom, "progress before → after"
    assert "Become the team's caching expert" in dom, "objectives aligned to it are listed"
    _screenshot(url, "dashboard-objective.png")


# ---------------------------------------------------------------- sign-in over HTTP


def test_without_a_token_the_dashboard_explains_how_to_get_one(served: Served) -> None:
    with served.client() as http:
        for path in ("/dashboard", f"/dashboard/cycles/{served.cycles['current']}"):
            answer = http.get(path)
            assert answer.status_code == 401
            assert answer.headers["content-type"].startswith("text/html")
            assert "okr token create" in answer.text and "okr demo" in answer.text
        wrong = http.get("/dashboard", params={"token": "okr_not-a-real-token"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        stale = http.get("/dashboard", headers={"Cookie": "okr_token=okr_revoked"})
        assert stale.status_code == 401
        assert 'okr_token=""' in stale.headers["set-cookie"], "a dead cookie is cleared"


def test_the_token_in_the_address_becomes_a_cookie_and_leaves_the_address(
    served: Served,
) -> None:
    token = served.tokens["admin"]
    current = served.cycles["current"]
    with served.client() as http:
        answer = http.get("/dashboard", params={"token": token})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/dashboard"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"okr_token={token};")
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/dashboard"):
            assert attribute.lower() in cookie.lower(), attribute
        assert answer.headers["cache-control"] == "no-store"

        home = http.get("/dashboard")  # the client keeps the cookie, as a browser does
        assert home.status_code == 303
        assert home.headers["location"] == f"/dashboard/cycles/{current}", "the tracking cycle"
        page = http.get(home.headers["location"])
        assert page.status_code == 200
        assert "Delight customers with a faster product" in page.text
        assert "script-src" not in page.headers["content-security-policy"]

        team = served.teams["Platform"]
        deep = http.get(f"/dashboard/cycles/{current}", params={"team_id": team, "token": token})
        assert deep.status_code == 303
        assert deep.headers["location"] == f"/dashboard/cycles/{current}?team_id={team}"

        out = http.get("/dashboard/logout")
        assert out.status_code == 200 and 'okr_token=""' in out.headers["set-cookie"]
        assert http.get("/dashboard").status_code == 401

    with served.client("admin") as api:
        assert api.get(f"/dashboard/cycles/{current}").status_code == 200, "bearer header"


# ---------------------------------------------------------------- tenancy and privacy


def test_another_organizations_dashboard_is_not_found(served: Served) -> None:
    platform = served.objectives["Make the platform fast and reliable"]
    with served.client("other") as other:
        assert other.get(f"/dashboard/objectives/{platform}").status_code == 404
        assert other.get(f"/dashboard/cycles/{served.cycles['current']}").status_code == 404
        home = other.get("/dashboard")
        assert home.status_code == 200 and "No cycles yet" in home.text
        assert "Delight customers" not in home.text
    with served.client("admin") as admin:
        assert admin.get("/dashboard/objectives/not-a-uuid").status_code == 404
        assert admin.get(f"/dashboard/cycles/{platform}").status_code == 404
        unknown_team = admin.get(
            f"/dashboard/cycles/{served.cycles['current']}",
            params={"team_id": served.cycles["current"]},
        )
        assert unknown_team.status_code == 404


def test_private_objectives_show_only_to_those_who_may_see_them(served: Served) -> None:
    private = served.objectives["Prepare for the senior role"]
    cycle = f"/dashboard/cycles/{served.cycles['current']}"
    with served.client("max") as max_:
        page = max_.get(cycle)
        assert page.status_code == 200
        assert "Grow activation" in page.text
        assert "Prepare for the senior role" not in page.text
        assert max_.get(f"/dashboard/objectives/{private}").status_code == 404
        parent = max_.get(f"/dashboard/objectives/{served.objectives['Grow activation']}")
        assert parent.status_code == 200 and "Pricing page redesign" in parent.text
        assert "Prepare for the senior role" not in parent.text, "nor among what is aligned"
    for who in ("gina", "admin"):
        with served.client(who) as reader:
            assert "Prepare for the senior role" in reader.get(cycle).text
            mine = reader.get(f"/dashboard/objectives/{private}")
            assert mine.status_code == 200 and "Mentoring sessions" in mine.text


def test_the_team_filter_shows_that_teams_objectives_and_what_hangs_from_them(
    served: Served,
) -> None:
    with served.client("admin") as admin:
        page = admin.get(
            f"/dashboard/cycles/{served.cycles['current']}",
            params={"team_id": served.teams["Platform"]},
        )
    assert page.status_code == 200
    assert "Make the platform fast and reliable" in page.text
    assert "Become the team&#x27;s caching expert" in page.text
    assert "Ship the new mobile onboarding" not in page.text
    assert "Delight customers with a faster product</a>" not in page.text


def test_the_audit_trail_names_the_aligned_objectives_that_moved_it(served: Served) -> None:
    delight = served.objectives["Delight customers with a faster product"]
    with served.client("admin") as admin:
        page = admin.get(f"/dashboard/objectives/{delight}")
    assert page.status_code == 200
    assert "aligned objective “Make the platform fast and reliable” moved" in page.text
    assert (
        "Ship the new mobile onboarding" in page.text and "Teams deliver their quarter" in page.text
    )


def test_a_closed_cycle_shows_its_retrospective(served: Served) -> None:
    with served.client("admin") as admin:
        page = admin.get(f"/dashboard/cycles/{served.cycles['previous']}")
        assert page.status_code == 200 and "Stabilise on-call" in page.text
        objective = re.search(r'/dashboard/objectives/([0-9a-f-]{36})"', page.text)
        assert objective is not None
        detail = admin.get(f"/dashboard/objectives/{objective.group(1)}")
    assert detail.status_code == 200
    assert "Retrospective" in detail.text and "Retire the legacy queue" in detail.text
    assert "Final scores" in detail.text and "Pages per week: <b>90%</b>" in detail.text


def test_titles_and_descriptions_are_escaped(served: Served) -> None:
    with served.client("evil") as evil:
        cycle = evil.post(
            "/v1/cycles",
            json={
                "name": "<i>Q</i>",
                "start_date": "2026-01-01",
                "end_date": "2026-12-31",
                "cadence": "year",
            },
        )
        assert cycle.status_code == 201, cycle.text
        cycle_id = cycle.json()["id"]
        assert evil.post(f"/v1/cycles/{cycle_id}/phase", json={"phase": "drafting"}).is_success
        drafted = evil.post(
            "/v1/objectives",
            json={
                "cycle_id": cycle_id,
                "title": EVIL_TITLE,
                "description": "<img src=x onerror=alert(1)>",
                "level": "individual",
                "owner_user_id": "eve",
            },
        )
        assert drafted.status_code == 201, drafted.text
        ready = evil.get(
            f"/v1/objectives/{drafted.json()['id']}",
            params={"min_position": drafted.json()["position"]},
        )
        assert ready.status_code == 200
        pages = [
            evil.get("/dashboard", follow_redirects=True),
            evil.get(f"/dashboard/objectives/{drafted.json()['id']}"),
        ]
    for page in pages:
        assert page.status_code == 200
        assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt; &amp; &lt;b&gt;" in page.text
        assert "<script" not in page.text and "<img" not in page.text and "<i>Q" not in page.text
