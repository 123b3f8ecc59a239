"""The built-in dashboard as a person sees it: a real server, a real headless Chromium.

One server (``okr serve``, embedded mode) is started over a fresh data directory
loaded with ``okr demo``. Chromium opens ``/dashboard``, gets the sign-in form,
and submits the token in it as a person would: the token becomes a cookie (it
never enters the address), and the rendered DOM must show the demo's OKR tree.
Screenshots land in tests/artifacts/ for humans to look at. Plain HTTP tests
cover sign-in, tenancy and privacy.

Chromium is required (scripts/chromium-install.sh installs Debian's package):
without it these tests fail, they never skip.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.servers import free_port, wait_for_health

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SERVE = [sys.executable, "-m", "entrypoints.cli", "serve"]
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
        [sys.executable, "-m", "entrypoints.cli", *args],
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


class Browser:
    """One headless Chromium, driven over the DevTools protocol on a pipe.

    A profile of its own (so no cookie carries over between tests). The pages
    run no JavaScript of their own (the CSP forbids it); the protocol fills and
    submits the sign-in form as a person would type and press the button.
    """

    def __init__(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="okr-chromium-")
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()

        def pipe_fds() -> None:  # Chromium reads commands on fd 3 and answers on fd 4
            os.dup2(commands_read, 100)
            os.dup2(answers_write, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)

        self._process = subprocess.Popen(
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
                "--remote-debugging-pipe",
                f"--user-data-dir={self._profile.name}",
                "--window-size=1400,1800",
                "about:blank",
            ],
            pass_fds=(3, 4),
            preexec_fn=pipe_fds,
            start_new_session=True,  # its helper processes too are stopped at the end
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(answers_write)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        targets = self._call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self._session = self._call(
            "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True}
        )["sessionId"]
        self._call("Page.enable", session=True)
        self._call(
            "Emulation.setDeviceMetricsOverride",
            {"width": 1400, "height": 1800, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_: object) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=15)
        # Chromium's helpers outlive its main process for a moment and still write
        # into the profile: CI once failed removing it ("Directory not empty").
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)
        os.close(self._commands)
        os.close(self._answers)
        for _ in range(20):
            try:
                self._profile.cleanup()
                return
            except OSError:
                time.sleep(0.1)
        shutil.rmtree(self._profile.name, ignore_errors=True)

    def _receive(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._answers], [], [], max(left, 0))
            if not ready:
                pytest.fail("chromium did not answer in time")
            chunk = os.read(self._answers, 1 << 16)
            if not chunk:
                pytest.fail(f"chromium exited ({self._process.poll()})")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        found: dict[str, Any] = json.loads(message)
        return found

    def _call(
        self, method: str, params: dict[str, Any] | None = None, session: bool = False
    ) -> dict[str, Any]:
        self._next_id += 1
        command: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = self._session
        os.write(self._commands, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while True:
            message = self._receive(deadline)
            if message.get("id") == self._next_id:
                assert "error" not in message, f"{method}: {message['error']}"
                result: dict[str, Any] = message.get("result", {})
                return result
            self._events.append(message)

    def _loaded(self) -> None:
        """Until the page in the tab has loaded (after a navigation or a form post)."""
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == "Page.loadEventFired":
                    del self._events[: i + 1]
                    return
            self._events.append(self._receive(deadline))

    def evaluate(self, expression: str) -> Any:
        answer = self._call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True
        )
        return answer["result"].get("value")

    def open(self, url: str) -> str:
        self._events.clear()
        self._call("Page.navigate", {"url": url}, session=True)
        self._loaded()
        return self.dom()

    def sign_in(self, url: str, token: str) -> str:
        """Open ``url``, get the sign-in form, type the token in and submit it."""
        page = self.open(url)
        assert 'action="/dashboard/sign-in"' in page, "the sign-in form is shown"
        self._events.clear()
        self.evaluate(
            "const form = document.querySelector('form.sign-in');"
            f"form.elements.token.value = {json.dumps(token)}; form.submit();"
        )
        self._loaded()
        return self.dom()

    def dom(self) -> str:
        return str(self.evaluate("document.documentElement.outerHTML"))

    def address(self) -> str:
        return str(self.evaluate("location.href"))

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        path.unlink(missing_ok=True)
        shot = self._call("Page.captureScreenshot", {"format": "png"}, session=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        data = path.read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000, "not a real screenshot"
        return path


def test_the_browser_signs_in_with_the_form_and_shows_the_cycle_tree(served: Served) -> None:
    with Browser() as browser:
        dom = browser.sign_in(f"{served.url}/dashboard", served.tokens["admin"])
        assert "Sign in" not in dom, "the token cookie did not survive the redirect"
        assert "token" not in browser.address(), "the token never enters the address"
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
        for piece in ("Pat Patel", "Sue Suzuki", "Max Müller"):  # names beside ids (§11)
            assert piece in dom, piece
        assert served.tokens["admin"] not in dom, "the token must never be rendered"
        browser.screenshot("dashboard-cycle.png")


def test_the_browser_shows_an_objective_with_its_chart_and_audit_trail(served: Served) -> None:
    objective = served.objectives["Make the platform fast and reliable"]
    with Browser() as browser:
        # Signing in on the objective's own address comes back to it.
        dom = browser.sign_in(
            f"{served.url}/dashboard/objectives/{objective}", served.tokens["admin"]
        )
        assert browser.address() == f"{served.url}/dashboard/objectives/{objective}"
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
        assert '<td class="who">Pat Patel</td>' in dom, "the audit trail names the actors"
        assert '<td class="who">tracker-bot</td>' in dom, "no directory entry: the id"
        assert "Become the team's caching expert" in dom, "objectives aligned to it are listed"
        browser.screenshot("dashboard-objective.png")


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
        # SPEC §9 supersedes "a dead cookie is cleared": no GET sets (or clears) a cookie.
        assert "set-cookie" not in stale.headers


def test_the_sign_in_form_sets_the_cookie_and_returns_to_the_page(served: Served) -> None:
    """SPEC §9 supersedes ``?token=``: the token is POSTed by the sign-in form."""
    token = served.tokens["admin"]
    current = served.cycles["current"]
    with served.client() as http:
        ignored = http.get("/dashboard", params={"token": token})
        assert ignored.status_code == 401 and "set-cookie" not in ignored.headers
        assert token not in ignored.text, "a token in the address is never echoed"

        answer = http.post("/dashboard/sign-in", data={"token": token, "next": "/dashboard"})
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
        deep = http.post(
            "/dashboard/sign-in",
            data={"token": token, "next": f"/dashboard/cycles/{current}?team_id={team}"},
        )
        assert deep.status_code == 303
        assert deep.headers["location"] == f"/dashboard/cycles/{current}?team_id={team}"

        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
        assert csrf is not None, "the sign-out form carries its token"
        assert http.get("/dashboard/logout").status_code == 405, "sign-out is a POST"
        out = http.post("/dashboard/logout", data={"csrf": csrf.group(1)})
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
